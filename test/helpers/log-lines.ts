/**
 * xend.log lines carry `(module:lineno)` (src/daemon/log.ts). Tests compare what was logged, not
 * the line a statement sits on: these helpers drop the line number (`(daemon/daemon:141)` ->
 * `(daemon/daemon)`), which changes with every edit of the file.
 */
const LOCATION = /^((?:\[[^\]]*\] )?(?:TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL) \()([^()\s]+):\d+\) /;

/** One line (with or without its `[stamp pid] ` prefix) without the line number of its location. */
export function withoutLineNo(line: string): string {
  return line.replace(LOCATION, "$1$2) ");
}

/** A whole log text, each line without its location's line number. */
export function logWithoutLineNos(text: string): string {
  return text.split("\n").map(withoutLineNo).join("\n");
}
