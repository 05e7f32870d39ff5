/**
 * A kernel's symbols from the raw bytes of its `.symtab` and `.strtab` sections, as a
 * debuginfod server answers `/buildid/ID/section/.symtab` and `/section/.strtab`: the
 * section contents only (elfutils copies the section's raw data into a file of its own),
 * no ELF header, no section headers, no build id. Pure: bytes in, a System.map-form text
 * and a SymbolIndex out.
 *
 * What the bytes give: every Elf_Sym (name, value, size, type, binding, section index).
 * vmlinux is ET_EXEC, so st_value is the absolute link-time address, as System.map prints it.
 *
 * Which symbols: those `scripts/mksysmap` (Linux 6.1) keeps from `nm -n`: no section or file
 * symbols, no undefined (U, w), no local absolute (a), no `__crc_`, `$`-mapping symbols,
 * `.L`/`L0` local labels, `__kstrtab_`/`__kstrtabns_` strings; ties at one address ordered by
 * name (nm -n's tie-break, so the text is System.map's order and the index picks aliases as
 * for the System.map). Names of 512 bytes or more are dropped (KSYM_NAME_LEN: kallsyms has none).
 *
 * The type letter, as close to nm as the bytes allow. Known: A (global SHN_ABS), C (COMMON),
 * W/V (weak defined: FUNC/NOTYPE, OBJECT), u (GNU_UNIQUE), local/global case, and text: a
 * symbol is t/T when its section index holds a FUNC symbol or it lies in the kernel's own
 * text ranges (_stext.._etext, _sinittext.._einittext); b/B inside __bss_start..__bss_stop
 * (or in a section index holding such a symbol). What cannot be known without the section
 * headers (sh_flags, sh_type): read-only against writable data (nm's r against d: both are
 * d/D here), NOBITS sections outside the bss markers (.brk: d, nm says b), and non-allocated
 * sections (nm's N, dropped by mksysmap; here d). Text against data, which is what
 * resolution and the text-symbol checks need, is right.
 */
import { FormatError } from '../common/errors';
import { buildIndex, type SymbolIndex } from '../kallsyms/symbolIndex';
import { resolveFrame } from '../log/resolve';
import { scanLine, frameText, type FrameToken } from '../log/scan';
import type { Arch } from './arch';
import type { LogIdentity } from './identity';
import type { Kernel } from './kernels';

export interface SymtabInput {
  /** The `.symtab` section's bytes and its label (URL or cache path) for errors. */
  symtab: Uint8Array;
  symtabName: string;
  strtab: Uint8Array;
  strtabName: string;
  /** ELF class of the kernel: 64 (default; x86_64, arm64, riscv64, ppc64, s390x) or 32 (arm). */
  elfClass?: 32 | 64;
  bigEndian?: boolean;
  /** The largest section accepted (default MAX_SECTION_BYTES). */
  maxBytes?: number;
}

export interface SymtabReport {
  /** Elf_Sym entries in the section (entry 0 included). */
  entries: number;
  /** Symbols kept (System.map lines). */
  symbols: number;
  /** Names of KSYM_NAME_LEN (512) bytes or more, dropped. */
  longNames: number;
}

/** The largest section accepted (a vmlinux .symtab is ~3 MB, an allyesconfig one ~40 MB). */
export const MAX_SECTION_BYTES = 256 << 20;
const KSYM_NAME_LEN = 512;

const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;
const STT_FILE = 4;
const STB_LOCAL = 0;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const DROP_PREFIXES = ['__crc_', '$', '.L', 'L0', '__kstrtab_', '__kstrtabns_'].map(bytes);
const MARKERS = ['_stext', '_etext', '_sinittext', '_einittext', '__bss_start', '__bss_stop'] as const;
type Marker = (typeof MARKERS)[number];
const MARKER_BYTES = MARKERS.map(bytes);

function startsWith(b: Uint8Array, off: number, len: number, p: Uint8Array): boolean {
  if (len < p.length) return false;
  for (let k = 0; k < p.length; k++) if (b[off + k] !== p[k]) return false;
  return true;
}

function containsCrc(b: Uint8Array, off: number, len: number): boolean {
  // mksysmap drops '__crc_' anywhere on the line; symbol names are the only place it can be.
  const p = DROP_PREFIXES[0];
  for (let s = off; s + p.length <= off + len; s++) if (b[s] === 0x5f && startsWith(b, s, off + len - s, p)) return true;
  return false;
}

/**
 * Parse and check the two sections; returns the kept symbols as System.map text (sorted
 * like `nm -n`). Throws FormatError naming the section, the offset and the reason for
 * anything that is not a well-formed symbol table of this class: size not a multiple of
 * the entry size, entry 0 not zero, a local after a global, st_name outside .strtab, a name
 * not NUL-terminated or with control or space bytes.
 */
export function parseSymtabSections(i: SymtabInput): { text: Uint8Array; report: SymtabReport } {
  const is64 = (i.elfClass ?? 64) === 64;
  const ent = is64 ? 24 : 16;
  const { symtab, strtab } = i;
  const max = i.maxBytes ?? MAX_SECTION_BYTES;
  if (symtab.length > max) throw new FormatError(i.symtabName, 0, `.symtab is ${symtab.length} bytes, more than the ${max} accepted`);
  if (strtab.length > max) throw new FormatError(i.strtabName, 0, `.strtab is ${strtab.length} bytes, more than the ${max} accepted`);
  if (symtab.length < ent * 2)
    throw new FormatError(
      i.symtabName,
      0,
      `${symtab.length} bytes: too short for a symbol table (Elf${is64 ? 64 : 32}_Sym is ${ent} bytes)`,
    );
  const rest = symtab.length % ent;
  if (rest !== 0)
    throw new FormatError(
      i.symtabName,
      symtab.length - rest,
      `${symtab.length} bytes is not a multiple of ${ent} (Elf${is64 ? 64 : 32}_Sym): truncated or not a .symtab`,
    );
  if (strtab.length === 0 || strtab[0] !== 0)
    throw new FormatError(i.strtabName, 0, strtab.length === 0 ? 'empty: not a .strtab' : 'does not start with a NUL byte: not a .strtab');
  for (let k = 0; k < ent; k++)
    if (symtab[k] !== 0) throw new FormatError(i.symtabName, k, 'entry 0 (STN_UNDEF) is not all zero: not a .symtab');
  const lastNul = strtab.lastIndexOf(0);
  const dv = new DataView(symtab.buffer, symtab.byteOffset, symtab.byteLength);
  const le = !i.bigEndian;
  const n = symtab.length / ent;
  // Per kept symbol: name offset and length, address halves, letter.
  const nameOff = new Uint32Array(n);
  const nameLen = new Uint16Array(n);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const info = new Uint8Array(n);
  const shndx = new Uint16Array(n);
  let kept = 0;
  let longNames = 0;
  let firstGlobal = -1;
  // Section indexes holding FUNC symbols (text), and the text/bss markers.
  const textSections = new Set<number>();
  const markers = new Map<Marker, bigint>();
  for (let e = 1; e < n; e++) {
    const o = e * ent;
    const stName = dv.getUint32(o, le);
    const stInfo = is64 ? symtab[o + 4] : symtab[o + 12];
    const stShndx = dv.getUint16(o + (is64 ? 6 : 14), le);
    const bind = stInfo >> 4;
    const type = stInfo & 0xf;
    if (bind === STB_LOCAL) {
      if (firstGlobal >= 0)
        throw new FormatError(
          i.symtabName,
          o,
          `symbol ${e} is local after the first global symbol (${firstGlobal}): the locals of an ELF symbol table come first`,
        );
    } else if (firstGlobal < 0) firstGlobal = e;
    if (stName >= strtab.length)
      throw new FormatError(
        i.symtabName,
        o,
        `symbol ${e}: st_name 0x${stName.toString(16)} is past the end of .strtab (${strtab.length} bytes)`,
      );
    if (stName > lastNul)
      throw new FormatError(i.strtabName, stName, `the name of symbol ${e} (.symtab offset 0x${o.toString(16)}) is not NUL-terminated`);
    const window = strtab.subarray(stName, Math.min(strtab.length, stName + KSYM_NAME_LEN + 1));
    let len = window.indexOf(0);
    if (len < 0) len = KSYM_NAME_LEN; // terminated before lastNul, but too long for kallsyms
    for (let k = 0; k < Math.min(len, KSYM_NAME_LEN); k++) {
      const c = strtab[stName + k];
      if (c <= 0x20 || c === 0x7f)
        throw new FormatError(
          i.strtabName,
          stName + k,
          `the name of symbol ${e} (.symtab offset 0x${o.toString(16)}) has byte 0x${c.toString(16).padStart(2, '0')}: not a symbol name`,
        );
    }
    if (type === STT_FUNC && stShndx !== SHN_UNDEF && stShndx < 0xff00) textSections.add(stShndx);
    if (type === STT_SECTION || type === STT_FILE || len === 0 || stShndx === SHN_UNDEF) continue;
    if (len >= KSYM_NAME_LEN) {
      longNames++;
      continue;
    }
    if (stShndx === SHN_ABS && bind === STB_LOCAL) continue; // nm 'a'
    let drop = false;
    for (let p = 1; p < DROP_PREFIXES.length && !drop; p++) drop = startsWith(strtab, stName, len, DROP_PREFIXES[p]);
    if (drop || containsCrc(strtab, stName, len)) continue;
    let vhi: number, vlo: number;
    if (is64) {
      const v = dv.getBigUint64(o + 8, le);
      vhi = Number(v >> 32n);
      vlo = Number(v & 0xffffffffn);
    } else {
      vhi = 0;
      vlo = dv.getUint32(o + 4, le);
    }
    if (strtab[stName] === 0x5f && len <= 11)
      for (let m = 0; m < MARKERS.length; m++)
        if (len === MARKER_BYTES[m].length && startsWith(strtab, stName, len, MARKER_BYTES[m]))
          markers.set(MARKERS[m], (BigInt(vhi) << 32n) | BigInt(vlo));
    nameOff[kept] = stName;
    nameLen[kept] = len;
    hi[kept] = vhi;
    lo[kept] = vlo;
    info[kept] = stInfo;
    shndx[kept] = stShndx;
    kept++;
  }
  const range = (a: Marker, b: Marker) => {
    const s = markers.get(a);
    const t = markers.get(b);
    return s !== undefined && t !== undefined && s < t ? [s, t] : undefined;
  };
  const textRanges = [range('_stext', '_etext'), range('_sinittext', '_einittext')].filter((r) => r !== undefined);
  const bss = range('__bss_start', '__bss_stop');
  const addr = (j: number) => (BigInt(hi[j]) << 32n) | BigInt(lo[j]);
  const bssSections = new Set<number>();
  if (bss)
    for (let j = 0; j < kept; j++) {
      const a = addr(j);
      if (shndx[j] < 0xff00 && a > bss[0] && a < bss[1] && !textSections.has(shndx[j])) bssSections.add(shndx[j]);
    }
  const letter = (j: number): number => {
    const bind = info[j] >> 4;
    const type = info[j] & 0xf;
    const sec = shndx[j];
    let c: string;
    if (sec === SHN_ABS) c = 'A';
    else if (sec === SHN_COMMON) c = 'C';
    else if (bind === STB_GNU_UNIQUE)
      return 0x75; // 'u'
    else if (bind === STB_WEAK)
      return type === STT_OBJECT ? 0x56 : 0x57; // 'V' / 'W': nm prints weak defined upper case
    else {
      const a = addr(j);
      if (textSections.has(sec) || textRanges.some((r) => a >= r[0] && a < r[1])) c = 'T';
      else if (bssSections.has(sec) || (bss && a > bss[0] && a < bss[1])) c = 'B';
      else c = 'D';
    }
    const code = c.charCodeAt(0);
    return bind === STB_LOCAL ? code + 0x20 : code;
  };
  // nm -n: by address, ties by name (strcmp; Kbuild runs nm in the C locale).
  const order = new Uint32Array(kept);
  for (let j = 0; j < kept; j++) order[j] = j;
  order.sort((a, b) => {
    if (hi[a] !== hi[b]) return hi[a] - hi[b];
    if (lo[a] !== lo[b]) return lo[a] - lo[b];
    const la = nameLen[a];
    const lb = nameLen[b];
    const oa = nameOff[a];
    const ob = nameOff[b];
    const m = Math.min(la, lb);
    for (let k = 0; k < m; k++) {
      const d = strtab[oa + k] - strtab[ob + k];
      if (d !== 0) return d;
    }
    return la - lb;
  });
  const digits = is64 ? 16 : 8;
  let total = 0;
  for (let j = 0; j < kept; j++) total += digits + 4 + nameLen[j];
  const out = new Uint8Array(total);
  const HEX = bytes('0123456789abcdef');
  let w = 0;
  for (let q = 0; q < kept; q++) {
    const j = order[q];
    if (is64) {
      for (let k = 7; k >= 0; k--) out[w + 7 - k] = HEX[(hi[j] >>> (k * 4)) & 0xf];
      w += 8;
    }
    for (let k = 7; k >= 0; k--) out[w + 7 - k] = HEX[(lo[j] >>> (k * 4)) & 0xf];
    w += 8;
    out[w++] = 0x20;
    out[w++] = letter(j);
    out[w++] = 0x20;
    out.set(strtab.subarray(nameOff[j], nameOff[j] + nameLen[j]), w);
    w += nameLen[j];
    out[w++] = 0x0a;
  }
  return { text: out, report: { entries: n, symbols: kept, longNames } };
}

/** The symbol index of the two sections (vmlinux symbols; the source is named `label`). Throws FormatError. */
export function symtabIndex(i: SymtabInput, label: string): { index: SymbolIndex; report: SymtabReport } {
  const { text, report } = parseSymtabSections(i);
  if (report.symbols === 0) throw new FormatError(i.symtabName, 0, 'no symbol a kernel would list (System.map) in this .symtab');
  return { index: buildIndex([{ file: label, bytes: text, kind: 'system.map' }]), report };
}

export interface FrameCheck {
  /** vmlinux frames `func+0xoff/0xsize` compared with what the index prints there. */
  checked: number;
  /** Frames whose symbol is not in the index (BPF programs, trampolines): not compared. */
  absent: number;
  /** The first disagreement: raw text. */
  mismatch?: string;
}

/**
 * The log's own vmlinux frames against an index from a fetched .symtab: each
 * `func+0xoff/0xsize` whose symbol is there must be what the kernel prints at that symbol
 * plus offset (the size is the distance to the next symbol, as kallsyms computes it; the
 * ELF st_size is often smaller, alignment padding is not part of it, so st_size is not
 * what a log shows). A log of the kernel the build id names agrees on every frame.
 */
export function checkFrames(index: SymbolIndex, logText: string, maxLines = 20000): FrameCheck {
  const out: FrameCheck = { checked: 0, absent: 0 };
  let pos = 0;
  for (let n = 0; n < maxLines && pos < logText.length; n++) {
    let nl = logText.indexOf('\n', pos);
    if (nl < 0) nl = logText.length;
    const line = logText.slice(pos, Math.min(nl, pos + 4096));
    pos = nl + 1;
    if (!line.includes('+0x')) continue;
    for (const t of scanLine(line)) {
      if (t.kind !== 'frame' || t.module || t.offset === undefined || t.size === undefined) continue;
      const f = t as FrameToken;
      const r = resolveFrame(index, f);
      if (r.candidates.length === 0) {
        out.absent++;
        continue;
      }
      out.checked++;
      if (!r.matchesLog && !out.mismatch) {
        const printed = frameText(f, { buildId: false });
        const sizes = [...new Set(r.candidates.map((c) => c.size).filter((s) => s !== undefined))].map((s) => `0x${s!.toString(16)}`);
        out.mismatch = `the log's ${printed} is not in it (${f.name} is ${sizes.length ? sizes.join(' or ') : 'of unknown size'} there)`;
      }
    }
  }
  return out;
}

/**
 * The kernel of symbols fetched by vmlinux build id: what the log says of itself (release,
 * version, architecture) plus the build id, so the selection picks it by build id and
 * nothing else of another kernel is mixed in (it has no modules, BTF or debug file of its own).
 */
export function symtabKernel(id: LogIdentity, buildId: string, selected: string): Kernel {
  const release = id.release?.value;
  return {
    label: `${release ?? `build id ${buildId.slice(0, 12)}…`} (debuginfod .symtab)`,
    kind: 'snapshot',
    dir: selected,
    release,
    version: id.version?.value,
    arch: id.arch?.value,
    buildId,
    problems: [],
  };
}

/**
 * The ELF class and byte order of a kernel of this architecture: x86, arm32 and ppc are
 * ELF32; s390 and ppc are big-endian; ppc64 is taken as little-endian (ppc64el, what the
 * distributions that run debuginfod servers ship).
 */
export function elfLayoutOf(arch: Arch | undefined): { elfClass: 32 | 64; bigEndian: boolean } {
  return { elfClass: arch === 'x86' || arch === 'arm32' || arch === 'ppc' ? 32 : 64, bigEndian: arch === 's390' || arch === 'ppc' };
}
