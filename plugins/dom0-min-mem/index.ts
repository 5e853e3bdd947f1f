import { join } from "node:path";
import { definePlugin, formatError, hostMemoryKiB, XvmError, type DomainSummary } from "xvm/plugin";
import { DEFAULT_MIN_MIB, properties } from "./properties.ts";
import { BalloonError, MemoryAccount, type Guest } from "./account.ts";
import { loadSavedMemory, saveMemory } from "./state.ts";

/** What each running guest takes from the host: its memory and its process's own (overheadKiB). */
function guestsOf(domains: readonly DomainSummary[]): Guest[] {
  return domains.filter((d) => d.domid !== null && d.domid !== 0).map((d) => ({ name: d.name, memoryKiB: d.memory * 1024 + (d.overheadKiB ?? 0) }));
}

const mib = (kib: number): number => Math.floor(kib / 1024);

export default definePlugin({
  name: "dom0-min-mem",
  description: "Balloons dom0 down to make room for guests, never below a minimum.",
  properties,
  async setup(ctx) {
    const log = ctx.log;
    const statePath = join(ctx.paths.xendLibDir, "state", "dom0-memory.json");
    const problems = new Map<string, string>();
    const publishProblems = (): void => ctx.degrade(problems.size > 0 ? [...problems.values()].join("; ") : undefined);

    const realTotalKiB = async (): Promise<number> => {
      try {
        const info = await ctx.hypervisor.physInfo();
        if (info.totalMemoryKiB > 0) return info.totalMemoryKiB;
      } catch {
        // no driver yet: ask the host
      }
      return hostMemoryKiB();
    };
    const totalFor = async (hostMemoryMiB: number): Promise<number> => (hostMemoryMiB > 0 ? hostMemoryMiB * 1024 : realTotalKiB());

    const listGuests = async (): Promise<Guest[]> => {
      try {
        return guestsOf(await ctx.domains.list());
      } catch {
        return [];
      }
    };

    let minMiB: number = ctx.config["dom0-min-mem"];
    let hostMemoryMiB = ctx.config["host-memory"];
    const totalKiB = await totalFor(hostMemoryMiB);
    if (minMiB * 1024 > totalKiB) {
      // At start there is no previous value: the default stands in where it fits, else 0.
      const fallback = DEFAULT_MIN_MIB * 1024 <= totalKiB ? DEFAULT_MIN_MIB : 0;
      const reason = `${formatError("CONFIG_INVALID", { property: "dom0-min-mem", detail: `${minMiB} MiB is more than the host's ${mib(totalKiB)} MiB` })}; using ${fallback} MiB instead`;
      log.error(reason);
      problems.set("dom0-min-mem", reason);
      minMiB = fallback;
    }
    const guests = await listGuests();
    const saved = loadSavedMemory(statePath);
    const guestsKiB = guests.reduce((s, g) => s + g.memoryKiB, 0);
    const account = new MemoryAccount({
      totalKiB,
      // Domain-0 keeps what it had before a restart of xend; on a first start it holds everything.
      // A total changed meanwhile adds free memory, or takes it from free memory and then from
      // Domain-0 (reconcile, once the guests are known), as a live change of host-memory does.
      dom0KiB: saved ? Math.min(saved.dom0KiB, totalKiB) : totalKiB - guestsKiB,
      minMiB,
    });
    account.reconcile(guests);

    /** Guests re-attached after the start (or a smaller total) may leave Domain-0 less than it had. */
    const reconcile = (guests: Guest[]): void => {
      if (!account.reconcile(guests)) return;
      const below = account.dom0KiB < account.minMiB * 1024 ? `, below dom0-min-mem (${account.minMiB} MiB)` : "";
      log.warn(`dom0-min-mem: guests hold ${mib(guests.reduce((s, g) => s + g.memoryKiB, 0))} MiB of ${mib(account.totalKiB)} MiB: Domain-0 has ${mib(account.dom0KiB)} MiB left${below}`);
      publish();
    };
    const publish = (): void => {
      try {
        ctx.domains.setHostResources({ totalMemoryKiB: account.totalKiB, dom0MemoryKiB: account.dom0KiB });
      } catch (error) {
        log.debug(`dom0-min-mem: the domain manager does not take host memory yet: ${(error as Error).message}`);
      }
      try {
        saveMemory(statePath, { totalKiB: account.totalKiB, dom0KiB: account.dom0KiB });
      } catch (error) {
        log.warn(`dom0-min-mem: cannot save Domain-0's allocation to ${statePath}: ${(error as Error).message}`);
      }
    };
    publish();
    log.info(
      `dom0-min-mem: host memory ${mib(account.totalKiB)} MiB${hostMemoryMiB > 0 ? " (config/host-memory)" : ""}; Domain-0 holds ${mib(account.dom0KiB)} MiB and keeps at least ${account.minMiB} MiB${account.minMiB === 0 ? " (ballooning off)" : ""}`,
    );
    publishProblems();

    // One balloon operation at a time: two creations must not both count the same free memory.
    let queue: Promise<unknown> = Promise.resolve();
    const serial = <T>(work: () => Promise<T>): Promise<T> => {
      const run = queue.then(work, work);
      queue = run.catch(() => undefined);
      return run;
    };
    const refuse = (error: unknown): never => {
      if (error instanceof BalloonError) {
        log.error(error.message);
        throw new XvmError("NO_MEMORY", { detail: error.message });
      }
      throw error;
    };
    const logLines = (lines: string[]): void => lines.forEach((l) => log.debug(l));

    return {
      async refresh() {
        // Every refresh re-checks both values against the running config. A refusal throws, so
        // that the plugin host logs it, shows it in `svcs -x` and puts the previous values back;
        // nothing is changed unless both values are good.
        const wantedMin = ctx.config["dom0-min-mem"];
        const wantedHost = ctx.config["host-memory"];
        if (wantedMin === account.minMiB && wantedHost === hostMemoryMiB && problems.size === 0) return;
        await serial(async () => {
          const guests = await listGuests();
          const total = await totalFor(wantedHost);
          if (wantedMin * 1024 > total) {
            throw new XvmError("CONFIG_INVALID", {
              property: "dom0-min-mem",
              detail: `${wantedMin} MiB is more than the host's ${mib(total)} MiB; keeping ${account.minMiB} MiB`,
            });
          }
          const trial = new MemoryAccount({ totalKiB: account.totalKiB, dom0KiB: account.dom0KiB, minMiB: wantedMin });
          try {
            trial.setTotal(total, guests);
          } catch (error) {
            if (!(error instanceof BalloonError)) throw error;
            const keeping = hostMemoryMiB === 0 ? "the host's own memory" : `${hostMemoryMiB} MiB`;
            throw new XvmError("CONFIG_INVALID", { property: "host-memory", detail: `${error.message}; keeping ${keeping}` });
          }
          const totalChanged = trial.totalKiB !== account.totalKiB;
          account.setTotal(total, guests);
          account.minMiB = wantedMin;
          hostMemoryMiB = wantedHost;
          if (totalChanged) {
            log.info(`dom0-min-mem: host memory is now ${mib(account.totalKiB)} MiB${wantedHost > 0 ? " (config/host-memory)" : " (the host's own)"}; Domain-0 holds ${mib(account.dom0KiB)} MiB`);
          }
          const below = account.dom0KiB < wantedMin * 1024 ? `; Domain-0 holds ${mib(account.dom0KiB)} MiB, below it, and is not ballooned further` : "";
          log.info(`dom0-min-mem: Domain-0 keeps at least ${wantedMin} MiB${wantedMin === 0 ? " (ballooning off)" : ""}${below}`);
          problems.clear();
          publish();
          publishProblems();
        });
      },
      hooks: {
        domainPreCreate(request) {
          return serial(async () => {
            const guests = await listGuests();
            reconcile(guests);
            try {
              logLines(account.create(request.config.name, request.needKiB, guests));
            } catch (error) {
              refuse(error);
            }
            publish();
          });
        },
        domainPreMemoryChange(domain, targetMiB) {
          return serial(async () => {
            const guests = await listGuests();
            reconcile(guests);
            try {
              if (domain.domid === 0) {
                account.setDom0(targetMiB, guests);
                log.info(`dom0-min-mem: Domain-0's memory set to ${targetMiB} MiB`);
              } else if (targetMiB > domain.memory) {
                logLines(account.grow((targetMiB - domain.memory) * 1024, guests));
              } else {
                return;
              }
            } catch (error) {
              refuse(error);
            }
            publish();
          });
        },
        domainCreated(domain) {
          account.settle(domain.name);
        },
        domainDestroyed(domain) {
          account.settle(domain.name);
        },
      },
    };
  },
});
