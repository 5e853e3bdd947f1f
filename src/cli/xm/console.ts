/**
 * `xm console [-q] <Domain>`: attach to a domain's console. Output is followed as it comes (the
 * control API streams it); what is typed goes to the guest; Ctrl-] detaches, as xenconsole did.
 * On a terminal, input is raw (Ctrl-C goes to the guest). The command ends when the domain goes
 * away (destroyed, or restarted under a new id), or when its input ends (`xm console web1 < cmds`,
 * `</dev/null`): once what was read is sent and the history shown, it waits for the console to be
 * quiet for a moment (so replies show), or leaves at once with `-q`.
 */
import { Command, Option } from "clipanion";
import { XvmError } from "../../errors.ts";
import { ApiError, XmCommand } from "./base.ts";

/** Ctrl-]: xenconsole's escape character. */
const ESCAPE = 0x1d;

type Line = { data?: string; end?: string; ping?: number; live?: number };

/** After input ended: leave once the console has been quiet this long (replies to what was sent)… */
const QUIET_MS = 500;
/** …but never wait longer than this for a console that keeps talking (a counter guest). */
const LINGER_MAX_MS = 5_000;

export class ConsoleCommand extends XmCommand {
  static override paths = [["xm", "console"]];
  static override usage = Command.Usage({
    description: "attach to <Domain>'s console",
    details: `
      Shows what the guest has written to its console so far, then follows it. Keys typed go to the
      guest (the simulated kernel understands \`poweroff\`, \`reboot\`, \`halt\`, \`panic\` and
      \`help\`). Press Ctrl-] to detach; the guest keeps running.

      When the input is not a terminal, the command ends with it: what was read is sent, the history
      shown, and it leaves once the console has been quiet for half a second (at once with \`-q\`).
    `,
    examples: [
      ["Follow web1's console", "$0 xm console web1"],
      ["Print web1's console so far and leave", "$0 xm console -q web1 < /dev/null"],
      ["Type a command and show the answer", "echo help | $0 xm console web1"],
    ],
  });
  quiet = Option.Boolean("-q,--quiet", false, { description: "do not print an error message if the domain does not exist or is not running; when the input ends, leave right after the history" });
  domain = Option.String({ required: true, name: "Domain" });

  async execute(): Promise<number> {
    let domid: number;
    try {
      const d = await this.getDomain(this.domain);
      if (d.domid === null) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "not started", action: "attach to its console" });
      domid = d.domid;
    } catch (error) {
      if (this.quiet && (error instanceof ApiError || error instanceof XvmError)) return 1;
      throw error;
    }
    if (domid === 0) throw new XvmError("DOMAIN_PRIVILEGED", { action: "attach to the console of", dom: 0 });
    return this.follow(domid);
  }

  private follow(domid: number): Promise<number> {
    const paths = this.statePaths;
    const { stdin, stdout } = this.context;
    const tty = stdin as NodeJS.ReadStream;
    return new Promise<number>((resolve, reject) => {
      let done = false;
      let rawSet = false;
      // Input at its end: leave once it is sent, the history shown and (without -q) the console quiet.
      let inputEnded = false;
      let live = false;
      let sending = 0;
      let chain: Promise<unknown> = Promise.resolve();
      let quietTimer: ReturnType<typeof setTimeout> | undefined;
      let lingerTimer: ReturnType<typeof setTimeout> | undefined;
      const maybeLeave = () => {
        if (done || !inputEnded || !live || sending > 0) return;
        if (this.quiet) return finish(0);
        if (quietTimer) clearTimeout(quietTimer);
        quietTimer = setTimeout(() => finish(0), QUIET_MS);
        lingerTimer ??= setTimeout(() => finish(0), LINGER_MAX_MS);
      };
      const onEnd = () => {
        inputEnded = true;
        maybeLeave();
      };
      const finish = (code: number, error?: unknown) => {
        if (done) return;
        done = true;
        if (quietTimer) clearTimeout(quietTimer);
        if (lingerTimer) clearTimeout(lingerTimer);
        stdin.off("data", onInput);
        stdin.off("end", onEnd);
        if (rawSet) tty.setRawMode(false);
        stdin.pause();
        req.destroy();
        if (error) reject(error);
        else resolve(code);
      };
      const onInput = (chunk: Buffer | string) => {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        const at = bytes.indexOf(ESCAPE);
        const data = (at >= 0 ? bytes.subarray(0, at) : bytes).toString("utf8");
        if (data) sending++;
        // One after the other, so that the guest reads the input in the order it came.
        const send = (chain = chain.then(() => (data ? this.api("POST", `/domains/${domid}/console`, { data }).catch(() => undefined) : undefined)));
        void send.then(() => {
          if (data) sending--;
          if (at >= 0) finish(0);
          else maybeLeave();
        });
      };
      // node:http on first use (Start-up in docs/architecture.md).
      const req = process.getBuiltinModule("node:http").request({ socketPath: paths.controlSocket, method: "GET", path: `/domains/${domid}/console?follow=1` }, (res) => {
        let buffered = "";
        res.setEncoding("utf8");
        if ((res.statusCode ?? 0) >= 400) {
          res.on("data", (c: string) => (buffered += c));
          res.on("end", () => {
            let body: { code?: string; message?: string } = {};
            try {
              body = JSON.parse(buffered) as typeof body;
            } catch {
              // not JSON: reported by status
            }
            finish(1, new ApiError(body.code ?? "XVM_INTERNAL", body.message ?? `HTTP ${res.statusCode}`, res.statusCode ?? 500));
          });
          return;
        }
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const text = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!text) continue;
            let line: Line;
            try {
              line = JSON.parse(text) as Line;
            } catch {
              continue;
            }
            if (line.data !== undefined) {
              stdout.write(line.data);
              if (quietTimer) maybeLeave();
            }
            if (line.live !== undefined) {
              live = true;
              maybeLeave();
            }
            if (line.end !== undefined) finish(0);
          }
        });
        res.on("end", () => finish(0));
        res.on("error", () => finish(0));
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
          finish(1, new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket }));
        } else finish(1, error);
      });
      req.end();
      if (tty.isTTY && typeof tty.setRawMode === "function") {
        tty.setRawMode(true);
        rawSet = true;
      }
      stdin.on("data", onInput);
      stdin.on("end", onEnd);
      stdin.resume();
    });
  }
}
