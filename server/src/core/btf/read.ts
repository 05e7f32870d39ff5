/**
 * Reading BTF files (raw BTF such as /sys/kernel/btf/vmlinux, or the `.BTF` section
 * of an ELF file, compressed or not) and `ksym btf --stats`: per-kind counts from one
 * walk over the raw records. Nothing here needs the BTF reader (core/btf/btf.ts) or
 * the C renderer, so the `--stats` path loads only this. store.ts builds on it.
 */
import { closeSync, readSync } from 'node:fs';
import { formatBytes, openGuarded, readAllGuarded, type GuardOptions } from '../common/readGuarded';
import { parseHeader } from './header';
import { Kind, KIND_NAMES, MAX_KIND, type BtfKindName } from './kinds';
import { BTF_MAX_TYPE, indexTypes } from './raw';
import { BtfStrings, encodeName } from './strings';
import type { BtfStats } from './types';
import { scanTypes, walkTypes } from './walk';
import { decompressModule, decompressModuleSync, detectCompression } from '../modules/decompress';
import { isElf, parseElf } from '../modules/elf';
import { FormatError } from '../common/errors';

export const DEFAULT_BTF = '/sys/kernel/btf/vmlinux';

/** ELF files above this size are not read whole: only their `.BTF` section is (a vmlinux with DWARF can be 1 GiB). */
const WHOLE_ELF_LIMIT = 64 << 20;
/** Largest raw or compressed BTF file, and largest .BTF section (a vmlinux's BTF is ~6 MiB). */
const MAX_BTF_BYTES = 256 << 20;
/** Largest ELF file whose .BTF section is read by offset. */
const MAX_BTF_ELF_BYTES = 16 * 2 ** 30;
const BTF_WHAT = 'BTF file (raw BTF, or an ELF file with a .BTF section)';
/** Whole reads: raw BTF and small or compressed ELF files (procfs/sysfs allowed: /sys/kernel/btf). */
const WHOLE: GuardOptions = { maxBytes: MAX_BTF_BYTES, what: BTF_WHAT, pseudo: true };

// ---- reading one file ---------------------------------------------------------------------

export interface BtfBytes {
  /** The raw BTF blob (a view: of the file buffer, of its decompressed image, or of one ELF section read alone). */
  bytes: Uint8Array;
  /** 'raw' BTF file, or the `.BTF` section of an ELF file. */
  container: 'raw' | 'elf';
  /** Bytes read from disk. */
  fileBytes: number;
}

function btfOfElf(image: Uint8Array, file: string): Uint8Array {
  const elf = parseElf(image, file);
  const sec = elf.sectionByName('.BTF');
  if (!sec)
    throw new FormatError(
      file,
      0,
      'ELF file has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF / CONFIG_DEBUG_INFO_BTF_MODULES?)',
    );
  const b = elf.btf();
  if (!b || b.length === 0) throw new FormatError(file, sec.offset, 'the .BTF section is empty');
  return b;
}

/** Read exactly `len` bytes at `pos`, or throw a FormatError. */
function preadExact(fd: number, file: string, buf: Uint8Array, pos: number, what: string): void {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n <= 0)
      throw new FormatError(file, pos + got, `${what} (${buf.length} bytes at 0x${pos.toString(16)}) extends past the end of the file`);
    got += n;
  }
}

/** The `.BTF` section of a large ELF file, read alone (headers first, then only that section). */
function readElfBtfSection(fd: number, file: string, size: number): Uint8Array {
  const id = new Uint8Array(64);
  preadExact(fd, file, id, 0, 'ELF header');
  const is64 = id[4] === 2;
  if (id[4] !== 1 && id[4] !== 2) throw new FormatError(file, 4, `unknown ELF class ${id[4]}`);
  if (id[5] !== 1 && id[5] !== 2) throw new FormatError(file, 5, `unknown ELF data encoding ${id[5]}`);
  const le = id[5] === 1;
  const dv = new DataView(id.buffer);
  const u64 = (d: DataView, o: number) => d.getUint32(o + (le ? 4 : 0), le) * 0x100000000 + d.getUint32(o + (le ? 0 : 4), le);
  const shoff = is64 ? u64(dv, 40) : dv.getUint32(32, le);
  const shentsize = dv.getUint16(is64 ? 58 : 46, le);
  let shnum = dv.getUint16(is64 ? 60 : 48, le);
  let shstrndx = dv.getUint16(is64 ? 62 : 50, le);
  const minEnt = is64 ? 64 : 40;
  if (shoff === 0) throw new FormatError(file, is64 ? 40 : 32, 'ELF file has no section headers');
  if (shentsize < minEnt) throw new FormatError(file, is64 ? 58 : 46, `ELF section header size ${shentsize} is smaller than ${minEnt}`);
  const sh0 = new Uint8Array(shentsize);
  preadExact(fd, file, sh0, shoff, 'section header 0');
  const d0 = new DataView(sh0.buffer);
  if (shnum === 0) shnum = is64 ? u64(d0, 32) : d0.getUint32(20, le);
  if (shstrndx === 0xffff) shstrndx = d0.getUint32(is64 ? 40 : 24, le);
  if (shnum * shentsize > size) throw new FormatError(file, shoff, `${shnum} section headers do not fit in the file`);
  const table = new Uint8Array(shnum * shentsize);
  preadExact(fd, file, table, shoff, 'section header table');
  const td = new DataView(table.buffer);
  const sec = (i: number) => {
    const o = i * shentsize;
    return is64
      ? { name: td.getUint32(o, le), type: td.getUint32(o + 4, le), offset: u64(td, o + 24), size: u64(td, o + 32) }
      : { name: td.getUint32(o, le), type: td.getUint32(o + 4, le), offset: td.getUint32(o + 16, le), size: td.getUint32(o + 20, le) };
  };
  if (shstrndx >= shnum) throw new FormatError(file, shoff, `section name table index ${shstrndx} is past the ${shnum} sections`);
  const ss = sec(shstrndx);
  if (ss.offset + ss.size > size)
    throw new FormatError(file, shoff + shstrndx * shentsize, 'section name table extends past the end of the file');
  const names = new Uint8Array(ss.size);
  preadExact(fd, file, names, ss.offset, 'section name table');
  const want = encodeName('.BTF\0');
  for (let i = 1; i < shnum; i++) {
    const s = sec(i);
    if (s.name + want.length > names.length) continue;
    let eq = true;
    for (let k = 0; k < want.length && eq; k++) eq = names[s.name + k] === want[k];
    if (!eq) continue;
    if (s.type === 8 /* SHT_NOBITS */ || s.size === 0) throw new FormatError(file, shoff + i * shentsize, 'the .BTF section is empty');
    if (s.offset + s.size > size)
      throw new FormatError(
        file,
        shoff + i * shentsize,
        `.BTF section (${s.size} bytes at 0x${s.offset.toString(16)}) extends past the end of the file`,
      );
    if (s.size > MAX_BTF_BYTES)
      throw new FormatError(
        file,
        shoff + i * shentsize,
        `.BTF section of ${formatBytes(s.size)}: more than the ${formatBytes(MAX_BTF_BYTES)} limit`,
      );
    const out = new Uint8Array(s.size);
    preadExact(fd, file, out, s.offset, '.BTF section');
    return out;
  }
  throw new FormatError(file, 0, 'ELF file has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)');
}

function fromImage(image: Uint8Array, file: string, fileBytes: number): BtfBytes {
  if (isElf(image)) return { bytes: btfOfElf(image, file), container: 'elf', fileBytes };
  return { bytes: image, container: 'raw', fileBytes };
}

/**
 * Read a BTF blob: raw BTF (/sys/kernel/btf/*, .btf dumps) or the `.BTF` section of
 * an ELF file (vmlinux, .ko), gzip/zstd-compressed or not. Throws FormatError or an
 * I/O error (callers use errMessage). xz needs the async variant.
 */
export function readBtfBytesSync(file: string): BtfBytes {
  const g = openGuarded(file, { ...WHOLE, maxBytes: MAX_BTF_ELF_BYTES });
  try {
    if (g.size > WHOLE_ELF_LIMIT) {
      const head = new Uint8Array(4);
      const n = g.readAt(head, 0, 0, 4);
      if (n === 4 && isElf(head)) return { bytes: readElfBtfSection(g.fd, file, g.size), container: 'elf', fileBytes: g.size };
    }
    // sysfs files report size 4096 or the real size: read to the end, under the budget.
    const image = readAllGuarded(g, WHOLE);
    if (image.length === 0) throw new FormatError(file, 0, 'empty file');
    const c = detectCompression(image);
    if (c === 'xz') throw new FormatError(file, 0, 'xz-compressed: needs the asynchronous loader');
    return fromImage(c === 'none' ? image : decompressModuleSync(image, file), file, image.length);
  } finally {
    g.close();
  }
}

export async function readBtfBytes(file: string): Promise<BtfBytes> {
  try {
    return readBtfBytesSync(file);
  } catch (e) {
    if (!(e instanceof FormatError) || !/xz-compressed/.test(e.reason)) throw e;
  }
  const g = openGuarded(file, WHOLE);
  let image: Uint8Array;
  try {
    image = readAllGuarded(g, WHOLE);
  } finally {
    g.close();
  }
  return fromImage(await decompressModule(image, file), file, image.length);
}

// ---- fast statistics (no name index, nothing decoded) ------------------------------------------------

/** What `Btf.stats()` gives, from one pass over the raw records, for the file it read. */
export interface BtfQuickStats extends BtfStats {
  file: string;
}

/**
 * A blob, or for a raw BTF file read only in part: `bytes` has the file's length but
 * only the ranges given to `fetch` (and the first page) are read; `fd` for reading
 * the type records in chunks.
 */
interface RawSource {
  bytes: Uint8Array;
  fetch?: (pos: number, len: number) => void;
  /** The guarded file's pread (until `len` bytes or the end of the file), when the file is read in parts. */
  readAt?: (buf: Uint8Array, off: number, pos: number, len: number) => number;
}

interface RawBlob {
  bytes: Uint8Array;
  fetch?: (pos: number, len: number) => void;
  le: boolean;
  strings: BtfStrings;
  /** Records. */
  count: number;
  /** Kind of the record with id firstId + i. */
  kindAt: (i: number) => number;
  kindCounts: Uint32Array;
  namedFuncs: number;
  /** Per DECL_TAG, 4 words: record offset, name_off, type, component_idx. */
  declTags: Uint32Array;
  firstId: number;
  base?: RawBlob;
}

/** Thrown by a read that met the end of the file early (the file changed): the whole file is read instead. */
const SHORT_READ = new Error('short read');

/**
 * A raw, uncompressed BTF file, to be read only where the statistics look: its
 * header, its type records (in chunks, see scanTypes), the first and last byte of its
 * string section (which the reader checks) and the few names compared. For
 * /sys/kernel/btf/vmlinux that leaves out ~40% of the file (the strings). undefined
 * for anything else (ELF, compressed, not a regular file, unreadable): those are
 * read whole.
 */
function openRawPartial(file: string, fds: number[]): RawSource | undefined {
  let g;
  try {
    g = openGuarded(file, WHOLE);
  } catch {
    return undefined; // readBtfBytesSync reports it
  }
  fds.push(g.fd);
  const readAt = g.readAt;
  const st = { size: g.size };
  if (st.size === 0) return undefined;
  const bytes = new Uint8Array(st.size); // pages never written are never touched
  const head = Math.min(st.size, 4096);
  if (readAt(bytes, 0, 0, head) !== head) return undefined;
  if (isElf(bytes) || detectCompression(bytes) !== 'none') return undefined;
  const done = new Map<number, number>(); // pos -> bytes read there
  const fetch = (pos: number, len: number) => {
    if (pos + len <= head || (done.get(pos) ?? -1) >= len) return;
    done.set(pos, len);
    if (readAt(bytes, pos, pos, len) !== len) throw SHORT_READ;
  };
  return { bytes, fetch, readAt };
}

/**
 * The record walk (core/btf/walk.ts: counts, kinds, DECL_TAGs) with the reader's
 * checks; anything unexpected is reported by the reader's own indexTypes.
 */
function rawIndex(src: RawSource, file: string, base?: RawBlob): RawBlob {
  const { bytes, fetch, readAt } = src;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = parseHeader(bytes, dv, file);
  if (fetch && h.strEnd > h.strStart) {
    fetch(h.strStart, 1);
    fetch(h.strEnd - 1, 1);
  }
  const baseLen = base ? base.strings.total : 0;
  const strings = new BtfStrings(bytes, h.strStart, h.strEnd - h.strStart, baseLen, base?.strings, file);
  const firstId = base ? base.firstId + base.count : 1;
  const le = h.littleEndian;
  const ok = (count: number, maxRef: number) => maxRef <= firstId + count - 1 && firstId + count - 1 <= BTF_MAX_TYPE;
  if (readAt && le) {
    const read = (buf: Uint8Array, pos: number, len: number) => {
      if (readAt(buf, 0, pos, len) !== len) throw SHORT_READ;
    };
    const s = scanTypes(read, h.typeStart, h.typeEnd, strings.total);
    if (s && ok(s.count, s.maxRef)) {
      const kinds = s.kinds;
      return {
        bytes,
        fetch,
        le,
        strings,
        count: s.count,
        kindAt: (i) => kinds[i],
        kindCounts: s.kindCounts,
        namedFuncs: s.namedFuncs,
        declTags: s.declTags,
        firstId,
        base,
      };
    }
  }
  // The records in memory: walked, or on bad input reported by the reader's indexTypes.
  fetch?.(h.typeStart, h.typeEnd - h.typeStart);
  const w = walkTypes(bytes, h.typeStart, h.typeEnd, strings.total, le);
  const r =
    w && ok(w.offsets.length, w.maxRef)
      ? w
      : indexTypes(bytes, dv, h, strings, firstId, file, base ? '' : ' (split BTF loaded without its base?)');
  const offsets = r.offsets;
  const kindAt = (i: number) => (dv.getUint32(offsets[i] + 4, le) >>> 24) & 0x1f;
  const tagOffsets = w ? Array.from(w.declTags) : Array.from(offsets).filter((o, i) => kindAt(i) === Kind.DECL_TAG);
  const declTags = new Uint32Array(4 * tagOffsets.length);
  tagOffsets.forEach((o, t) => declTags.set([o, dv.getUint32(o, le), dv.getUint32(o + 8, le), dv.getUint32(o + 12, le)], 4 * t));
  return {
    bytes,
    fetch,
    le,
    strings,
    count: offsets.length,
    kindAt,
    kindCounts: r.kindCounts,
    namedFuncs: r.namedFuncs,
    declTags,
    firstId,
    base,
  };
}

/** Index `file` (split over `base`), reading a raw file only in part. */
function quickIndex(file: string, base: RawBlob | undefined, fds: number[]): RawBlob {
  const part = openRawPartial(file, fds);
  if (part) {
    try {
      return rawIndex(part, file, base);
    } catch (e) {
      if (e !== SHORT_READ) throw e;
    }
  }
  return rawIndex({ bytes: readBtfBytesSync(file).bytes }, file, base);
}

/** Make the first `len` bytes of string `off` readable (a partly read file). */
function fetchString(b: RawBlob, off: number, len: number): void {
  for (let o: RawBlob | undefined = b; o; o = o.base) {
    const s = o.strings;
    if (off < s.baseLen) continue;
    const pos = s.posOf(off);
    o.fetch?.(pos, Math.min(len, s.start + s.length - pos));
    return;
  }
}

function rawKind(b: RawBlob, id: number): number {
  for (let o: RawBlob | undefined = b; o; o = o.base) {
    if (id >= o.firstId && id < o.firstId + o.count) return o.kindAt(id - o.firstId);
  }
  return 0;
}

/**
 * Per-kind counts, named FUNCs and kfuncs of a BTF file (split over `baseFile`),
 * with the reader's validation of headers, records and strings but without the
 * name index (which `ksym btf --stats` does not need). Throws FormatError / I/O errors.
 */
export function quickStatsSync(file: string, baseFile?: string): BtfQuickStats {
  const fds: number[] = [];
  try {
    const base = baseFile ? quickIndex(baseFile, undefined, fds) : undefined;
    const b = quickIndex(file, base, fds);
    const kinds = {} as Record<BtfKindName, number>;
    for (let k = 1; k <= MAX_KIND; k++) kinds[KIND_NAMES[k] as BtfKindName] = b.kindCounts[k];
    const want = encodeName('bpf_kfunc');
    const kf = new Set<number>();
    const tags = b.declTags;
    const isKfunc = new Map<number, boolean>(); // by name offset: deduplicated BTF names all share one
    for (let t = 0; t < tags.length; t += 4) {
      if (tags[t + 3] !== 0xffffffff) continue; // component_idx -1: the tag is on the declaration itself
      const name = tags[t + 1];
      let yes = isKfunc.get(name);
      if (yes === undefined) {
        fetchString(b, name, want.length + 1);
        isKfunc.set(name, (yes = b.strings.compare(name, want) === 0));
      }
      const target = tags[t + 2];
      if (yes && target >= b.firstId && rawKind(b, target) === Kind.FUNC) kf.add(target);
    }
    return { file, types: b.count, kinds, namedFuncs: b.namedFuncs, kfuncs: kf.size, firstId: b.firstId, lastId: b.firstId + b.count - 1 };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
