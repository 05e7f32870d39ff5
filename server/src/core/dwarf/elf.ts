/**
 * An ELF view by offset over a ByteSource: header, section headers, section data read
 * on demand (whole, or a slice by offset), SHF_COMPRESSED (zlib, zstd) and `.zdebug_*`
 * sections, notes (every note of every SHT_NOTE section: the GNU build id of a vmlinux
 * sits in `.notes` after the Xen notes), `.gnu_debuglink`, and for ET_REL the
 * `.rela.debug_*` relocations (x86_64 R_X86_64_64/32/32S, aarch64 R_AARCH64_ABS64/32).
 *
 * Relocatable objects: every executable section of a `.ko` starts at 0. The view places
 * each SHF_ALLOC section at its own synthetic base, `sectionBase(index)`, when it
 * applies relocations (S + A with S = base + st_value), so that DWARF addresses of
 * different sections never overlap; a lookup of (section, offset) is a lookup of
 * base + offset. Executables (ET_EXEC/ET_DYN) are read as they are (their relocations
 * are already applied; a vmlinux linked with --emit-relocs still carries them).
 */
import { HOST_LE } from '../common/host';
import { zstdExact } from '../common/zstd';
import { FormatError } from '../common/errors';
import type { ByteSource } from './source';
import type { SectionBytes } from './cursor';

export const ET_REL = 1;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
const SHT_SYMTAB = 2;
const SHT_RELA = 4;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_REL = 9;
const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
const SHF_COMPRESSED = 0x800;
const TWO32 = 4294967296;
/** Synthetic per-section address stride for relocatable objects (sections are < 4 GiB). */
export const SECTION_STRIDE = TWO32;
/** Largest decompressed section accepted (a vmlinux .debug_info is 174 MB). */
const MAX_SECTION = 1 << 30;

let zlib: typeof import('node:zlib') | undefined;
function inflate(b: Uint8Array, max: number): Uint8Array {
  zlib ??= require('node:zlib') as typeof import('node:zlib');
  const out = zlib.inflateSync(b, { maxOutputLength: Math.max(1, max) });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export interface ElfSectionHeader {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  /** sh_addr as a signed Number (kernel addresses are small negatives, exact). */
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
  /** SHF_COMPRESSED, or a `.zdebug` section. */
  readonly compressed: boolean;
}

/** A section header as read, before its name is looked up. */
type RawSectionHeader = Omit<ElfSectionHeader, 'compressed' | 'name'> & { readonly nameOff: number };

export interface ElfNoteEntry {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
  readonly section: string;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

export class ElfView {
  readonly src: ByteSource;
  readonly file: string;
  readonly is64: boolean;
  readonly le: boolean;
  readonly type: number;
  readonly machine: number;
  readonly sections: ElfSectionHeader[] = [];
  private readonly byName = new Map<string, ElfSectionHeader>();
  private readonly dataCache = new Map<number, SectionBytes>();
  private symCache?: { value: Float64Array; shndx: Uint32Array; s?: Float64Array };

  constructor(src: ByteSource) {
    this.src = src;
    this.file = src.name;
    const f = this.file;
    if (src.size < 16) throw new FormatError(f, 0, 'not an ELF file: too short');
    const id = src.read(0, 16);
    if (id[0] !== 0x7f || id[1] !== 0x45 || id[2] !== 0x4c || id[3] !== 0x46) throw new FormatError(f, 0, 'not an ELF file (bad magic)');
    if (id[4] !== 1 && id[4] !== 2) throw new FormatError(f, 4, `bad ELF class ${id[4]}`);
    if (id[5] !== 1 && id[5] !== 2) throw new FormatError(f, 5, `bad ELF data encoding ${id[5]}`);
    this.is64 = id[4] === 2;
    this.le = id[5] === 1;
    const ehsize = this.is64 ? 64 : 52;
    if (src.size < ehsize) throw new FormatError(f, 16, 'truncated ELF header');
    const h = src.read(0, ehsize);
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    const le = this.le;
    this.type = dv.getUint16(16, le);
    this.machine = dv.getUint16(18, le);
    const shoff = this.is64 ? Number(dv.getBigUint64(40, le)) : dv.getUint32(32, le);
    const shentsize = dv.getUint16(this.is64 ? 58 : 46, le);
    let shnum = dv.getUint16(this.is64 ? 60 : 48, le);
    let shstrndx = dv.getUint16(this.is64 ? 62 : 50, le);
    if (shoff === 0) return; // no section headers
    const minEnt = this.is64 ? 64 : 40;
    if (shentsize < minEnt) throw new FormatError(f, this.is64 ? 58 : 46, `section header entry size ${shentsize} < ${minEnt}`);
    if (shoff + shentsize > src.size) throw new FormatError(f, shoff, 'section header table outside the file');
    const first = this.readHeader(src.read(shoff, shentsize), 0, shoff);
    if (shnum === 0) shnum = first.size;
    if (shstrndx === 0xffff) shstrndx = first.link;
    if (shnum > 1 << 20 || shoff + shnum * shentsize > src.size)
      throw new FormatError(f, shoff, `section header table (${shnum} entries) outside the file`);
    const table = src.read(shoff, shnum * shentsize);
    const raw: RawSectionHeader[] = [];
    for (let i = 0; i < shnum; i++) raw.push(this.readHeader(table.subarray(i * shentsize, (i + 1) * shentsize), i, shoff + i * shentsize));
    let names: Uint8Array | undefined;
    const strh = raw[shstrndx];
    if (strh && strh.type !== SHT_NOBITS && strh.offset + strh.size <= src.size && strh.size <= MAX_SECTION)
      names = src.read(strh.offset, strh.size);
    const dec = new TextDecoder();
    for (const r of raw) {
      let name = '';
      if (names) {
        const off = r.nameOff;
        if (off < names.length) {
          let e = names.indexOf(0, off);
          if (e < 0) e = names.length;
          name = dec.decode(names.subarray(off, e));
        }
      }
      // One literal shape for every header (a spread then `delete` left each header in
      // dictionary mode: every field read on the hot paths was a hash lookup).
      const s: ElfSectionHeader = {
        index: r.index,
        name,
        type: r.type,
        flags: r.flags,
        addr: r.addr,
        offset: r.offset,
        size: r.size,
        link: r.link,
        info: r.info,
        entsize: r.entsize,
        compressed: (r.flags & SHF_COMPRESSED) !== 0 || name.startsWith('.zdebug'),
      };
      this.sections.push(s);
      if (name && !this.byName.has(name)) this.byName.set(name, s);
    }
  }

  private readHeader(b: Uint8Array, index: number, at: number): RawSectionHeader {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const le = this.le;
    if (this.is64) {
      const addrLo = dv.getUint32(le ? 16 : 20, le),
        addrHi = dv.getUint32(le ? 20 : 16, le);
      const offset = Number(dv.getBigUint64(24, le));
      const size = Number(dv.getBigUint64(32, le));
      return {
        index,
        nameOff: dv.getUint32(0, le),
        type: dv.getUint32(4, le),
        flags: Number(dv.getBigUint64(8, le) & 0xffffffffn),
        addr: (addrHi | 0) * TWO32 + addrLo,
        offset,
        size,
        link: dv.getUint32(40, le),
        info: dv.getUint32(44, le),
        entsize: Number(dv.getBigUint64(56, le)),
      };
    }
    void at;
    return {
      index,
      nameOff: dv.getUint32(0, le),
      type: dv.getUint32(4, le),
      flags: dv.getUint32(8, le),
      addr: dv.getUint32(12, le),
      offset: dv.getUint32(16, le),
      size: dv.getUint32(20, le),
      link: dv.getUint32(24, le),
      info: dv.getUint32(28, le),
      entsize: dv.getUint32(36, le),
    };
  }

  get isRelocatable(): boolean {
    return this.type === ET_REL;
  }

  /** A section by name; `.debug_X` also finds `.zdebug_X`. */
  section(name: string): ElfSectionHeader | undefined {
    const s = this.byName.get(name);
    if (s && s.type !== SHT_NOBITS) return s;
    if (name.startsWith('.debug_')) {
      const z = this.byName.get('.z' + name.slice(1));
      if (z && z.type !== SHT_NOBITS) return z;
    }
    return undefined;
  }

  /** Synthetic base address of a section in a relocatable object (0 for executables and non-alloc sections). */
  sectionBase(index: number): number {
    if (!this.isRelocatable) return 0;
    const s = this.sections[index];
    return s && s.flags & SHF_ALLOC ? index * SECTION_STRIDE : 0;
  }

  isCompressed(s: ElfSectionHeader): boolean {
    return s.compressed;
  }

  /** The first section named exactly `name` (any type), or undefined. */
  named(name: string): ElfSectionHeader | undefined {
    return this.byName.get(name);
  }

  /** True when a slice of the section can be read from the file without reading it whole (relocated by range for ET_REL). */
  sliceable(s: ElfSectionHeader): boolean {
    return !this.isCompressed(s);
  }

  /** A FormatError unless [off, off + len) of the section lies inside it and inside the file. */
  checkRange(s: ElfSectionHeader, off: number, len: number): void {
    if (s.type === SHT_NOBITS) throw new FormatError(this.file, s.offset, `${s.name}: section has no data (SHT_NOBITS)`);
    if (s.offset + s.size > this.src.size)
      throw new FormatError(
        this.file,
        s.offset,
        `${s.name}: section data (0x${s.size.toString(16)} bytes at 0x${s.offset.toString(16)}) extends past the end of the file (0x${this.src.size.toString(16)})`,
      );
    if (off < 0 || len < 0 || off + len > s.size)
      throw new FormatError(
        this.file,
        s.offset + off,
        `${s.name}: range 0x${off.toString(16)}+0x${len.toString(16)} outside the section (size 0x${s.size.toString(16)})`,
      );
  }

  /** Raw bytes `len` at `off` within a section (no decompression, no relocation). */
  rawSlice(s: ElfSectionHeader, off: number, len: number): Uint8Array {
    this.checkRange(s, off, len);
    const b = this.src.read(s.offset + off, len);
    if (b.length !== len)
      throw new FormatError(this.file, s.offset + off, `${s.name}: short read (${b.length} of ${len} bytes; file changed?)`);
    return b;
  }

  /** Bytes of a section: decompressed and (for ET_REL) relocated; cached. */
  data(s: ElfSectionHeader): SectionBytes {
    const hit = this.dataCache.get(s.index);
    if (hit) return hit;
    let bytes: Uint8Array;
    let decompressed = false;
    if (s.size > MAX_SECTION) throw new FormatError(this.file, s.offset, `${s.name}: section of ${s.size} bytes is too large`);
    const raw = this.rawSlice(s, 0, s.size);
    if (s.flags & SHF_COMPRESSED) {
      bytes = this.decompressChdr(s, raw);
      decompressed = true;
    } else if (s.name.startsWith('.zdebug')) {
      bytes = this.decompressZdebug(s, raw);
      decompressed = true;
    } else bytes = raw;
    const name = s.name.startsWith('.zdebug') ? '.' + s.name.slice(2) : s.name;
    const rel = this.relocIndex(s);
    if (rel) {
      if (!decompressed) bytes = this.src.readInto ? bytes : bytes.slice(); // rawSlice of a file source is a private buffer
      applyRelocs(rel, bytes, 0, 0, bytes.length, this.le);
    }
    const out: SectionBytes = { file: this.file, section: name, fileOffset: s.offset, bytes, le: this.le, decompressed };
    this.dataCache.set(s.index, out);
    return out;
  }

  /**
   * A slice of a section as SectionBytes: read by offset (and for ET_REL, only the
   * relocations inside the slice applied) when the section is not compressed, else a view
   * of the whole decoded section.
   */
  slice(s: ElfSectionHeader, off: number, len: number): SectionBytes {
    if (!this.sliceable(s)) {
      const d = this.data(s);
      if (off < 0 || len < 0 || off + len > d.bytes.length)
        throw new FormatError(
          this.file,
          d.fileOffset + off,
          `${d.section}: range 0x${off.toString(16)}+0x${len.toString(16)} outside the section`,
        );
      return { ...d, bytes: d.bytes.subarray(off, off + len), fileOffset: d.fileOffset + off };
    }
    const rel = this.relocIndex(s);
    let bytes = this.rawSlice(s, off, len);
    if (rel) {
      if (!this.src.readInto) bytes = bytes.slice(); // an in-memory source's bytes are the caller's: relocate a copy
      applyRelocs(rel, bytes, -off, off, off + len, this.le);
    }
    return { file: this.file, section: s.name, fileOffset: s.offset + off, bytes, le: this.le, decompressed: false };
  }

  /**
   * Bytes [off, off + len) of a section into `buf` at `at` (decompressed and relocated as
   * `slice` gives them), without allocating when the source reads in place.
   */
  sliceInto(s: ElfSectionHeader, off: number, len: number, buf: Uint8Array, at: number): void {
    if (!this.sliceable(s) || !this.src.readInto) {
      buf.set(this.slice(s, off, len).bytes, at);
      return;
    }
    this.checkRange(s, off, len);
    const got = this.src.readInto(buf, at, s.offset + off, len);
    if (got !== len) throw new FormatError(this.file, s.offset + off, `${s.name}: short read (${got} of ${len} bytes; file changed?)`);
    const rel = this.relocIndex(s);
    if (rel) applyRelocs(rel, buf, at - off, off, off + len, this.le);
  }

  /**
   * sliceInto without relocating: the bytes as in the file, and (for a relocatable file
   * whose section has relocations) a `patch(pos, len)` that relocates buf[pos, pos + len),
   * for a reader that needs only a few relocated values out of the range (a unit's DIE walk
   * decodes a few attribute values out of every hundred bytes; xfs.ko's .debug_info carries
   * 737k relocations). Each entry is checked when it is applied: a bad entry (type, symbol,
   * offset) at a value the reader takes is a FormatError, one elsewhere changes no answer
   * and is not reported (checking all of xfs.ko's up front cost a fifth of a 1,000-address
   * run). A relocation at a place no reader takes as a value (an abbrev code, a LEB128
   * length, a unit-relative reference: no producer puts one there) is not applied. Returns
   * undefined (nothing read) when the section cannot be read so (compressed, or an
   * in-memory source): use sliceInto.
   */
  sliceIntoDeferred(
    s: ElfSectionHeader,
    off: number,
    len: number,
    buf: Uint8Array,
    at: number,
  ): { patch?: (pos: number, len: number) => void } | undefined {
    if (!this.sliceable(s) || !this.src.readInto) return undefined;
    this.checkRange(s, off, len);
    const rel = this.relocIndex(s); // its checks (machine, sortedness...) fail here, before any read
    const got = this.src.readInto(buf, at, s.offset + off, len);
    if (got !== len) throw new FormatError(this.file, s.offset + off, `${s.name}: short read (${got} of ${len} bytes; file changed?)`);
    if (!rel) return {};
    const le = this.le,
      shift = at - off;
    // buf[p] holds section offset p - shift
    return { patch: (p, n) => applyRelocs(rel, buf, shift, p - shift, p - shift + n, le) };
  }

  /** Size of a section's data once decompressed. */
  dataSize(s: ElfSectionHeader): number {
    if (!this.isCompressed(s)) return s.size;
    return this.data(s).bytes.length;
  }

  private decompressChdr(s: ElfSectionHeader, raw: Uint8Array): Uint8Array {
    const hdr = this.is64 ? 24 : 12;
    if (raw.length < hdr) throw new FormatError(this.file, s.offset, `${s.name}: truncated compression header`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const type = dv.getUint32(0, this.le);
    const size = this.is64 ? Number(dv.getBigUint64(8, this.le)) : dv.getUint32(4, this.le);
    if (size > MAX_SECTION) throw new FormatError(this.file, s.offset, `${s.name}: compressed section declares ${size} bytes`);
    return this.decompress(s, raw.subarray(hdr), type === 1 ? 'zlib' : type === 2 ? 'zstd' : `type ${type}`, size);
  }

  private decompressZdebug(s: ElfSectionHeader, raw: Uint8Array): Uint8Array {
    if (raw.length < 12 || raw[0] !== 0x5a || raw[1] !== 0x4c || raw[2] !== 0x49 || raw[3] !== 0x42)
      throw new FormatError(this.file, s.offset, `${s.name}: missing ZLIB header`);
    let size = 0;
    for (let i = 4; i < 12; i++) size = size * 256 + raw[i];
    if (size > MAX_SECTION) throw new FormatError(this.file, s.offset, `${s.name}: compressed section declares ${size} bytes`);
    return this.decompress(s, raw.subarray(12), 'zlib', size);
  }

  private decompress(s: ElfSectionHeader, body: Uint8Array, kind: string, size: number): Uint8Array {
    let out: Uint8Array;
    try {
      if (kind === 'zlib') out = inflate(body, size);
      else if (kind === 'zstd') out = zstdExact(body, size);
      else throw new FormatError(this.file, s.offset, `${s.name}: unsupported compression ${kind}`);
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(this.file, s.offset, `${s.name}: ${kind} decompression failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (out.length !== size)
      throw new FormatError(this.file, s.offset, `${s.name}: decompressed to ${out.length} bytes, header says ${size}`);
    return out;
  }

  private relaIndex?: Map<number, ElfSectionHeader[]>;
  /** SHT_RELA/SHT_REL sections applying to section `index`. */
  relocationsFor(index: number): ElfSectionHeader[] {
    if (!this.relaIndex) {
      this.relaIndex = new Map();
      for (const s of this.sections) {
        if (s.type !== SHT_RELA && s.type !== SHT_REL) continue;
        const l = this.relaIndex.get(s.info) ?? [];
        l.push(s);
        this.relaIndex.set(s.info, l);
      }
    }
    return this.relaIndex.get(index) ?? [];
  }

  private symbols(symtabIndex: number): { value: Float64Array; shndx: Uint32Array; s?: Float64Array } {
    if (this.symCache) return this.symCache;
    const st = this.sections[symtabIndex];
    if (!st || st.type !== SHT_SYMTAB)
      throw new FormatError(this.file, 0, `relocation section links to section ${symtabIndex}, which is not a symbol table`);
    const ent = this.is64 ? 24 : 16;
    const n = Math.floor(st.size / ent);
    const b = this.rawSlice(st, 0, n * ent);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const value = new Float64Array(n),
      shndx = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * ent;
      if (this.is64) {
        shndx[i] = dv.getUint16(o + 6, this.le);
        value[i] = Number(dv.getBigUint64(o + 8, this.le));
      } else {
        value[i] = dv.getUint32(o + 4, this.le);
        shndx[i] = dv.getUint16(o + 14, this.le);
      }
    }
    this.symCache = { value, shndx };
    return this.symCache;
  }

  private relocCache = new Map<number, RelocIndex | RawRelocs | FormatError | null>();
  /**
   * The relocations applying to a section of a relocatable object, resolved once into
   * sorted columns (offset, value S + A, size), or null when there are none (or the
   * file is not ET_REL). The columns' entries are checked here (machine, type, symbol,
   * offset inside the section), so a bad relocation fails every read of the section, as it
   * did when the section was relocated whole; a single sorted RELA section is used as read,
   * each entry checked where it is applied (applyRaw: every read covering it, and for a
   * deferred unit read each value patched, see sliceIntoDeferred).
   */
  private relocIndex(s: ElfSectionHeader): RelocIndex | RawRelocs | null {
    if (!this.isRelocatable) return null;
    const hit = this.relocCache.get(s.index);
    if (hit instanceof FormatError) throw hit;
    if (hit !== undefined) return hit;
    let r: RelocIndex | RawRelocs | null;
    try {
      r = this.buildRelocIndex(s);
    } catch (e) {
      if (e instanceof FormatError) this.relocCache.set(s.index, e);
      throw e;
    }
    this.relocCache.set(s.index, r);
    return r;
  }

  private buildRelocIndex(target: ElfSectionHeader): RelocIndex | RawRelocs | null {
    const relas = this.relocationsFor(target.index);
    if (!relas.length) return null;
    const f = this.file;
    const size = this.isCompressed(target) ? this.data0Size(target) : target.size;
    let total = 0;
    for (const r of relas) {
      if (r.type === SHT_REL) throw new FormatError(f, r.offset, `${r.name}: SHT_REL relocations are not supported`);
      if (!this.is64) throw new FormatError(f, r.offset, `${r.name}: relocations of 32-bit ELF objects are not supported`);
      this.checkRange(r, 0, Math.floor(r.size / 24) * 24); // inside the file: the columns below are bounded by its size
      total += Math.floor(r.size / 24);
    }
    let abs64: number, abs32: number, abs32s: number, none: number;
    if (this.machine === EM_X86_64) [abs64, abs32, abs32s, none] = [1, 10, 11, 0];
    else if (this.machine === EM_AARCH64) [abs64, abs32, abs32s, none] = [257, 258, -1, 0];
    else
      throw new FormatError(
        f,
        relas[0].offset,
        `${relas[0].name}: relocations for machine ${this.machine} are not supported (x86_64 and aarch64 are)`,
      );
    const symS = (link: number): Float64Array => {
      const syms = this.symbols(link);
      // S per symbol, once: its section's synthetic base + st_value (a .ko's .debug_info
      // carries ~700k relocations against a few thousand symbols).
      return (syms.s ??= (() => {
        const a = new Float64Array(syms.value.length);
        for (let q = 0; q < a.length; q++) {
          const sh = syms.shndx[q];
          a[q] = (sh > 0 && sh < 0xff00 ? this.sectionBase(sh) : 0) + syms.value[q];
        }
        return a;
      })());
    };
    if (relas.length === 1 && HOST_LE === this.le) {
      // the common case: one RELA section, sorted by offset (checked here), used as read
      const r = relas[0];
      const n = Math.floor(r.size / 24);
      let rb = this.rawSlice(r, 0, n * 24);
      if (rb.byteOffset & 3) rb = rb.slice();
      const w = new Uint32Array(rb.buffer, rb.byteOffset, n * 6);
      const L = this.le ? 0 : 1,
        H = 1 - L;
      let sorted = true;
      for (let i = 1; i < n; i++) {
        const a = (i - 1) * 6,
          b = i * 6;
        if (w[b + H] < w[a + H] || (w[b + H] === w[a + H] && w[b + L] < w[a + L])) {
          sorted = false;
          break;
        }
      }
      if (sorted)
        return {
          w,
          n,
          S: symS(r.link),
          L,
          H,
          abs64,
          abs32,
          abs32s,
          none,
          machine: this.machine,
          file: f,
          sec: r,
          target: target.name,
          size,
          hint: 0,
        };
    }
    const offs = new Uint32Array(total),
      vlo = new Uint32Array(total),
      vhi = new Uint32Array(total),
      sizes = new Uint8Array(total);
    let k = 0,
      sorted = true,
      last = -1;
    for (const r of relas) {
      const n = Math.floor(r.size / 24);
      let rb = this.rawSlice(r, 0, n * 24);
      // the entries as 32-bit words (host order; swapped below when the file's differs)
      if (rb.byteOffset & 3) rb = rb.slice();
      const w = new Uint32Array(rb.buffer, rb.byteOffset, n * 6);
      const swap = HOST_LE !== this.le;
      const S = symS(r.link);
      const nsym = S.length;
      // 64-bit fields read as two 32-bit halves (no BigInt per entry): r_offset is a section
      // offset (< 2^32 here, checked against the section size), r_addend a signed value whose
      // magnitude in debug relocations is far below 2^53, so hi * 2^32 + lo is exact.
      const L = this.le ? 0 : 1,
        H = 1 - L;
      for (let i = 0; i < n; i++) {
        const o = i * 6;
        let w0 = w[o + L],
          w1 = w[o + H],
          type = w[o + 2 + L],
          sym = w[o + 2 + H],
          a0 = w[o + 4 + L],
          a1 = w[o + 4 + H];
        if (swap) {
          w0 = bswap(w0);
          w1 = bswap(w1);
          type = bswap(type);
          sym = bswap(sym);
          a0 = bswap(a0);
          a1 = bswap(a1);
        }
        const off = w1 * TWO32 + w0;
        if (type === none) continue;
        if (sym >= nsym)
          throw new FormatError(f, r.offset + o * 4, `${r.name}: relocation ${i} names symbol ${sym}, the table has ${nsym}`);
        let z: number;
        if (type === abs64) z = 8;
        else if (type === abs32 || type === abs32s) z = 4;
        else throw new FormatError(f, r.offset + o * 4, `${r.name}: unsupported relocation type ${type} for machine ${this.machine}`);
        if (off + z > size || off >= TWO32)
          throw new FormatError(f, r.offset + o * 4, `${r.name}: relocation ${i} at 0x${off.toString(16)} outside ${target.name}`);
        const v = S[sym] + ((a1 | 0) * TWO32 + a0);
        const hi = Math.floor(v / TWO32);
        offs[k] = off;
        vlo[k] = v - hi * TWO32;
        vhi[k] = hi >>> 0;
        sizes[k] = z;
        if (off < last) sorted = false;
        last = off;
        k++;
      }
    }
    if (!sorted) {
      // stable: entries at one offset keep their order (the later one wins, as applied in turn)
      const idx = Array.from({ length: k }, (_, i) => i).sort((x, y) => offs[x] - offs[y]);
      const o2 = new Uint32Array(k),
        l2 = new Uint32Array(k),
        h2 = new Uint32Array(k),
        z2 = new Uint8Array(k);
      for (let i = 0; i < k; i++) {
        o2[i] = offs[idx[i]];
        l2[i] = vlo[idx[i]];
        h2[i] = vhi[idx[i]];
        z2[i] = sizes[idx[i]];
      }
      return { off: o2, lo: l2, hi: h2, size: z2, n: k };
    }
    return { off: offs, lo: vlo, hi: vhi, size: sizes, n: k };
  }

  /** Size of a compressed section once decompressed (its relocations apply to those bytes). */
  private data0Size(s: ElfSectionHeader): number {
    const hit = this.dataCache.get(s.index);
    if (hit) return hit.bytes.length;
    // decompressed without relocation (data() relocates after asking for the index)
    const raw = this.rawSlice(s, 0, s.size);
    if (s.flags & SHF_COMPRESSED) {
      const hdr = this.is64 ? 24 : 12;
      if (raw.length < hdr) throw new FormatError(this.file, s.offset, `${s.name}: truncated compression header`);
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return this.is64 ? Number(dv.getBigUint64(8, this.le)) : dv.getUint32(4, this.le);
    }
    let size = 0;
    for (let i = 4; i < 12 && i < raw.length; i++) size = size * 256 + raw[i];
    return size;
  }

  /** Every note of every SHT_NOTE section. */
  notes(): ElfNoteEntry[] {
    const out: ElfNoteEntry[] = [];
    for (const s of this.sections) {
      if (s.type !== SHT_NOTE || s.size > 1 << 24) continue;
      let b: Uint8Array;
      try {
        b = this.rawSlice(s, 0, s.size);
      } catch {
        continue;
      }
      for (const n of parseNoteBytes(b, this.le)) out.push({ ...n, section: s.name });
    }
    return out;
  }

  /** GNU build id (hex), from whichever note section carries it. */
  buildId(): string | undefined {
    const n = this.notes().find((x) => x.name === 'GNU' && x.type === 3);
    return n && n.desc.length ? hex(n.desc) : undefined;
  }

  /** `.gnu_debuglink`: file name and CRC32. */
  debugLink(): { file: string; crc: number } | undefined {
    const s = this.section('.gnu_debuglink');
    if (!s || s.size > 4096) return undefined;
    const b = this.rawSlice(s, 0, s.size);
    const e = b.indexOf(0);
    if (e <= 0) return undefined;
    const crcAt = (e + 4) & ~3;
    if (crcAt + 4 > b.length) return undefined;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { file: new TextDecoder().decode(b.subarray(0, e)), crc: dv.getUint32(crcAt, this.le) };
  }
}

/** Relocations of one section, sorted by offset: value S + A (as 32-bit halves) and field size (4 or 8) per entry. */
interface RelocIndex {
  /** Section offsets (a relocated field beyond 4 GiB is refused). */
  readonly off: Uint32Array;
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly size: Uint8Array;
  readonly n: number;
}

/** One RELA section as read (host-order 32-bit words, 6 per entry), sorted by offset: applied entry by entry. */
interface RawRelocs {
  readonly w: Uint32Array;
  readonly n: number;
  /** S per symbol: its section's synthetic base + st_value. */
  readonly S: Float64Array;
  /** Word index of the low and high half of a 64-bit field. */
  readonly L: number;
  readonly H: number;
  readonly abs64: number;
  readonly abs32: number;
  readonly abs32s: number;
  readonly none: number;
  readonly machine: number;
  readonly file: string;
  readonly sec: ElfSectionHeader;
  readonly target: string;
  /** Size of the target section's data. */
  readonly size: number;
  /** Where the previous search ended: readers patch values in ascending order, the next search gallops from here. */
  hint: number;
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/**
 * Apply the relocations whose fields overlap section bytes [lo, hi) to `buf`, where section
 * offset x sits at buf[x + shift]. A field that straddles lo or hi is written only where it
 * lies inside the range.
 */
function applyRelocs(rel: RelocIndex | RawRelocs, buf: Uint8Array, shift: number, lo: number, hi: number, le: boolean): void {
  if ('w' in rel) return applyRaw(rel, buf, shift, lo, hi, le);
  const r = rel;
  const { off, size } = r;
  const vlo = r.lo,
    vhi = r.hi;
  // first entry whose field can reach lo (fields are at most 8 bytes)
  let a = 0,
    b = r.n;
  while (a < b) {
    const m = (a + b) >> 1;
    if (off[m] + 8 <= lo) a = m + 1;
    else b = m;
  }
  for (let i = a; i < r.n; i++) {
    const o = off[i];
    if (o >= hi) break;
    const z = size[i];
    if (o + z <= lo) continue;
    putField(buf, o, z, vlo[i], vhi[i], shift, lo, hi, le);
  }
}

/**
 * applyRelocs over one sorted RELA section as it is in the file (no columns built: the
 * common case of a .ko, one .rela.debug_X per section, sorted by offset): each entry in the
 * range is checked (symbol, type, offset inside the section) and applied. A bad entry is a
 * FormatError for every read that covers it.
 */
function applyRaw(r: RawRelocs, buf: Uint8Array, shift: number, lo: number, hi: number, le: boolean): void {
  const { w, n, S, L, H } = r;
  const nsym = S.length;
  // The first entry whose field can reach lo (fields are at most 8 bytes): entries are
  // sorted by offset (checked when the index was built), so a binary search, galloping
  // from the previous search's end when lo lies past it (a DIE walk patches in order).
  let a = 0,
    b = n;
  const h = r.hint;
  if (h > 0 && h < n && w[(h - 1) * 6 + H] * TWO32 + w[(h - 1) * 6 + L] + 8 <= lo) {
    // every entry before h ends at or before lo
    a = b = h;
    for (let step = 1; b < n && w[b * 6 + H] * TWO32 + w[b * 6 + L] + 8 <= lo; step *= 2) {
      a = b + 1;
      b += step;
    }
    if (b > n) b = n;
  }
  while (a < b) {
    const m = (a + b) >> 1;
    if (w[m * 6 + H] * TWO32 + w[m * 6 + L] + 8 <= lo) a = m + 1;
    else b = m;
  }
  r.hint = a;
  for (let i = a; i < n; i++) {
    const o6 = i * 6;
    const o = w[o6 + H] * TWO32 + w[o6 + L];
    if (o >= hi) break;
    const type = w[o6 + 2 + L];
    if (type === r.none) continue;
    const sym = w[o6 + 2 + H];
    const at = r.sec.offset + o6 * 4;
    if (sym >= nsym) throw new FormatError(r.file, at, `${r.sec.name}: relocation ${i} names symbol ${sym}, the table has ${nsym}`);
    let z: number;
    if (type === r.abs64) z = 8;
    else if (type === r.abs32 || type === r.abs32s) z = 4;
    else throw new FormatError(r.file, at, `${r.sec.name}: unsupported relocation type ${type} for machine ${r.machine}`);
    if (o + z > r.size || o >= TWO32)
      throw new FormatError(r.file, at, `${r.sec.name}: relocation ${i} at 0x${o.toString(16)} outside ${r.target}`);
    if (o + z <= lo) continue;
    const v = S[sym] + ((w[o6 + 4 + H] | 0) * TWO32 + w[o6 + 4 + L]);
    const vh = Math.floor(v / TWO32);
    putField(buf, o, z, (v - vh * TWO32) >>> 0, vh >>> 0, shift, lo, hi, le);
  }
}

/** Write a relocated field (value halves x = low, y = high) at section offset o, only where it lies in [lo, hi). */
function putField(buf: Uint8Array, o: number, z: number, x: number, y: number, shift: number, lo: number, hi: number, le: boolean): void {
  if (o >= lo && o + z <= hi) {
    const p = o + shift;
    if (le) {
      buf[p] = x;
      buf[p + 1] = x >>> 8;
      buf[p + 2] = x >>> 16;
      buf[p + 3] = x >>> 24;
      if (z === 8) {
        buf[p + 4] = y;
        buf[p + 5] = y >>> 8;
        buf[p + 6] = y >>> 16;
        buf[p + 7] = y >>> 24;
      }
    } else if (z === 8) {
      buf[p] = y >>> 24;
      buf[p + 1] = y >>> 16;
      buf[p + 2] = y >>> 8;
      buf[p + 3] = y;
      buf[p + 4] = x >>> 24;
      buf[p + 5] = x >>> 16;
      buf[p + 6] = x >>> 8;
      buf[p + 7] = x;
    } else {
      buf[p] = x >>> 24;
      buf[p + 1] = x >>> 16;
      buf[p + 2] = x >>> 8;
      buf[p + 3] = x;
    }
    return;
  }
  // straddles the range: byte by byte, only inside it
  for (let j = 0; j < z; j++) {
    const q = o + j;
    if (q < lo || q >= hi) continue;
    // byte j of the field: little-endian significance j (big-endian z - 1 - j)
    const sig = le ? j : z - 1 - j;
    buf[q + shift] = sig < 4 ? x >>> (8 * sig) : y >>> (8 * (sig - 4));
  }
}

/** Notes of a note section or /sys/kernel/notes (namesz, descsz, type, name, desc; 4-byte aligned). */
export function parseNoteBytes(b: Uint8Array, le = true): { name: string; type: number; desc: Uint8Array }[] {
  const out: { name: string; type: number; desc: Uint8Array }[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  while (p + 12 <= b.length) {
    const namesz = dv.getUint32(p, le),
      descsz = dv.getUint32(p + 4, le),
      type = dv.getUint32(p + 8, le);
    const nameAt = p + 12;
    const descAt = nameAt + ((namesz + 3) & ~3);
    const next = descAt + ((descsz + 3) & ~3);
    if (namesz > b.length || descsz > b.length || descAt + descsz > b.length) break;
    let ne = nameAt + namesz;
    while (ne > nameAt && b[ne - 1] === 0) ne--;
    let name = '';
    for (let i = nameAt; i < ne; i++) name += String.fromCharCode(b[i]);
    out.push({ name, type, desc: b.subarray(descAt, descAt + descsz) });
    if (next <= p) break;
    p = next;
  }
  return out;
}

/** The GNU build id (hex) in note bytes (e.g. /sys/kernel/notes, /sys/module/X/notes/.note.gnu.build-id). */
export function buildIdFromNotes(b: Uint8Array, le = true): string | undefined {
  const n = parseNoteBytes(b, le).find((x) => x.name === 'GNU' && x.type === 3);
  return n && n.desc.length ? hex(n.desc) : undefined;
}
