/**
 * Why the daemon is degraded, if it is: one reason per key, so a condition that goes away (a
 * plugin's refresh succeeding again, a value fixed) clears exactly its own reason. Keys name the
 * source: `load:<plugin>`, `setup:<plugin>`, `refresh:<plugin>`, `hook:<plugin>:<hook>`,
 * `plugin:<plugin>` (ctx.degrade), `config:<property>`, `core:<part>`.
 */
export type DaemonState = "online" | "degraded";

export class Health {
  private readonly reasons = new Map<string, string>();
  private readonly listeners: Array<(key: string, reason: string | undefined) => void> = [];

  set(key: string, reason: string | undefined): void {
    const before = this.reasons.get(key);
    if (reason === undefined) this.reasons.delete(key);
    else this.reasons.set(key, reason);
    if (before !== reason) for (const l of this.listeners) l(key, reason);
  }

  /** Clears every reason whose key starts with `prefix`. */
  clear(prefix: string): void {
    for (const key of [...this.reasons.keys()]) if (key.startsWith(prefix)) this.set(key, undefined);
  }

  get(key: string): string | undefined {
    return this.reasons.get(key);
  }

  get state(): DaemonState {
    return this.reasons.size === 0 ? "online" : "degraded";
  }

  list(): string[] {
    return [...this.reasons.values()];
  }

  onChange(listener: (key: string, reason: string | undefined) => void): void {
    this.listeners.push(listener);
  }
}
