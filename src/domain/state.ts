/**
 * The six state flags xm shows, in xm's order `r b p s c d`, and the power-state names xend's
 * legacy interface filters on.
 */
import type { DomainStateFlags } from "./types.ts";

const ORDER: ReadonlyArray<[keyof DomainStateFlags, string]> = [
  ["running", "r"],
  ["blocked", "b"],
  ["paused", "p"],
  ["shutdown", "s"],
  ["crashed", "c"],
  ["dying", "d"],
];

/** `r-----`, `-b----`, `--p---`, … one character per flag, `-` when it is clear. */
export function stateString(flags: DomainStateFlags): string {
  // Written out: every listing calls it once per domain.
  return (flags.running ? "r" : "-") + (flags.blocked ? "b" : "-") + (flags.paused ? "p" : "-") +
    (flags.shutdown ? "s" : "-") + (flags.crashed ? "c" : "-") + (flags.dying ? "d" : "-");
}

/** Parses a state string back (tests, clients). Unknown characters are rejected. */
export function parseStateString(state: string): DomainStateFlags {
  if (state.length !== 6) throw new Error(`state string must have 6 characters: '${state}'`);
  const flags: DomainStateFlags = { running: false, blocked: false, paused: false, shutdown: false, crashed: false, dying: false };
  ORDER.forEach(([key, letter], i) => {
    const c = state[i];
    if (c === letter) flags[key] = true;
    else if (c !== "-") throw new Error(`bad character '${c}' at position ${i + 1} of state '${state}'`);
  });
  return flags;
}

export const NO_FLAGS: DomainStateFlags = Object.freeze({
  running: false, blocked: false, paused: false, shutdown: false, crashed: false, dying: false,
});

/**
 * XenAPI power state of a domain (xend's `status`, and what `?state=` filters on):
 * halted, paused, running, suspended, crashed. A shut-down domain kept by `preserve` is halted.
 */
export type PowerState = "halted" | "paused" | "running" | "suspended" | "crashed";

export function powerState(flags: DomainStateFlags, active: boolean): PowerState {
  if (!active) return "halted";
  if (flags.crashed) return "crashed";
  if (flags.shutdown) return "halted";
  if (flags.paused) return "paused";
  return "running";
}

/** A word for error messages: "paused", "crashed", "shut down", "running", "not running". */
export function stateWord(flags: DomainStateFlags, active: boolean): string {
  if (!active) return "not running";
  if (flags.dying) return "dying";
  if (flags.crashed) return "crashed";
  if (flags.shutdown) return "shut down";
  if (flags.paused) return "paused";
  return "running";
}
