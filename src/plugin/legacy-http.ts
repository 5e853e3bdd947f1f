/**
 * The registry behind `PluginContext.legacyHttp`: plugins add `op=` handlers for the legacy xend
 * HTTP interface here, and the unix-server plugin looks them up per request. The plugin host makes
 * one per daemon and hands the same object to every plugin's context.
 */
import type { LegacyDomainOp, LegacyHttpRegistry } from "./contract.ts";

const OP_NAME = /^[a-z][a-z0-9_]*$/;

export function createLegacyHttpRegistry(): LegacyHttpRegistry {
  const ops = new Map<string, LegacyDomainOp>();
  return {
    registerDomainOp(op, handler) {
      if (!OP_NAME.test(op)) throw new Error(`legacy HTTP op name '${op}' must match ${OP_NAME}`);
      if (ops.has(op)) throw new Error(`legacy HTTP op '${op}' is already registered`);
      ops.set(op, handler);
      return () => {
        if (ops.get(op) === handler) ops.delete(op);
      };
    },
    domainOp: (op) => ops.get(op),
  };
}
