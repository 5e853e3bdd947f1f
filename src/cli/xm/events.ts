/**
 * `xm events [--json] [--count N] [--timeout S]`: follow xend's event stream (`GET /events` on the
 * control socket, src/daemon/events.ts) and print each event as it comes, like `virsh event --loop`:
 * domains created, destroyed, crashed, shut down, migrated; the service going degraded or back
 * online; a plugin degraded or recovered. `--json` prints the stream's lines as they are (NDJSON,
 * without the keep-alive lines). Ends with the stream (xend stopping), after `--count` events, or
 * after `--timeout` seconds; exit 0 then, 1 if xend is not running.
 */
import { request } from "node:http";
import { Command, Option } from "clipanion";
import { XvmError } from "../../errors.ts";
import type { XendEvent } from "../../daemon/events.ts";
import { XmCommand, XmUsageError } from "./base.ts";

/** One event as a line of text: `<time> <what>`. */
export function eventLine(e: XendEvent): string {
  switch (e.type) {
    case "domain": {
      const { type: _t, event, domid, name, uuid: _u, time, ...extra } = e;
      const more = Object.entries(extra).map(([k, v]) => `${k}=${String(v)}`).join(" ");
      return `${time} domain ${name}${domid !== null ? ` (id ${domid})` : ""}: ${event}${more ? ` ${more}` : ""}`;
    }
    case "service":
      return `${e.time} service xend: ${e.state}${e.reasons.length ? ` (${e.reasons.join("; ")})` : ""}`;
    case "plugin":
      return `${e.time} plugin ${e.plugin}: ${e.state}${e.reason ? ` (${e.reason})` : ""}`;
    case "lost":
      return `${e.time} ${e.count} event(s) lost: this client read too slowly`;
  }
}

export class EventsCommand extends XmCommand {
  static override paths = [["xm", "events"]];
  static override usage = Command.Usage({
    description: "print xend's events as they happen (domains, the service, plugins)",
    details: `
      Follows the daemon's event stream (\`GET /events\` on the control socket, NDJSON) and prints one
      line per event: \`<time> domain <name> (id <n>): created|destroyed|crashed|shutdown|migrated-in|migrated-out|memory-changed\`,
      \`<time> service xend: degraded (<reasons>)\` / \`online\` / \`stopping\`, \`<time> plugin <name>: degraded (<reason>)\` / \`recovered\`.
      \`--json\` prints the stream's own lines instead. It runs until xend stops, or for \`--count\`
      events, or \`--timeout\` seconds (like \`virsh event --loop\`).
    `,
    examples: [
      ["Follow events", "$0 xm events"],
      ["Raw NDJSON for a script", "$0 xm events --json"],
      ["Wait for the next event, at most 60 s", "$0 xm events --count 1 --timeout 60"],
    ],
  });

  json = Option.Boolean("--json", false, { description: "print the raw NDJSON lines" });
  count = Option.String("--count", { description: "exit after this many events" });
  timeout = Option.String("--timeout", { description: "exit after this many seconds" });

  async execute(): Promise<number> {
    const count = this.count === undefined ? undefined : Number(this.count);
    const timeout = this.timeout === undefined ? undefined : Number(this.timeout);
    if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new XmUsageError(`--count: expected a positive integer, got '${this.count}'`);
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) throw new XmUsageError(`--timeout: expected a number of seconds, got '${this.timeout}'`);
    // Fails (or waits for a restarting xend) as every xm command does, before following.
    await this.api("GET", "/status");
    const paths = this.statePaths;
    const { stdout } = this.context;
    return new Promise<number>((resolve, reject) => {
      let seen = 0;
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (code: number, error?: unknown) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        req.destroy();
        if (error) reject(error);
        else resolve(code);
      };
      if (timeout !== undefined) timer = setTimeout(() => finish(0), timeout * 1000);
      const req = request({ socketPath: paths.controlSocket, method: "GET", path: "/events" }, (res) => {
        if ((res.statusCode ?? 0) >= 400) return finish(1, new XvmError("XVM_INTERNAL", { detail: `GET /events answered HTTP ${res.statusCode}` }));
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while (!done && (nl = buffered.indexOf("\n")) >= 0) {
            const text = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            let event: XendEvent | { ping: number };
            try {
              event = JSON.parse(text) as XendEvent | { ping: number };
            } catch {
              continue;
            }
            if ("ping" in event) continue;
            stdout.write(this.json ? `${text}\n` : `${eventLine(event)}\n`);
            if (count !== undefined && ++seen >= count) finish(0);
          }
        });
        res.on("end", () => finish(0));
        res.on("error", () => finish(0));
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT" || error.code === "ECONNREFUSED") finish(1, new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket }));
        else finish(1, error);
      });
      req.end();
    });
  }
}

export const eventsCommand = EventsCommand;
