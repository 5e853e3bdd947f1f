/**
 * Domain-0's allocation survives a restart of xend, as a real Domain-0's memory does: it is kept
 * in xend's state folder (var/lib/xend/state/dom0-memory.json), written atomically.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "xvm/plugin";

export interface SavedMemory {
  totalKiB: number;
  dom0KiB: number;
}

export function loadSavedMemory(path: string): SavedMemory | undefined {
  try {
    const data = JSON.parse(readFileSync(path, "utf8")) as Partial<SavedMemory>;
    if (Number.isSafeInteger(data.totalKiB) && Number.isSafeInteger(data.dom0KiB) && data.dom0KiB! >= 0) {
      return { totalKiB: data.totalKiB!, dom0KiB: data.dom0KiB! };
    }
  } catch {
    // absent or damaged: start afresh
  }
  return undefined;
}

export function saveMemory(path: string, saved: SavedMemory): void {
  writeFileAtomic(path, `${JSON.stringify(saved)}\n`, { mode: 0o644 });
}
