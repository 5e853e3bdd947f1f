/**
 * Placeholder: the control API's domain routes arrive with the domains issue (issue 4). The daemon
 * mounts what this returns at `/domains`.
 */
import { Hono } from "hono";
import type { DomainManager } from "./types.ts";

export function domainRoutes(_manager: DomainManager): Hono {
  return new Hono();
}
