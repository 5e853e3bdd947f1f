/**
 * Manual pages in roff (man(7)) generated from the command definitions: one page per first word
 * of a command line (`xvm man xm`: every xm subcommand with its usage, options, details and
 * examples), named after the link users call it by (`xm.1`, `svcs.1`…; `xvm-<word>.1` for the
 * others), and `xvm.1` listing them all. `npm run build` writes them into dist/man/.
 */
import type { Definition } from "clipanion";
import { LINK_NAMES } from "../link-names.ts";
import { namePlaceholders } from "../usage-text.ts";
import { VERSION } from "../../version.ts";

/** Text for roff: backslashes escaped, `code` in bold, no line starting with a control character. */
function roff(text: string): string {
  return text
    .trim()
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/`([^`]+)`/g, "\\fB$1\\fR")
    .split("\n")
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join("\n")
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`);
}

/** A paragraph from clipanion's wrapped text: blank lines separate paragraphs. */
function paragraphs(text: string): string {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => roff(p.replace(/\s*\n\s*/g, " ")))
    .join("\n.PP\n");
}

/** NAME lines where the bare command's own description would say less than the page does. */
const SUMMARIES: Record<string, string> = {
  xm: "control, list and manipulate Xen guest instances",
  xend: "the xVM control daemon, and commands for the running one",
};

const firstWord = (d: Definition) => d.path.split(" ")[1] ?? "";

/** The first words that have a page (internal commands left out). */
export function pageWords(defs: readonly Definition[]): string[] {
  return [...new Set(defs.map(firstWord))].filter((w) => w !== "" && !w.startsWith("_") && !w.startsWith("-")).sort();
}

/** The page's file name for a first word. */
export function pageName(word: string): string {
  return (LINK_NAMES as readonly string[]).includes(word) ? word : `xvm-${word}`;
}

function header(name: string, summary: string): string {
  return `.TH ${name.toUpperCase().replace(/-/g, "\\-")} 1 "" "xvm ${VERSION}" "xvm commands"\n.SH NAME\n${roff(name)} \\- ${roff(summary)}\n`;
}

function usageLine(d: Definition): string {
  const options = d.options.map((o) => (o.required ? `<${o.definition}>` : `[${o.definition}]`));
  const [bin, ...words] = namePlaceholders(d.usage).split(" ");
  const cmd = `${bin} ${d.path.split(" ").slice(1).join(" ")}`;
  const rest = words.slice(d.path.split(" ").length - 1);
  return `\\fB${roff(cmd)}\\fR${[...options.map(namePlaceholders), ...rest].map((w) => ` ${roff(w)}`).join("")}`;
}

function commandSection(d: Definition): string {
  let out = `.TP\n${usageLine(d)}\n${roff((d.description ?? "").trim())}\n`;
  if (d.options.length > 0) {
    out += ".RS\n";
    for (const o of d.options) out += `.TP\n\\fB${roff(namePlaceholders(o.definition))}\\fR\n${roff(o.description ?? "")}\n`;
    out += ".RE\n";
  }
  if (d.details) out += `.IP\n${paragraphs(d.details)}\n`;
  for (const [what, cmd] of d.examples ?? []) out += `.IP\n${roff(what.trim())}${/[.?!:]$/.test(what.trim()) ? "" : ":"}\n.RS\n.nf\n${roff(cmd)}\n.fi\n.RE\n`;
  return out;
}

/** The page of one first word (`xm`), or undefined if no command starts with it. */
export function manPage(defs: readonly Definition[], word: string): string | undefined {
  const mine = defs.filter((d) => firstWord(d) === word);
  if (mine.length === 0) return undefined;
  const top = mine.find((d) => d.path.split(" ").length === 2) ?? mine[0]!;
  const name = pageName(word);
  let out = header(name, SUMMARIES[word] ?? (top.description ?? word).trim());
  out += ".SH SYNOPSIS\n.nf\n" + mine.map((d) => usageLine(d)).join("\n") + "\n.fi\n";
  if (word !== name) out += `.PP\nThrough the link named \\fB${roff(word)}\\fR the same commands run without \\fBxvm\\fR.\n`;
  out += ".SH COMMANDS\n" + mine.map(commandSection).join("");
  out += `.SH SEE ALSO\n${["xvm", ...pageWords(defs).filter((w) => w !== word).map(pageName)].map((p) => `\\fB${roff(p)}\\fR(1)`).join(", ")}\n`;
  return out;
}

/** xvm(1): every command with its one-line description. */
export function overviewPage(defs: readonly Definition[]): string {
  let out = header("xvm", "Solaris xVM's xend, SMF commands and xm as one multi-call binary and plugin host");
  out += ".SH SYNOPSIS\n.nf\n\\fBxvm\\fR [\\fB\\-\\-root\\fR \\fIDIR\\fR] \\fIcommand\\fR [\\fIargument\\fR ...]\n\\fBxvm\\fR \\fB\\-\\-help\\fR | \\fBhelp\\fR [\\fIcommand\\fR ...]\n\\fBxvm\\fR \\fB\\-\\-version\\fR\n.fi\n";
  out += `.SH DESCRIPTION\nEvery command below is also reached through a link named after its first word (${LINK_NAMES.map((n) => `\\fB${roff(n)}\\fR`).join(", ")}; \\fBxvm install\\-links\\fR makes them). Usage errors exit 2.\n`;
  out += ".SH COMMANDS\n";
  for (const word of pageWords(defs)) {
    for (const d of defs.filter((x) => firstWord(x) === word)) out += `.TP\n${usageLine(d)}\n${roff((d.description ?? "").trim())}\n`;
  }
  out += `.SH SEE ALSO\n${pageWords(defs).map((w) => `\\fB${roff(pageName(w))}\\fR(1)`).join(", ")}\n`;
  return out;
}
