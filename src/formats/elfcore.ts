/**
 * Writer of domain core files in Xen's dump-core layout (`tools/libxc/xc_core.c`,
 * `docs/misc/dump-core-format.txt`), so that `readelf -h -S -n` and Xen-aware readers accept them.
 *
 * File layout (offsets grow downwards; all little-endian):
 *
 *   Elf64_Ehdr                 ELFCLASS64, ET_CORE, e_shoff = 64
 *   Elf64_Shdr[7]              right after the ELF header, as xc_core.c puts them
 *   Elf64_Phdr[2]              PT_NOTE for .note.Xen and for .note.xvm (see below), no PT_LOAD
 *   .note.Xen                  notes of owner "Xen": NONE, HEADER, XEN_VERSION, FORMAT_VERSION
 *   .xen_prstatus              one XVM_VCPU_RECORD_SIZE record per vCPU (layout below)
 *   .xen_pfn                   uint64 guest frame number of each page in .xen_pages (HVM style)
 *   .note.xvm                  one note of owner "xvm": domain id, name, uuid, dump time
 *   (zero padding)
 *   .xen_pages                 page-aligned, nr_pages * page_size bytes; all-zero pages are holes
 *   .shstrtab                  section names, last (xc_core.c writes the string table last too)
 *
 * Section header indexes: 0 null, 1 .shstrtab (e_shstrndx), 2 .note.Xen, 3 .xen_prstatus,
 * 4 .xen_pfn, 5 .xen_pages, 6 .note.xvm. `.note.xvm` is an extra section rather than an extra note
 * inside `.note.Xen`, so that readers that walk `.note.Xen` and reject unknown types stay happy.
 *
 * Departure from xc_core.c: Xen writes no program headers at all. `readelf -n` shows the notes of an
 * ET_CORE file only from PT_NOTE segments, so with no program headers it prints "No notes found";
 * two PT_NOTE program headers (placed after the section headers, covering exactly the two note
 * sections) make the notes visible. There is still no PT_LOAD: this is not a process core for gdb,
 * and Xen-aware readers, which find everything by section name, are unaffected.
 *
 * Xen stores `vcpu_guest_context_t` in `.xen_prstatus`; a simulated guest has no x86 context, so
 * each vCPU is a fixed-size record of named 64-bit registers instead (xvm vCPU record, version 1):
 *
 *   offset  size  field
 *        0     4  magic "XVCP"
 *        4     4  uint32 vCPU number
 *        8     4  uint32 number of register slots used (at most XVM_VCPU_MAX_REGS)
 *       12     4  uint32 record version (1)
 *       16  42*24 register slots: char name[16] (NUL-padded, at most 15 bytes), uint64 value
 *
 * for XVM_VCPU_RECORD_SIZE = 1024 bytes. Registers beyond 42 or names beyond 15 bytes are cut (a dump
 * must not fail over register bookkeeping); `.note.xvm` names the record layout (`prstatus=`).
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { XvmError, errorMessage } from "../errors.ts";
import type { VcpuState } from "./vcpu-state.ts";

export interface CoreImage {
  domid: number;
  name: string;
  uuid: string;
  pageSize: number;
  nrPages: number;
  /** The whole guest memory, nrPages * pageSize bytes (may be a view of a SharedArrayBuffer). */
  memory: Uint8Array;
  vcpus: VcpuState[];
  xenVersion: { major: number; minor: number; extra: string };
}

export const ELF_NOTE_XEN = "Xen";
export const ELF_NOTE_XVM = "xvm";
export const XEN_ELFNOTE_DUMPCORE_NONE = 0x2000000;
export const XEN_ELFNOTE_DUMPCORE_HEADER = 0x2000001;
export const XEN_ELFNOTE_DUMPCORE_XEN_VERSION = 0x2000002;
export const XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION = 0x2000003;
/**
 * Owner "xvm": `key=value` lines describing the domain (not a Xen note type). Chosen outside the
 * generic core note numbers (NT_PRSTATUS 1, NT_PPC_VMX 0x100, …) so readelf shows it as unknown
 * rather than misnaming it.
 */
export const XVM_ELFNOTE_DOMAIN = 0x78766d01;

export const XEN_DUMPCORE_MAGIC_PV = 0xf00febed;
export const XEN_DUMPCORE_MAGIC_HVM = 0xf00febee;
/** Format version 0.1: `(major << 32) | minor`. */
export const XEN_DUMPCORE_FORMAT_VERSION = (0n << 32n) | 1n;

export const SEC_SHSTRTAB = ".shstrtab";
export const SEC_NOTE_XEN = ".note.Xen";
export const SEC_PRSTATUS = ".xen_prstatus";
export const SEC_PFN = ".xen_pfn";
export const SEC_PAGES = ".xen_pages";
export const SEC_NOTE_XVM = ".note.xvm";

export const XVM_VCPU_MAGIC = "XVCP";
export const XVM_VCPU_RECORD_VERSION = 1;
export const XVM_VCPU_RECORD_SIZE = 1024;
export const XVM_VCPU_HEADER_SIZE = 16;
export const XVM_VCPU_REG_NAME_SIZE = 16;
export const XVM_VCPU_SLOT_SIZE = XVM_VCPU_REG_NAME_SIZE + 8;
export const XVM_VCPU_MAX_REGS = (XVM_VCPU_RECORD_SIZE - XVM_VCPU_HEADER_SIZE) / XVM_VCPU_SLOT_SIZE;
export const XVM_PRSTATUS_LAYOUT = `xvm-vcpu-v${XVM_VCPU_RECORD_VERSION}`;

/** sizeof(struct xen_dumpcore_elfnote_xen_version_desc): see xen/include/public/version.h. */
export const XEN_VERSION_DESC_SIZE = 8 + 8 + 16 + (64 + 16 + 32 + 32) + 1024 + 64 + 8 + 8;

const ELF_HEADER_SIZE = 64;
const SHDR_SIZE = 64;
const PHDR_SIZE = 56;
const PHNUM = 2;
const PT_NOTE = 4;
const PF_R = 4;
const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const ET_CORE = 4;
/** Bytes handed to one writeSync: large enough to keep the disk streaming, small enough for progress. */
const WRITE_CHUNK = 8 * 1024 * 1024;

function elfMachine(): number {
  // The machine of the host whose hypervisor made the dump, as xc_core.c uses ELF_ARCH_MACHINE.
  switch (process.arch) {
    case "x64": return 62; // EM_X86_64
    case "arm64": return 183; // EM_AARCH64
    case "ia32": return 3; // EM_386
    default: return 0;
  }
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

interface Note { owner: string; type: number; desc: Uint8Array }

function noteSize(note: Note): number {
  return 12 + align(Buffer.byteLength(note.owner) + 1, 4) + align(note.desc.byteLength, 4);
}

function writeNotes(buf: Buffer, at: number, notes: Note[]): number {
  let p = at;
  for (const note of notes) {
    const nameLen = Buffer.byteLength(note.owner) + 1;
    buf.writeUInt32LE(nameLen, p);
    buf.writeUInt32LE(note.desc.byteLength, p + 4);
    buf.writeUInt32LE(note.type, p + 8);
    p += 12;
    buf.write(note.owner, p, "latin1");
    p += align(nameLen, 4);
    buf.set(note.desc, p);
    p += align(note.desc.byteLength, 4);
  }
  return p;
}

function cString(buf: Buffer, at: number, size: number, text: string): void {
  const bytes = Buffer.from(text, "utf8").subarray(0, size - 1);
  buf.set(bytes, at);
}

function xenVersionDesc(image: CoreImage): Uint8Array {
  const d = Buffer.alloc(XEN_VERSION_DESC_SIZE);
  let p = 0;
  d.writeBigUInt64LE(BigInt(image.xenVersion.major), p); p += 8;
  d.writeBigUInt64LE(BigInt(image.xenVersion.minor), p); p += 8;
  cString(d, p, 16, image.xenVersion.extra); p += 16;
  // compile info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]
  cString(d, p, 64, "xvm simulated hypervisor"); p += 64;
  cString(d, p, 16, "xvm"); p += 16;
  cString(d, p, 32, ""); p += 32;
  cString(d, p, 32, ""); p += 32;
  cString(d, p, 1024, "xvm-sim"); p += 1024; // capabilities
  cString(d, p, 64, "unavailable"); p += 64; // changeset, as Xen reports when built without one
  d.writeBigUInt64LE(0n, p); p += 8; // platform parameters: virt_start
  d.writeBigUInt64LE(BigInt(image.pageSize), p); p += 8;
  return d;
}

function u64Desc(...values: bigint[]): Uint8Array {
  const d = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => d.writeBigUInt64LE(v, 8 * i));
  return d;
}

function regValue(text: string): bigint {
  try {
    return BigInt.asUintN(64, BigInt(text.trim()));
  } catch {
    return 0n;
  }
}

/** Encodes the vCPU records of `.xen_prstatus` (layout in the file comment). */
export function encodeVcpuRecords(vcpus: readonly VcpuState[]): Buffer {
  const out = Buffer.alloc(XVM_VCPU_RECORD_SIZE * vcpus.length);
  vcpus.forEach((vcpu, i) => {
    const base = i * XVM_VCPU_RECORD_SIZE;
    const regs = Object.entries(vcpu.regs).slice(0, XVM_VCPU_MAX_REGS);
    out.write(XVM_VCPU_MAGIC, base, "latin1");
    out.writeUInt32LE(vcpu.number >>> 0, base + 4);
    out.writeUInt32LE(regs.length, base + 8);
    out.writeUInt32LE(XVM_VCPU_RECORD_VERSION, base + 12);
    regs.forEach(([name, value], r) => {
      const slot = base + XVM_VCPU_HEADER_SIZE + r * XVM_VCPU_SLOT_SIZE;
      cString(out, slot, XVM_VCPU_REG_NAME_SIZE, name);
      out.writeBigUInt64LE(regValue(value), slot + XVM_VCPU_REG_NAME_SIZE);
    });
  });
  return out;
}

/** The `.note.xvm` domain description: `key=value` lines, NUL-terminated. */
export function encodeDomainNote(image: CoreImage, now: Date): Uint8Array {
  const clean = (s: string) => s.replace(/[\n\0]/g, " ");
  const text = [
    `domid=${image.domid}`,
    `name=${clean(image.name)}`,
    `uuid=${clean(image.uuid)}`,
    `time=${now.toISOString()}`,
    `prstatus=${XVM_PRSTATUS_LAYOUT}`,
  ].join("\n") + "\n\0";
  return Buffer.from(text, "utf8");
}

export interface CoreLayout {
  shnum: number;
  notesOffset: number;
  notesSize: number;
  prstatusOffset: number;
  prstatusSize: number;
  pfnOffset: number;
  pfnSize: number;
  xvmNoteOffset: number;
  xvmNoteSize: number;
  pagesOffset: number;
  pagesSize: number;
  strtabOffset: number;
  strtab: Buffer;
  names: Record<string, number>;
  fileSize: number;
}

function sectionNames(): { strtab: Buffer; names: Record<string, number> } {
  const order = [SEC_SHSTRTAB, SEC_NOTE_XEN, SEC_PRSTATUS, SEC_PFN, SEC_PAGES, SEC_NOTE_XVM];
  const names: Record<string, number> = {};
  let text = "\0";
  for (const n of order) {
    names[n] = text.length;
    text += `${n}\0`;
  }
  return { strtab: Buffer.from(text, "latin1"), names };
}

function layout(image: CoreImage, xenNotes: Note[], xvmNote: Note): CoreLayout {
  const shnum = 7;
  const { strtab, names } = sectionNames();
  const notesOffset = ELF_HEADER_SIZE + shnum * SHDR_SIZE + PHNUM * PHDR_SIZE;
  const notesSize = xenNotes.reduce((s, n) => s + noteSize(n), 0);
  const prstatusOffset = align(notesOffset + notesSize, 8);
  const prstatusSize = image.vcpus.length * XVM_VCPU_RECORD_SIZE;
  const pfnOffset = align(prstatusOffset + prstatusSize, 8);
  const pfnSize = image.nrPages * 8;
  const xvmNoteOffset = align(pfnOffset + pfnSize, 8);
  const xvmNoteSize = noteSize(xvmNote);
  const pagesOffset = align(xvmNoteOffset + xvmNoteSize, image.pageSize);
  const pagesSize = image.nrPages * image.pageSize;
  const strtabOffset = pagesOffset + pagesSize;
  return {
    shnum, notesOffset, notesSize, prstatusOffset, prstatusSize, pfnOffset, pfnSize, xvmNoteOffset, xvmNoteSize,
    pagesOffset, pagesSize, strtabOffset, strtab, names, fileSize: strtabOffset + strtab.byteLength,
  };
}

function writeShdr(buf: Buffer, index: number, f: { name: number; type: number; offset: number; size: number; align: number; entsize: number }): void {
  const p = ELF_HEADER_SIZE + index * SHDR_SIZE;
  buf.writeUInt32LE(f.name, p);
  buf.writeUInt32LE(f.type, p + 4);
  buf.writeBigUInt64LE(0n, p + 8); // sh_flags
  buf.writeBigUInt64LE(0n, p + 16); // sh_addr
  buf.writeBigUInt64LE(BigInt(f.offset), p + 24);
  buf.writeBigUInt64LE(BigInt(f.size), p + 32);
  buf.writeUInt32LE(0, p + 40); // sh_link
  buf.writeUInt32LE(0, p + 44); // sh_info
  buf.writeBigUInt64LE(BigInt(f.align), p + 48);
  buf.writeBigUInt64LE(BigInt(f.entsize), p + 56);
}

function writeNoteSegment(buf: Buffer, index: number, l: CoreLayout, offset: number, size: number): void {
  const p = ELF_HEADER_SIZE + l.shnum * SHDR_SIZE + index * PHDR_SIZE;
  buf.writeUInt32LE(PT_NOTE, p);
  buf.writeUInt32LE(PF_R, p + 4);
  buf.writeBigUInt64LE(BigInt(offset), p + 8);
  buf.writeBigUInt64LE(0n, p + 16); // p_vaddr
  buf.writeBigUInt64LE(0n, p + 24); // p_paddr
  buf.writeBigUInt64LE(BigInt(size), p + 32); // p_filesz
  buf.writeBigUInt64LE(0n, p + 40); // p_memsz
  buf.writeBigUInt64LE(4n, p + 48); // p_align
}

/** Everything before `.xen_pages`: ELF header, section headers, notes, vCPU records, pfn table. */
function buildHead(image: CoreImage, l: CoreLayout, xenNotes: Note[], xvmNote: Note): Buffer {
  const head = Buffer.alloc(l.pagesOffset);
  head.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* ELFOSABI_SYSV */], 0);
  head.writeUInt16LE(ET_CORE, 16);
  head.writeUInt16LE(elfMachine(), 18);
  head.writeUInt32LE(1, 20); // e_version
  head.writeBigUInt64LE(0n, 24); // e_entry
  head.writeBigUInt64LE(BigInt(ELF_HEADER_SIZE + l.shnum * SHDR_SIZE), 32); // e_phoff: after the section headers
  head.writeBigUInt64LE(BigInt(ELF_HEADER_SIZE), 40); // e_shoff
  head.writeUInt32LE(0, 48); // e_flags
  head.writeUInt16LE(ELF_HEADER_SIZE, 52);
  head.writeUInt16LE(PHDR_SIZE, 54);
  head.writeUInt16LE(PHNUM, 56);
  head.writeUInt16LE(SHDR_SIZE, 58);
  head.writeUInt16LE(l.shnum, 60);
  head.writeUInt16LE(1, 62); // e_shstrndx

  writeShdr(head, 1, { name: l.names[SEC_SHSTRTAB]!, type: SHT_STRTAB, offset: l.strtabOffset, size: l.strtab.byteLength, align: 0, entsize: 0 });
  writeShdr(head, 2, { name: l.names[SEC_NOTE_XEN]!, type: SHT_NOTE, offset: l.notesOffset, size: l.notesSize, align: 4, entsize: 0 });
  writeShdr(head, 3, { name: l.names[SEC_PRSTATUS]!, type: SHT_PROGBITS, offset: l.prstatusOffset, size: l.prstatusSize, align: 8, entsize: XVM_VCPU_RECORD_SIZE });
  writeShdr(head, 4, { name: l.names[SEC_PFN]!, type: SHT_PROGBITS, offset: l.pfnOffset, size: l.pfnSize, align: 8, entsize: 8 });
  writeShdr(head, 5, { name: l.names[SEC_PAGES]!, type: SHT_PROGBITS, offset: l.pagesOffset, size: l.pagesSize, align: image.pageSize, entsize: image.pageSize });
  writeShdr(head, 6, { name: l.names[SEC_NOTE_XVM]!, type: SHT_NOTE, offset: l.xvmNoteOffset, size: l.xvmNoteSize, align: 4, entsize: 0 });

  writeNoteSegment(head, 0, l, l.notesOffset, l.notesSize);
  writeNoteSegment(head, 1, l, l.xvmNoteOffset, l.xvmNoteSize);

  writeNotes(head, l.notesOffset, xenNotes);
  head.set(encodeVcpuRecords(image.vcpus), l.prstatusOffset);
  // Every page of guest memory is in the dump, in order: pfn i is page i of .xen_pages.
  const view = new DataView(head.buffer, head.byteOffset + l.pfnOffset, l.pfnSize);
  for (let i = 0; i < image.nrPages; i++) {
    view.setUint32(8 * i, i % 0x1_0000_0000, true);
    view.setUint32(8 * i + 4, Math.floor(i / 0x1_0000_0000), true);
  }
  writeNotes(head, l.xvmNoteOffset, [xvmNote]);
  return head;
}

function checkImage(image: CoreImage): void {
  const bad = (detail: string) => new XvmError("DUMP_FAILED", { detail });
  if (!Number.isInteger(image.pageSize) || image.pageSize < 512 || (image.pageSize & (image.pageSize - 1)) !== 0) {
    throw bad(`page size ${image.pageSize} is not a power of two of at least 512`);
  }
  if (!Number.isInteger(image.nrPages) || image.nrPages < 0) throw bad(`bad page count ${image.nrPages}`);
  if (image.memory.byteLength < image.nrPages * image.pageSize) {
    throw bad(`guest memory holds ${image.memory.byteLength} bytes, fewer than ${image.nrPages} pages of ${image.pageSize}`);
  }
}

/** The header note values and section offsets a dump of `image` gets (for tests and readers). */
export function coreLayout(image: CoreImage): CoreLayout {
  return layout(image, xenNotes(image), { owner: ELF_NOTE_XVM, type: XVM_ELFNOTE_DOMAIN, desc: encodeDomainNote(image, new Date(0)) });
}

function xenNotes(image: CoreImage): Note[] {
  return [
    { owner: ELF_NOTE_XEN, type: XEN_ELFNOTE_DUMPCORE_NONE, desc: new Uint8Array(0) },
    {
      owner: ELF_NOTE_XEN,
      type: XEN_ELFNOTE_DUMPCORE_HEADER,
      desc: u64Desc(BigInt(XEN_DUMPCORE_MAGIC_HVM), BigInt(image.vcpus.length), BigInt(image.nrPages), BigInt(image.pageSize)),
    },
    { owner: ELF_NOTE_XEN, type: XEN_ELFNOTE_DUMPCORE_XEN_VERSION, desc: xenVersionDesc(image) },
    { owner: ELF_NOTE_XEN, type: XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION, desc: u64Desc(XEN_DUMPCORE_FORMAT_VERSION) },
  ];
}

/** A page-aligned run of `.xen_pages` is all zero (then it is left as a hole). */
function makeZeroTest(memory: Uint8Array, pageSize: number): (page: number) => boolean {
  if (memory.byteOffset % 4 === 0) {
    const words = new Int32Array(memory.buffer, memory.byteOffset, memory.byteLength >>> 2);
    const per = pageSize >>> 2;
    return (page) => {
      const end = (page + 1) * per;
      for (let i = page * per; i < end; i++) if (words[i] !== 0) return false;
      return true;
    };
  }
  return (page) => {
    const end = (page + 1) * pageSize;
    for (let i = page * pageSize; i < end; i++) if (memory[i] !== 0) return false;
    return true;
  };
}

function writeAll(fd: number, data: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = writeSync(fd, data, offset + done, length - done, position + done);
    if (n <= 0) throw new Error(`short write at byte ${position + done}`);
    done += n;
  }
}

/**
 * Writes `image` as a Xen dump-core ELF file at `path` (created or truncated), fsyncs it and closes
 * it. Synchronous on purpose: it runs next to guest memory and must not let the guest's view move
 * under it between awaits. `onProgress(doneBytes, totalBytes)` counts `.xen_pages` bytes.
 * Throws XvmError DUMP_FAILED with the reason; the caller renames the file on success or failure.
 */
export function writeXenCoreSync(path: string, image: CoreImage, onProgress?: (done: number, total: number) => void): void {
  checkImage(image);
  const notes = xenNotes(image);
  const xvmNote: Note = { owner: ELF_NOTE_XVM, type: XVM_ELFNOTE_DOMAIN, desc: encodeDomainNote(image, new Date()) };
  const l = layout(image, notes, xvmNote);
  let fd: number;
  try {
    fd = openSync(path, "w", 0o600);
  } catch (error) {
    throw new XvmError("DUMP_FAILED", { detail: `cannot create ${path}: ${errorMessage(error)}` }, { cause: error });
  }
  try {
    const head = buildHead(image, l, notes, xvmNote);
    writeAll(fd, head, 0, head.byteLength, 0);

    const { memory, pageSize, nrPages } = image;
    const total = l.pagesSize;
    const isZero = makeZeroTest(memory, pageSize);
    const pagesPerChunk = Math.max(1, Math.floor(WRITE_CHUNK / pageSize));
    let reported = 0;
    const report = (done: number) => {
      if (onProgress && (done - reported >= WRITE_CHUNK || done === total)) {
        reported = done;
        onProgress(done, total);
      }
    };
    let page = 0;
    while (page < nrPages) {
      // A run of non-zero pages is written straight from guest memory, at most one chunk at a time;
      // a run of zero pages is skipped and stays a hole.
      const zero = isZero(page);
      let end = page + 1;
      const limit = Math.min(nrPages, page + pagesPerChunk);
      while (end < limit && isZero(end) === zero) end++;
      if (!zero) writeAll(fd, memory, page * pageSize, (end - page) * pageSize, l.pagesOffset + page * pageSize);
      page = end;
      report(page * pageSize);
    }
    if (nrPages === 0) onProgress?.(0, 0);
    writeAll(fd, l.strtab, 0, l.strtab.byteLength, l.strtabOffset);
    ftruncateSync(fd, l.fileSize);
    fsyncSync(fd);
  } catch (error) {
    if (error instanceof XvmError) throw error;
    throw new XvmError("DUMP_FAILED", { detail: `${path}: ${errorMessage(error)}` }, { cause: error });
  } finally {
    try {
      closeSync(fd);
    } catch {
      // the write error above (if any) is the one worth reporting
    }
  }
}
