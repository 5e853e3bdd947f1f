/**
 * `op=dump` on the legacy xend HTTP interface (served by the unix-server plugin), as xend's
 * SrvDomain.op_dump: `POST /xend/domain/<dom>` with `op=dump`, optional `file`, and `live`, `crash`,
 * `reset` as integers (libvirt sends `live=0|1`, `crash=0|1`). The answer is empty on success.
 * A relative `file` lands in the dump directory and may not leave it (`..`, symbolic links); an
 * absolute one is refused (xend wrote wherever it was told, as root): only `xm dump-core` on the
 * control socket may name a file elsewhere.
 */
import { XvmError, type LegacyDomainOp } from "xvm/plugin";
import type { Dumper } from "./dumper.ts";

function flag(args: Readonly<Record<string, string>>, name: string): boolean {
  const value = args[name];
  if (value === undefined || value === "") return false;
  // xend's FormFn converted with int(): anything else was an error.
  if (!/^[+-]?\d+$/.test(value.trim())) throw new XvmError("XVM_BAD_REQUEST", { detail: `invalid literal for int(): ${value}` });
  return Number.parseInt(value, 10) !== 0;
}

/** `optional` is spelled out here too, so this compiles against contracts from before that field. */
type DumpOp = LegacyDomainOp & { readonly optional?: readonly string[] };

export function legacyDumpOp(dumper: Dumper): DumpOp {
  return {
    optional: ["file", "live", "crash", "reset"],
    async run(domain, args) {
      await dumper.dump({
        domain: domain.domid ?? domain.name,
        file: args.file || undefined,
        live: flag(args, "live"),
        crash: flag(args, "crash"),
        reset: flag(args, "reset"),
      });
      return undefined;
    },
  };
}
