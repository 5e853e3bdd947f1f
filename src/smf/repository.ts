/**
 * The SMF repository as every command and the daemon use it: read the committed data, or change it
 * in one locked transaction. Creating the repository on first use is the manifest import; commands
 * that only read (svcs, svcprop, svccfg listprop/export, xm) never create it: `existing()` says
 * there is none, `view()` shows what a new one would hold without writing it.
 */
import { XvmError } from "../errors.ts";
import { Paths } from "../paths.ts";
import type { PropertyDecls } from "../plugin/contract.ts";
import type { ConfigValue } from "../config-value.ts";
import type { Entity } from "./fmri.ts";
import { importDeclarations, seedRepository } from "./manifest.ts";
import { XEND_INSTANCE, XEND_SERVICE, clone, composePgs, type PgMap, type RepoData } from "./model.ts";
import { RepositoryFile } from "./store.ts";
import { typedValue } from "./values.ts";

export class Repository {
  readonly file: RepositoryFile;

  constructor(readonly paths: Paths = new Paths()) {
    this.file = new RepositoryFile(paths.repository, paths.repositoryLock);
  }

  /** The committed data (imports the manifest first if there is no repository yet). */
  read(): RepoData {
    const data = this.file.read();
    if (data) return data;
    return this.update(() => undefined).data;
  }

  /** The committed data for a command that only reads: REPO_MISSING if there is no repository. */
  existing(): RepoData {
    const data = this.file.read();
    if (!data) throw new XvmError("REPO_MISSING", { path: this.file.path, root: this.paths.root });
    return data;
  }

  /** The committed data, or what the manifest import would write (nothing is written). */
  view(): RepoData {
    return this.file.read() ?? seedRepository();
  }

  /**
   * Runs `change` on a fresh copy under the write lock and commits it if anything changed.
   * Throwing inside `change` leaves the repository untouched.
   */
  update<T>(change: (data: RepoData) => T): { data: RepoData; result: T; changed: boolean } {
    return this.file.withLock(() => {
      const current = this.file.read();
      const data = current ? clone(current) : seedRepository();
      const before = current ? JSON.stringify(current) : "";
      const result = change(data);
      const changed = JSON.stringify(data) !== before;
      if (changed) {
        if (current) data.generation = current.generation + 1;
        this.file.write(data);
      }
      return { data, result, changed };
    });
  }

  /** Declares a plugin's properties (external plugins at load time); see importDeclarations. */
  declare(owner: string, properties: PropertyDecls): string[] {
    const data = this.file.read();
    if (data && Object.keys(properties).every((n) => data.services[XEND_SERVICE]?.pgs.config?.props[n])) return [];
    return this.update((d) => importDeclarations(d, owner, properties)).result;
  }
}

export function entitiesOf(data: RepoData): Entity[] {
  return Object.entries(data.services).map(([service, s]) => ({ service, instances: Object.keys(s.instances) }));
}

/** Values of a property group as the daemon reads them (typed). */
export function typedGroup(pgs: PgMap, pg: string): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const [name, prop] of Object.entries(pgs[pg]?.props ?? {})) {
    if (prop.values.length > 0) out[name] = typedValue(prop.type, prop.values[0]!);
  }
  return out;
}

/** xend's configuration: the `config` group of the `running` snapshot (editing values if none yet). */
export function runningConfig(data: RepoData): Record<string, ConfigValue> {
  const svc = data.services[XEND_SERVICE];
  const inst = svc?.instances[XEND_INSTANCE];
  if (!svc || !inst) return {};
  const pgs = inst.snapshots.running ?? composePgs(svc, inst);
  return typedGroup(pgs, "config");
}
