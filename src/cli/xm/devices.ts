/**
 * `xm block-list [-l] <Domain>`, `block-attach`, `block-detach`, `network-attach`,
 * `network-detach` (issue 15.2). The list's columns are 3.4's (`xm_block_list`); the simulator
 * has no event channels or rings, so those columns read -1, as for network-list.
 */
import { Command, Option } from "clipanion";
import type { VbdInfo } from "../../domain/types.ts";
import { XmCommand, dom } from "./base.ts";
import { prettySxp } from "./long.ts";

export const BLOCK_HEADER = "Vdev  BE handle state evt-ch ring-ref BE-path";
const l = (s: string | number, w: number) => String(s).padEnd(w);

/** 3.4's `"%(idx)-3d    %(backend-id)-3d  %(handle)-3d   %(state)-3d    %(event-ch)-3d    %(ring-ref)-5d %(be-path)-30s  "`. */
export function blockRows(domid: number | null, vbds: readonly VbdInfo[]): string[] {
  return vbds.map((b) => {
    const state = domid === null ? 1 : 4;
    const bePath = domid === null ? "" : `/local/domain/0/backend/vbd/${domid}/${b.devid}`;
    return `${l(b.devid, 3)}    ${l(0, 3)}  ${l(b.devid, 3)}   ${l(state, 3)}    ${l(-1, 3)}    ${l(-1, 5)} ${l(bePath, 30)}  `;
  });
}

export class BlockListCommand extends XmCommand {
  static override paths = [["xm", "block-list"]];
  static override usage = Command.Usage({
    description: "list virtual block devices for a domain",
    details: "One line per disk with its device number (xm's columns); -l prints each disk's settings as SXP.",
    examples: [["web1's disks", "$0 xm block-list web1"], ["With their backing files", "$0 xm block-list -l web1"]],
  });
  long = Option.Boolean("-l,--long", false, { description: "list each disk's settings as SXP" });
  json = Option.Boolean("--json", false, { description: "print the disks as JSON, as GET /domains/<Domain>/block answers" });
  domain = Option.String({ required: true, name: "Domain" });

  async execute(): Promise<number> {
    const b = await this.api<{ domid: number | null; vbds: VbdInfo[] }>("GET", `/domains/${dom(this.domain)}/block`);
    if (this.json) {
      this.outJson(b);
      return 0;
    }
    if (this.long) {
      this.out(b.vbds.map((d) => `${prettySxp([d.devid, ["vbd", ["dev", d.vdev], ["uname", `${d.type}:${d.path}`], ["mode", d.mode], ["backend", "0"]]])}\n`).join(""));
      return 0;
    }
    if (b.vbds.length) this.out([BLOCK_HEADER, ...blockRows(b.domid, b.vbds)].map((line) => `${line}\n`).join(""));
    return 0;
  }
}

export class BlockAttachCommand extends XmCommand {
  static override paths = [["xm", "block-attach"]];
  static override usage = Command.Usage({
    description: "create a new virtual block device",
    details: "Adds a disk to a running or managed domain: the backing file (`file:/path`) or device (`phy:/dev/…`) must exist. BackDomain can only be 0 (Domain-0).",
    examples: [["Give web1 a second disk", "$0 xm block-attach web1 file:/xen/data.img xvdb w"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  backdev = Option.String({ required: true, name: "BackDev" });
  frontdev = Option.String({ required: true, name: "FrontDev" });
  mode = Option.String({ required: true, name: "Mode" });
  backDomain = Option.String({ required: false, name: "BackDomain" });

  async execute(): Promise<number> {
    if (this.backDomain !== undefined && this.backDomain !== "0" && this.backDomain !== "Domain-0") {
      this.err(`a driver domain other than Domain-0 cannot serve disks here ('${this.backDomain}')`);
      return 1;
    }
    await this.api("POST", `/domains/${dom(this.domain)}/block`, { backdev: this.backdev, frontdev: this.frontdev, mode: this.mode });
    return 0;
  }
}

export class BlockDetachCommand extends XmCommand {
  static override paths = [["xm", "block-detach"]];
  static override usage = Command.Usage({
    description: "destroy a domain's virtual block device",
    details: "DevId is the device number xm block-list shows (51712) or the device's name (xvda).",
    examples: [["Remove web1's xvdb", "$0 xm block-detach web1 xvdb"]],
  });
  force = Option.Boolean("-f,--force", false, { description: "remove the device even if the guest does not answer (always so here)" });
  domain = Option.String({ required: true, name: "Domain" });
  devId = Option.String({ required: true, name: "DevId" });

  async execute(): Promise<number> {
    await this.api("DELETE", `/domains/${dom(this.domain)}/block/${encodeURIComponent(this.devId)}`);
    return 0;
  }
}

export class NetworkAttachCommand extends XmCommand {
  static override paths = [["xm", "network-attach"]];
  static override usage = Command.Usage({
    description: "create a new virtual network device",
    details: "Adds a vif with the given settings (mac=, bridge=, ip=, …); bridge= must name a link of this host (`xvm dladm show-link`).",
    examples: [["Give web1 a vif on br0", "$0 xm network-attach web1 bridge=br0"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  settings = Option.Rest({ name: "key=value" });

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/network`, { options: this.settings });
    return 0;
  }
}

export class NetworkDetachCommand extends XmCommand {
  static override paths = [["xm", "network-detach"]];
  static override usage = Command.Usage({
    description: "destroy a domain's virtual network device",
    details: "DevId is the vif's index as xm network-list shows it (later vifs move up one).",
    examples: [["Remove web1's second vif", "$0 xm network-detach web1 1"]],
  });
  force = Option.Boolean("-f,--force", false, { description: "remove the device even if the guest does not answer (always so here)" });
  domain = Option.String({ required: true, name: "Domain" });
  devId = Option.String({ required: true, name: "DevId" });

  async execute(): Promise<number> {
    await this.api("DELETE", `/domains/${dom(this.domain)}/network/${encodeURIComponent(this.devId)}`);
    return 0;
  }
}
