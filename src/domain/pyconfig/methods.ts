/** Methods of str, list and dict that real configs call (`'a b'.split()`, `disk.append(…)`). */
import { MAX_ITEMS, PyDict, PyError, PyFunction, PyMatch, PyTuple, dictKey, str, typeName, type PyValue } from "./values.ts";

const text = (v: PyValue | undefined, what: string): string => {
  if (typeof v !== "string") throw new PyError(`${what} expects a string, not ${v === undefined ? "nothing" : typeName(v)}`);
  return v;
};
const bound = (name: string, call: (args: PyValue[]) => PyValue) => new PyFunction(name, (args) => call(args));

function stringMethod(s: string, name: string): PyFunction | undefined {
  switch (name) {
    case "split":
      return bound(name, ([sep, max]) => {
        const limit = typeof max === "number" ? max : -1;
        if (sep === undefined || sep === null) {
          const words = s.trim().split(/\s+/).filter(Boolean);
          if (limit < 0 || words.length <= limit + 1) return words;
          const re = /\S+/g;
          const out: PyValue[] = [];
          let m: RegExpExecArray | null;
          while (out.length < limit && (m = re.exec(s))) out.push(m[0]);
          out.push(s.slice(re.lastIndex).trimStart());
          return out;
        }
        const by = text(sep, "split()");
        if (by === "") throw new PyError("empty separator");
        const parts = s.split(by);
        if (limit < 0 || parts.length <= limit + 1) return parts;
        return [...parts.slice(0, limit), parts.slice(limit).join(by)];
      });
    case "strip": return bound(name, ([chars]) => trim(s, chars, true, true));
    case "lstrip": return bound(name, ([chars]) => trim(s, chars, true, false));
    case "rstrip": return bound(name, ([chars]) => trim(s, chars, false, true));
    case "lower": return bound(name, () => s.toLowerCase());
    case "upper": return bound(name, () => s.toUpperCase());
    case "replace": return bound(name, ([a, b]) => s.split(text(a, "replace()")).join(text(b, "replace()")));
    case "startswith": return bound(name, ([p]) => (p instanceof PyTuple ? p.items.some((x) => s.startsWith(text(x, name))) : s.startsWith(text(p, name))));
    case "endswith": return bound(name, ([p]) => (p instanceof PyTuple ? p.items.some((x) => s.endsWith(text(x, name))) : s.endsWith(text(p, name))));
    case "find": return bound(name, ([p]) => s.indexOf(text(p, "find()")));
    case "count": return bound(name, ([p]) => (text(p, "count()") === "" ? s.length + 1 : s.split(p as string).length - 1));
    case "join":
      return bound(name, ([seq]) => {
        const items = Array.isArray(seq) ? seq : seq instanceof PyTuple ? seq.items : undefined;
        if (!items) throw new PyError(`join() expects a list of strings, not ${seq === undefined ? "nothing" : typeName(seq)}`);
        return items.map((x, i) => text(x, `join() item ${i}`)).join(s);
      });
    case "isdigit": return bound(name, () => /^\d+$/.test(s));
  }
  return undefined;
}

function trim(s: string, chars: PyValue | undefined, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? " \t\n\r\f\v" : text(chars, "strip()");
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.includes(s[a]!)) a++;
  if (right) while (b > a && set.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

function listMethod(list: PyValue[], name: string): PyFunction | undefined {
  const grow = (n: number) => {
    if (list.length + n > MAX_ITEMS) throw new PyError(`list longer than ${MAX_ITEMS} items`);
  };
  switch (name) {
    case "append": return bound(name, ([x]) => (grow(1), list.push(x ?? null), null));
    case "extend":
      return bound(name, ([x]) => {
        const items = Array.isArray(x) ? x : x instanceof PyTuple ? x.items : undefined;
        if (!items) throw new PyError("extend() expects a list");
        grow(items.length);
        list.push(...items);
        return null;
      });
    case "insert":
      return bound(name, ([i, x]) => {
        grow(1);
        list.splice(typeof i === "number" ? i : 0, 0, x ?? null);
        return null;
      });
  }
  return undefined;
}

function dictMethod(d: PyDict, name: string): PyFunction | undefined {
  switch (name) {
    case "get": return bound(name, ([k, fallback]) => d.map.get(dictKey(k ?? null)) ?? fallback ?? null);
    case "has_key": return bound(name, ([k]) => d.map.has(dictKey(k ?? null)));
    case "keys": return bound(name, () => [...d.map.keys()]);
    case "values": return bound(name, () => [...d.map.values()]);
    case "items": return bound(name, () => [...d.map].map(([k, v]) => new PyTuple([k, v])));
  }
  return undefined;
}

export function attribute(obj: PyValue, name: string): PyFunction | undefined {
  if (typeof obj === "string") return stringMethod(obj, name);
  if (Array.isArray(obj)) return listMethod(obj, name);
  if (obj instanceof PyDict) return dictMethod(obj, name);
  if (obj instanceof PyMatch && name === "group") {
    return bound(name, ([n]) => obj.groups[typeof n === "number" ? n : 0] ?? null);
  }
  return undefined;
}

export { str };
