import { XvmError } from "../../errors.ts";

function bad(cmd: string, name: string, want: string, got: unknown): never {
  throw new XvmError("XVM_BAD_REQUEST", { detail: `${cmd}: argument '${name}' must be ${want} (got ${JSON.stringify(got)})` });
}

/** Typed access to a request's arguments. */
export const arg = {
  int(args: Record<string, unknown>, name: string, cmd: string): number {
    const v = args[name];
    return Number.isInteger(v) ? (v as number) : bad(cmd, name, "an integer", v);
  },
  string(args: Record<string, unknown>, name: string, cmd: string): string {
    const v = args[name];
    return typeof v === "string" ? v : bad(cmd, name, "a string", v);
  },
  bool(args: Record<string, unknown>, name: string, cmd: string, fallback?: boolean): boolean {
    const v = args[name];
    if (v === undefined && fallback !== undefined) return fallback;
    return typeof v === "boolean" ? v : bad(cmd, name, "true or false", v);
  },
  ints(args: Record<string, unknown>, name: string, cmd: string): number[] {
    const v = args[name];
    return Array.isArray(v) && v.every((x) => Number.isInteger(x)) ? (v as number[]) : bad(cmd, name, "a list of integers", v);
  },
  object(args: Record<string, unknown>, name: string, cmd: string): Record<string, unknown> {
    const v = args[name];
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(cmd, name, "an object", v);
  },
};
