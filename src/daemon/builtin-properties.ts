/**
 * The built-in plugins' property declarations, without the plugins: the xend manifest (and so
 * every SMF command that may create the repository) needs them, and must not evaluate the plugins'
 * code — `svcs` would otherwise load Hono, the relocation server and the domain code on each run.
 * Same order as the plugin list (src/plugin/builtins.ts); test/unit/builtin-properties.test.ts
 * checks that both say the same.
 */
import type { PropertyDecls } from "../plugin/contract.ts";
import { properties as defaultNic } from "../../plugins/default-nic/properties.ts";
import { properties as dom0Cpus } from "../../plugins/dom0-cpus/properties.ts";
import { properties as dom0MinMem } from "../../plugins/dom0-min-mem/properties.ts";
import { properties as enableDump } from "../../plugins/enable-dump/properties.ts";
import { properties as relocation } from "../../plugins/relocation/properties.ts";
import { properties as unixServer } from "../../plugins/unix-server/properties.ts";

export const BUILTIN_DECLARATIONS: ReadonlyArray<{ owner: string; properties: PropertyDecls }> = [
  { owner: "default-nic", properties: defaultNic },
  { owner: "dom0-cpus", properties: dom0Cpus },
  { owner: "dom0-min-mem", properties: dom0MinMem },
  { owner: "enable-dump", properties: enableDump },
  { owner: "relocation", properties: relocation },
  { owner: "unix-server", properties: unixServer },
];
