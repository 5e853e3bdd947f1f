/**
 * Guest memory of a simulated domain: one SharedArrayBuffer of 4 KiB pages shared by the runner's
 * main thread and every vCPU worker, plus two bitmaps on their own SharedArrayBuffers:
 *
 * - `dirty`: bit n set by every guest write to page n; read-and-cleared atomically per 32-page word
 *   (log-dirty mode, for migration rounds). A writer writes the page first and sets the bit after,
 *   so a collector that clears a bit and then copies the page either sees the write or sees the bit
 *   set again on its next round.
 * - `populated`: bit n set once page n has ever been written (cleared when a balloon zeroes it). It
 *   lets the balloon zero only pages that hold data: zeroing an untouched page would make the host
 *   commit memory the guest never used.
 *
 * Bit n of a bitmap is bit (n % 8) of byte (n / 8), so the little-endian bytes of the Int32 words
 * are the bitmap as it goes over the wire.
 */
import { PAGE_SIZE } from "../driver.ts";

export { PAGE_SIZE };
export const PAGE_SHIFT = 12;

export interface GuestMemoryBuffers {
  memory: SharedArrayBuffer;
  dirty: SharedArrayBuffer;
  populated: SharedArrayBuffer;
}

export function bitmapBytes(nrPages: number): number {
  return Math.ceil(nrPages / 32) * 4;
}

export function allocateGuestMemory(nrPages: number): GuestMemoryBuffers {
  if (!Number.isInteger(nrPages) || nrPages < 1) throw new RangeError(`guest memory needs at least one page (got ${nrPages})`);
  return {
    memory: new SharedArrayBuffer(nrPages * PAGE_SIZE),
    dirty: new SharedArrayBuffer(bitmapBytes(nrPages)),
    populated: new SharedArrayBuffer(bitmapBytes(nrPages)),
  };
}

export class GuestMemory {
  readonly nrPages: number;
  readonly bytes: Uint8Array;
  readonly dirtyWords: Int32Array;
  readonly populatedWords: Int32Array;

  constructor(readonly buffers: GuestMemoryBuffers) {
    this.nrPages = buffers.memory.byteLength / PAGE_SIZE;
    this.bytes = new Uint8Array(buffers.memory);
    this.dirtyWords = new Int32Array(buffers.dirty);
    this.populatedWords = new Int32Array(buffers.populated);
  }

  static allocate(nrPages: number): GuestMemory {
    return new GuestMemory(allocateGuestMemory(nrPages));
  }

  /** Records a write to `pfn`; call after the bytes are written. */
  markWritten(pfn: number): void {
    const word = pfn >>> 5;
    const bit = 1 << (pfn & 31);
    Atomics.or(this.dirtyWords, word, bit);
    Atomics.or(this.populatedWords, word, bit);
  }

  page(pfn: number): Uint8Array {
    this.checkPfn(pfn);
    return this.bytes.subarray(pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
  }

  /** Copies the given pages, in order, into one buffer. */
  readPages(pfns: readonly number[]): Uint8Array {
    const out = new Uint8Array(pfns.length * PAGE_SIZE);
    pfns.forEach((pfn, i) => out.set(this.page(pfn), i * PAGE_SIZE));
    return out;
  }

  /** Writes whole pages (migration receive, tests); marks them dirty and populated. */
  writePages(pfns: readonly number[], data: Uint8Array): void {
    if (data.byteLength !== pfns.length * PAGE_SIZE) {
      throw new RangeError(`writePages: ${pfns.length} pages need ${pfns.length * PAGE_SIZE} bytes, got ${data.byteLength}`);
    }
    pfns.forEach((pfn, i) => {
      this.page(pfn).set(data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
      this.markWritten(pfn);
    });
  }

  isDirty(pfn: number): boolean {
    return (Atomics.load(this.dirtyWords, pfn >>> 5) & (1 << (pfn & 31))) !== 0;
  }

  isPopulated(pfn: number): boolean {
    return (Atomics.load(this.populatedWords, pfn >>> 5) & (1 << (pfn & 31))) !== 0;
  }

  /** Pages written since the last call, as a bitmap; each 32-page word is cleared atomically. */
  takeDirty(): Uint8Array {
    const out = new Int32Array(this.dirtyWords.length);
    for (let w = 0; w < out.length; w++) {
      if (Atomics.load(this.dirtyWords, w) !== 0) out[w] = Atomics.exchange(this.dirtyWords, w, 0);
    }
    return new Uint8Array(out.buffer);
  }

  /** Forgets every dirty bit (start of log-dirty mode). */
  clearDirty(): void {
    for (let w = 0; w < this.dirtyWords.length; w++) Atomics.store(this.dirtyWords, w, 0);
  }

  countDirty(): number {
    return countBits(this.dirtyWords);
  }

  countPopulated(): number {
    return countBits(this.populatedWords);
  }

  /**
   * Gives back pages [fromPfn, toPfn): those holding data are zeroed (and marked dirty: their
   * content changed) and no longer count as populated. Returns how many pages were zeroed. The
   * caller makes sure no vCPU writes there (vCPUs are paused, or the balloon target already
   * excludes the range).
   */
  release(fromPfn: number, toPfn: number): number {
    let zeroed = 0;
    const end = Math.min(toPfn, this.nrPages);
    for (let pfn = Math.max(0, fromPfn); pfn < end; pfn++) {
      if (!this.isPopulated(pfn)) continue;
      this.bytes.fill(0, pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
      Atomics.or(this.dirtyWords, pfn >>> 5, 1 << (pfn & 31));
      Atomics.and(this.populatedWords, pfn >>> 5, ~(1 << (pfn & 31)));
      zeroed++;
    }
    return zeroed;
  }

  private checkPfn(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.nrPages) {
      throw new RangeError(`page frame ${pfn} is outside guest memory (0..${this.nrPages - 1})`);
    }
  }
}

function countBits(words: Int32Array): number {
  let n = 0;
  for (let w = 0; w < words.length; w++) {
    let v = Atomics.load(words, w);
    while (v !== 0) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

/** Page frame numbers whose bit is set in `bitmap` (as returned by {@link GuestMemory.takeDirty}). */
export function bitmapToPfns(bitmap: Uint8Array, limit = bitmap.length * 8): number[] {
  const out: number[] = [];
  for (let byte = 0; byte < bitmap.length; byte++) {
    const v = bitmap[byte]!;
    if (v === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      const pfn = byte * 8 + bit;
      if (v & (1 << bit) && pfn < limit) out.push(pfn);
    }
  }
  return out;
}
