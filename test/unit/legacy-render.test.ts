// The legacy list writes each domain's record from text kept per config (plugins/unix-server/app.ts
// domainText) and summaries share one frozen copy per config (src/domain/summaries.ts configCopy):
// the kept text must always be what show(domainToSxp(d)) writes for the summary as it is now.
import { describe, expect, it } from "vitest";
import { domainText } from "../../plugins/unix-server/app.ts";
import { configCopy, inactiveSummary } from "../../src/domain/summaries.ts";
import { domainToSxp, flagsFromState } from "../../src/domain/sxp-convert.ts";
import type { FullConfig } from "../../src/domain/records.ts";
import type { DomainSummary } from "../../src/domain/types.ts";
import { show } from "../../src/formats/sxp.ts";

const config = {
  name: "web1", uuid: "5d6f0c8e-1111-4222-8333-444455556666", memory: 512, maxmem: 1024, vcpus: 2, maxvcpus: 4,
  kernel: "sim:idle", extra: "x='y z'", on_poweroff: "destroy", on_reboot: "restart", on_crash: "preserve",
  vif: [{ mac: "00:16:3e:00:00:01", bridge: "xenbr0" }], disk: ["file:/tmp/a.img,xvda,w"],
} as unknown as FullConfig;

function running(c: FullConfig, over: Partial<DomainSummary> = {}): DomainSummary {
  return {
    domid: 7, name: c.name, uuid: c.uuid, memory: 512, maxmem: 1024, vcpus: 2, maxvcpus: 4, state: "-b----", flags: flagsFromState("-b----"),
    cpuTime: 12.375, startTime: 1700000123.5, managed: false, config: configCopy(c), vcpuInfo: [], restartCount: 0, ...over,
  };
}

describe("legacy domain records", () => {
  it("one frozen copy per config object, a new one when the record's config is replaced", () => {
    const a = configCopy(config);
    expect(configCopy(config)).toBe(a);
    expect(a).toEqual(config);
    expect(a).not.toBe(config);
    expect(Object.isFrozen(a) && Object.isFrozen(a.vif) && Object.isFrozen(a.vif[0])).toBe(true);
    const replaced = { ...config, memory: 256 } as FullConfig;
    expect(configCopy(replaced)).not.toBe(a);
    expect(configCopy(replaced).memory).toBe(256);
  });

  it("kept text is the text of the summary as it is now, whatever changed beside the config", () => {
    const variants: Partial<DomainSummary>[] = [
      {}, {}, { cpuTime: 12.5 }, { cpuTime: 13 }, { state: "r-----", flags: flagsFromState("r-----") }, { state: "--p---", flags: flagsFromState("--p---") },
      { memory: 256 }, { maxmem: 2048 }, { vcpus: 1 }, { maxvcpus: 8 }, { domid: 9 }, { startTime: 1700000999.25 },
      { state: "----c-", flags: flagsFromState("----c-") }, { name: "renamed" },
    ];
    for (const over of variants) {
      const d = running(config, over);
      expect(domainText(d)).toBe(show(domainToSxp(d)));
    }
    const inactive = inactiveSummary(config);
    expect(domainText(inactive)).toBe(show(domainToSxp(inactive)));
    const other = { ...config, on_crash: "restart" } as FullConfig;
    expect(domainText(running(other))).toBe(show(domainToSxp(running(other))));
    expect(domainText(running(config))).toBe(show(domainToSxp(running(config))));
  });
});
