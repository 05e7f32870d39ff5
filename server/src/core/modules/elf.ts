/**
 * Minimal, defensive ELF reader (ELF32/ELF64, little/big endian) for kernel
 * modules and other ELF objects. Pure: no I/O, no LSP.
 *
 * Every structural problem is reported as a FormatError naming the file, the
 * byte offset where the problem was found and the reason. Every read is checked
 * against the buffer before it happens. Trailing bytes after the ELF data (the
 * module signature `~Module signature appended~`) are ignored.
 *
 * Symbols are stored column-wise in typed arrays; names are decoded lazily.
 */
import { FormatError } from '../common/errors';
import { moduleNameFromPath } from './names';

/** Whether `b` starts with the ELF magic (\x7fELF). */
export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

const SHT_NULL = 0;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_SYMTAB_SHNDX = 18;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_LOPROC = 0xff00;
export const SHN_HIPROC = 0xff1f;
export const SHN_LOOS = 0xff20;
export const SHN_LIVEPATCH = 0xff20;
export const SHN_HIOS = 0xff3f;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;

export const STT_OBJECT = 1;
export const STT_COMMON = 5;
export const STT_GNU_IFUNC = 10;

export const EM_X86_64 = 62;

export interface ElfSection {
  readonly index: number;
  /** Name from the section-header string table ('' when absent). */
  readonly name: string;
  readonly nameOffset: number;
  readonly type: number;
  /** sh_flags; ELF64 flags above bit 52 are not representable and never used. */
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

/** Column-wise symbol table. Index 0 is the ELF null symbol. */
export interface ElfSymbolTable {
  readonly count: number;
  /** Index of the SHT_SYMTAB section and of its string table (sh_link). */
  readonly sectionIndex: number;
  readonly strtabIndex: number;
  /** st_name: offsets into `strtab`. */
  readonly nameOffset: Uint32Array;
  /** st_value split into 32-bit halves (exact for 64-bit values). */
  readonly valueLo: Uint32Array;
  readonly valueHi: Uint32Array;
  readonly sizeLo: Uint32Array;
  readonly sizeHi: Uint32Array;
  readonly info: Uint8Array;
  readonly other: Uint8Array;
  /** Raw st_shndx (16 bit), as stored. */
  readonly rawShndx: Uint16Array;
  /** Section index with SHN_XINDEX resolved through .symtab_shndx (else = raw). */
  readonly shndx: Uint32Array;
  /** The string table bytes (a view into the input, no copy). */
  readonly strtab: Uint8Array;
  /** Decoded name of symbol i (cached lazily). */
  name(i: number): string;
  /** st_value as a number (exact below 2^53). */
  value(i: number): number;
  valueBig(i: number): bigint;
  size(i: number): number;
  sizeBig(i: number): bigint;
  bind(i: number): number;
  type(i: number): number;
}

export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

export interface ElfFile {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly osabi: number;
  readonly type: number;
  readonly machine: number;
  /** Effective section count (e_shnum, or sh_size of section 0 when e_shnum is 0). */
  readonly shnum: number;
  /** e_shnum exactly as in the header (what the kernel compares st_shndx with). */
  readonly eShnum: number;
  readonly shstrndx: number;
  readonly sections: readonly ElfSection[];
  /** The .symtab (first SHT_SYMTAB section), or null when stripped. */
  readonly symtab: ElfSymbolTable | null;
  /** End of the ELF data proper (max over headers and section contents). */
  readonly elfEnd: number;
  /** Whether `~Module signature appended~\n` ends the buffer. */
  readonly hasModuleSignature: boolean;
  sectionByName(name: string): ElfSection | undefined;
  /** Bytes of a section (subarray, no copy); empty for SHT_NOBITS. */
  sectionBytes(nameOrIndex: string | number): Uint8Array | undefined;
  /** `.modinfo` key=value pairs in file order (keys may repeat, e.g. alias). */
  modinfo(): Array<[string, string]>;
  /** First value of a .modinfo key. */
  modinfoValue(key: string): string | undefined;
  /** GNU build-id (from .note.gnu.build-id, else any SHT_NOTE) as lowercase hex. */
  buildId(): string | undefined;
  /** The .BTF section bytes (subarray, no copy). */
  btf(): Uint8Array | undefined;
  /** Module name: this_module.name, else modinfo name=, else from the file name. */
  moduleName(): string;
}

const MODULE_SIG_MAGIC = '~Module signature appended~\n';
const utf8 = new TextDecoder('utf-8');

/** Reads fixed-width fields with bounds checks; throws FormatError. */
class Reader {
  readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    readonly le: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(off: number, len: number, what: string): void {
    if (!(off >= 0) || !(len >= 0) || off + len > this.bytes.length || !Number.isSafeInteger(off + len)) {
      throw new FormatError(
        this.file,
        Number.isFinite(off) ? off : 0,
        `${what} (${len} bytes at 0x${Number.isFinite(off) ? off.toString(16) : '?'}) extends past the end ` +
          `of the file (size 0x${this.bytes.length.toString(16)})`,
      );
    }
  }
  u8(off: number): number {
    this.check(off, 1, 'field');
    return this.dv.getUint8(off);
  }
  u16(off: number): number {
    this.check(off, 2, 'field');
    return this.dv.getUint16(off, this.le);
  }
  u32(off: number): number {
    this.check(off, 4, 'field');
    return this.dv.getUint32(off, this.le);
  }
  /** 64-bit field as a number; throws when it cannot be exact. */
  u64(off: number, what: string): number {
    this.check(off, 8, 'field');
    const lo = this.dv.getUint32(off + (this.le ? 0 : 4), this.le);
    const hi = this.dv.getUint32(off + (this.le ? 4 : 0), this.le);
    if (hi >= 0x200000)
      throw new FormatError(this.file, off, `${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`);
    return hi * 0x100000000 + lo;
  }
  /** 64-bit value that may legitimately be large (addresses, flags): lossy above 2^53. */
  u64loose(off: number): number {
    this.check(off, 8, 'field');
    const lo = this.dv.getUint32(off + (this.le ? 0 : 4), this.le);
    const hi = this.dv.getUint32(off + (this.le ? 4 : 0), this.le);
    return hi * 0x100000000 + lo;
  }
}

function cstring(bytes: Uint8Array, start: number, end: number): string {
  let e = start;
  while (e < end && bytes[e] !== 0) e++;
  // Fast path for ASCII (all kernel symbol names).
  let ascii = true;
  for (let i = start; i < e; i++)
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii && e - start < 256) return String.fromCharCode.apply(null, bytes.subarray(start, e) as unknown as number[]);
  return utf8.decode(bytes.subarray(start, e));
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/** Parse the notes in a SHT_NOTE section's bytes. Malformed tails are ignored. */
function parseNotes(bytes: Uint8Array, littleEndian: boolean): ElfNote[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ElfNote[] = [];
  let p = 0;
  while (p + 12 <= bytes.length) {
    const namesz = dv.getUint32(p, littleEndian);
    const descsz = dv.getUint32(p + 4, littleEndian);
    const type = dv.getUint32(p + 8, littleEndian);
    const nameStart = p + 12;
    const descStart = nameStart + ((namesz + 3) & ~3);
    const next = descStart + ((descsz + 3) & ~3);
    if (namesz > bytes.length || descsz > bytes.length || descStart + descsz > bytes.length) break;
    out.push({
      name: cstring(bytes, nameStart, nameStart + namesz),
      type,
      desc: bytes.subarray(descStart, descStart + descsz),
    });
    if (next <= p) break;
    p = next;
  }
  return out;
}

/**
 * Parse an ELF image. `file` names the input in errors.
 */
/** The ELF header fields parseElf needs, with the section header table located and checked. */
interface ElfHeader {
  is64: boolean;
  le: boolean;
  osabi: number;
  type: number;
  machine: number;
  shoff: number;
  shentsize: number;
  /** Section count (extended numbering resolved) and e_shnum as written. */
  shnum: number;
  eShnum: number;
  shstrndx: number;
  /** End of the header and the section header table. */
  end: number;
}

function readHeader(bytes: Uint8Array, file: string): { h: ElfHeader; r: Reader } {
  if (bytes.length < 16) throw new FormatError(file, 0, `file too small for an ELF identification (${bytes.length} bytes)`);
  if (!isElf(bytes)) {
    throw new FormatError(file, 0, 'not an ELF file (bad magic)');
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new FormatError(file, 4, `unknown ELF class ${cls}`);
  const data = bytes[5];
  if (data !== 1 && data !== 2) throw new FormatError(file, 5, `unknown ELF data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const r = new Reader(bytes, file, le);
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) throw new FormatError(file, 0, `truncated ELF header: need ${ehsize} bytes, file has ${bytes.length}`);

  const shoff = is64 ? r.u64(40, 'e_shoff') : r.u32(32);
  const shentsize = r.u16(is64 ? 58 : 46);
  let shnum = r.u16(is64 ? 60 : 48);
  const eShnum = shnum;
  let shstrndx = r.u16(is64 ? 62 : 50);
  const shdrSize = is64 ? 64 : 40;
  let end = ehsize;

  if (shoff === 0) {
    // No section headers at all.
    shnum = 0;
  } else {
    if (shentsize < shdrSize) {
      throw new FormatError(file, is64 ? 58 : 46, `e_shentsize ${shentsize} is smaller than the ELF section header size ${shdrSize}`);
    }
    r.check(shoff, shdrSize, 'section header 0');
    if (shnum === 0) {
      // Extended numbering: the real count is in section 0's sh_size.
      shnum = is64 ? r.u64(shoff + 32, 'section count') : r.u32(shoff + 20);
    }
    if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + (is64 ? 40 : 24));
    if (shnum > Math.floor((bytes.length - shoff) / shentsize) + 1 || shoff + shnum * shentsize > bytes.length) {
      throw new FormatError(
        file,
        shoff,
        `section header table (${shnum} entries of ${shentsize} bytes at 0x${shoff.toString(16)}) extends ` +
          `past the end of the file (size 0x${bytes.length.toString(16)})`,
      );
    }
    end = Math.max(end, shoff + shnum * shentsize);
  }
  const h: ElfHeader = { is64, le, osabi: bytes[7], type: r.u16(16), machine: r.u16(18), shoff, shentsize, shnum, eShnum, shstrndx, end };
  return { h, r };
}

/** A section header as read, before its name is looked up. */
type RawSection = Omit<ElfSection, 'index' | 'name'> & { nameOffset: number };

/** The section headers, each checked against the file size; `end`: where the last section's contents end. */
function readSectionHeaders(r: Reader, h: ElfHeader, file: string): { raw: RawSection[]; end: number } {
  const { is64, shoff, shentsize, shnum } = h;
  const size = r.bytes.length;
  let end = h.end;
  const raw: RawSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    const s: RawSection = is64
      ? {
          nameOffset: r.u32(o),
          type: r.u32(o + 4),
          flags: r.u64loose(o + 8),
          addr: r.u64loose(o + 16),
          offset: r.u64(o + 24, 'sh_offset'),
          size: r.u64(o + 32, 'sh_size'),
          link: r.u32(o + 40),
          info: r.u32(o + 44),
          addralign: r.u64loose(o + 48),
          entsize: r.u64(o + 56, 'sh_entsize'),
        }
      : {
          nameOffset: r.u32(o),
          type: r.u32(o + 4),
          flags: r.u32(o + 8),
          addr: r.u32(o + 12),
          offset: r.u32(o + 16),
          size: r.u32(o + 20),
          link: r.u32(o + 24),
          info: r.u32(o + 28),
          addralign: r.u32(o + 32),
          entsize: r.u32(o + 36),
        };
    if (i > 0 && s.type !== SHT_NOBITS && s.type !== SHT_NULL) {
      if (s.offset + s.size > size) {
        throw new FormatError(
          file,
          o + (is64 ? 24 : 16),
          `section ${i} contents (0x${s.size.toString(16)} bytes at 0x${s.offset.toString(16)}) extend past ` +
            `the end of the file (size 0x${size.toString(16)})`,
        );
      }
      end = Math.max(end, s.offset + s.size);
    }
    raw[i] = s;
  }
  return { raw, end };
}

/** The sections with their names from the section name string table. */
function nameSections(bytes: Uint8Array, h: ElfHeader, raw: RawSection[], file: string): ElfSection[] {
  const { shnum, shstrndx, shoff, shentsize } = h;
  let shstr: Uint8Array | undefined;
  if (shnum > 0 && shstrndx !== 0) {
    if (shstrndx >= shnum) throw new FormatError(file, h.is64 ? 62 : 50, `e_shstrndx ${shstrndx} out of range (${shnum} sections)`);
    const ss = raw[shstrndx];
    if (ss.type === SHT_NOBITS) throw new FormatError(file, shoff + shstrndx * shentsize, 'section name string table has no contents');
    shstr = bytes.subarray(ss.offset, ss.offset + ss.size);
  }
  const sections: ElfSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const { nameOffset, ...s } = raw[i];
    let name = '';
    if (shstr && nameOffset !== 0) {
      if (nameOffset >= shstr.length) {
        throw new FormatError(
          file,
          shoff + i * shentsize,
          `section ${i} name offset 0x${nameOffset.toString(16)} is past the end of the section name table ` +
            `(size 0x${shstr.length.toString(16)})`,
        );
      }
      name = cstring(shstr, nameOffset, shstr.length);
    }
    sections[i] = { index: i, name, nameOffset, ...s };
  }
  return sections;
}

/** `.modinfo` entries (`key=value`, NUL-separated) in order. */
function parseModinfo(b: Uint8Array | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!b) return out;
  let p = 0;
  while (p < b.length) {
    let e = p;
    while (e < b.length && b[e] !== 0) e++;
    if (e > p) {
      const entry = cstring(b, p, e);
      const eq = entry.indexOf('=');
      if (eq > 0) out.push([entry.slice(0, eq), entry.slice(eq + 1)]);
      else out.push([entry, '']);
    }
    p = e + 1;
  }
  return out;
}

/** The name in `.gnu.linkonce.this_module` (struct module), when it is printable. */
function thisModuleName(bytes: Uint8Array, tm: ElfSection | undefined, is64: boolean): string | undefined {
  if (!tm || tm.type === SHT_NOBITS) return undefined;
  // struct module { enum module_state state; struct list_head list; char name[MODULE_NAME_LEN]; ... }
  const off = is64 ? 24 : 12;
  const len = is64 ? 56 : 60;
  const b = bytes.subarray(tm.offset, tm.offset + tm.size);
  if (b.length < off + len) return undefined;
  const n = cstring(b, off, off + len);
  return n.length > 0 && /^[\x21-\x7e]+$/.test(n) ? n : undefined;
}

/**
 * Parse an ELF image. `file` names the input in errors.
 */
export function parseElf(bytes: Uint8Array, file: string): ElfFile {
  const { h, r } = readHeader(bytes, file);
  const { is64, le, shnum, shoff, shentsize } = h;
  const { raw, end: elfEnd } = readSectionHeaders(r, h, file);
  const sections = nameSections(bytes, h, raw, file);
  const byName = new Map<string, ElfSection>();
  for (let i = 1; i < shnum; i++) if (!byName.has(sections[i].name)) byName.set(sections[i].name, sections[i]);

  // Symbol table.
  let symtab: ElfSymbolTable | null = null;
  for (let i = 1; i < shnum; i++) {
    if (sections[i].type === SHT_SYMTAB) {
      symtab = readSymtab(r, sections, i, shoff + i * shentsize, is64, file);
      break;
    }
  }

  const sectionBytes = (key: string | number): Uint8Array | undefined => {
    const s = typeof key === 'number' ? sections[key] : byName.get(key);
    if (!s) return undefined;
    if (s.type === SHT_NOBITS || s.type === SHT_NULL) return new Uint8Array(0);
    return bytes.subarray(s.offset, s.offset + s.size);
  };

  let modinfoCache: Array<[string, string]> | undefined;
  const modinfo = (): Array<[string, string]> => (modinfoCache ??= parseModinfo(sectionBytes('.modinfo')));
  const modinfoValue = (key: string): string | undefined => {
    for (const [k, v] of modinfo()) if (k === key) return v;
    return undefined;
  };

  const buildId = (): string | undefined => {
    const candidates: ElfSection[] = [];
    const named = byName.get('.note.gnu.build-id');
    if (named) candidates.push(named);
    for (const s of sections) if (s.type === SHT_NOTE && s !== named) candidates.push(s);
    for (const s of candidates) {
      const b = sectionBytes(s.index);
      if (!b) continue;
      for (const n of parseNotes(b, le)) if (n.type === 3 && n.name === 'GNU' && n.desc.length > 0) return hex(n.desc);
    }
    return undefined;
  };

  return {
    file,
    bytes,
    is64,
    littleEndian: le,
    osabi: h.osabi,
    type: h.type,
    machine: h.machine,
    shnum,
    eShnum: h.eShnum,
    shstrndx: h.shstrndx,
    sections,
    symtab,
    elfEnd,
    hasModuleSignature: endsWith(bytes, MODULE_SIG_MAGIC),
    sectionByName: (n) => byName.get(n),
    sectionBytes,
    modinfo,
    modinfoValue,
    buildId,
    btf: () => {
      const s = byName.get('.BTF');
      return s ? sectionBytes(s.index) : undefined;
    },
    moduleName: () =>
      thisModuleName(bytes, byName.get('.gnu.linkonce.this_module'), is64) ?? (modinfoValue('name') || moduleNameFromPath(file)),
  };
}

function endsWith(bytes: Uint8Array, s: string): boolean {
  if (bytes.length < s.length) return false;
  const o = bytes.length - s.length;
  for (let i = 0; i < s.length; i++) if (bytes[o + i] !== s.charCodeAt(i)) return false;
  return true;
}

function readSymtab(r: Reader, sections: ElfSection[], idx: number, hdrOff: number, is64: boolean, file: string): ElfSymbolTable {
  const sec = sections[idx];
  const bytes = r.bytes;
  const symSize = is64 ? 24 : 16;
  if (sec.entsize === 0) throw new FormatError(file, hdrOff + (is64 ? 56 : 36), `symbol table section ${idx} has sh_entsize 0`);
  if (sec.entsize < symSize) {
    throw new FormatError(
      file,
      hdrOff + (is64 ? 56 : 36),
      `symbol table section ${idx} has sh_entsize ${sec.entsize}, smaller than the ELF symbol size ${symSize}`,
    );
  }
  if (sec.size % sec.entsize !== 0) {
    throw new FormatError(
      file,
      hdrOff + (is64 ? 32 : 20),
      `symbol table size 0x${sec.size.toString(16)} is not a multiple of sh_entsize ${sec.entsize}`,
    );
  }
  const count = sec.size / sec.entsize;
  if (sec.offset + sec.size > bytes.length) {
    throw new FormatError(file, hdrOff, `symbol table (${count} entries) extends past the end of the file`);
  }
  if (sec.link === 0 || sec.link >= sections.length) {
    throw new FormatError(
      file,
      hdrOff + (is64 ? 40 : 24),
      `symbol table sh_link ${sec.link} is not a valid section index (${sections.length} sections)`,
    );
  }
  const strSec = sections[sec.link];
  if (strSec.type !== SHT_STRTAB) {
    throw new FormatError(
      file,
      hdrOff + (is64 ? 40 : 24),
      `symbol table sh_link ${sec.link} names section '${strSec.name}' of type ${strSec.type}, not a string table`,
    );
  }
  const strtab = bytes.subarray(strSec.offset, strSec.offset + strSec.size);
  if (strtab.length > 0 && strtab[strtab.length - 1] !== 0) {
    throw new FormatError(file, strSec.offset + strSec.size - 1, `string table section ${sec.link} is not NUL-terminated`);
  }

  // Extended section indices.
  let xindex: Uint8Array | undefined;
  for (const s of sections) {
    if (s.type === SHT_SYMTAB_SHNDX && s.link === idx) {
      xindex = bytes.subarray(s.offset, s.offset + s.size);
      break;
    }
  }

  const nameOffset = new Uint32Array(count);
  const valueLo = new Uint32Array(count);
  const valueHi = new Uint32Array(count);
  const sizeLo = new Uint32Array(count);
  const sizeHi = new Uint32Array(count);
  const info = new Uint8Array(count);
  const other = new Uint8Array(count);
  const rawShndx = new Uint16Array(count);
  const shndx = new Uint32Array(count);
  const dv = r.dv;
  const le = r.le;
  const lo = le ? 0 : 4;
  const hi = le ? 4 : 0;
  const ent = sec.entsize;
  let p = sec.offset;
  const strLen = strtab.length;
  for (let i = 0; i < count; i++, p += ent) {
    const nm = dv.getUint32(p, le);
    if (nm !== 0 && nm >= strLen) {
      throw new FormatError(
        file,
        p,
        `symbol ${i} name offset 0x${nm.toString(16)} is past the end of the string table (size 0x${strLen.toString(16)})`,
      );
    }
    nameOffset[i] = nm;
    let sh: number;
    if (is64) {
      info[i] = dv.getUint8(p + 4);
      other[i] = dv.getUint8(p + 5);
      sh = dv.getUint16(p + 6, le);
      valueLo[i] = dv.getUint32(p + 8 + lo, le);
      valueHi[i] = dv.getUint32(p + 8 + hi, le);
      sizeLo[i] = dv.getUint32(p + 16 + lo, le);
      sizeHi[i] = dv.getUint32(p + 16 + hi, le);
    } else {
      valueLo[i] = dv.getUint32(p + 4, le);
      sizeLo[i] = dv.getUint32(p + 8, le);
      info[i] = dv.getUint8(p + 12);
      other[i] = dv.getUint8(p + 13);
      sh = dv.getUint16(p + 14, le);
    }
    rawShndx[i] = sh;
    if (sh === SHN_XINDEX && xindex) {
      if (i * 4 + 4 > xindex.length) throw new FormatError(file, p, `symbol ${i} uses SHN_XINDEX but .symtab_shndx has no entry for it`);
      const x = new DataView(xindex.buffer, xindex.byteOffset, xindex.byteLength).getUint32(i * 4, le);
      shndx[i] = x;
    } else {
      shndx[i] = sh;
    }
  }

  const names: Array<string | undefined> = new Array(count);
  return {
    count,
    sectionIndex: idx,
    strtabIndex: sec.link,
    nameOffset,
    valueLo,
    valueHi,
    sizeLo,
    sizeHi,
    info,
    other,
    rawShndx,
    shndx,
    strtab,
    name(i: number): string {
      let n = names[i];
      if (n === undefined) {
        n = nameOffset[i] === 0 ? '' : cstring(strtab, nameOffset[i], strLen);
        names[i] = n;
      }
      return n;
    },
    value: (i) => valueHi[i] * 0x100000000 + valueLo[i],
    valueBig: (i) => (BigInt(valueHi[i]) << 32n) | BigInt(valueLo[i]),
    size: (i) => sizeHi[i] * 0x100000000 + sizeLo[i],
    sizeBig: (i) => (BigInt(sizeHi[i]) << 32n) | BigInt(sizeLo[i]),
    bind: (i) => info[i] >> 4,
    type: (i) => info[i] & 0xf,
  };
}
