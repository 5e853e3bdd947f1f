/**
 * The built-in plugins, imported statically so they are inside the binary. Order is registration
 * order: setup runs top to bottom, stop bottom to top. This file and builtin-properties.ts are the
 * only files under src/ that import plugins/ (test/unit/import-boundary.test.ts checks it).
 */
import type { PluginDefinition } from "../plugin/contract.ts";
import defaultNic from "../../plugins/default-nic/index.ts";
import dom0Cpus from "../../plugins/dom0-cpus/index.ts";
import dom0MinMem from "../../plugins/dom0-min-mem/index.ts";
import enableDump from "../../plugins/enable-dump/index.ts";
import relocation from "../../plugins/relocation/index.ts";
import unixServer from "../../plugins/unix-server/index.ts";

export const BUILTIN_PLUGINS: readonly PluginDefinition[] = [
  defaultNic as PluginDefinition,
  dom0Cpus as PluginDefinition,
  dom0MinMem as PluginDefinition,
  enableDump as PluginDefinition,
  relocation as PluginDefinition,
  unixServer as PluginDefinition,
];
