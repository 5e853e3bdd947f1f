/**
 * The time formats svcs prints: STIME by age (svcs.c: "%k:%M:%S" within 24 hours, "%b_%d  " within
 * 12*30 days, "%Y    " beyond), and the C locale's "%c" (`Mon Feb  3 17:56:21 2006`, day padded
 * with a space as illumos's strftime does) for -l state_time and -x "since". Local time, so TZ holds.
 */
import { MONTHS, WEEKDAYS, clockTime } from "../svclog.ts";

const DAY_S = 24 * 60 * 60;
const two = (n: number) => String(n).padStart(2, "0");

export function stimeText(thenMs: number, nowMs: number): string {
  const then = Math.floor(thenMs / 1000);
  const now = Math.floor(nowMs / 1000);
  const d = new Date(then * 1000);
  if (now - then < DAY_S) return `${String(d.getHours()).padStart(2, " ")}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  if (now - then < 12 * 30 * DAY_S) return `${MONTHS[d.getMonth()]}_${two(d.getDate())}  `;
  return `${d.getFullYear()}    `;
}

/** strftime(NULL) in the C locale: "%a %b %e %H:%M:%S %Y". */
export function ctimeText(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  return `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${clockTime(d)} ${d.getFullYear()}`;
}
