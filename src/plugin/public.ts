/**
 * `xvm/plugin`: the one module a plugin may import from xvm (built-in or external).
 *
 *   import { definePlugin, Hono, v, XvmError, jsonBody, progressStream } from "xvm/plugin";
 *
 * Everything a plugin may use is exported here and nowhere else: the contract (definePlugin and
 * the context and hook types), SXP and domain ⇄ SXP conversion, progress streams, JSON bodies,
 * error helpers, and the few host-resource readers plugins need. A check in `npm test`
 * (test/unit/import-boundary.test.ts) refuses a file under plugins/ that imports anything else
 * from src/.
 *
 * Built-ins resolve the specifier at build time (tsconfig `paths`, vitest's alias); external
 * plugins at run time, from the host (virtual-module.ts: the binary has no node_modules for them
 * to resolve against). `import type … from "xvm/plugin"` is erased, so it costs nothing.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { configFromSxp, domainToSxp, nodeToSxp, vcpuInfoToSxp } from "../domain/sxp-convert.ts";
import { checkDomainConfig } from "../domain/config-spec.ts";
import { XvmError, defineErrors, errorMessage, formatError } from "../errors.ts";
import { formatCpuRanges, parseCpuList } from "../formats/cpu-list.ts";
import * as sxp from "../formats/sxp.ts";
import {
  AffinityError, formatKernelCpuList, onlineCpus, planDom0Cpus, processAffinity, setProcessAffinity,
} from "../host/cpus.ts";
import { readHostLinks } from "../host/host-links.ts";
import { chooseDefaultNic, legacyReason } from "../host/link-choice.ts";
import { hostMemoryKiB } from "../host/memory.ts";
import { writeFileAtomic } from "../runtime/atomic-write.ts";
import { faultPoint } from "../runtime/fault-point.ts";
import { VERSION } from "../version.ts";
import { defineCommand } from "./command-contract.ts";
import { defineProperties, definePlugin, isPluginDefinition, withValidation } from "./contract.ts";
import { jsonBody } from "./json-body.ts";
import { createLegacyHttpRegistry } from "./legacy-http.ts";
import { HARNESS_PHYSINFO, startPluginHarness } from "./harness.ts";
import { progressStream } from "./progress-stream.ts";
import { documentRoutes } from "./route-docs.ts";
import { escapeText } from "../security/log-escape.ts";
import { confinedPath, isInside } from "../security/confined-path.ts";
import { PeerAuthError, acceptPeer, connectPeer } from "../security/peer-auth.ts";
import { RELOCATION_AUTH_PURPOSE, relocationKey, relocationKeyFile } from "../security/relocation-key.ts";

export {
  definePlugin, defineProperties, withValidation, defineCommand, isPluginDefinition, Hono, v, XvmError, defineErrors, errorMessage, formatError, VERSION,
  jsonBody, progressStream, createLegacyHttpRegistry, sxp, domainToSxp, configFromSxp, nodeToSxp, vcpuInfoToSxp,
  readHostLinks, chooseDefaultNic, legacyReason, hostMemoryKiB,
  AffinityError, formatKernelCpuList, onlineCpus, planDom0Cpus, processAffinity, setProcessAffinity,
  startPluginHarness, HARNESS_PHYSINFO, writeFileAtomic, parseCpuList, formatCpuRanges,
  escapeText, acceptPeer, connectPeer, PeerAuthError, RELOCATION_AUTH_PURPOSE, relocationKey, relocationKeyFile, checkDomainConfig,
  // issue 13 §2 (i13-reloc): confined paths
  confinedPath, isInside,
  // issue 17.9: plugin routes in /openapi.json
  documentRoutes,
  // issue 13 §3 (i13-migkill): test-only hold points (XVM_TEST_FAULTS=1), for kill -9 tests
  faultPoint,
};
export type * from "./contract.ts";
export type { ProgressStreamOptions } from "./progress-stream.ts";
export type { RouteSpec } from "./route-docs.ts";
export type { PluginHarness, PluginHarnessOptions } from "./harness.ts";
export type { ErrorCode, ErrorDefinition, PluginErrorCode } from "../errors.ts";
export type { Sxp, SxpNode } from "../formats/sxp.ts";
export type { CpuListError, CpuListOptions, CpuListProblem } from "../formats/cpu-list.ts";
export type {
  DomainConfig, DomainCreateRequest, DomainManager, DomainSummary, VifConfig,
} from "../domain/types.ts";
export type {
  DumpOptions, GuestDisk, GuestVif, HypervisorDriver, IncomingMigration, MigrationLimits, MigrationProgress, MigrationStats, PhysInfo, VbdStats,
} from "../hypervisor/driver.ts";
export type { Link } from "../host/links.ts";
export type { Dom0CpuPlan } from "../host/cpus.ts";
export type { NicChoice } from "../host/link-choice.ts";
export type { Paths } from "../paths.ts";
export type { ConfigProblem } from "../domain/config-spec.ts";
export type { PeerAuthFailure, PeerAuthOptions } from "../security/peer-auth.ts";
export type { SharedKey } from "../security/key-file.ts";

/** The same run-time exports as one object (what the virtual module hands external plugins). */
export const PLUGIN_API = {
  definePlugin, defineProperties, withValidation, defineCommand, isPluginDefinition, Hono, v, XvmError, defineErrors, errorMessage, formatError, VERSION,
  jsonBody, progressStream, createLegacyHttpRegistry, sxp, domainToSxp, configFromSxp, nodeToSxp, vcpuInfoToSxp,
  readHostLinks, chooseDefaultNic, legacyReason, hostMemoryKiB,
  AffinityError, formatKernelCpuList, onlineCpus, planDom0Cpus, processAffinity, setProcessAffinity,
  startPluginHarness, HARNESS_PHYSINFO, writeFileAtomic, parseCpuList, formatCpuRanges,
  escapeText, acceptPeer, connectPeer, PeerAuthError, RELOCATION_AUTH_PURPOSE, relocationKey, relocationKeyFile, checkDomainConfig,
  // issue 13 §2 (i13-reloc): confined paths
  confinedPath, isInside,
  // issue 17.9: plugin routes in /openapi.json
  documentRoutes,
} as const;

/** The specifier plugins import. */
export const PLUGIN_API_SPECIFIER = "xvm/plugin";
