/**
 * `xm top`'s screen in xentop's layout (Xen 3.4 tools/xenstat/xentop/xentop.c): a summary (only on
 * a terminal), the field header, one line per domain sorted by name, and with -v/-n/-x a line of
 * vCPU times, network and block counters under each domain.
 *
 * Every field is printf'd with xentop's width, separated by one space. Counters no driver reports
 * (network bytes, block requests on the simulator) read 0, the value xenstat gave for a device it
 * had no statistics for.
 */
import type { DomainSummary, NodeInfo } from "../../domain/types.ts";
import { pyFixed } from "./format.ts";

/** One domain as xentop samples it. */
export interface TopDomain {
  domid: number;
  name: string;
  flags: DomainSummary["flags"];
  cpuNs: number;
  /** KiB. */
  memKiB: number;
  maxMemKiB: number;
  vcpus: number;
  vcpuNs: { number: number; online: boolean; cpuTimeNs: number }[];
  nets: { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; rxErrs: number; txErrs: number; rxDrop: number; txDrop: number }[];
  vbds: { dev: number; oo: number; rd: number; wr: number }[];
}

export interface TopSample {
  /** Epoch milliseconds of the sample. */
  at: number;
  node: { totalKiB: number; freeKiB: number; nrCpus: number; cpuMhz: number; version: string };
  domains: TopDomain[];
}

export interface TopView {
  networks: boolean;
  vbds: boolean;
  vcpus: boolean;
  repeatHeader: boolean;
  /** Index into FIELDS of the sort column (xentop starts at 0, the name). */
  sortField: number;
}

const u = (n: number) => String(Math.max(0, Math.trunc(n)));
const r = (s: string, w: number) => s.padStart(w);

/** Xen device number of a virtual disk name (xvda = 202:0, hda = 3:0, sda = 8:0), for the VBD lines. */
export function vbdDevice(vdev: string): number {
  const m = /^(xvd|hd|sd)([a-z])(\d*)$/.exec(vdev.replace(/:.*$/, ""));
  if (!m) return /^\d+$/.test(vdev) ? Number(vdev) : 0;
  const letter = m[2]!.charCodeAt(0) - 97;
  const part = m[3] ? Number(m[3]) : 0;
  if (m[1] === "xvd") return (202 << 8) | (letter * 16 + part);
  if (m[1] === "sd") return (8 << 8) | (letter * 16 + part);
  return ((letter < 2 ? 3 : 22) << 8) | ((letter % 2) * 64 + part);
}

/** A sample from the control API's answers. */
export function sampleOf(domains: readonly DomainSummary[], node: NodeInfo, at: number): TopSample {
  const version = `${node.xen_major ?? ""}.${node.xen_minor ?? ""}${node.xen_extra ?? ""}`;
  return {
    at,
    node: {
      totalKiB: Number(node.total_memory ?? 0) * 1024,
      freeKiB: Number(node.free_memory ?? 0) * 1024,
      nrCpus: Number(node.nr_cpus ?? 0),
      cpuMhz: Number(node.cpu_mhz ?? 0),
      version,
    },
    domains: domains.filter((d) => d.domid !== null).map((d) => ({
      domid: d.domid!,
      name: d.name,
      flags: d.flags,
      cpuNs: Math.round(d.cpuTime * 1e9),
      memKiB: d.memory * 1024,
      maxMemKiB: d.maxmem * 1024,
      vcpus: d.vcpus,
      vcpuNs: d.vcpuInfo.map((v) => ({ number: v.number, online: v.online, cpuTimeNs: v.cpuTimeNs })),
      nets: d.config.vif.map(() => ({ rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxErrs: 0, txErrs: 0, rxDrop: 0, txDrop: 0 })),
      vbds: d.config.disk.map((spec) => {
        const dev = vbdDevice(spec.split(",")[1]?.trim() ?? "");
        const stats = d.vbdStats?.find((s) => s.devid === dev);
        return { dev, oo: 0, rd: stats?.readRequests ?? 0, wr: stats?.writeRequests ?? 0 };
      }),
    })),
  };
}

/** CPU(%) as xentop computed it: 0 without a previous sample of the same domid. */
export function cpuPercent(d: TopDomain, cur: TopSample, prev: TopSample | undefined): number {
  const old = prev?.domains.find((o) => o.domid === d.domid);
  if (!prev || !old) return 0;
  const usElapsed = (cur.at - prev.at) * 1000;
  if (usElapsed <= 0) return 0;
  return (d.cpuNs - old.cpuNs) / 10 / usElapsed;
}

const sum = <T>(list: readonly T[], f: (x: T) => number) => list.reduce((s, x) => s + f(x), 0);

/** xentop's state letters, in its order d s b c p r. */
export function stateLetters(f: DomainSummary["flags"]): string {
  return [[f.dying, "d"], [f.shutdown, "s"], [f.blocked, "b"], [f.crashed, "c"], [f.paused, "p"], [f.running, "r"]]
    .map(([on, ch]) => (on ? ch : "-")).join("");
}

interface Field {
  header: string;
  width: number;
  print(d: TopDomain, cur: TopSample, prev: TopSample | undefined): string;
  /** Sort key: ascending for the name and state, descending for numbers (as xentop). */
  key(d: TopDomain, cur: TopSample, prev: TopSample | undefined): number | string;
}

const pct = (part: number, whole: number) => (whole > 0 ? (part / whole) * 100 : 0);

export const FIELDS: readonly Field[] = [
  { header: "NAME", width: 10, print: (d) => r(d.name.slice(0, 10), 10), key: (d) => d.name.toLowerCase() },
  { header: "STATE", width: 6, print: (d) => stateLetters(d.flags), key: (d) => stateLetters(d.flags) },
  { header: "CPU(sec)", width: 10, print: (d) => r(u(d.cpuNs / 1e9), 10), key: (d) => -d.cpuNs },
  { header: "CPU(%)", width: 6, print: (d, c, p) => r(pyFixed(cpuPercent(d, c, p), 1), 6), key: (d, c, p) => -cpuPercent(d, c, p) },
  { header: "MEM(k)", width: 10, print: (d) => r(u(d.memKiB), 10), key: (d) => -d.memKiB },
  { header: "MEM(%)", width: 6, print: (d, c) => r(pyFixed(pct(d.memKiB, c.node.totalKiB), 1), 6), key: (d) => -d.memKiB },
  { header: "MAXMEM(k)", width: 10, print: (d) => r(u(d.maxMemKiB), 10), key: (d) => -d.maxMemKiB },
  { header: "MAXMEM(%)", width: 9, print: (d, c) => r(pyFixed(pct(d.maxMemKiB, c.node.totalKiB), 1), 9), key: (d) => -d.maxMemKiB },
  { header: "VCPUS", width: 5, print: (d) => r(u(d.vcpus), 5), key: (d) => -d.vcpus },
  { header: "NETS", width: 4, print: (d) => r(u(d.nets.length), 4), key: (d) => -d.nets.length },
  { header: "NETTX(k)", width: 8, print: (d) => r(u(sum(d.nets, (n) => n.txBytes) / 1024), 8), key: (d) => -sum(d.nets, (n) => n.txBytes) },
  { header: "NETRX(k)", width: 8, print: (d) => r(u(sum(d.nets, (n) => n.rxBytes) / 1024), 8), key: (d) => -sum(d.nets, (n) => n.rxBytes) },
  { header: "VBDS", width: 4, print: (d) => r(u(d.vbds.length), 4), key: (d) => -d.vbds.length },
  { header: "VBD_OO", width: 8, print: (d) => r(u(sum(d.vbds, (b) => b.oo)), 8), key: (d) => -sum(d.vbds, (b) => b.oo) },
  { header: "VBD_RD", width: 8, print: (d) => r(u(sum(d.vbds, (b) => b.rd)), 8), key: (d) => -sum(d.vbds, (b) => b.rd) },
  { header: "VBD_WR", width: 8, print: (d) => r(u(sum(d.vbds, (b) => b.wr)), 8), key: (d) => -sum(d.vbds, (b) => b.wr) },
  { header: "SSID", width: 4, print: () => r("0", 4), key: () => 0 },
];

export function headerLine(): string {
  return FIELDS.map((f) => r(f.header, f.width)).join(" ");
}

export function domainLine(d: TopDomain, cur: TopSample, prev: TopSample | undefined): string {
  return FIELDS.map((f) => f.print(d, cur, prev)).join(" ");
}

function vcpuLines(d: TopDomain): string {
  let text = "VCPUs(sec): ";
  d.vcpuNs.forEach((v, i) => {
    if (!v.online) return;
    if (i !== 0 && i % 5 === 0) text += "\n        ";
    text += ` ${r(String(v.number), 2)}: ${r(u(v.cpuTimeNs / 1e9), 10)}s`;
  });
  return `${text}\n`;
}

function netLines(d: TopDomain): string {
  return d.nets.map((n, i) =>
    `Net${i} RX: ${r(u(n.rxBytes), 8)}bytes ${r(u(n.rxPackets), 8)}pkts ${r(u(n.rxErrs), 8)}err ${r(u(n.rxDrop), 8)}drop  ` +
    `TX: ${r(u(n.txBytes), 8)}bytes ${r(u(n.txPackets), 8)}pkts ${r(u(n.txErrs), 8)}err ${r(u(n.txDrop), 8)}drop\n`).join("");
}

function vbdLines(d: TopDomain): string {
  // xentop printed the major:minor detail only on Linux; xVM (Solaris) left it empty.
  return d.vbds.map((b) => `VBD BlkBack ${r(String(b.dev), 4)}  OO: ${r(u(b.oo), 8)}   RD: ${r(u(b.rd), 8)}   WR: ${r(u(b.wr), 8)}\n`).join("");
}

/** The summary xentop printed above the table on a terminal. */
export function summaryLines(cur: TopSample): string {
  const t = new Date(cur.at);
  const clock = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  let run = 0, block = 0, pause = 0, crash = 0, dying = 0, shutdown = 0;
  for (const d of cur.domains) {
    const f = d.flags;
    if (f.running) run++;
    else if (f.blocked) block++;
    else if (f.paused) pause++;
    else if (f.shutdown) shutdown++;
    else if (f.crashed) crash++;
    else if (f.dying) dying++;
  }
  const n = cur.node;
  return `xentop - ${clock}   Xen ${n.version}\n` +
    `${cur.domains.length} domains: ${run} running, ${block} blocked, ${pause} paused, ${crash} crashed, ${dying} dying, ${shutdown} shutdown \n` +
    `Mem: ${u(n.totalKiB)}k total, ${u(n.totalKiB - n.freeKiB)}k used, ${u(n.freeKiB)}k free    CPUs: ${n.nrCpus} @ ${u(n.cpuMhz)}MHz\n`;
}

/** The domains in the order the sort column gives (ties keep the domid order). */
export function sorted(cur: TopSample, prev: TopSample | undefined, sortField: number): TopDomain[] {
  const f = FIELDS[sortField] ?? FIELDS[0]!;
  return [...cur.domains].sort((a, b) => {
    const ka = f.key(a, cur, prev);
    const kb = f.key(b, cur, prev);
    if (ka < kb) return -1;
    if (ka > kb) return 1;
    return a.domid - b.domid;
  });
}

/** The table: header, then each domain with its optional detail lines (batch mode prints only this). */
export function table(cur: TopSample, prev: TopSample | undefined, view: TopView, maxLines = Infinity): string {
  const lines: string[] = [];
  let first = true;
  for (const d of sorted(cur, prev, view.sortField)) {
    if (first || view.repeatHeader) lines.push(`${headerLine()}\n`);
    first = false;
    lines.push(`${domainLine(d, cur, prev)}\n`);
    if (view.vcpus) lines.push(vcpuLines(d));
    if (view.networks) lines.push(netLines(d));
    if (view.vbds) lines.push(vbdLines(d));
  }
  const text = lines.join("");
  if (maxLines === Infinity) return text;
  return text.split("\n").slice(0, maxLines).join("\n");
}

/** The bottom line of the terminal screen: the keys xentop answered to. */
export const BOTTOM_LINE = "  Delay  Networks  vBds  VCPUs  Repeat header  Sort order  Quit  ";
