/**
 * xm's built-in subcommands by name, each loaded on its own (issue 16 item 1): `xm list` evaluates
 * list.ts and what it imports, not the 40-odd command modules of ./index.ts, which listings (`xm
 * help`, completion, man pages) still load whole. test/unit/xm-table.test.ts keeps the two in step.
 */
import type { CommandClass } from "clipanion";

type Load = () => Promise<CommandClass>;

/** A built-in plugin's command (plugins/<name>/commands.ts), as ./index.ts registers it. */
const pluginCommand = (name: string): Load => async () => {
  const [{ BUILTIN_COMMANDS }, { pluginCommandClass }] = await Promise.all([import("../../daemon/builtin-commands.ts"), import("./plugin-command.ts")]);
  const decl = BUILTIN_COMMANDS.flatMap((b) => b.commands).find((c) => c.name === name);
  if (!decl) throw new Error(`xm ${name}: no built-in plugin declares it`);
  return pluginCommandClass(decl);
};

export const XM_TABLE: ReadonlyMap<string, Load> = new Map<string, Load>([
  ["list", () => import("./list.ts").then((m) => m.ListCommand)],
  ["info", () => import("./info.ts").then((m) => m.InfoCommand)],
  ["create", () => import("./create.ts").then((m) => m.CreateCommand)],
  ["new", () => import("./new.ts").then((m) => m.NewCommand)],
  ["start", () => import("./start.ts").then((m) => m.StartCommand)],
  ["delete", () => import("./delete.ts").then((m) => m.DeleteCommand)],
  ["destroy", () => import("./destroy.ts").then((m) => m.DestroyCommand)],
  ["shutdown", () => import("./shutdown.ts").then((m) => m.ShutdownCommand)],
  ["reboot", () => import("./reboot.ts").then((m) => m.RebootCommand)],
  ["pause", () => import("./pause.ts").then((m) => m.PauseCommand)],
  ["unpause", () => import("./unpause.ts").then((m) => m.UnpauseCommand)],
  ["rename", () => import("./rename.ts").then((m) => m.RenameCommand)],
  ["mem-set", () => import("./mem-set.ts").then((m) => m.MemSetCommand)],
  ["mem-max", () => import("./mem-max.ts").then((m) => m.MemMaxCommand)],
  ["vcpu-set", () => import("./vcpu-set.ts").then((m) => m.VcpuSetCommand)],
  ["vcpu-pin", () => import("./vcpu-pin.ts").then((m) => m.VcpuPinCommand)],
  ["vcpu-list", () => import("./vcpu-list.ts").then((m) => m.VcpuListCommand)],
  ["domid", () => import("./domid.ts").then((m) => m.DomidCommand)],
  ["domname", () => import("./domname.ts").then((m) => m.DomnameCommand)],
  ["uptime", () => import("./uptime.ts").then((m) => m.UptimeCommand)],
  ["console", () => import("./console.ts").then((m) => m.ConsoleCommand)],
  ["dmesg", () => import("./dmesg.ts").then((m) => m.DmesgCommand)],
  ["log", () => import("./log.ts").then((m) => m.LogCommand)],
  ["sysrq", () => import("./sysrq.ts").then((m) => m.SysrqCommand)],
  ["trigger", () => import("./trigger.ts").then((m) => m.TriggerCommand)],
  ["network-list", () => import("./network-list.ts").then((m) => m.NetworkListCommand)],
  ["top", () => import("./top.ts").then((m) => m.TopCommand)],
  ["sched-credit", () => import("./sched-credit.ts").then((m) => m.SchedCreditCommand)],
  ["save", () => import("./save.ts").then((m) => m.SaveCommand)],
  ["restore", () => import("./restore.ts").then((m) => m.RestoreCommand)],
  ["suspend", () => import("./suspend.ts").then((m) => m.SuspendCommand)],
  ["resume", () => import("./resume.ts").then((m) => m.ResumeCommand)],
  ["block-list", () => import("./devices.ts").then((m) => m.BlockListCommand)],
  ["block-attach", () => import("./devices.ts").then((m) => m.BlockAttachCommand)],
  ["block-detach", () => import("./devices.ts").then((m) => m.BlockDetachCommand)],
  ["network-attach", () => import("./devices.ts").then((m) => m.NetworkAttachCommand)],
  ["network-detach", () => import("./devices.ts").then((m) => m.NetworkDetachCommand)],
  ["dump-core", pluginCommand("dump-core")],
  ["migrate", pluginCommand("migrate")],
  ["relocation-key", () => import("./relocation-key.ts").then((m) => m.relocationKeyCommand)],
  ["events", () => import("./events.ts").then((m) => m.eventsCommand)],
]);
