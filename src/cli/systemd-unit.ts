/**
 * `xvm systemd-unit`: a systemd service unit that runs `xvm xend` in the foreground, for Linux hosts
 * where systemd, not SMF's restarter, supervises the daemon. It is printed for the binary that runs
 * it (the compiled executable, or Node with the bundle) and the state root in force;
 * contrib/systemd/xend.service is the same unit for /usr/local/bin/xvm and root `/`.
 *
 * Under it, svcs says the truth: xend `online`, restarter `systemd` (the daemon records who runs it).
 */
import { Command, Option, type CommandClass } from "clipanion";
import { selfCommand } from "../runtime/self.ts";
import { XvmCommand } from "./base.ts";

/** An argument as systemd's command-line syntax wants it (quoted if it has blanks or quotes). */
function quoted(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "$$$$").replace(/%/g, "%%")}"`;
}

export function unitText(execStart: readonly string[], root: string): string {
  return `# xend (xvm) as a systemd service.
#   xvm systemd-unit > /etc/systemd/system/xend.service
#   systemctl daemon-reload && systemctl enable --now xend
# systemd supervises xend here in the place of SMF's restarter: do not also run
# \`svcadm enable xend\` on the same state root. \`svcs xend\` shows it online, restarter systemd;
# \`systemctl reload xend\` = \`svcadm refresh xend\` (after \`svccfg ... setprop\` + \`svccfg -s xend:default refresh\`).
[Unit]
Description=xVM control daemon (xvm xend)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
Environment=${quoted(`XVM_ROOT=${root}`)}
ExecStart=${[...execStart, "xend"].map(quoted).join(" ")}
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM stops xend (plugins in reverse order, exit 0). Guests are processes of their own and keep
# running, as under SMF; the next xend re-attaches to them. Only the daemon is signalled.
KillMode=process
TimeoutStopSec=60
Restart=on-failure
RestartSec=2s
# 96 (SMF_EXIT_ERR_CONFIG): the logs or the repository cannot be used; a restart would not help.
RestartPreventExitStatus=96

[Install]
WantedBy=multi-user.target
`;
}

class SystemdUnitCommand extends XvmCommand {
  static override paths = [["systemd-unit"]];
  static override usage = Command.Usage({
    description: "print a systemd unit that runs xend in the foreground under systemd",
    details: `
      For Linux hosts where systemd supervises xend instead of SMF's restarter. The unit runs this
      binary's \`xend\` with \`XVM_ROOT\` set to the state root in force (\`--root\`), reloads it with
      SIGHUP (\`systemctl reload xend\`), stops only the daemon (guests keep running, as under SMF) and
      restarts it on failure. \`svcs\` then shows xend online with restarter \`systemd\`.
      contrib/systemd/xend.service in the sources is the same unit for /usr/local/bin/xvm and root /.
    `,
    examples: [
      ["Install and start it", "$0 systemd-unit > /etc/systemd/system/xend.service && systemctl daemon-reload && systemctl enable --now xend"],
      ["For another binary path", "$0 systemd-unit --exec /opt/xvm/bin/xvm"],
    ],
  });

  exec = Option.String("--exec", { description: "the program ExecStart runs (default: this one)" });

  async execute(): Promise<number> {
    const exec = this.exec ? [this.exec] : selfCommand();
    this.context.stdout.write(unitText(exec, this.statePaths.root));
    return 0;
  }
}

export const commands: CommandClass[] = [SystemdUnitCommand];
