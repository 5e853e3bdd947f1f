/**
 * A small reader for SMF service bundles (manifests and profiles): elements, attributes, text,
 * comments, the XML declaration and DOCTYPE, the five predefined entities and character
 * references. It is not a general XML parser (no DTD processing, no namespaces beyond keeping
 * `xml:lang` as a name), which is all the service_bundle DTD needs; it bounds size and depth.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  line: number;
}

export class XmlError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
  }
}

const MAX_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 64;
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;

function decode(text: string, line: number): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|apos|quot);?/g, (m, ref: string) => {
    if (!m.endsWith(";")) throw new XmlError(`entity reference '${m}' lacks its ';'`, line);
    switch (ref) {
      case "amp": return "&";
      case "lt": return "<";
      case "gt": return ">";
      case "apos": return "'";
      case "quot": return '"';
    }
    const code = ref.startsWith("#x") ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    if (!(code > 0 && code <= 0x10ffff)) throw new XmlError(`bad character reference '${m}'`, line);
    return String.fromCodePoint(code);
  });
}

/** Parses a document; returns its root element. Throws {@link XmlError} with a line number. */
export function parseXml(input: string): XmlElement {
  if (input.length > MAX_BYTES) throw new XmlError(`the document is larger than ${MAX_BYTES} bytes`, 1);
  let i = 0;
  let line = 1;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const advanceTo = (j: number) => {
    for (let k = i; k < j; k++) if (input.charCodeAt(k) === 10) line++;
    i = j;
  };
  const skipTo = (end: string, what: string) => {
    const j = input.indexOf(end, i);
    if (j < 0) throw new XmlError(`unterminated ${what}`, line);
    advanceTo(j + end.length);
  };
  while (i < input.length) {
    const lt = input.indexOf("<", i);
    const text = input.slice(i, lt < 0 ? input.length : lt);
    if (text.trim() !== "") {
      if (stack.length === 0) throw new XmlError("text outside the root element", line);
      stack[stack.length - 1]!.text += decode(text, line);
    }
    advanceTo(lt < 0 ? input.length : lt);
    if (lt < 0) break;
    if (input.startsWith("<!--", i)) skipTo("-->", "comment");
    else if (input.startsWith("<?", i)) skipTo("?>", "processing instruction");
    else if (input.startsWith("<![CDATA[", i)) {
      const j = input.indexOf("]]>", i);
      if (j < 0) throw new XmlError("unterminated CDATA section", line);
      if (stack.length === 0) throw new XmlError("CDATA outside the root element", line);
      stack[stack.length - 1]!.text += input.slice(i + 9, j);
      advanceTo(j + 3);
    } else if (input.startsWith("<!DOCTYPE", i)) {
      // A DOCTYPE may hold an internal subset in [ … ].
      const bracket = input.indexOf("[", i);
      const close = input.indexOf(">", i);
      if (bracket >= 0 && bracket < close) skipTo("]>", "DOCTYPE");
      else skipTo(">", "DOCTYPE");
    } else if (input.startsWith("</", i)) {
      const m = NAME.exec(input.slice(i + 2));
      const open = stack.pop();
      if (!m || !open) throw new XmlError("unexpected closing tag", line);
      if (m[0] !== open.name) throw new XmlError(`</${m[0]}> closes <${open.name}> (opened at line ${open.line})`, line);
      advanceTo(i + 2 + m[0].length);
      const rest = /^\s*>/.exec(input.slice(i));
      if (!rest) throw new XmlError(`expected '>' after </${m[0]}`, line);
      advanceTo(i + rest[0].length);
    } else {
      const m = NAME.exec(input.slice(i + 1));
      if (!m) throw new XmlError("expected an element name after '<'", line);
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: "", line };
      advanceTo(i + 1 + m[0].length);
      for (;;) {
        const ws = /^\s*/.exec(input.slice(i))![0];
        advanceTo(i + ws.length);
        if (input.startsWith("/>", i) || input.startsWith(">", i)) break;
        if (ws === "") throw new XmlError(`expected a space, '>' or '/>' in <${el.name}>`, line);
        const a = /^([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*('[^'<]*'|"[^"<]*")/.exec(input.slice(i));
        if (!a) throw new XmlError(`bad attribute in <${el.name}>`, line);
        if (Object.hasOwn(el.attrs, a[1]!)) throw new XmlError(`attribute '${a[1]}' given twice in <${el.name}>`, line);
        el.attrs[a[1]!] = decode(a[2]!.slice(1, -1), line);
        advanceTo(i + a[0].length);
      }
      if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
      else if (root) throw new XmlError("a second root element", line);
      else root = el;
      if (input.startsWith("/>", i)) advanceTo(i + 2);
      else {
        advanceTo(i + 1);
        stack.push(el);
        if (stack.length > MAX_DEPTH) throw new XmlError(`elements nested deeper than ${MAX_DEPTH}`, line);
      }
    }
  }
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]!.name}> (line ${stack[stack.length - 1]!.line}) is never closed`, line);
  if (!root) throw new XmlError("no root element", line);
  return root;
}
