/**
 * `xm list -l`: every detail of a domain as xm printed it: the domain SXP (xend's layout, from
 * src/domain/sxp-convert.ts) through xend's PrettyPrint (an Oppen-style printer, 80 columns: a
 * list that fits stays on one line; one that does not puts each element on its own line, indented
 * by 4, and its closing parenthesis on a line of its own).
 */
import { domainToSxp } from "../../domain/sxp-convert.ts";
import type { DomainSummary } from "../../domain/types.ts";
import { show, type Sxp } from "../../formats/sxp.ts";

interface Out {
  text: string;
  width: number;
  used: number;
  space: number;
  block?: Block;
}

function newline(out: Out, indent: number): void {
  const at = indent + (out.block?.indent ?? 0);
  out.text += `\n${" ".repeat(at)}`;
  out.used = at;
  out.space = out.width - at;
}

function emit(out: Out, text: string, n: number): void {
  out.space = Math.max(0, out.space - n);
  out.used += n;
  out.text += text;
}

type Item = Str | Break | Block;

class Str {
  constructor(readonly value: string) {}
  get width(): number {
    return this.value.length;
  }
  print(out: Out): void {
    emit(out, this.value, this.width);
  }
}

class Break {
  /** Width from this break to the next one of its line (set when the block ends). */
  space = 0;
  constructor(readonly width: number, readonly indent: number) {}
  print(out: Out): void {
    const block = out.block!;
    if ((block.all && block.broken) || out.space - this.space < 0) newline(out, this.indent);
    else emit(out, " ".repeat(this.width), this.width);
  }
}

class Block {
  readonly items: Item[] = [];
  width = 0;
  indent = 0;
  broken = false;
  constructor(readonly all: boolean, readonly parent?: Block) {}

  end(): void {
    let width = 0;
    let lastWidth = 0;
    let lastBreak: Break | undefined;
    for (const x of this.items) {
      if (x instanceof Break) {
        if (lastBreak) lastBreak.space = width - lastWidth;
        lastBreak = x;
        lastWidth = width;
      }
      width += x.width;
    }
    if (lastBreak) lastBreak.space = width - lastWidth;
    this.width = width;
  }

  print(out: Out): void {
    this.indent = out.used;
    out.block = this;
    if (out.space - this.width < 0) this.broken = true;
    for (const x of this.items) x.print(out);
    out.block = this.parent;
  }
}

function build(value: Sxp, parent: Block): void {
  if (!Array.isArray(value)) {
    parent.items.push(new Str(show(value)));
    return;
  }
  const block = new Block(true, parent);
  block.items.push(new Str("("));
  (value as readonly Sxp[]).forEach((x, i) => {
    if (i) block.items.push(new Break(1, 4));
    build(x, block);
  });
  block.items.push(new Break(0, 0));
  block.items.push(new Str(")"));
  block.end();
  parent.items.push(block);
}

/** xend's PrettyPrint.prettyprint(sxpr, width=80), without the final newline. */
export function prettySxp(value: Sxp, width = 80): string {
  if (!Array.isArray(value)) return show(value);
  const top = new Block(false);
  build(value, top);
  top.end();
  const out: Out = { text: "", width, used: 0, space: width };
  top.print(out);
  return out.text;
}

export function formatLong(domains: readonly DomainSummary[]): string {
  return domains.map((d) => `${prettySxp(domainToSxp(d))}\n`).join("");
}
