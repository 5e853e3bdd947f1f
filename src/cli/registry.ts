/**
 * Every command of the binary. Each area exports its own list; this file only gathers them, so
 * adding a command never touches another area's file.
 */
import type { CommandClass } from "clipanion";
import { commands as svccfg } from "./svccfg.ts";
import { commands as svcprop } from "./svcprop.ts";
import { commands as svcadm } from "./svcadm.ts";
import { commands as svcs } from "./svcs.ts";
import { commands as xend } from "./xend.ts";
import { commands as xm } from "./xm/index.ts";
import { commands as mdb } from "./mdb.ts";
import { commands as dladm } from "./dladm.ts";
import { commands as internal } from "./internal.ts";
import { commands as misc } from "./misc.ts";
import { commands as runner } from "./runner.ts";
import { commands as restarter } from "./restarter.ts";

export function registry(): CommandClass[] {
  return [...svccfg, ...svcprop, ...svcadm, ...svcs, ...xend, ...xm, ...mdb, ...dladm, ...internal, ...misc, ...runner, ...restarter];
}
