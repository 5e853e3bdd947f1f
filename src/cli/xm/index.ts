/**
 * Every `xm` subcommand, one command class per file. Plugins' xm commands are imported at the end
 * (their command classes live with the plugin's area but are registered here).
 */
import type { CommandClass } from "clipanion";
import { ConsoleCommand } from "./console.ts";
import { CreateCommand } from "./create.ts";
import { DeleteCommand } from "./delete.ts";
import { DestroyCommand } from "./destroy.ts";
import { DmesgCommand } from "./dmesg.ts";
import { DomidCommand } from "./domid.ts";
import { DomnameCommand } from "./domname.ts";
import { XmHelpCommand } from "./help.ts";
import { InfoCommand } from "./info.ts";
import { ListCommand } from "./list.ts";
import { LogCommand } from "./log.ts";
import { MemMaxCommand } from "./mem-max.ts";
import { MemSetCommand } from "./mem-set.ts";
import { NetworkListCommand } from "./network-list.ts";
import { NewCommand } from "./new.ts";
import { PauseCommand } from "./pause.ts";
import { RebootCommand } from "./reboot.ts";
import { RenameCommand } from "./rename.ts";
import { SchedCreditCommand } from "./sched-credit.ts";
import { ShutdownCommand } from "./shutdown.ts";
import { StartCommand } from "./start.ts";
import { SysrqCommand } from "./sysrq.ts";
import { TopCommand } from "./top.ts";
import { TriggerCommand } from "./trigger.ts";
import { UnpauseCommand } from "./unpause.ts";
import { UptimeCommand } from "./uptime.ts";
import { VcpuListCommand } from "./vcpu-list.ts";
import { VcpuPinCommand } from "./vcpu-pin.ts";
import { VcpuSetCommand } from "./vcpu-set.ts";
import { RestoreCommand } from "./restore.ts";
import { ResumeCommand } from "./resume.ts";
import { SaveCommand } from "./save.ts";
import { SuspendCommand } from "./suspend.ts";
import { BlockAttachCommand, BlockDetachCommand, BlockListCommand, NetworkAttachCommand, NetworkDetachCommand } from "./devices.ts";
// Commands other areas provide (one import line each; add yours here):
import { relocationKeyCommand } from "./relocation-key.ts";
import { eventsCommand } from "./events.ts";
// The built-in plugins' commands (declared in plugins/<name>/commands.ts, loaded when they run).
import { BUILTIN_COMMANDS } from "../../daemon/builtin-commands.ts";
import { pluginCommandClass } from "./plugin-command.ts";

const plugins: CommandClass[] = [
  ...BUILTIN_COMMANDS.flatMap((b) => b.commands.map(pluginCommandClass)),
  relocationKeyCommand,
  eventsCommand,
];

export const commands: CommandClass[] = [
  XmHelpCommand,
  ListCommand, InfoCommand, CreateCommand, NewCommand, StartCommand, DeleteCommand, DestroyCommand,
  ShutdownCommand, RebootCommand, PauseCommand, UnpauseCommand, RenameCommand, MemSetCommand, MemMaxCommand,
  VcpuSetCommand, VcpuPinCommand, VcpuListCommand, DomidCommand, DomnameCommand, UptimeCommand, ConsoleCommand,
  DmesgCommand, LogCommand, SysrqCommand, TriggerCommand, NetworkListCommand, TopCommand, SchedCreditCommand,
  SaveCommand, RestoreCommand, SuspendCommand, ResumeCommand,
  BlockListCommand, BlockAttachCommand, BlockDetachCommand, NetworkAttachCommand, NetworkDetachCommand,
  ...plugins,
];
