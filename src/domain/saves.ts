/**
 * Save, restore, suspend and resume (issue 15.1), as xend 3.4's XendCheckpoint did them: the
 * domain's config goes into the file's header, the driver appends the guest's state
 * (`saveTo`), and the domain is destroyed once the file is complete (`xm save -c` keeps it
 * running). Restore reads and checks the whole file first (format, truncation, checksums, driver,
 * owner), then starts a domain with the same name, uuid and memory through the driver's
 * `restoreFrom`, paused, and unpauses it unless asked not to.
 *
 * The file is written under a temporary name beside the target (`.<name>.partial-<pid>`), fsynced,
 * then renamed: a crash mid-save never leaves a half file under the name, and the guest is only
 * destroyed after the rename. Suspend/resume are save/restore of a managed domain to
 * var/lib/xend/domains/<uuid>/checkpoint.chk (./checkpoint.ts).
 */
import { closeSync, createReadStream, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { errorMessage, XvmError } from "../errors.ts";
import { encodeSavePrefix, encodeSaveTrailer, readSaveImage, type SaveImageHeader, writeAll } from "../formats/save-image.ts";
import { fsyncDir } from "../runtime/atomic-write.ts";
import { checkpointPath, isSuspended } from "./checkpoint.ts";
import { launch } from "./creation.ts";
import type { DomainModel } from "./model.ts";
import type { FullConfig } from "./records.ts";
import { destroyRecord } from "./stop-actions.ts";
import { summaryOf } from "./summaries.ts";
import type { DomainSummary, SaveProgress, SaveResult } from "./types.ts";

function notSupported(m: DomainModel, what: string): XvmError {
  return new XvmError("XVM_NOT_IMPLEMENTED", { what: `${what} (not supported by the ${m.driver.name} driver)` });
}

function checkFile(file: string): void {
  if (!isAbsolute(file)) throw new XvmError("XVM_BAD_REQUEST", { detail: `the file must be an absolute path, not '${file}'` });
  let st;
  try {
    st = statSync(file);
  } catch {
    return;
  }
  if (st.isDirectory()) throw new XvmError("SAVE_FILE_BAD", { path: file, detail: "is a directory" });
}

export async function save(m: DomainModel, dom: string | number, file: string, options: { checkpoint: boolean; onProgress?: (p: SaveProgress) => void; action?: string }): Promise<SaveResult> {
  const saveTo = m.driver.saveTo?.bind(m.driver);
  if (!saveTo) throw notSupported(m, "xm save");
  checkFile(file);
  const action = options.action ?? "save";
  const t0 = performance.now();
  return m.withDomain(dom, action, async (rec) => {
    const info = await m.requireLive(rec, action);
    const wasPaused = info.paused;
    const tmp = join(dirname(file), `.${basename(file)}.partial-${process.pid}`);
    const header: SaveImageHeader = {
      driver: m.driver.name, savedAt: new Date(m.now()).toISOString(), host: hostname(),
      domain: {
        name: rec.config.name, uuid: rec.config.uuid, domid: rec.domid, memoryKiB: info.targetKiB, maxMemKiB: info.maxMemKiB,
        vcpus: info.vcpus.filter((v) => v.online).length, managed: rec.managed, paused: wasPaused,
      },
      config: structuredClone(rec.config) as unknown as Record<string, unknown>,
    };
    if (!wasPaused) await m.driver.pause(rec.domid);
    let bytes: number;
    try {
      const prefix = encodeSavePrefix(header);
      let fd = openSync(tmp, "wx", 0o600);
      try {
        writeAll(fd, prefix);
      } finally {
        closeSync(fd);
      }
      const state = await saveTo(rec.domid, tmp, { onProgress: (done, total) => options.onProgress?.({ phase: "saving", done, total }) });
      fd = openSync(tmp, "a");
      try {
        writeAll(fd, encodeSaveTrailer(prefix, state.bytes, state.sha256));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      bytes = statSync(tmp).size;
      renameSync(tmp, file);
      fsyncDir(dirname(file));
    } catch (error) {
      rmSync(tmp, { force: true });
      if (!wasPaused) await m.driver.unpause(rec.domid).catch((e) => m.log.error(`cannot unpause domain ${rec.config.name} (${rec.domid}) after a failed save: ${errorMessage(e)}`));
      m.log.error(`Save failed on domain ${rec.config.name} (${rec.domid}): ${errorMessage(error)}`);
      if (error instanceof XvmError && error.code !== "XVM_INTERNAL") throw error;
      throw new XvmError("SAVE_FAILED", { dom: rec.config.name, detail: errorMessage(error) }, { cause: error });
    }
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) saved to ${file} (${bytes} bytes)${options.checkpoint ? ", left running" : ""}`);
    if (options.checkpoint) {
      if (!wasPaused) await m.driver.unpause(rec.domid);
    } else {
      rec.stopHandled = true;
      await destroyRecord(m, rec);
    }
    return { file, bytes, seconds: (performance.now() - t0) / 1000, name: rec.config.name, uuid: rec.config.uuid };
  });
}

/** Hashes the payload without blocking the daemon (1 MiB reads) and compares it with the trailer. */
async function verifyPayload(file: string, offset: number, bytes: number, expected: string, onProgress?: (done: number, total: number) => void): Promise<void> {
  if (bytes === 0) return;
  const hash = process.getBuiltinModule("node:crypto").createHash("sha256");
  let done = 0;
  for await (const chunk of createReadStream(file, { start: offset, end: offset + bytes - 1, highWaterMark: 2 ** 20 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onProgress?.(done, bytes);
  }
  if (done !== bytes) throw new XvmError("SAVE_FILE_BAD", { path: file, detail: `truncated: the saved state ends after ${done} of ${bytes} bytes` });
  if (hash.digest("hex") !== expected) throw new XvmError("SAVE_FILE_BAD", { path: file, detail: "corrupt: the saved state does not match its checksum" });
}

export async function restore(
  m: DomainModel,
  file: string,
  options: { paused: boolean; onProgress?: (p: SaveProgress) => void; expectUuid?: string; action?: string },
): Promise<DomainSummary> {
  const restoreFrom = m.driver.restoreFrom?.bind(m.driver);
  if (!restoreFrom) throw notSupported(m, `xm ${options.action ?? "restore"}`);
  if (!isAbsolute(file)) throw new XvmError("XVM_BAD_REQUEST", { detail: `the file must be an absolute path, not '${file}'` });
  const image = readSaveImage(file, { verify: false });
  const { header } = image;
  if (header.driver !== m.driver.name) {
    throw new XvmError("SAVE_FILE_BAD", {
      path: file,
      detail: `saved by the ${header.driver} driver; this xend runs the ${m.driver.name} driver, which cannot read its state (svccfg -s xend setprop config/hypervisor = ${header.driver})`,
    });
  }
  if (options.expectUuid !== undefined && header.domain.uuid !== options.expectUuid) {
    throw new XvmError("SAVE_FILE_BAD", { path: file, detail: `belongs to another domain: ${header.domain.name} (${header.domain.uuid}), not ${options.expectUuid}` });
  }
  await verifyPayload(file, image.payloadOffset, image.payloadBytes, image.payloadSha256, (done, total) => options.onProgress?.({ phase: "verifying", done, total }));
  const config = structuredClone(header.config) as unknown as FullConfig;
  if (typeof config.name !== "string" || config.uuid !== header.domain.uuid) {
    throw new XvmError("SAVE_FILE_BAD", { path: file, detail: "corrupt: the saved config does not name the saved domain" });
  }
  const managed = m.managed.has(config.uuid);
  if (managed && isSuspended(m, config.uuid) && file !== checkpointPath(m, config.uuid)) {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: config.name, state: "suspended", action: "restore another saved state of (xm resume it, or xm delete it)" });
  }
  let rec;
  try {
    rec = await launch(m, config, {
      managed, paused: true, restartCount: 0,
      startGuest: (spec) => restoreFrom(file, spec, {
        offset: image.payloadOffset, bytes: image.payloadBytes, sha256: image.payloadSha256,
        onProgress: (done, total) => options.onProgress?.({ phase: "loading", done, total }),
      }),
    });
  } catch (error) {
    m.log.error(`Restore from ${file} failed: ${errorMessage(error)}`);
    if (error instanceof XvmError) throw error;
    throw new XvmError("RESTORE_FAILED", { detail: errorMessage(error) }, { cause: error });
  }
  if (!options.paused) await m.queue(rec.domid, () => m.driver.unpause(rec.domid));
  m.log.info(`Domain ${config.name} (${rec.domid}) restored from ${file}${options.paused ? ", paused" : ""}`);
  m.dmesgLine(`(XEN) Domain ${rec.domid} (${config.name}) restored`);
  return summaryOf(m, rec);
}

/** `xm suspend`: saves a running managed domain into its folder and stops it. */
export async function suspend(m: DomainModel, dom: string | number, onProgress?: (p: SaveProgress) => void): Promise<SaveResult> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "suspend", dom: 0 });
  if (found.kind === "inactive") {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: found.config.name, state: isSuspended(m, found.config.uuid) ? "already suspended" : "not running", action: "suspend" });
  }
  if (!found.rec.managed) throw new XvmError("DOMAIN_BAD_STATE", { dom: found.rec.config.name, state: "not managed by xend (xm new adds it; xm save works on any domain)", action: "suspend" });
  return save(m, found.rec.domid, checkpointPath(m, found.rec.config.uuid), { checkpoint: false, onProgress, action: "suspend" });
}

/** `xm resume [-p]`: brings a suspended managed domain back and removes its checkpoint. */
export async function resume(m: DomainModel, dom: string | number, options: { paused: boolean; onProgress?: (p: SaveProgress) => void }): Promise<DomainSummary> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "resume", dom: 0 });
  if (found.kind === "active") throw new XvmError("DOMAIN_BAD_STATE", { dom: found.rec.config.name, state: "running", action: "resume" });
  const uuid = found.config.uuid;
  if (!isSuspended(m, uuid)) throw new XvmError("DOMAIN_BAD_STATE", { dom: found.config.name, state: "not suspended (xm start starts it)", action: "resume" });
  const file = checkpointPath(m, uuid);
  const summary = await restore(m, file, { paused: options.paused, onProgress: options.onProgress, expectUuid: uuid, action: "resume" });
  rmSync(file, { force: true });
  fsyncDir(dirname(file));
  return summary;
}
