/**
 * What an external plugin may import at run time as `xvm/plugin`:
 *
 *   import { definePlugin, Hono, v, XvmError, jsonBody, progressStream } from "xvm/plugin";
 *
 * The binary has no node_modules for a plugin to resolve against, so the host provides this module
 * itself (see virtual-module.ts): on Bun (the compiled binary) and on Node. Types come from
 * contract.ts (`import type … from "xvm/plugin"` is erased, so it costs nothing at run time).
 */
import { Hono } from "hono";
import * as v from "valibot";
import { XvmError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { definePlugin, isPluginDefinition } from "./contract.ts";
import { jsonBody } from "./json-body.ts";
import { progressStream } from "./progress-stream.ts";

export { definePlugin, isPluginDefinition, Hono, v, XvmError, VERSION, jsonBody, progressStream };
export type * from "./contract.ts";
export type { ProgressStreamOptions } from "./progress-stream.ts";

/** The same exports as one object (what the virtual module hands out). */
export const PLUGIN_API = { definePlugin, isPluginDefinition, Hono, v, XvmError, VERSION, jsonBody, progressStream } as const;

/** The specifier external plugins import. */
export const PLUGIN_API_SPECIFIER = "xvm/plugin";
