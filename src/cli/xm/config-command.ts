/**
 * What `xm create` and `xm new` share: find the config file (`.` then `<root>/etc/xen`), parse it
 * with the command line's `var=value` overrides, print warnings, and report every error with its
 * file:line:column before anything reaches the daemon.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { Option } from "clipanion";
import { ConfigFileError, nameFromFile, parseDomainConfig } from "../../domain/config-parser.ts";
import type { DomainConfig } from "../../domain/types.ts";
import { XvmError } from "../../errors.ts";
import { findConfigFile } from "./args.ts";
import { XmCommand } from "./base.ts";

export abstract class ConfigFileCommand extends XmCommand {
  file = Option.String({ required: true, name: "ConfigFile" });
  vars = Option.Rest({ name: "var=value" });
  dryrun = Option.Boolean("-n,--dryrun", false, { description: "parse and check the config, print it as JSON, create nothing" });

  /** The checked config, or undefined after printing why it cannot be used. */
  protected loadConfig(): { config: DomainConfig; shown: string } {
    const path = findConfigFile(this.file, this.statePaths);
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
