/**
 * Names the binary answers to when called through a link (`svcs -a` = `xvm svcs -a`). Alone in
 * its file, with no imports, because the entry point reads it before loading anything else.
 */
export const LINK_NAMES = ["xend", "xm", "svccfg", "svcadm", "svcs", "svcprop", "mdb", "dladm"] as const;

/** The command a program name (argv0) stands for, if it is one of the link names. */
export function linkCommand(argv0: string | undefined): string | undefined {
  const name = (argv0 ?? "").slice((argv0 ?? "").lastIndexOf("/") + 1).replace(/\.(exe|ts|js|mjs)$/, "");
  return (LINK_NAMES as readonly string[]).includes(name) ? name : undefined;
}
