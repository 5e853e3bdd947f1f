/**
 * Xen 3.4's xm command table (tools/python/xen/xm/main.py at tag 3.4.0-rc3), as data: every
 * subcommand name it knew (for its unique-prefix matching), its aliases, the argument counts its
 * `arg_check` enforced and its `SUBCOMMAND_HELP` / `SUBCOMMAND_OPTIONS` text, which is what
 * `usage(cmd)` printed after a usage error. Kept verbatim (typos included: "Set the number of active
 * VCPUs for allowed for the domain") because scripts and people compared against it.
 */

/** `commands` keys plus the IMPORTED_COMMANDS of 3.4: what `xm <prefix>` was matched against. */
export const XM34_COMMANDS: readonly string[] = [
  "shell", "event-monitor", "console", "vncviewer", "top", "delete", "destroy", "domid", "domname", "dump-core",
  "reboot", "rename", "reset", "restore", "resume", "save", "shutdown", "start", "sysrq", "trigger", "uptime",
  "suspend", "list", "mem-max", "mem-set", "vcpu-pin", "vcpu-list", "vcpu-set", "pause", "unpause", "debug-keys",
  "dmesg", "info", "log", "serve", "sched-sedf", "sched-credit", "block-attach", "block-detach", "block-list",
  "block-configure", "network-attach", "network-detach", "network-list", "network-new", "network-del",
  "network-show", "vnet-list", "vnet-create", "vnet-delete", "vtpm-list", "pci-attach", "pci-detach", "pci-list",
  "pci-list-assignable-devices", "scsi-attach", "scsi-detach", "scsi-list",
  "create", "new", "migrate", "labels", "dumppolicy", "addlabel", "rmlabel", "getlabel", "dry-run", "resources",
  "getpolicy", "setpolicy", "resetpolicy",
];

/** 3.4's `aliases`: each prints `Command <old> is deprecated.  Please use xm <new> instead.` first. */
export const XM34_ALIASES: Readonly<Record<string, string>> = {
  balloon: "mem-set",
  "set-vcpus": "vcpu-set",
  "vif-list": "network-list",
  "vbd-create": "block-attach",
  "vbd-destroy": "block-detach",
  "vbd-list": "block-list",
};

/**
 * How 3.4 checked a command's argument count before doing anything:
 * - `arity`: `arg_check(args, name, lo, hi)` — every word but `--` counts, options included;
 * - `resource-list`: `arg_check_for_resource_list` (`-l|--long` then exactly one domain; the
 *   complaint went to stdout, without `Error:`);
 * - `params`: options read by getopt, then the operand count checked with its own message
 *   (an OptionError: `Error: <message>`, the usage, then the error's empty usage line).
 */
export type ArgRule =
  | { kind: "arity"; lo: number; hi?: number }
  | { kind: "resource-list" }
  | { kind: "params"; lo: number; hi: number; message: string };

const arity = (lo: number, hi?: number): ArgRule => (hi === undefined ? { kind: "arity", lo } : { kind: "arity", lo, hi });

export const XM34_ARGS: Readonly<Record<string, ArgRule>> = {
  save: arity(2, 3), restore: arity(1, 2), delete: arity(1), suspend: arity(1), resume: arity(1, 2),
  reboot: arity(1, 3), shutdown: arity(1, 4), reset: arity(1), pause: arity(1), unpause: arity(1),
  rename: arity(2), "vcpu-pin": arity(3), "mem-max": arity(2), "mem-set": arity(2), "vcpu-set": arity(2),
  destroy: arity(1), domid: arity(1), domname: arity(1), info: arity(0, 1), console: arity(1, 2),
  sysrq: arity(2), trigger: arity(2, 3), "debug-keys": arity(1), dmesg: arity(0, 1), log: arity(0),
  serve: arity(0), "pci-list-assignable-devices": arity(0), "block-attach": arity(4, 5),
  "block-configure": arity(4, 5), "network-attach": arity(1, 11), "scsi-attach": arity(3, 4),
  "block-detach": arity(2, 3), "network-detach": arity(2, 3), "pci-detach": arity(2), "scsi-detach": arity(2),
  "vnet-create": arity(1), "vnet-delete": arity(1),
  "network-list": { kind: "resource-list" }, "block-list": { kind: "resource-list" },
  "vtpm-list": { kind: "resource-list" }, "scsi-list": { kind: "resource-list" },
  start: { kind: "params", lo: 1, hi: 1, message: "Expects 1 argument" },
  "dump-core": { kind: "params", lo: 1, hi: 2, message: "Expects 1 or 2 argument(s)" },
};

/** `SUBCOMMAND_HELP`: the argument string and description `Usage: xm <cmd> <args>` printed. */
export const XM34_HELP: Readonly<Record<string, readonly [string, string]>> = {
  shell: ["", "Launch an interactive shell."],
  console: ["[-q|--quiet] <Domain>", "Attach to <Domain>'s console."],
  vncviewer: ["[--[vncviewer-]autopass] <Domain>", "Attach to <Domain>'s VNC server."],
  create: ["<ConfigFile> [options] [vars]", "Create a domain based on <ConfigFile>."],
  destroy: ["<Domain>", "Terminate a domain immediately."],
  help: ["", "Display this message."],
  list: ["[options] [Domain, ...]", "List information about all/some domains."],
  "mem-max": ["<Domain> <Mem>", "Set the maximum amount reservation for a domain."],
  "mem-set": ["<Domain> <Mem>", "Set the current memory usage for a domain."],
  migrate: ["<Domain> <Host>", "Migrate a domain to another machine."],
  pause: ["<Domain>", "Pause execution of a domain."],
  reboot: ["<Domain> [-wa]", "Reboot a domain."],
  reset: ["<Domain>", "Reset a domain."],
  restore: ["<CheckpointFile> [-p]", "Restore a domain from a saved state."],
  save: ["[-c] <Domain> <CheckpointFile>", "Save a domain state to restore later."],
  shutdown: ["<Domain> [-waRH]", "Shutdown a domain."],
  top: ["", "Monitor a host and the domains in real time."],
  unpause: ["<Domain>", "Unpause a paused domain."],
  uptime: ["[-s] [Domain, ...]", "Print uptime for all/some domains."],
  new: ["<ConfigFile> [options] [vars]", "Adds a domain to Xend domain management"],
  delete: ["<DomainName>", "Remove a domain from Xend domain management."],
  start: ["<DomainName>", "Start a Xend managed domain"],
  resume: ["<DomainName>", "Resume a Xend managed domain"],
  suspend: ["<DomainName>", "Suspend a Xend managed domain"],
  dmesg: ["[-c|--clear]", "Read and/or clear Xend's message buffer."],
  domid: ["<DomainName>", "Convert a domain name to domain id."],
  domname: ["<DomId>", "Convert a domain id to domain name."],
  "dump-core": ["[-L|--live] [-C|--crash] [-R|--reset] <Domain> [Filename]", "Dump core for a specific domain."],
  info: ["[-c|--config]", "Get information about Xen host."],
  log: ["", "Print Xend log"],
  rename: ["<Domain> <NewDomainName>", "Rename a domain."],
  "sched-sedf": ["<Domain> [options]", "Get/set EDF parameters."],
  "sched-credit": ["[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]", "Get/set credit scheduler parameters."],
  sysrq: ["<Domain> <letter>", "Send a sysrq to a domain."],
  "debug-keys": ["<Keys>", "Send debug keys to Xen."],
  trigger: ["<Domain> <nmi|reset|init|s3resume|power> [<VCPU>]", "Send a trigger to a domain."],
  "vcpu-list": ["[Domain, ...]", "List the VCPUs for all/some domains."],
  "vcpu-pin": ["<Domain> <VCPU|all> <CPUs|all>", "Set which CPUs a VCPU can use."],
  "vcpu-set": ["<Domain> <vCPUs>", "Set the number of active VCPUs for allowed for the domain."],
  "block-attach": ["<Domain> <BackDev> <FrontDev> <Mode> [BackDomain]", "Create a new virtual block device."],
  "block-configure": ["<Domain> <BackDev> <FrontDev> <Mode> [BackDomain]", "Change block device configuration"],
  "block-detach": ["<Domain> <DevId> [-f|--force]", "Destroy a domain's virtual block device."],
  "block-list": ["<Domain> [--long]", "List virtual block devices for a domain."],
  "network-attach": [
    "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>][accel=<accel>]",
    "Create a new virtual network device.",
  ],
  "network-detach": ["<Domain> <DevId> [-f|--force]", "Destroy a domain's virtual network device."],
  "network-list": ["<Domain> [--long]", "List virtual network interfaces for a domain."],
  "vnet-create": ["<ConfigFile>", "Create a vnet from ConfigFile."],
  "vnet-delete": ["<VnetId>", "Delete a Vnet."],
  "vnet-list": ["[-l|--long]", "List Vnets."],
  "vtpm-list": ["<Domain> [--long]", "List virtual TPM devices."],
  "pci-attach": ["[-o|--options=<opt>] <Domain> <domain:bus:slot.func> [virtual slot]", "Insert a new pass-through pci device."],
  "pci-detach": ["<Domain> <domain:bus:slot.func>", "Remove a domain's pass-through pci device."],
  "pci-list": ["<Domain>", "List pass-through pci devices for a domain."],
  "pci-list-assignable-devices": ["", "List all the assignable pci devices"],
  "scsi-attach": ["<Domain> <PhysDevice> <VirtDevice> [BackDomain]", "Attach a new SCSI device."],
  "scsi-detach": ["<Domain> <VirtDevice>", "Detach a specified SCSI device."],
  "scsi-list": ["<Domain> [--long]", "List all SCSI devices currently attached."],
  serve: ["", "Proxy Xend XMLRPC over stdio."],
};

/** `SUBCOMMAND_OPTIONS`: (short, long, description) printed under the usage. */
export const XM34_OPTIONS: Readonly<Record<string, readonly (readonly [string, string, string])[]>> = {
  "sched-sedf": [
    ["-p [MS]", "--period[=MS]", "Relative deadline(ms)"],
    ["-s [MS]", "--slice[=MS]", "Worst-case execution time(ms). (slice < period)"],
    ["-l [MS]", "--latency[=MS]", "Scaled period (ms) when domain performs heavy I/O"],
    ["-e [FLAG]", "--extra[=FLAG]", "Flag (0 or 1) controls if domain can run in extra time."],
    ["-w [FLOAT]", "--weight[=FLOAT]", "CPU Period/slice (do not set with --period/--slice)"],
  ],
  "sched-credit": [
    ["-d DOMAIN", "--domain=DOMAIN", "Domain to modify"],
    ["-w WEIGHT", "--weight=WEIGHT", "Weight (int)"],
    ["-c CAP", "--cap=CAP", "Cap (int)"],
  ],
  list: [
    ["-l", "--long", "Output all VM details in SXP"],
    ["", "--label", "Include security labels"],
    ["", "--state=<state>", "Select only VMs with the specified state"],
  ],
  console: [["-q", "--quiet", "Do not print an error message if the domain does not exist"]],
  vncviewer: [
    ["", "--autopass", "Pass VNC password to viewer via stdin and -autopass"],
    ["", "--vncviewer-autopass", "(consistency alias for --autopass)"],
  ],
  dmesg: [["-c", "--clear", "Clear dmesg buffer as well as printing it"]],
  "vnet-list": [["-l", "--long", "List Vnets as SXP"]],
  "network-list": [["-l", "--long", "List resources as SXP"]],
  "dump-core": [
    ["-L", "--live", "Dump core without pausing the domain"],
    ["-C", "--crash", "Crash domain after dumping core"],
    ["-R", "--reset", "Reset domain after dumping core"],
  ],
  start: [
    ["-p", "--paused", "Do not unpause domain after starting it"],
    ["-c", "--console_autoconnect", "Connect to the console after the domain is created"],
    ["", "--vncviewer", "Connect to display via VNC after the domain is created"],
    ["", "--vncviewer-autopass", "Pass VNC password to viewer via stdin and -autopass"],
  ],
  resume: [["-p", "--paused", "Do not unpause domain after resuming it"]],
  save: [["-c", "--checkpoint", "Leave domain running after creating snapshot"]],
  restore: [["-p", "--paused", "Do not unpause domain after restoring it"]],
  info: [["-c", "--config", "List Xend configuration parameters"]],
};

/** Python's textwrap.wrap(text, width) for plain words (no tabs), as cmdHelp used it. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [""];
}

/**
 * What 3.4's `cmdHelp(cmd)` printed (on stdout): `Usage: xm <cmd> <args>`, an empty line, the
 * description, then the options table and an empty line when the command had options. Undefined
 * for a command 3.4 did not have.
 */
export function cmdHelp34(cmd: string): string | undefined {
  const help = XM34_HELP[cmd];
  if (!help) return undefined;
  let text = `Usage: xm ${cmd} ${help[0]}\n\n${help[1]}\n`;
  const options = XM34_OPTIONS[cmd];
  if (options) {
    for (const [short, long, desc] of options) {
      const optdesc = short && long ? `${short}, ${long}` : short || long;
      const [first, ...more] = wrap(desc, 43);
      text += `  ${optdesc.padEnd(30)} ${first!.padEnd(43)}\n`;
      for (const line of more) text += `${" ".repeat(33)}${line}\n`;
    }
    text += "\n";
  }
  return text;
}
