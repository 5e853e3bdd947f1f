/**
 * The time formats svcs prints: STIME by age (svcs.c: "%k:%M:%S" within 24 hours, "%b_%d  " within
 * 12*30 days, "%Y    " beyond), and the C locale's "%c" (`Mon Feb  3 17:56:21 2006`, day padded
 * with a space as illumos's strftime does) for -l state_time and -x "since". Local time, so TZ holds,
 * read from the zone file as C does (src/runtime/local-time.ts: Date's local time costs svcs a
 * third of its start-up on Bun).
 */
import { localFields } from "../../../runtime/local-time.ts";
import { MONTHS, WEEKDAYS } from "../svclog.ts";

const DAY_S = 24 * 60 * 60;
const two = (n: number) => String(n).padStart(2, "0");

export function stimeText(thenMs: number, nowMs: number): string {
  const then = Math.floor(thenMs / 1000);
  const now = Math.floor(nowMs / 1000);
  const d = localFields(then * 1000);
  if (now - then < DAY_S) return `${String(d.getUTCHours()).padStart(2, " ")}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  if (now - then < 12 * 30 * DAY_S) return `${MONTHS[d.getUTCMonth()]}_${two(d.getUTCDate())}  `;
  return `${d.getUTCFullYear()}    `;
}

/** strftime(NULL) in the C locale: "%a %b %e %H:%M:%S %Y". */
export function ctimeText(ms: number): string {
  const d = localFields(Math.floor(ms / 1000) * 1000);
  const clock = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${clock} ${d.getUTCFullYear()}`;
}
