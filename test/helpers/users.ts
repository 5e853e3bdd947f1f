/**
 * A non-root user for tests that need one (a plugin file written by someone else): created with
 * useradd for the test process, removed with userdel. Needs root; undefined (with the reason)
 * otherwise, so the test can skip with a message.
 */
import { spawnSync } from "node:child_process";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  remove(): void;
}

export function createTestUser(prefix = "xvmt"): TestUser | string {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "needs root to create a user";
  const name = `${prefix}${process.pid}`.slice(0, 31);
  const add = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], { encoding: "utf8" });
  if (add.status !== 0 && !/already exists/.test(add.stderr)) return `useradd ${name}: ${add.stderr.trim() || add.error?.message}`;
  const id = (flag: string) => Number(spawnSync("id", [flag, name], { encoding: "utf8" }).stdout.trim());
  return {
    name, uid: id("-u"), gid: id("-g"),
    remove: () => void spawnSync("userdel", [name], { encoding: "utf8" }),
  };
}
