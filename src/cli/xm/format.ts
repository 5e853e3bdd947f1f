/**
 * xm's fixed-width listings, byte for byte as xm 3.4 printed them with Python's `%` formatting
 * (`xm list`, `xm vcpu-list`, `xm uptime`, `xm info`, `xm network-list`).
 */
import { formatAffinity } from "../../domain/cpus.ts";
import type { DomainSummary, NodeInfo, VifConfig } from "../../domain/types.ts";

/**
 * Python's `'%.Nf' % x`: correctly rounded from the exact binary value, an exact half to even.
 * JavaScript's toFixed is exact too but takes an exact half away from zero (0.25 -> "0.3", Python
 * "0.2"); an exact half is visible as "5" then zeros in the exact expansion.
 */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x.toFixed(digits);
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 25));
  const [whole, frac = ""] = exact.split(".");
  if (/^50*$/.test(frac.slice(digits))) {
    const kept = `${whole}${frac.slice(0, digits)}`;
    if (Number(kept[kept.length - 1]) % 2 === 0) {
      const text = digits > 0 ? `${whole}.${frac.slice(0, digits)}` : whole!;
      return x < 0 && /[1-9]/.test(text) ? `-${text}` : text;
    }
  }
  return x.toFixed(digits);
}

const l = (s: string | number, w: number) => String(s).padEnd(w);
const r = (s: string | number, w: number) => String(s).padStart(w);

export const LIST_HEADER = `${l("Name", 40)} ${r("ID", 5)} ${r("Mem", 5)} ${r("VCPUs", 5)} ${r("State", 10)} ${r("Time(s)", 9)}`;

/** One `xm list` row: inactive domains have an empty ID and State, as xm printed them. */
export function listRow(d: DomainSummary): string {
  const active = d.domid !== null;
  return `${l(d.name, 40)} ${r(active ? d.domid! : "", 5)} ${r(Math.trunc(d.memory), 5)} ${r(d.vcpus, 5)} ${r(active ? d.state : "", 10)} ${r(pyFixed(d.cpuTime, 1), 8)}`;
}

export function formatList(domains: readonly DomainSummary[]): string {
  return [LIST_HEADER, ...domains.map(listRow)].map((line) => `${line}\n`).join("");
}

export const VCPU_HEADER = `${l("Name", 32)} ${r("ID", 5)} ${r("VCPU", 5)} ${r("CPU", 5)} ${r("State", 5)} ${r("Time(s)", 9)} CPU Affinity`;

/** `xm vcpu-list` rows of one domain (an inactive one shows its configured vCPUs, no CPU, no state). */
export function vcpuRows(d: DomainSummary, nrCpus: number): string[] {
  const id = d.domid === null ? "" : String(d.domid);
  if (d.domid === null || d.vcpuInfo.length === 0) {
    return Array.from({ length: d.vcpus }, (_, n) =>
      `${l(d.name, 32)} ${r(id, 5)} ${r(n, 5)} ${r("", 5)} ${r("", 5)}  ${r(pyFixed(0, 1), 8)} ${formatAffinity([], nrCpus)}`);
  }
  return d.vcpuInfo.map((v) => {
    let c: string;
    let s: string;
    if (v.online) {
      c = String(v.cpu);
      s = `${v.running ? "r" : "-"}${v.blocked ? "b" : "-"}-`;
    } else {
      c = "-";
      s = "--p";
    }
    return `${l(d.name, 32)} ${r(id, 5)} ${r(v.number, 5)} ${r(c, 5)} ${r(s, 5)}  ${r(pyFixed(v.cpuTimeNs / 1e9, 1), 8)} ${formatAffinity(v.affinity, nrCpus)}`;
  });
}

export const UPTIME_HEADER = `${l("Name", 33)} ${r("ID", 4)} Uptime `;

/** `xm uptime` text of a number of seconds: `[N day[s], ]H:MM[:SS]`. */
export function uptimeText(seconds: number, withSeconds: boolean): string {
  let up = Math.max(0, Math.round(seconds));
  const days = Math.floor(up / 86400);
  up -= days * 86400;
  const hours = Math.floor(up / 3600);
  up -= hours * 3600;
  const minutes = Math.floor(up / 60);
  const secs = up - minutes * 60;
  let text = days > 0 ? `${days} day${days > 1 ? "s" : ""}, ` : "";
  text += `${r(hours, 2)}:${String(minutes).padStart(2, "0")}`;
  if (withSeconds) text += `:${String(secs).padStart(2, "0")}`;
  return text;
}

export function uptimeRow(d: DomainSummary, nowSeconds: number): string {
  const seconds = d.domid === null ? 0 : nowSeconds - d.startTime;
  return `${l(d.name, 32)} ${r(d.domid ?? "", 5)} ${uptimeText(seconds, true)}`;
}

/** `xm uptime -s`: ` HH:MM:SS up H:MM, name (id)`. */
export function uptimeShort(d: DomainSummary, now: Date, nowSeconds: number): string {
  const seconds = d.domid === null ? 0 : nowSeconds - d.startTime;
  const clock = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  return ` ${clock} up ${uptimeText(seconds, false)}, ${d.name} (${d.domid ?? ""})`;
}

/** `xm info`: `%-23s: value` per field (Python's print adds the space after the colon). */
export function formatInfo(info: NodeInfo | Readonly<Record<string, string | number | boolean>>): string {
  return Object.entries(info).map(([k, v]) => `${l(k, 23)}: ${v}\n`).join("");
}

export const NETWORK_HEADER = "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path";

/**
 * `xm network-list` rows. The backend is Domain-0 (id 0) and the state 4 (connected) for a running
 * domain, 1 otherwise; the simulator has no event channels or grant rings, so those read -1, the
 * value xm printed for a field xenstore did not have.
 */
export function networkRows(domid: number | null, vifs: readonly VifConfig[]): string[] {
  return vifs.map((vif, idx) => {
    const state = domid === null ? 1 : 4;
    const bePath = domid === null ? "" : `/local/domain/0/backend/vif/${domid}/${idx}`;
    return `${l(idx, 3)} ${l(0, 3)}${l(vif.mac ?? "??", 17)}    ${l(idx, 3)}   ${l(state, 3)}    ${l(-1, 3)}   ${l(-1, 5)}/${l(-1, 5)}   ${l(bePath, 30)}  `;
  });
}
