/**
 * saveState / restoreState: the sim's payload of a saved-domain file (src/formats/save-image.ts),
 * written and read inside the runner, next to guest memory, in 1 MiB pieces.
 *
 * Payload format `sim-1`:
 *   u32 BE J, then J bytes of JSON {@link SimSaveState} (program, memory size, balloon target,
 *   online vCPUs and their registers, page count);
 *   the populated-page bitmap below the balloon target (bit n = pfn n, {@link bitmapBytes} bytes);
 *   the pages whose bit is set, 4096 bytes each, in frame order.
 * Pages never written are known to be zero and are not stored, so an idle 256 MiB guest saves in
 * a few KiB. Program state lives in guest memory and vCPU registers only (programs.ts), so a
 * restored sim:counter carries on from the saved value.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { XvmError } from "../../../errors.ts";
import type { VcpuState } from "../../driver.ts";
import { writeAll } from "../../../formats/save-image.ts";
import { bitmapBytes, PAGE_SIZE } from "../memory.ts";
import { isBooted } from "../programs.ts";
import { arg, type RunnerCommand } from "../runner-command.ts";

export const SIM_SAVE_FORMAT = "sim-1";
const CHUNK_PAGES = 256;
const PROGRESS_EVERY_MS = 100;
const MAX_STATE_JSON = 2 ** 20;

export interface SimSaveState {
  format: string;
  kernel: string;
  extra: string;
  /** Pages of guest memory allocated (maxmem at boot). */
  nrPages: number;
  targetKiB: number;
  vcpus: number;
  vcpuState: VcpuState[];
  /** Pages stored after the bitmap. */
  pages: number;
}

function hasher() {
  return process.getBuiltinModule("node:crypto").createHash("sha256");
}

function bitSet(bitmap: Uint8Array, pfn: number): boolean {
  return (bitmap[pfn >> 3]! & (1 << (pfn & 7))) !== 0;
}

export const commands: Record<string, RunnerCommand> = {
  saveState({ host, guest, args, progress }) {
    const path = arg.string(args, "path", "saveState");
    if (guest.life !== "running") throw new XvmError("DOMAIN_BAD_STATE", { dom: host.spec.name, state: guest.life === "crashed" ? "crashed" : "shut down", action: "save" });
    const t0 = performance.now();
    const result = guest.withVcpusStopped(() => {
      const mem = guest.mem;
      const top = Math.min(mem.nrPages, Math.ceil(guest.targetKiB / 4));
      const bitmap = new Uint8Array(bitmapBytes(mem.nrPages));
      let pages = 0;
      for (let pfn = 0; pfn < top; pfn++) {
        if (mem.isPopulated(pfn)) {
          bitmap[pfn >> 3]! |= 1 << (pfn & 7);
          pages++;
        }
      }
      const state: SimSaveState = {
        format: SIM_SAVE_FORMAT, kernel: host.spec.kernel, extra: host.spec.extra, nrPages: mem.nrPages,
        targetKiB: guest.targetKiB, vcpus: guest.onlineVcpus, vcpuState: guest.vcpuState(), pages,
      };
      const json = Buffer.from(JSON.stringify(state), "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(json.length);
      const hash = hasher();
      const fd = openSync(path, "a");
      let bytes = 0;
      const put = (data: Uint8Array) => {
        hash.update(data);
        writeAll(fd, data);
        bytes += data.length;
      };
      try {
        put(len);
        put(json);
        put(bitmap);
        const buf = Buffer.alloc(CHUNK_PAGES * PAGE_SIZE);
        const total = pages * PAGE_SIZE;
        let fill = 0;
        let done = 0;
        let last = 0;
        const flush = () => {
          if (fill === 0) return;
          put(buf.subarray(0, fill * PAGE_SIZE));
          done += fill * PAGE_SIZE;
          fill = 0;
          const now = performance.now();
          if (done === total || now - last >= PROGRESS_EVERY_MS) {
            last = now;
            progress({ done, total });
          }
        };
        for (let pfn = 0; pfn < top; pfn++) {
          if (!bitSet(bitmap, pfn)) continue;
          buf.set(mem.page(pfn), fill * PAGE_SIZE);
          if (++fill === CHUNK_PAGES) flush();
        }
        flush();
        if (total === 0) progress({ done: 0, total: 0 });
      } finally {
        closeSync(fd);
      }
      return { format: SIM_SAVE_FORMAT, bytes, sha256: hash.digest("hex"), pages };
    });
    host.log(`saved to ${path}: ${result.pages} page(s), ${result.bytes} bytes in ${Math.round(performance.now() - t0)} ms`);
    return { result: { format: result.format, bytes: result.bytes, sha256: result.sha256 } };
  },

  async restoreState({ host, guest, args, progress }) {
    const path = arg.string(args, "path", "restoreState");
    const offset = arg.int(args, "offset", "restoreState");
    const length = arg.int(args, "bytes", "restoreState");
    const sha256 = arg.string(args, "sha256", "restoreState");
    const bad = (detail: string) => new XvmError("SAVE_FILE_BAD", { path, detail });
    if (!guest.isPaused || guest.life !== "running" || isBooted(guest.mem)) {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: host.spec.name, state: "already started", action: "restore a saved state into" });
    }
    const t0 = performance.now();
    const fd = openSync(path, "r");
    const hash = hasher();
    let at = offset;
    const read = (n: number): Buffer => {
      if (at + n > offset + length) throw bad("corrupt: the sim state runs past its end");
      const out = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, out, got, n - got, at + got);
        if (r === 0) throw bad(`truncated: the sim state ends at byte ${at + got}`);
        got += r;
      }
      at += n;
      hash.update(out);
      return out;
    };
    try {
      const jsonBytes = read(4).readUInt32BE(0);
      if (jsonBytes > MAX_STATE_JSON) throw bad(`corrupt: sim state of ${jsonBytes} bytes`);
      let state: SimSaveState;
      try {
        state = JSON.parse(read(jsonBytes).toString("utf8")) as SimSaveState;
      } catch {
        throw bad("corrupt: the sim state is not valid JSON");
      }
      if (state.format !== SIM_SAVE_FORMAT) throw bad(`sim state format '${state.format}'; this runner reads ${SIM_SAVE_FORMAT}`);
      if (state.kernel !== host.spec.kernel) throw bad(`the saved guest runs ${state.kernel}, the domain's config says ${host.spec.kernel}`);
      const mem = guest.mem;
      if (!Number.isInteger(state.nrPages) || state.nrPages > mem.nrPages) {
        throw bad(`the saved guest had ${state.nrPages} pages of memory, the new one has ${mem.nrPages} (its maxmem is smaller)`);
      }
      const bitmap = read(bitmapBytes(state.nrPages));
      const total = state.pages * PAGE_SIZE;
      let done = 0;
      let last = 0;
      let pfn = 0;
      const next = (): number => {
        while (pfn < state.nrPages && !bitSet(bitmap, pfn)) pfn++;
        return pfn < state.nrPages ? pfn++ : -1;
      };
      for (let left = state.pages; left > 0; ) {
        const n = Math.min(left, CHUNK_PAGES);
        const chunk = read(n * PAGE_SIZE);
        for (let i = 0; i < n; i++) {
          const p = next();
          if (p < 0) throw bad("corrupt: more pages than the bitmap names");
          mem.page(p).set(chunk.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
          mem.markWritten(p);
        }
        left -= n;
        done += n * PAGE_SIZE;
        const now = performance.now();
        if (done === total || now - last >= PROGRESS_EVERY_MS) {
          last = now;
          progress({ done, total });
        }
      }
      if (next() >= 0) throw bad("corrupt: the bitmap names more pages than were stored");
      if (at !== offset + length) throw bad(`corrupt: ${offset + length - at} byte(s) after the sim state`);
      if (hash.digest("hex") !== sha256) throw bad("corrupt: the saved state does not match its checksum");
      if (state.targetKiB < guest.targetKiB) guest.setMemoryTarget(state.targetKiB);
      if (state.vcpus !== guest.onlineVcpus && state.vcpus >= 1 && state.vcpus <= host.spec.maxVcpus) {
        guest.setVcpus(state.vcpus);
        await guest.vcpusReady();
      }
      guest.setVcpuState(state.vcpuState);
      host.saveSpec();
      host.log(`restored from ${path}: ${state.pages} page(s) in ${Math.round(performance.now() - t0)} ms`);
      return { result: { pages: state.pages } };
    } finally {
      closeSync(fd);
    }
  },
};
