/**
 * The daemon's event stream (`GET /events` on the control socket, NDJSON; `xm events` follows it)
 * and the counters `GET /metrics` reports. Events come from the core's hooks after every plugin has
 * seen them (domain created, destroyed, crashed, shut down, migrated in or out, memory changed) and
 * from the daemon's health (service online/degraded, a plugin degraded or recovered).
 *
 * A line is one JSON object with `type` and `time` (ISO 8601):
 *   {"type":"domain","event":"created","domid":3,"name":"web1","uuid":"…","time":"…"}
 *   {"type":"service","state":"degraded","reasons":["…"],"time":"…"}
 *   {"type":"plugin","plugin":"relocation","state":"degraded","reason":"…","time":"…"}
 * Bounded: a subscriber that does not read (a stopped `xm events`) holds at most MAX_QUEUED
 * events; older ones are dropped and a `{"type":"lost","count":N}` line says how many.
 */
import type { Hooks } from "../plugin/contract.ts";
import type { DomainSummary } from "../domain/types.ts";

export const MAX_QUEUED = 1000;

export type XendEvent =
  | { type: "domain"; event: DomainEventName; domid: number | null; name: string; uuid: string; time: string; [extra: string]: unknown }
  | { type: "service"; state: "online" | "degraded" | "stopping"; reasons: string[]; time: string }
  | { type: "plugin"; plugin: string; state: "degraded" | "recovered"; reason?: string; time: string }
  | { type: "lost"; count: number; time: string };

export type DomainEventName = "created" | "destroyed" | "crashed" | "shutdown" | "migrated-in" | "migrated-out" | "memory-changed";

/** The hooks that become domain events, with the event's name and its extra fields. */
const DOMAIN_HOOKS: Partial<Record<keyof Hooks, (args: unknown[]) => { event: DomainEventName; extra: Record<string, unknown> }>> = {
  domainCreated: () => ({ event: "created", extra: {} }),
  domainDestroyed: () => ({ event: "destroyed", extra: {} }),
  domainCrashed: (a) => ({ event: "crashed", extra: { dump: Boolean((a[1] as { wantDump?: boolean } | undefined)?.wantDump) } }),
  domainShutdown: (a) => ({ event: "shutdown", extra: { reason: String(a[1]) } }),
  domainMigratedIn: (a) => ({ event: "migrated-in", extra: { from: String(a[1]) } }),
  domainMigratedOut: (a) => ({ event: "migrated-out", extra: { to: String(a[1]) } }),
  domainMemoryChanged: (a) => ({ event: "memory-changed", extra: { targetMiB: Number(a[1]) } }),
};

/** How many of each domain event since the daemon started (for /metrics). */
export type EventCounts = Record<DomainEventName, number>;

type Listener = (event: XendEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();
  readonly counts: EventCounts = {
    created: 0, destroyed: 0, crashed: 0, shutdown: 0, "migrated-in": 0, "migrated-out": 0, "memory-changed": 0,
  };

  constructor(private readonly now: () => Date = () => new Date()) {}

  publish(event: XendEvent): void {
    if (event.type === "domain") this.counts[event.event]++;
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // a listener's failure (a closed stream) is its own
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** The event for a hook the core fired, if that hook is one. */
  fromHook(hook: keyof Hooks, args: unknown[]): void {
    const make = DOMAIN_HOOKS[hook];
    if (!make) return;
    const d = args[0] as DomainSummary | undefined;
    if (!d) return;
    const { event, extra } = make(args);
    this.publish({ type: "domain", event, domid: d.domid, name: d.name, uuid: d.uuid, ...extra, time: this.now().toISOString() });
  }

  /**
   * A health reason set or cleared: a plugin's (keys `load:`, `setup:`, `refresh:`, `hook:`,
   * `plugin:` + its name) is a plugin event; then the service's state, when it changed.
   */
  fromHealth(key: string, reason: string | undefined, state: "online" | "degraded", reasons: string[], stateChanged: boolean): void {
    const time = this.now().toISOString();
    const m = /^(?:load|setup|refresh|hook|plugin):([^:]+)/.exec(key);
    if (m) this.publish({ type: "plugin", plugin: m[1]!, state: reason === undefined ? "recovered" : "degraded", ...(reason !== undefined ? { reason } : {}), time });
    if (stateChanged) this.publish({ type: "service", state, reasons, time });
  }
}

/**
 * The NDJSON answer of `GET /events`: each event as it comes, a `{"ping":1}` line every `pingMs` so
 * that a quiet stream keeps its connection, until the client goes away.
 */
export function eventStream(bus: EventBus, pingMs: number, signal?: AbortSignal): Response {
  const encoder = new TextEncoder();
  let unsubscribe: (() => void) | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  signal?.addEventListener("abort", stop, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let lost = 0;
      const emit = (line: object): boolean => {
        // desiredSize counts queued chunks (one per line): beyond the bound, drop and count.
        if ((controller.desiredSize ?? 1) <= -MAX_QUEUED) return false;
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
          return true;
        } catch {
          stop();
          return false;
        }
      };
      unsubscribe = bus.subscribe((event) => {
        if (lost > 0 && emit({ type: "lost", count: lost, time: new Date().toISOString() })) lost = 0;
        if (!emit(event)) lost++;
      });
      timer = setInterval(() => emit({ ping: 1 }), pingMs);
      (timer as { unref?: () => void }).unref?.();
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-cache" } });
}
