/**
 * Help and usage errors of the compiled binary (issue 17 item 4): `xvm help` is `xvm --help`,
 * internal commands are never suggested, placeholders have names, usage errors exit 2 on stderr
 * (xm keeps xm's own status).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";

let root: string;
beforeAll(() => {
  root = tempRoot("xvm-help-");
});
afterAll(async () => {
  await cleanupRoot(root);
});

describe("xvm help", () => {
  it("`xvm help` prints what `xvm --help` prints, status 0; `xvm version` is `xvm --version`", () => {
    const help = run(["--help"], { root });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("$ xvm <command>");
    expect(run(["help"], { root })).toEqual(help);
    expect(run(["version"], { root })).toEqual(run(["--version"], { root }));
  });

  it("`xvm help COMMAND` is `xvm COMMAND --help`", () => {
    const svcs = run(["svcs", "--help"], { root });
    expect(svcs.code).toBe(0);
    expect(svcs.stdout).toContain("$ xvm svcs");
    expect(run(["help", "svcs"], { root })).toEqual(svcs);
    expect(run(["help", "xend", "stop"], { root })).toEqual(run(["xend", "stop", "--help"], { root }));
  });

  it("names the placeholders of options that take a value", () => {
    const help = run(["--help"], { root }).stdout;
    expect(help).not.toMatch(/#\d/);
    expect(help).toContain("xvm xend stop [--timeout SECONDS]");
    expect(help).toContain("xvm mdb [-e DCMD] <core>");
    expect(run(["xend", "stop", "--help"], { root }).stdout).toContain("--timeout SECONDS");
    expect(run(["xm", "migrate", "--help"], { root }).stdout).toContain("-p,--port PORT");
  });

  it("an unknown command: stderr, status 2, near misses only, never an internal command", () => {
    const r = run(["svc"], { root });
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: "xvm: unknown command 'svc'\nDid you mean 'xvm svccfg' or 'xvm svcprop' or 'xvm svcadm' or 'xvm svcs'?\nRun 'xvm --help' for the list of commands.\n",
    });
    const far = run(["runner"], { root });
    expect(far.code).toBe(2);
    expect(far.stderr).not.toContain("__");
    expect(far.stderr).toBe("xvm: unknown command 'runner'\nRun 'xvm --help' for the list of commands.\n");
  });

  it("usage errors (unknown option, missing or extra argument) exit 2 with the usage on stderr", () => {
    for (const args of [["xend", "--bogus"], ["mdb"], ["xend", "bogus"], ["--bogus"]]) {
      const r = run(args, { root });
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(r.stderr).toMatch(/^Unknown Syntax Error: /);
      expect(r.stderr).not.toMatch(/#\d|__runner|__restarter/);
    }
    expect(run(["mdb"], { root }).stderr).toContain("$ xvm mdb [-e DCMD] <core>");
  });

  it("xm keeps xm's exit status for its usage errors", () => {
    const r = run(["xm", "list", "--bogus"], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Error: option --bogus not recognized");
  });
});
