/**
 * The property declarations of the built-in plugins, in registration order (the order of
 * src/daemon/builtins.ts), read from each plugin's `properties.ts` only: svcs, svccfg and svcprop
 * seed the repository from them without loading any plugin's code. With src/daemon/builtins.ts
 * the only file under src/ that imports plugins/ (test/unit/import-boundary.test.ts checks both,
 * and that these are the declarations the plugins themselves carry).
 */
import type { PropertyDecls } from "../plugin/contract.ts";
import { properties as defaultNic } from "../../plugins/default-nic/properties.ts";
import { properties as dom0Cpus } from "../../plugins/dom0-cpus/properties.ts";
import { properties as dom0MinMem } from "../../plugins/dom0-min-mem/properties.ts";
import { properties as enableDump } from "../../plugins/enable-dump/properties.ts";
import { properties as relocation } from "../../plugins/relocation/properties.ts";
import { properties as unixServer } from "../../plugins/unix-server/properties.ts";

export const BUILTIN_PROPERTIES: ReadonlyArray<{ owner: string; properties: PropertyDecls }> = [
  { owner: "default-nic", properties: defaultNic },
  { owner: "dom0-cpus", properties: dom0Cpus },
  { owner: "dom0-min-mem", properties: dom0MinMem },
  { owner: "enable-dump", properties: enableDump },
  { owner: "relocation", properties: relocation },
  { owner: "unix-server", properties: unixServer },
];
