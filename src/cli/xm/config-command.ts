/**
 * What `xm create` and `xm new` share: find the config file (`.` then `<root>/etc/xen`), parse it
 * with the command line's `var=value` overrides, print warnings, and report every error with its
 * file:line:column before anything reaches the daemon.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { Option } from "clipanion";
import { ConfigFileError, nameFromFile, parseDomainConfig } from "../../domain/config-parser.ts";
import { configToSxp } from "../../domain/sxp-convert.ts";
import type { DomainConfig } from "../../domain/types.ts";
import { XvmError } from "../../errors.ts";
import { findConfigFile } from "./args.ts";
import { XmCommand } from "./base.ts";
import { prettySxp } from "./long.ts";

/** The config `xm create` reads when none is named, looked up like any other (`.`, then /etc/xen). */
export const DEFAULT_CONFIG = "xmdefconfig";

/** `xm create -n`: the config as the `(vm …)` SXP xend would be sent, pretty-printed as 3.4 did. */
export function dryRunText(config: DomainConfig): string {
  return `${prettySxp(configToSxp(config))}\n`;
}

export abstract class ConfigFileCommand extends XmCommand {
  /** `[ConfigFile] [var=value…]`: clipanion cannot put an optional positional before a rest, so they are split here. */
  args = Option.Rest({ name: "ConfigFile] [var=value" });
  private file: string | undefined;
  private vars: string[] = [];
  dryrun = Option.Boolean("-n,--dryrun", false, { description: "parse and check the config, print the domain's SXP as xm 3.4 did, create nothing" });

  /** The checked config, or undefined after printing why it cannot be used. */
  protected loadConfig(): { config: DomainConfig; shown: string } {
    // As create.py: with no file named (or only var=value arguments) the default is xmdefconfig.
    const [first, ...rest] = this.args;
    if (first !== undefined && (!first.includes("=") || first.includes("/"))) {
      this.file = first;
      this.vars = rest;
    } else {
      this.vars = [...this.args];
    }
    const path = findConfigFile(this.file ?? DEFAULT_CONFIG, this.statePaths);
    const rel = relative(process.cwd(), path);
    const shown = rel && !rel.startsWith("..") ? (rel.startsWith(".") ? rel : `./${rel}`) : path;
    const text = readFileSync(path, "utf8");
    for (const v of this.vars) {
      if (!v.includes("=")) throw new XvmError("DOMAIN_CONFIG", { detail: `'${v}' is not var=value` });
    }
    try {
      const { config, warnings } = parseDomainConfig(text, { source: shown, defaultName: nameFromFile(path), overrides: this.vars });
      for (const w of warnings) this.context.stderr.write(`Warning: ${w}\n`);
      return { config, shown };
    } catch (error) {
      if (error instanceof ConfigFileError) throw new XvmError("DOMAIN_CONFIG", { detail: error.message });
      throw error;
    }
  }
}
