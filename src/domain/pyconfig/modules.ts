/**
 * The modules a config may import: `os` (uname, getenv, environ, path.exists/isfile/isdir/join/
 * basename/dirname), `os.path` and `re` (search, match). What touches the host goes through
 * {@link HostAccess}, so tests can give a fixed host and xm gives the real one.
 */
import { existsSync, statSync } from "node:fs";
import { arch, hostname, release, type as osType, version } from "node:os";
import { basename, dirname, posix } from "node:path";
import { PyDict, PyError, PyFunction, PyMatch, PyModule, PyTuple, typeName, type PyValue } from "./values.ts";

export interface HostAccess {
  exists(path: string): boolean;
  isFile(path: string): boolean;
  isDir(path: string): boolean;
  env(): Record<string, string | undefined>;
  uname(): [string, string, string, string, string];
}

export const realHost: HostAccess = {
  exists: (p) => existsSync(p),
  isFile: (p) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false,
  isDir: (p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false,
  env: () => process.env,
  uname: () => [osType(), hostname(), release(), version(), arch() === "x64" ? "x86_64" : arch()],
};

const path = (v: PyValue | undefined, what: string): string => {
  if (typeof v !== "string") throw new PyError(`${what} expects a path string, not ${v === undefined ? "nothing" : typeName(v)}`);
  if (v.includes("\0")) throw new PyError(`${what}: embedded NUL in the path`);
  return v;
};
const fn = (name: string, call: (args: PyValue[]) => PyValue): [string, PyValue] => [name, new PyFunction(name, (a) => call(a))];

/** Python's `re` syntax is close enough to JavaScript's for what configs test (`'64' in arch` style checks). */
function regex(pattern: PyValue | undefined, flags = ""): RegExp {
  if (typeof pattern !== "string") throw new PyError("re: the pattern must be a string");
  try {
    return new RegExp(pattern.replace(/\(\?P</g, "(?<"), flags);
  } catch (error) {
    throw new PyError(`re: bad pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}

export function hostModules(host: HostAccess): Map<string, PyModule> {
  const osPath = new PyModule("os.path", new Map<string, PyValue>([
    fn("exists", ([p]) => host.exists(path(p, "os.path.exists()"))),
    fn("isfile", ([p]) => host.isFile(path(p, "os.path.isfile()"))),
    fn("isdir", ([p]) => host.isDir(path(p, "os.path.isdir()"))),
    fn("join", (parts) => posix.join(...parts.map((p, i) => path(p, `os.path.join() argument ${i + 1}`)))),
    fn("basename", ([p]) => basename(path(p, "os.path.basename()"))),
    fn("dirname", ([p]) => dirname(path(p, "os.path.dirname()"))),
  ]));
  const env = (): PyDict => new PyDict(new Map(Object.entries(host.env()).filter((e): e is [string, string] => e[1] !== undefined)));
  const os = new PyModule("os", new Map<string, PyValue>([
    ["path", osPath],
    ["environ", env()],
    ["sep", "/"],
    ["name", "posix"],
    fn("uname", () => new PyTuple(host.uname())),
    fn("getenv", ([name, fallback]) => host.env()[path(name, "os.getenv()")] ?? fallback ?? null),
  ]));
  const re = new PyModule("re", new Map<string, PyValue>([
    fn("search", ([p, s]) => {
      if (typeof s !== "string") throw new PyError("re.search() expects a string to search");
      const m = regex(p).exec(s);
      return m ? new PyMatch([...m]) : null;
    }),
    fn("match", ([p, s]) => {
      if (typeof s !== "string") throw new PyError("re.match() expects a string to match");
      const m = regex(p, "y").exec(s);
      return m ? new PyMatch([...m]) : null;
    }),
  ]));
  return new Map([["os", os], ["os.path", osPath], ["re", re]]);
}
