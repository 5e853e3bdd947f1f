/**
 * Reader of Xen dump-core ELF files (the layout written by elfcore.ts; see its file comment). It
 * checks everything it relies on and reports what is wrong in words a user can act on ("truncated:
 * section .xen_pages ends at byte N but the file has M bytes"), as XvmError DUMP_BAD_FILE.
 * Pages are read on demand, so opening a large dump costs only its headers and pfn table.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { XvmError, errorMessage } from "../errors.ts";
import {
  ELF_NOTE_XEN,
  ELF_NOTE_XVM,
  SEC_NOTE_XEN,
  SEC_NOTE_XVM,
  SEC_PAGES,
  SEC_PFN,
  SEC_PRSTATUS,
  XEN_DUMPCORE_MAGIC_HVM,
  XEN_DUMPCORE_MAGIC_PV,
  XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION,
  XEN_ELFNOTE_DUMPCORE_HEADER,
  XEN_ELFNOTE_DUMPCORE_XEN_VERSION,
  XVM_ELFNOTE_DOMAIN,
  XVM_VCPU_HEADER_SIZE,
  XVM_VCPU_MAGIC,
  XVM_VCPU_MAX_REGS,
  XVM_VCPU_REG_NAME_SIZE,
  XVM_VCPU_SLOT_SIZE,
} from "./elfcore.ts";

export interface CoreSection {
  index: number;
  name: string;
  type: number;
  offset: number;
  size: number;
  entsize: number;
}

export interface CoreNote {
  owner: string;
  type: number;
  desc: Buffer;
}

export interface CoreVcpu {
  number: number;
  /** Register name -> value, in record order. */
  regs: Array<[string, bigint]>;
}

export interface CoreHeader {
  /** `xen`: Xen's dump-core layout (sections); `qemu`: QEMU's dump-guest-memory ELF (program headers). */
  format: "xen" | "qemu";
  magic: number;
  hvm: boolean;
  nrVcpus: number;
  nrPages: number;
  pageSize: number;
  /** [major, minor] of the dump-core format (FORMAT_VERSION note). */
  formatVersion: [number, number];
  xenVersion?: { major: number; minor: number; extra: string };
}

export interface CoreDomain {
  domid?: number;
  name?: string;
  uuid?: string;
  time?: string;
  prstatus?: string;
}

const SHDR_SIZE = 64;

function bad(path: string, detail: string): XvmError {
  return new XvmError("DUMP_BAD_FILE", { path, detail });
}

function toNumber(v: bigint, what: string, path: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(path, `${what} ${v} is out of range`);
  return Number(v);
}

function cStr(buf: Buffer, at: number, size: number): string {
  const slice = buf.subarray(at, at + size);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString("utf8");
}

export class XenCoreFile {
  readonly path: string;
  readonly fileSize: number;
  readonly sections: CoreSection[];
  readonly notes: CoreNote[];
  readonly header: CoreHeader;
  readonly domain: CoreDomain;
  readonly vcpus: CoreVcpu[];
  /** Guest frame number of each page of .xen_pages, in file order. */
  readonly pfns: number[];
  private readonly fd: number;
  private readonly pagesOffset: number;
  /** File offset of each page (QEMU's layout, where pages are in PT_LOAD segments); else computed. */
  private readonly pageOffsets?: number[];
  private readonly indexOfPfn = new Map<number, number>();

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
    this.fileSize = fstatSync(fd).size;
    if (this.fileSize === 0) throw bad(path, "empty file; not a domain core dump");
    const ehdr = this.read(0, 64, "ELF header");
    if (ehdr.length < 4 || ehdr[0] !== 0x7f || ehdr.toString("latin1", 1, 4) !== "ELF") throw bad(path, "not an ELF file (no \\x7fELF magic); not a domain core dump");
    if (ehdr.length < 64) throw bad(path, `truncated: ${this.fileSize} bytes, shorter than an ELF64 header`);
    if (ehdr[4] !== 2) throw bad(path, "not a Xen dump-core file: not ELFCLASS64");
    if (ehdr[5] !== 1) throw bad(path, "not supported: big-endian ELF (this reader handles little-endian dumps)");
    const type = ehdr.readUInt16LE(16);
    if (type !== 4) throw bad(path, `not a core file: ELF type ${type}, expected ET_CORE (4)`);
    const shoff = toNumber(ehdr.readBigUInt64LE(40), "e_shoff", path);
    const shentsize = ehdr.readUInt16LE(58);
    const shnum = ehdr.readUInt16LE(60);
    const shstrndx = ehdr.readUInt16LE(62);
    if (shnum === 0) throw bad(path, "not a Xen dump-core file: no section headers");
    if (shentsize !== SHDR_SIZE) throw bad(path, `bad section header size ${shentsize} (expected ${SHDR_SIZE})`);
    const shdrs = this.read(shoff, shnum * SHDR_SIZE, "section headers");
    const raw = Array.from({ length: shnum }, (_, i) => {
      const p = i * SHDR_SIZE;
      return {
        index: i,
        nameOff: shdrs.readUInt32LE(p),
        type: shdrs.readUInt32LE(p + 4),
        offset: toNumber(shdrs.readBigUInt64LE(p + 24), "section offset", path),
        size: toNumber(shdrs.readBigUInt64LE(p + 32), "section size", path),
        entsize: toNumber(shdrs.readBigUInt64LE(p + 56), "section entsize", path),
      };
    });
    // Checked before anything is read from the sections: a dump cut short (disk full, copy
    // interrupted, still being written) is the usual reason they do not fit.
    const end = Math.max(...raw.filter((s) => s.index !== 0 && s.type !== 8 /* SHT_NOBITS */).map((s) => s.offset + s.size));
    if (end > this.fileSize) {
      throw bad(path, `truncated: the dump's sections end at byte ${end} but the file has only ${this.fileSize} bytes`);
    }
    const strSec = raw[shstrndx];
    if (!strSec || strSec.type !== 3) throw bad(path, `e_shstrndx ${shstrndx} is not a string table`);
    const strtab = this.read(strSec.offset, strSec.size, "section .shstrtab");
    this.sections = raw.map((s) => ({ index: s.index, name: cStr(strtab, s.nameOff, strtab.length), type: s.type, offset: s.offset, size: s.size, entsize: s.entsize }));

    if (!this.sections.some((x) => x.name === SEC_NOTE_XEN) && (ehdr.readUInt16LE(56) > 0)) {
      // QEMU's dump-guest-memory ELF: no Xen sections; notes and RAM in program headers.
      const q = this.readQemuLayout(ehdr);
      this.notes = q.notes;
      this.header = q.header;
      this.domain = {};
      this.pfns = q.pfns;
      this.pageOffsets = q.offsets;
      this.pagesOffset = 0;
      this.vcpus = q.vcpus;
      this.pfns.forEach((pfn, i) => this.indexOfPfn.set(pfn, i));
      return;
    }
    const noteSec = this.section(SEC_NOTE_XEN);
    this.notes = this.parseNotes(noteSec);
    const xvmSec = this.sections.find((s) => s.name === SEC_NOTE_XVM);
    if (xvmSec) this.notes.push(...this.parseNotes(xvmSec));

    const xen = (t: number) => this.notes.find((n) => n.owner === ELF_NOTE_XEN && n.type === t);
    const hdr = xen(XEN_ELFNOTE_DUMPCORE_HEADER);
    if (!hdr || hdr.desc.length < 32) throw bad(path, "not a Xen dump-core file: no dump-core HEADER note in .note.Xen");
    const magic = Number(hdr.desc.readBigUInt64LE(0) & 0xffffffffn);
    if (magic !== XEN_DUMPCORE_MAGIC_HVM && magic !== XEN_DUMPCORE_MAGIC_PV) {
      throw bad(path, `bad dump-core magic 0x${magic.toString(16)} (expected 0xf00febee or 0xf00febed)`);
    }
    const fv = xen(XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION);
    if (!fv || fv.desc.length < 8) throw bad(path, "not a Xen dump-core file: no FORMAT_VERSION note");
    const version = fv.desc.readBigUInt64LE(0);
    const xv = xen(XEN_ELFNOTE_DUMPCORE_XEN_VERSION);
    this.header = {
      format: "xen",
      magic,
      hvm: magic === XEN_DUMPCORE_MAGIC_HVM,
      nrVcpus: toNumber(hdr.desc.readBigUInt64LE(8), "nr_vcpus", path),
      nrPages: toNumber(hdr.desc.readBigUInt64LE(16), "nr_pages", path),
      pageSize: toNumber(hdr.desc.readBigUInt64LE(24), "page_size", path),
      formatVersion: [Number(version >> 32n), Number(version & 0xffffffffn)],
      xenVersion: xv && xv.desc.length >= 32
        ? { major: Number(xv.desc.readBigUInt64LE(0)), minor: Number(xv.desc.readBigUInt64LE(8)), extra: cStr(xv.desc, 16, 16) }
        : undefined,
    };
    const { nrPages, pageSize, nrVcpus } = this.header;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw bad(path, `bad page size ${pageSize} in the HEADER note`);

    this.domain = {};
    const dom = this.notes.find((n) => n.owner === ELF_NOTE_XVM && n.type === XVM_ELFNOTE_DOMAIN);
    if (dom) {
      for (const line of cStr(dom.desc, 0, dom.desc.length).split("\n")) {
        const eq = line.indexOf("=");
        if (eq < 0) continue;
        const key = line.slice(0, eq);
        const value = line.slice(eq + 1);
        if (key === "domid") this.domain.domid = Number(value);
        else if (key === "name" || key === "uuid" || key === "time" || key === "prstatus") this.domain[key] = value;
      }
    }

    const pages = this.section(SEC_PAGES);
    if (pages.size !== nrPages * pageSize) {
      throw bad(path, `section ${SEC_PAGES} holds ${pages.size} bytes, but the HEADER note says ${nrPages} pages of ${pageSize}`);
    }
    if (pages.offset % pageSize !== 0) throw bad(path, `section ${SEC_PAGES} is not page-aligned (offset ${pages.offset})`);
    this.pagesOffset = pages.offset;

    const pfnSec = this.sections.find((s) => s.name === SEC_PFN);
    if (pfnSec) {
      if (pfnSec.size !== nrPages * 8) throw bad(path, `section ${SEC_PFN} holds ${pfnSec.size} bytes, expected ${nrPages * 8}`);
      const table = this.read(pfnSec.offset, pfnSec.size, `section ${SEC_PFN}`);
      this.pfns = new Array<number>(nrPages);
      for (let i = 0; i < nrPages; i++) this.pfns[i] = toNumber(table.readBigUInt64LE(8 * i), "pfn", path);
    } else {
      const p2m = this.sections.find((s) => s.name === ".xen_p2m");
      if (!p2m) throw bad(path, `no ${SEC_PFN} or .xen_p2m section`);
      if (p2m.size !== nrPages * 16) throw bad(path, `section .xen_p2m holds ${p2m.size} bytes, expected ${nrPages * 16}`);
      const table = this.read(p2m.offset, p2m.size, "section .xen_p2m");
      this.pfns = new Array<number>(nrPages);
      for (let i = 0; i < nrPages; i++) this.pfns[i] = toNumber(table.readBigUInt64LE(16 * i), "pfn", path);
    }
    this.pfns.forEach((pfn, i) => this.indexOfPfn.set(pfn, i));

    const pr = this.section(SEC_PRSTATUS);
    this.vcpus = [];
    const layoutKnown = this.domain.prstatus === undefined || this.domain.prstatus === "xvm-vcpu-v1";
    if (layoutKnown && nrVcpus > 0) {
      const recSize = pr.entsize || (nrVcpus ? pr.size / nrVcpus : 0);
      if (recSize * nrVcpus !== pr.size) throw bad(path, `section ${SEC_PRSTATUS} holds ${pr.size} bytes, not ${nrVcpus} records`);
      const data = this.read(pr.offset, pr.size, `section ${SEC_PRSTATUS}`);
      for (let i = 0; i < nrVcpus; i++) {
        const base = i * recSize;
        if (data.toString("latin1", base, base + 4) !== XVM_VCPU_MAGIC) {
          throw bad(path, `vCPU record ${i} in ${SEC_PRSTATUS} has no ${XVM_VCPU_MAGIC} magic (not an xvm dump?)`);
        }
        const count = Math.min(data.readUInt32LE(base + 8), XVM_VCPU_MAX_REGS);
        const regs: Array<[string, bigint]> = [];
        for (let r = 0; r < count; r++) {
          const slot = base + XVM_VCPU_HEADER_SIZE + r * XVM_VCPU_SLOT_SIZE;
          regs.push([cStr(data, slot, XVM_VCPU_REG_NAME_SIZE), data.readBigUInt64LE(slot + XVM_VCPU_REG_NAME_SIZE)]);
        }
        this.vcpus.push({ number: data.readUInt32LE(base + 4), regs });
      }
    }
  }

  /** Opens and checks a dump; throws XvmError DUMP_BAD_FILE saying what is wrong. */
  static open(path: string): XenCoreFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
      if (fstatSync(fd).isDirectory()) {
        closeSync(fd);
        throw bad(path, "is a directory, not a core file");
      }
    } catch (error) {
      if (error instanceof XvmError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw bad(path, code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : errorMessage(error));
    }
    try {
      return new XenCoreFile(path, fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  section(name: string): CoreSection {
    const s = this.sections.find((x) => x.name === name);
    if (!s) throw bad(this.path, `not a Xen dump-core file: no ${name} section`);
    return s;
  }

  hasPfn(pfn: number): boolean {
    return this.indexOfPfn.has(pfn);
  }

  /** The page with guest frame number `pfn`; throws if the dump does not hold it. */
  readPage(pfn: number): Buffer {
    const index = this.indexOfPfn.get(pfn);
    if (index === undefined) {
      throw bad(this.path, `page frame 0x${pfn.toString(16)} is not in this dump (it holds ${this.header.nrPages} pages)`);
    }
    const size = this.header.pageSize;
    const at = this.pageOffsets ? this.pageOffsets[index]! : this.pagesOffset + index * size;
    return this.read(at, size, `page frame 0x${pfn.toString(16)}`);
  }

  /** `length` bytes at guest-physical address `addr` (may span pages). */
  readPhys(addr: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    const size = this.header.pageSize;
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const pfn = Math.floor(a / size);
      const off = a % size;
      const n = Math.min(size - off, length - done);
      this.readPage(pfn).copy(out, done, off, off + n);
      done += n;
    }
    return out;
  }

  private read(offset: number, length: number, what: string): Buffer {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n <= 0) break;
      done += n;
    }
    if (done < length) {
      if (what === "ELF header") return buf.subarray(0, done);
      throw bad(this.path, `truncated: ${what} ends at byte ${offset + length} but the file has ${this.fileSize} bytes`);
    }
    return buf;
  }

  /**
   * QEMU's layout: PT_NOTE with one "CORE" NT_PRSTATUS note per vCPU (plus "QEMU" notes), and one
   * PT_LOAD per RAM block at its guest-physical address (paging off: p_paddr = p_vaddr).
   */
  private readQemuLayout(ehdr: Buffer): { notes: CoreNote[]; header: CoreHeader; pfns: number[]; offsets: number[]; vcpus: CoreVcpu[] } {
    const path = this.path;
    const phoff = toNumber(ehdr.readBigUInt64LE(32), "e_phoff", path);
    const phentsize = ehdr.readUInt16LE(54);
    const phnum = ehdr.readUInt16LE(56);
    if (phentsize !== 56) throw bad(path, `bad program header size ${phentsize} (expected 56)`);
    const phdrs = this.read(phoff, phnum * 56, "program headers");
    const pageSize = 4096;
    const notes: CoreNote[] = [];
    const pfns: number[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < phnum; i++) {
      const p = i * 56;
      const type = phdrs.readUInt32LE(p);
      const offset = toNumber(phdrs.readBigUInt64LE(p + 8), "p_offset", path);
      const paddr = toNumber(phdrs.readBigUInt64LE(p + 24), "p_paddr", path);
      const filesz = toNumber(phdrs.readBigUInt64LE(p + 32), "p_filesz", path);
      if (offset + filesz > this.fileSize) throw bad(path, `truncated: segment ${i} ends at byte ${offset + filesz} but the file has only ${this.fileSize} bytes`);
      if (type === 4 /* PT_NOTE */) notes.push(...this.parseNotes({ index: i, name: `segment ${i}`, type, offset, size: filesz, entsize: 0 }));
      if (type === 1 /* PT_LOAD */) {
        for (let at = 0; at + pageSize <= filesz; at += pageSize) {
          pfns.push(Math.floor((paddr + at) / pageSize));
          offsets.push(offset + at);
        }
      }
    }
    const prstatus = notes.filter((n) => n.owner === "CORE" && n.type === 1 /* NT_PRSTATUS */);
    if (prstatus.length === 0 && pfns.length === 0) throw bad(path, "not a domain core dump: no .note.Xen section and no NT_PRSTATUS notes or memory segments");
    // struct elf_prstatus (x86-64): pr_pid at 32, pr_reg (27 × u64, user_regs_struct order) at 112.
    const names = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax",
      "rip", "cs", "rflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"];
    const vcpus: CoreVcpu[] = prstatus.map((n, i) => {
      const d = n.desc;
      const regs: Array<[string, bigint]> = [];
      for (let r = 0; r < names.length && 112 + 8 * (r + 1) <= d.length; r++) regs.push([names[r]!, d.readBigUInt64LE(112 + 8 * r)]);
      // QEMU numbers vCPUs from 1 in pr_pid.
      const pid = d.length >= 36 ? d.readUInt32LE(32) : i + 1;
      return { number: pid > 0 ? pid - 1 : i, regs };
    });
    return {
      notes, pfns, offsets, vcpus,
      header: { format: "qemu", magic: 0, hvm: true, nrVcpus: prstatus.length, nrPages: pfns.length, pageSize, formatVersion: [0, 0] },
    };
  }

  private parseNotes(sec: CoreSection): CoreNote[] {
    const data = this.read(sec.offset, sec.size, `section ${sec.name}`);
    const notes: CoreNote[] = [];
    let p = 0;
    const align4 = (n: number) => (n + 3) & ~3;
    while (p + 12 <= data.length) {
      const namesz = data.readUInt32LE(p);
      const descsz = data.readUInt32LE(p + 4);
      const type = data.readUInt32LE(p + 8);
      const nameAt = p + 12;
      const descAt = nameAt + align4(namesz);
      const next = descAt + align4(descsz);
      if (next > data.length) throw bad(this.path, `damaged note at offset ${sec.offset + p} in ${sec.name}`);
      notes.push({ owner: cStr(data, nameAt, namesz), type, desc: Buffer.from(data.subarray(descAt, descAt + descsz)) });
      p = next;
    }
    return notes;
  }
}
