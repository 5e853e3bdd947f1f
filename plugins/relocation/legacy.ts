/**
 * `op=migrate` on the legacy xend HTTP interface (served by the unix-server plugin), as xend's
 * SrvDomain.op_migrate: `POST /xend/domain/<dom>` with `destination`, and `live`, `port`,
 * `resource` as integers (libvirt also sends `node=-1&ssl=0&change_home_server=0`, which xend 3.4
 * accepted). The answer comes once the migration is over: empty on success, `(xend.err '…')`
 * with status 500 on failure. `ssl=1` is refused: this relocation server speaks plain TCP only.
 */
import { XvmError, type LegacyDomainOp } from "xvm/plugin";
import type { MigrateRequest, MigrateResult } from "./send.ts";

function int(args: Readonly<Record<string, string>>, name: string): number {
  const value = args[name];
  if (value === undefined || value.trim() === "") return 0;
  // xend's FormFn converted with int(): anything else was an error.
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new XvmError("XVM_BAD_REQUEST", { detail: `invalid literal for int(): ${value}` });
  return Number.parseInt(value, 10);
}

export function legacyMigrateOp(migrate: (request: MigrateRequest) => Promise<MigrateResult>): LegacyDomainOp {
  return {
    params: ["destination"],
    optional: ["live", "port", "resource", "node", "ssl", "change_home_server"],
    async run(domain, args) {
      if (int(args, "ssl") !== 0) throw new XvmError("MIGRATE_REFUSED", { detail: "SSL relocation is not supported by this xend (plain TCP only)" });
      const port = int(args, "port");
      if (port < 0 || port > 65535) throw new XvmError("XVM_BAD_REQUEST", { detail: `port ${port} is out of range` });
      await migrate({
        domain: domain.domid ?? domain.name,
        host: args.destination!,
        port,
        live: int(args, "live") !== 0,
        resource: Math.max(0, int(args, "resource")),
      });
      return undefined;
    },
  };
}
