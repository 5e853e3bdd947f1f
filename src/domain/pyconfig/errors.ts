/** Problems in a config file, always as `file:line:column: message`. */

export interface Diagnostic {
  source: string;
  line: number;
  column: number;
  message: string;
}

/** Values from the file reach messages: no control character (a newline, an escape sequence) may reach a terminal or a log. */
export function formatDiagnostic(d: Diagnostic): string {
  const clean = (text: string) => text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `${clean(d.source)}:${d.line}:${d.column}: ${clean(d.message)}`;
}

/** A config file that cannot be used; `diagnostics` holds every problem found, in file order. */
export class ConfigFileError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "ConfigFileError";
  }
}
