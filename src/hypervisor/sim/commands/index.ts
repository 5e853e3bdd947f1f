/**
 * The runner's command table. Each area adds its commands in its own file and one line here
 * (relocation: migration send/receive that stream pages from inside the runner).
 */
import type { RunnerCommand } from "../runner-command.ts";
import { commands as core } from "./core.ts";
import { commands as devices } from "./devices.ts";
import { commands as dump } from "./dump.ts";
import { commands as migrate } from "./migrate.ts";
import { commands as save } from "./save.ts";
import { commands as sched } from "./sched.ts";

export const RUNNER_COMMANDS: Record<string, RunnerCommand> = { ...core, ...devices, ...dump, ...migrate, ...save, ...sched };
