/**
 * svcs's columns (svcs.c): name, width, how a value is printed and how it sorts. Each value is
 * printed "%-*s " into a buffer that some columns size one byte short, so STATE comes out 15
 * characters wide with no separator, STIME 9, DESC 100, and a long INST is cut at 21; a long FMRI
 * or SVC simply pushes the next column along. The header is each name padded to its width plus a
 * space; header and rows lose their trailing blanks.
 */
import type { InstanceView } from "./instances.ts";
import { stimeText } from "./time.ts";

export interface Ctx {
  now: number;
  /** An N, SN, NSTA or NSTATE column is shown: STATE/S/STA then carry no '*'. */
  nstateShown: boolean;
  zone: string;
}

export interface Column {
  name: string;
  width: number;
  description: string;
  print(v: InstanceView, ctx: Ctx): string;
  /** Comparable key for sorting (numbers or strings); reversed for -S. */
  key(v: InstanceView, ctx: Ctx): number | string | Array<number>;
}

/** "%-*s " written into a buffer of `room` bytes (snprintf keeps room-1 characters). */
export function field(value: string, width: number, room: number): string {
  const s = `${value.padEnd(width)} `;
  return s.length > room - 1 ? s.slice(0, room - 1) : s;
}

const fit = (value: string, width: number) => field(value, width, Math.max(width, value.length) + 2);

export function stateChar(state: string): string {
  switch (state) {
    case "uninitialized": return "u";
    case "offline": return "0";
    case "online": return "1";
    case "maintenance": return "m";
    case "disabled": return "d";
    case "degraded": return "D";
    case "legacy_run": return "L";
    default: return "?";
  }
}

export function stateAbbrev(state: string): string {
  switch (state) {
    case "uninitialized": return "UN";
    case "offline": return "OFF";
    case "online": return "ON";
    case "maintenance": return "MNT";
    case "disabled": return "DIS";
    case "degraded": return "DGD";
    case "legacy_run": return "LRC";
    default: return "?";
  }
}

export function stateOrder(state: string): number {
  switch (state) {
    case "online": return 2;
    case "degraded": return 3;
    case "offline": return 4;
    case "maintenance": return 5;
    case "disabled": return 1;
    case "uninitialized": return 6;
    default: return 7;
  }
}

/** next_state names a real state: the instance is in transition. */
export function transitioning(v: InstanceView): boolean {
  return stateChar(v.nextState) !== "?";
}

const MAX_STATE = 14; // MAX_SCF_STATE_STRING_SZ, with the NUL

export const COLUMNS: readonly Column[] = [
  {
    name: "CTID", width: 6, description: "contract ID for service (see contract(4))",
    print: (v) => {
      if (v.contracts.length === 1) return `${v.contracts[0]!.padStart(6)} `;
      if (v.contracts.length > 1) return `${v.contracts[0]!.padStart(5)}* `;
      return `${"-".padStart(6)} `;
    },
    key: (v) => (v.contracts.length >= 1 ? Number(v.contracts[0]) : 0),
  },
  {
    name: "DESC", width: 100, description: "human-readable description of the service",
    print: (v) => {
      const d = (v.commonName ?? "-").replace(/\n/g, " ");
      return field(d, 100, Math.max(100, d.length) + 1);
    },
    key: () => 0,
  },
  {
    name: "FMRI", width: 50, description: "Fault Managed Resource Identifier for service",
    print: (v) => fit(v.fmri, 50),
    key: (v) => v.fmri.padEnd(50).slice(0, 50),
  },
  {
    name: "INST", width: 20, description: "portion of the FMRI indicating service instance",
    print: (v) => field(v.instance, 20, 22),
    key: (v) => field(v.instance, 20, 22).padEnd(20).slice(0, 20),
  },
  {
    name: "N", width: 1, description: "abbreviation for next state (if in transition)",
    print: (v) => field(v.nextState === "none" ? "-" : stateChar(v.nextState), 2, 3),
    key: (v) => stateOrder(v.nextState),
  },
  {
    name: "NSTA", width: 4, description: "abbreviation for next state (if in transition)",
    print: (v) => `${(v.nextState === "none" ? "-" : stateAbbrev(v.nextState)).padEnd(4)} `,
    key: (v) => stateOrder(v.nextState),
  },
  {
    name: "NSTATE", width: MAX_STATE - 1, description: "name for next state (if in transition)",
    print: (v) => field(v.nextState === "" || v.nextState === "none" ? "-" : v.nextState, MAX_STATE - 1, MAX_STATE + 1),
    key: (v) => stateOrder(v.nextState),
  },
  {
    name: "S", width: 2, description: "abbreviation for current state",
    print: (v, c) => `${stateChar(v.state)}${!c.nstateShown && transitioning(v) ? "*" : " "} `,
    key: (v) => stateOrder(v.state),
  },
  {
    name: "SCOPE", width: 20, description: "name for scope associated with service",
    print: () => field("localhost", 20, 22),
    key: () => "localhost".padEnd(20),
  },
  {
    name: "SN", width: 2, description: "abbreviation for current state and next state",
    print: (v) => `${stateChar(v.state)}${v.nextState === "none" ? "-" : stateChar(v.nextState)} `,
    key: (v) => [stateOrder(v.state), stateOrder(v.nextState)],
  },
  {
    name: "SVC", width: 20, description: "portion of the FMRI representing service name",
    print: (v) => fit(v.service, 20),
    key: (v) => v.service.padEnd(20).slice(0, 20),
  },
  {
    name: "STA", width: 4, description: "abbreviation for current state",
    print: (v, c) => `${(stateAbbrev(v.state) + (!c.nstateShown && transitioning(v) ? "*" : "")).padEnd(4)} `,
    key: (v) => stateOrder(v.state),
  },
  {
    name: "STATE", width: MAX_STATE, description: "name for current state",
    print: (v, c) => {
      const s = (v.state || "-") + (!c.nstateShown && transitioning(v) ? "*" : "");
      return field(s, MAX_STATE + 1, MAX_STATE + 2);
    },
    key: (v) => stateOrder(v.state),
  },
  {
    name: "STIME", width: 8, description: "time of last state change",
    print: (v, c) => (v.stime === undefined ? "-".padEnd(9) : field(stimeText(v.stime, c.now), 9, 10)),
    key: (v) => (v.stime === undefined ? 0 : v.stime),
  },
  {
    name: "ZONE", width: 16, description: "name of zone",
    print: (_v, c) => fit(c.zone, 16),
    key: (_v, c) => c.zone.padEnd(16).slice(0, 16),
  },
];

export function columnIndex(name: string): number {
  return COLUMNS.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
}

export function headerLine(cols: readonly number[]): string {
  return cols.map((i) => `${COLUMNS[i]!.name.padEnd(COLUMNS[i]!.width).slice(0, COLUMNS[i]!.width)} `).join("").replace(/ +$/, "");
}

export function rowLine(v: InstanceView, cols: readonly number[], ctx: Ctx): string {
  return cols.map((i) => COLUMNS[i]!.print(v, ctx)).join("").replace(/ +$/, "");
}

function cmp(a: number | string | number[], b: number | string | number[]): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  }
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Sorts by the -s/-S keys in order; equal keys keep the walk order. */
export function sortViews(views: InstanceView[], sort: ReadonlyArray<{ column: number; reverse: boolean }>, ctx: Ctx): InstanceView[] {
  return views
    .map((v, i) => ({ v, i }))
    .sort((x, y) => {
      for (const s of sort) {
        const col = COLUMNS[s.column]!;
        const r = cmp(col.key(x.v, ctx), col.key(y.v, ctx));
        if (r !== 0) return s.reverse ? -r : r;
      }
      return x.i - y.i;
    })
    .map((x) => x.v);
}
