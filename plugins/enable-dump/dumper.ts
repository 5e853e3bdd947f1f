/**
 * The dumps themselves, shared by the crash hook and the `xm dump-core` route: which file, one dump
 * per domain at a time, what happens after (--crash / --reset), the dump-limit rule, and log lines
 * an administrator can act on.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, normalize } from "node:path";
import { confinedPath, errorMessage, escapeText, isInside, XvmError, type DomainSummary, type PluginContext } from "xvm/plugin";
import { type DumpResult, dumpFileName, dumpToFile, ensureDumpDir, partialName, pruneDumps, recoverPartials } from "./dump-file.ts";

export interface EnableDumpConfig {
  readonly "enable-dump": boolean;
  readonly "dump-directory": string;
  readonly "dump-limit": number;
}

export interface DumpRequest {
  domain: string | number;
  /**
   * Default: `<dump-directory>/<xend name>`. A relative name is taken inside the dump directory
   * and may not leave it (`..`, symbolic links). An absolute path only with `trusted`.
   */
  file?: string;
  /** The administrator on the control socket (`xm dump-core`): an absolute `file` is accepted. */
  trusted?: boolean;
  live?: boolean;
  /** Destroy the domain after the dump (xm dump-core -C). */
  crash?: boolean;
  /** Reset the domain after the dump (xm dump-core -R): destroyed and started again from its config. */
  reset?: boolean;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export class Dumper {
  private readonly busy = new Set<number>();
  /** The `.partial` files this daemon is writing (not stale, whatever their age). */
  private readonly writing = new Set<string>();

  constructor(private readonly ctx: PluginContext<EnableDumpConfig>) {}

  get dumpDir(): string {
    return this.ctx.paths.under(this.ctx.config["dump-directory"]);
  }

  /** The crash hook's dump. Never throws: a failed dump is logged and the on_crash action goes on. */
  async crashDump(domain: DomainSummary, why: string): Promise<DumpResult | undefined> {
    const { log } = this.ctx;
    if (domain.domid === null) return undefined;
    const file = join(this.dumpDir, dumpFileName(domain.name, domain.domid));
    if (this.busy.has(domain.domid)) {
      log.warn(`domain ${domain.name} (${domain.domid}) crashed while a dump of it is in progress; no second dump`);
      return undefined;
    }
    log.info(`domain ${domain.name} (${domain.domid}) crashed; dumping core to ${file} (${why})`);
    try {
      return await this.write(domain, file, false);
    } catch (error) {
      log.error(`core dump of crashed domain ${domain.name} (${domain.domid}) failed: ${errorMessage(error)}`);
      return undefined;
    } finally {
      this.prune();
    }
  }

  /** An on-demand dump (`xm dump-core`). Throws XvmError. */
  async dump(request: DumpRequest, onProgress?: (done: number, total: number) => void): Promise<DumpResult> {
    const { log, domains } = this.ctx;
    if (request.crash && request.reset) throw new XvmError("XVM_BAD_REQUEST", { detail: "--crash and --reset are mutually exclusive" });
    const domain = await domains.get(request.domain);
    if (domain.domid === 0) throw new XvmError("DOMAIN_PRIVILEGED", { action: "dump core of", dom: domain.name });
    if (domain.domid === null) throw new XvmError("DOMAIN_BAD_STATE", { dom: domain.name, state: "not running", action: "dump core" });
    const file = request.file !== undefined ? this.chosenFile(request.file, request.trusted === true) : join(this.dumpDir, dumpFileName(domain.name, domain.domid));
    if (this.busy.has(domain.domid)) throw new XvmError("DOMAIN_BAD_STATE", { dom: domain.name, state: "being dumped", action: "dump core" });
    log.info(`dumping core of domain ${domain.name} (${domain.domid}) to ${file}${request.live ? " (live)" : ""}`);
    let result: DumpResult;
    try {
      result = await this.write(domain, file, Boolean(request.live), onProgress);
    } catch (error) {
      log.error(`core dump of domain ${domain.name} (${domain.domid}) failed: ${errorMessage(error)}`);
      throw error;
    } finally {
      if (dirname(file) === this.dumpDir) this.prune();
    }
    if (request.crash) {
      log.info(`destroying domain ${domain.name} (${domain.domid}) after its dump (--crash)`);
      await domains.destroy(domain.domid);
    } else if (request.reset) {
      log.info(`resetting domain ${domain.name} (${domain.domid}) after its dump (--reset)`);
      await domains.destroy(domain.domid);
      // xend's domain_reset: the same configuration comes back as a new domain.
      if (domain.managed) await domains.start(domain.name);
      else await domains.create(domain.config);
    }
    return result;
  }

  /**
   * Where a dump named by a client goes. Relative: inside the dump directory, never out of it.
   * Absolute: only from the administrator (control socket), and folders are created only under
   * the state root — a missing folder elsewhere is an error, not something to make.
   */
  private chosenFile(name: string, trusted: boolean): string {
    const bad = (detail: string): never => {
      throw new XvmError("DUMP_BAD_FILE", { path: escapeText(name, 200), detail });
    };
    if (isAbsolute(name)) {
      if (!trusted) bad("an absolute path is accepted only from xm dump-core on the control socket; give a name inside the dump directory");
      const file = normalize(name);
      const parent = dirname(file);
      if (!existsSync(parent) && !isInside(parent, this.ctx.paths.root)) bad(`the folder ${parent} does not exist (xend creates folders only under its state root ${this.ctx.paths.root})`);
      return file;
    }
    ensureDumpDir(this.dumpDir);
    try {
      return confinedPath(this.dumpDir, name);
    } catch (error) {
      return bad(errorMessage(error));
    }
  }

  /**
   * Renames the stale `.partial` files a daemon killed mid-dump left to `-incomplete` (at setup;
   * {@link prune} does it too). Returns how many.
   */
  recoverPartials(): number {
    try {
      return recoverPartials(this.dumpDir, this.writing, this.ctx.log).length;
    } catch (error) {
      this.ctx.log.warn(`cannot look for stale partial dumps in ${this.dumpDir}: ${errorMessage(error)}`);
      return 0;
    }
  }

  /** Applies the dump-limit rule now (after each dump, and when dump-limit is changed), stale partials included. */
  prune(): void {
    this.recoverPartials();
    try {
      pruneDumps(this.dumpDir, this.ctx.config["dump-limit"], this.ctx.log);
    } catch (error) {
      this.ctx.log.warn(`dump-limit: cannot check ${this.dumpDir}: ${errorMessage(error)}`);
    }
  }

  private async write(domain: DomainSummary, file: string, live: boolean, onProgress?: (done: number, total: number) => void): Promise<DumpResult> {
    const domid = domain.domid!;
    const temp = partialName(file);
    this.busy.add(domid);
    this.writing.add(temp);
    try {
      const result = await dumpToFile(this.ctx.hypervisor, domid, file, { live, onProgress });
      this.ctx.log.info(`dumped core of domain ${domain.name} (${domid}) to ${file}: ${mib(result.bytes)} in ${result.seconds.toFixed(2)} s`);
      return result;
    } finally {
      this.busy.delete(domid);
      this.writing.delete(temp);
    }
  }
}
