/**
 * Preparing a state root before a test starts a daemon on it. Test files run two at a time, each
 * with daemons of its own, and the relocation server listens on the fixed TCP port 8002 by
 * default: a second daemon would find the port held, log an ERROR and retry for 30 s. Files that
 * do not test relocation turn it off here; the relocation tests give each daemon a free port.
 */
import { expect } from "vitest";
import { run } from "./cli.ts";

export interface RootOptions {
  /** false sets config/xend-relocation-server to false (the default stays true when left out). */
  relocation?: boolean;
  /** Further config/ properties, each value as `svccfg setprop` takes it. */
  props?: Record<string, string>;
}

/**
 * Sets the properties with the compiled `svccfg` and publishes them (`svccfg refresh` takes the
 * running snapshot the daemon reads; no restarter runs yet, so nothing else happens). Every
 * command must succeed silently. Returns `root`. With no options it changes nothing, so a test
 * that reads the defaults back keeps seeing them.
 */
export function prepareRoot(root: string, options: RootOptions): string {
  const props: Record<string, string> = { ...options.props };
  if (options.relocation === false) props["xend-relocation-server"] = "false";
  if (Object.keys(props).length === 0) return root;
  for (const [name, value] of Object.entries(props)) {
    expect(run(["svccfg", "-s", "xend", "setprop", `config/${name}`, "=", value], { root }), `svccfg setprop config/${name}`).toMatchObject({ code: 0, stderr: "" });
  }
  expect(run(["svccfg", "-s", "xend:default", "refresh"], { root }), "svccfg refresh").toMatchObject({ code: 0, stderr: "" });
  return root;
}

/**
 * Imports the manifest into a new root's repository, as an installed host has it (`svccfg refresh`
 * writes the repository; svcs, svcprop and svccfg listprop only read one and create none). Returns `root`.
 */
export function newRepository(root: string): string {
  expect(run(["svccfg", "-s", "xend:default", "refresh"], { root }), "svccfg refresh").toMatchObject({ code: 0, stderr: "" });
  return root;
}
