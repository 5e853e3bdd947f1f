/**
 * The links of this host as dladm and default-nic read them. `$XVM_SYSFS_NET` points both at
 * another tree shaped like /sys/class/net (tests, diagnosis); netlink kinds are asked of `ip` only
 * for the real tree, since they describe the real links.
 */
import { ipLinkKinds } from "./link-kinds.ts";
import { readLinks, SYSFS_NET, type Link } from "./links.ts";

export function hostSysfsNet(env: NodeJS.ProcessEnv = process.env): string {
  return env.XVM_SYSFS_NET || SYSFS_NET;
}

export function readHostLinks(env: NodeJS.ProcessEnv = process.env): Link[] {
  const sysfsNet = hostSysfsNet(env);
  return readLinks({ sysfsNet, kinds: sysfsNet === SYSFS_NET ? ipLinkKinds() : undefined });
}
