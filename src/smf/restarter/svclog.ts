/**
 * The SMF service log: svc.startd's own lines, `[ Sep  4 10:12:01 Enabled. ]` (strftime
 * "%b %e %T", local time), interleaved with the daemon's raw stdout/stderr, which the restarter
 * hands the daemon as a file descriptor on the same file (O_APPEND keeps the two from clobbering).
 * Rotated like xend.log (1 MiB, 5 kept) by the one rotating writer (src/runtime/rotating-file.ts).
 */
import { appendRotating } from "../../runtime/rotating-file.ts";

export const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;
export const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

const two = (n: number) => String(n).padStart(2, "0");

/** strftime %T */
export function clockTime(d: Date): string {
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function smfLogLine(message: string, when: Date = new Date()): string {
  return `[ ${MONTHS[when.getMonth()]} ${String(when.getDate()).padStart(2, " ")} ${clockTime(when)} ${message} ]\n`;
}

/** Appends restarter lines; a log that cannot be written must not stop the restarter. */
export function appendServiceLog(path: string, messages: readonly string[], when: Date = new Date()): boolean {
  if (messages.length === 0) return true;
  return appendRotating(path, messages.map((m) => smfLogLine(m, when)).join(""), { who: "svc.startd" });
}
