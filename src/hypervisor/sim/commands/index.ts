/**
 * The runner's command table. Each area adds its commands in its own file and one line here
 * (relocation: migration send/receive that stream pages from inside the runner).
 *
 * The migration commands load on first use: their modules bring node:crypto, node:zlib and the
 * stream code, about 4 MiB of memory in every runner, and most guests never migrate
 * (docs/architecture.md, "Memory"). test/unit/sim-runner-commands.test.ts checks that the names
 * below are exactly migrate.ts's.
 */
import type { RunnerCommand } from "../runner-command.ts";
import { commands as core } from "./core.ts";
import { commands as devices } from "./devices.ts";
import { commands as dump } from "./dump.ts";
import { commands as save } from "./save.ts";
import { commands as sched } from "./sched.ts";

export const MIGRATE_COMMANDS = ["unpause", "migrateOut", "migrateOutFinish", "migrateOutCancel", "migrateIn", "migrateInCommit", "migrateInAbort", "migrateInOrphaned", "memoryDigest"] as const;

let migrateTable: Record<string, RunnerCommand> | undefined;

async function migrateCommand(name: string): Promise<RunnerCommand> {
  migrateTable ??= (await import("./migrate.ts")).commands;
  return migrateTable[name]!;
}

const migrate: Record<string, RunnerCommand> = Object.fromEntries(
  MIGRATE_COMMANDS.map((name) => [name, async (ctx: Parameters<RunnerCommand>[0]) => (await migrateCommand(name))(ctx)]),
);
// migrate.ts's unpause refuses while a migration holds the guest; none can before it is loaded,
// except a guest created to receive one (spec.incoming), which must never run before it arrived.
const checkedUnpause: RunnerCommand = async (ctx) => (await migrateCommand("unpause"))(ctx);
migrate.unpause = (ctx) => (migrateTable || ctx.host.spec.incoming ? checkedUnpause(ctx) : core.unpause!(ctx));

export const RUNNER_COMMANDS: Record<string, RunnerCommand> = { ...core, ...devices, ...dump, ...migrate, ...save, ...sched };
