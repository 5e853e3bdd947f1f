/**
 * issue 13 §3/§4 in the domain manager: domain ids are recorded before use and never reused after
 * a restart (a counter that cannot be written refuses the creation: nothing is created), and the
 * MAC assignment is a bounded search.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freeXenMac, MAC_DRAWS } from "../../src/domain/creation.ts";
import { createDomainManager, type DomainManagerHandle } from "../../src/domain/manager.ts";
import type { DomainConfig } from "../../src/domain/types.ts";
import { XvmError } from "../../src/errors.ts";
import { Paths } from "../../src/paths.ts";
import type { Logger } from "../../src/plugin/contract.ts";
import { FakeDriver } from "./domain-fake-driver.ts";

let root: string;
const managers: DomainManagerHandle[] = [];

const quiet: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

async function manager(driver: FakeDriver): Promise<DomainManagerHandle> {
  const m = createDomainManager({ driver, paths: new Paths(root), log: quiet, now: () => 1_800_000_000_000, fire: async () => {} });
  managers.push(m);
  await m.attach();
  return m;
}

function config(name: string): DomainConfig {
  return { name, memory: 64, vcpus: 1, kernel: "sim:counter", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [{}], disk: [] };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-domain-robust-"));
});

afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  rmSync(root, { recursive: true, force: true });
});

describe("domain ids", () => {
  it("continue past every id handed out after a restart, also one destroyed right away", async () => {
    const driver = new FakeDriver();
    const first = await manager(driver);
    expect((await first.create(config("a"))).domid).toBe(1);
    expect((await first.create(config("b"))).domid).toBe(2);
    await first.destroy("b");
    await first.close();
    const second = await manager(driver);
    expect((await second.create(config("c"))).domid).toBe(3);
  });

  it("are recorded before use: a counter that cannot be written (full disk) refuses the creation, creating nothing", async () => {
    const driver = new FakeDriver();
    const m = await manager(driver);
    expect((await m.create(config("a"))).domid).toBe(1);
    const counter = join(root, "var/run/xend/next-domid");
    expect(readFileSync(counter, "utf8")).toBe("2\n");
    // The rename over the counter fails as it would on a full disk (a folder is in the way).
    rmSync(counter);
    mkdirSync(join(counter, "full"), { recursive: true });
    const calls = driver.calls.length;
    let refused: unknown;
    try {
      await m.create(config("b"));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(XvmError);
    expect((refused as XvmError).code).toBe("DOMID_UNRECORDED");
    expect(driver.calls.slice(calls).filter((c) => c.startsWith("create"))).toEqual([]);
    expect((await m.list()).map((d) => d.name)).toEqual(["Domain-0", "a"]);
    // Space again: the next domain takes the id that was never handed out.
    rmSync(counter, { recursive: true });
    writeFileSync(counter, "2\n");
    expect((await m.create(config("b"))).domid).toBe(2);
  });
});

describe("MAC assignment", () => {
  it("is bounded: a few random draws, then a walk to the first free address, then an error", () => {
    let draws = 0;
    const zero = () => {
      draws++;
      return Buffer.from([0, 0, 0]);
    };
    expect(freeXenMac(new Set(["00:16:3e:00:00:00", "00:16:3e:00:00:01"]), zero)).toBe("00:16:3e:00:00:02");
    expect(draws).toBe(MAC_DRAWS);
  });
});
