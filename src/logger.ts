/**
 * The logger every part of xvm writes through (the daemon's log sink, plugins, the domain
 * manager, drivers). A leaf: it imports nothing, so any folder may depend on it.
 */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger for a sub-component: lines show `(parent.child)`. */
  child(component: string): Logger;
}
