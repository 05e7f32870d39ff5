/**
 * BtfStore: the vmlinux BTF (setting `ksym.btf`, default /sys/kernel/btf/vmlinux)
 * loaded once, and per-module split BTF found lazily:
 *
 *   1. /sys/kernel/btf/<mod>, when it exists and the base is the live vmlinux;
 *   2. else the `.BTF` section of the module's `.ko` (found through a lookup
 *      function, e.g. ModuleStore.filesOf), parsed as split BTF over the base.
 *
 * Files are read into one buffer each and never copied again (the Btf keeps a
 * view of it; an ELF's `.BTF` section is a subarray). The public API never
 * throws: failures are messages naming the file, the byte offset and the reason.
 * A failed reload keeps the previous good BTF serving.
 */
import { describeError } from './loader';
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, Kind, parseBtf, type BtfStats } from './core/btf';
import { parseHeader } from './core/btf/header';
import { hasTypeRef, KIND_NAMES, MAX_KIND, trailingSize, type BtfKindName } from './core/btf/kinds';
import { BTF_MAX_TYPE, indexTypes, type RawIndex } from './core/btf/raw';
import { BtfStrings, encodeName } from './core/btf/strings';
import { decompressModule, decompressModuleSync, detectCompression } from './core/decompress';
import { parseElf } from './core/elf';
import { FormatError } from './core/errors';

export const DEFAULT_BTF = '/sys/kernel/btf/vmlinux';
export const DEFAULT_SYSFS_BTF = '/sys/kernel/btf';

/** ELF files above this size are not read whole: only their `.BTF` section is (a vmlinux with DWARF can be 1 GiB). */
const WHOLE_ELF_LIMIT = 64 << 20;

// ---- errors -----------------------------------------------------------------------------

function errMessage(e: unknown, file: string): string {
  return describeError(file, e, 'a BTF file');
}

// ---- reading one file ---------------------------------------------------------------------

export interface BtfBytes {
  /** The raw BTF blob (a view: of the file buffer, of its decompressed image, or of one ELF section read alone). */
  bytes: Uint8Array;
  /** 'raw' BTF file, or the `.BTF` section of an ELF file. */
  container: 'raw' | 'elf';
  /** Bytes read from disk. */
  fileBytes: number;
}

function asU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

function btfOfElf(image: Uint8Array, file: string): Uint8Array {
  const elf = parseElf(image, file);
  const sec = elf.sectionByName('.BTF');
  if (!sec) throw new FormatError(file, 0, 'ELF file has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF / CONFIG_DEBUG_INFO_BTF_MODULES?)');
  const b = elf.btf();
  if (!b || b.length === 0) throw new FormatError(file, sec.offset, 'the .BTF section is empty');
  return b;
}

/** Read exactly `len` bytes at `pos`, or throw a FormatError. */
function preadExact(fd: number, file: string, buf: Uint8Array, pos: number, what: string): void {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n <= 0) throw new FormatError(file, pos + got, `${what} (${buf.length} bytes at 0x${pos.toString(16)}) extends past the end of the file`);
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
  if (ss.offset + ss.size > size) throw new FormatError(file, shoff + shstrndx * shentsize, 'section name table extends past the end of the file');
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
    if (s.offset + s.size > size) throw new FormatError(file, shoff + i * shentsize, `.BTF section (${s.size} bytes at 0x${s.offset.toString(16)}) extends past the end of the file`);
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
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.size > WHOLE_ELF_LIMIT) {
      const head = new Uint8Array(4);
      const n = readSync(fd, head, 0, 4, 0);
      if (n === 4 && isElf(head)) return { bytes: readElfBtfSection(fd, file, st.size), container: 'elf', fileBytes: st.size };
    }
    // sysfs files report size 4096 or the real size; readFileSync handles both.
    const image = asU8(readFileSync(fd));
    if (image.length === 0) throw new FormatError(file, 0, 'empty file');
    const c = detectCompression(image);
    if (c === 'xz') throw new FormatError(file, 0, 'xz-compressed: needs the asynchronous loader');
    return fromImage(c === 'none' ? image : decompressModuleSync(image, file), file, image.length);
  } finally {
    closeSync(fd);
  }
}

export async function readBtfBytes(file: string): Promise<BtfBytes> {
  try {
    return readBtfBytesSync(file);
  } catch (e) {
    if (!(e instanceof FormatError) || !/xz-compressed/.test(e.reason)) throw e;
  }
  const image = asU8(readFileSync(file));
  return fromImage(await decompressModule(image, file), file, image.length);
}

// ---- split BTF consistency ---------------------------------------------------------------------

/**
 * Problems showing that split BTF was parsed over a base it was not built for
 * (empty when consistent). Checked: every name offset that points into the base's
 * strings starts a string there, FUNCs point at FUNC_PROTOs, member/parameter/
 * reference targets are of kinds that can be used as types.
 */
export function splitMismatches(split: Btf, max = 5): string[] {
  const base = split.base;
  if (!base) return [];
  const out: string[] = [];
  const baseStr = base.strings;
  const baseLen = split.strings.baseLen;
  const nameOk = (off: number) => {
    if (off === 0 || off >= baseLen) return true;
    const buf = baseStr.bufOf(off);
    return buf[baseStr.posOf(off) - 1] === 0;
  };
  const isTypeKind = (id: number) => {
    if (id === 0) return true;
    const k = split.kindOf(id);
    return k !== Kind.FUNC && k !== Kind.VAR && k !== Kind.DATASEC && k !== Kind.DECL_TAG;
  };
  const note = (id: number, what: string) => {
    if (out.length < max) out.push(`[${id}] ${split.kindName(id)} '${split.nameOf(id)}': ${what}`);
  };
  for (let id = split.firstId; id <= split.lastId && out.length < max; id++) {
    const off = split.recordOffset(id);
    const nameOff = new DataView(split.bytes.buffer, split.bytes.byteOffset + off, 4).getUint32(0, split.header.littleEndian);
    if (!nameOk(nameOff)) {
      note(id, `name offset ${nameOff} points into the middle of a base string`);
      continue;
    }
    const k = split.kindOf(id);
    const ref = split.sizeOrType(id);
    try {
      switch (k) {
        case Kind.FUNC:
          if (split.kindOf(ref) !== Kind.FUNC_PROTO) note(id, `FUNC refers to [${ref}] ${split.kindName(ref)}, not a FUNC_PROTO`);
          break;
        case Kind.PTR:
        case Kind.TYPEDEF:
        case Kind.CONST:
        case Kind.VOLATILE:
        case Kind.RESTRICT:
        case Kind.TYPE_TAG:
        case Kind.VAR:
          if (!isTypeKind(ref)) note(id, `refers to [${ref}] ${split.kindName(ref)}, which is not a type`);
          break;
        case Kind.STRUCT:
        case Kind.UNION: {
          const t = split.byId(id);
          if (t && (t.kind === 'STRUCT' || t.kind === 'UNION')) {
            for (const m of t.members) {
              if (!isTypeKind(m.type) || m.type === 0) {
                note(id, `member '${m.name}' has type [${m.type}] ${split.kindName(m.type)}`);
                break;
              }
            }
          }
          break;
        }
        case Kind.FUNC_PROTO: {
          const t = split.byId(id);
          if (t && t.kind === 'FUNC_PROTO') {
            if (!isTypeKind(t.returnType)) note(id, `returns [${t.returnType}] ${split.kindName(t.returnType)}`);
            else for (const p of t.params) if (!isTypeKind(p.type) || p.type === 0) { note(id, `parameter '${p.name}' has type [${p.type}] ${split.kindName(p.type)}`); break; }
          }
          break;
        }
      }
    } catch (e) {
      note(id, e instanceof Error ? e.message : String(e));
    }
  }
  return out;
}

// ---- loading one file --------------------------------------------------------------------------

export type BtfFileResult =
  | { ok: true; btf: Btf; file: string; container: 'raw' | 'elf'; fileBytes: number; millis: number }
  | { ok: false; file: string; error: string };

function parseLoaded(file: string, b: BtfBytes, base: Btf | undefined, t0: number): BtfFileResult {
  let btf: Btf;
  try {
    btf = parseBtf(b.bytes, file, base);
  } catch (e) {
    const msg = errMessage(e, file);
    if (base) {
      return { ok: false, file, error: `${msg} (split BTF in ${file} does not match the base ${base.file}?)` };
    }
    return { ok: false, file, error: msg };
  }
  if (base) {
    const bad = splitMismatches(btf);
    if (bad.length) {
      return {
        ok: false,
        file,
        error: `${file}: split BTF does not match the base ${base.file} (${base.lastId} types): built for a different kernel? e.g. ${bad.slice(0, 3).join('; ')}`,
      };
    }
  }
  return { ok: true, btf, file, container: b.container, fileBytes: b.fileBytes, millis: performance.now() - t0 };
}

/** Load raw BTF or an ELF's `.BTF` (split over `base` when given). Never throws (xz-compressed input fails; use loadBtfFile). */
export function loadBtfFileSync(file: string, base?: Btf): BtfFileResult {
  const t0 = performance.now();
  let b: BtfBytes;
  try {
    b = readBtfBytesSync(file);
  } catch (e) {
    return { ok: false, file, error: errMessage(e, file) };
  }
  return parseLoaded(file, b, base, t0);
}

/** Load raw BTF or an ELF's `.BTF` (any compression; split over `base` when given). Never throws. */
export async function loadBtfFile(file: string, base?: Btf): Promise<BtfFileResult> {
  const t0 = performance.now();
  let b: BtfBytes;
  try {
    b = await readBtfBytes(file);
  } catch (e) {
    return { ok: false, file, error: errMessage(e, file) };
  }
  return parseLoaded(file, b, base, t0);
}

// ---- fast statistics (no name index, nothing decoded) ------------------------------------------------

/** What `Btf.stats()` gives, from one pass over the raw records, for the file it read. */
export interface BtfQuickStats extends BtfStats {
  file: string;
}

interface RawBlob {
  bytes: Uint8Array;
  dv: DataView;
  le: boolean;
  strings: BtfStrings;
  offsets: Uint32Array;
  kindCounts: Uint32Array;
  namedFuncs: number;
  /** Record offsets of the DECL_TAGs. */
  declTags: number[];
  firstId: number;
  base?: RawBlob;
}

// Record layout per kind, from the reader's own table: trailing bytes = FIXED[k] + PER_VLEN[k] * vlen.
const FIXED = new Int32Array(32).fill(-1);
const PER_VLEN = new Int32Array(32);
const TYPE_REF = new Uint8Array(32);
for (let k = 1; k <= MAX_KIND; k++) {
  FIXED[k] = trailingSize(k, 0);
  PER_VLEN[k] = trailingSize(k, 1) - FIXED[k];
  TYPE_REF[k] = hasTypeRef(k) ? 1 : 0;
}

/**
 * One pass: record offsets and counts, checking each record's kind, extent, name
 * offset and type references. Returns undefined on anything unexpected: the caller
 * then runs the reader's indexTypes, which reports the problem precisely.
 */
function fastIndex(dv: DataView, le: boolean, typeStart: number, typeEnd: number, strTotal: number, firstId: number): (Omit<RawIndex, 'namedCount'> & { declTags: number[] }) | undefined {
  const cap = Math.floor((typeEnd - typeStart) / 12);
  const offsets = new Uint32Array(cap);
  const kindCounts = new Uint32Array(MAX_KIND + 1);
  let n = 0;
  let namedFuncs = 0;
  let maxRef = 0;
  const declTags: number[] = [];
  let off = typeStart;
  while (off < typeEnd) {
    if (off + 12 > typeEnd) return undefined;
    const nameOff = dv.getUint32(off, le);
    const info = dv.getUint32(off + 4, le);
    const k = (info >>> 24) & 0x1f;
    const fixed = FIXED[k];
    if (fixed < 0 || nameOff >= strTotal) return undefined;
    if (k === Kind.FUNC && nameOff !== 0) namedFuncs++;
    else if (k === Kind.DECL_TAG) declTags.push(off);
    if (TYPE_REF[k] === 1) {
      const t = dv.getUint32(off + 8, le);
      if (t > maxRef) maxRef = t;
    } else if (k === Kind.ARRAY && off + 24 <= typeEnd) {
      const t = Math.max(dv.getUint32(off + 12, le), dv.getUint32(off + 16, le));
      if (t > maxRef) maxRef = t;
    }
    kindCounts[k]++;
    offsets[n++] = off;
    off += 12 + fixed + PER_VLEN[k] * (info & 0xffff);
  }
  if (off !== typeEnd) return undefined;
  const lastId = firstId + n - 1;
  if (maxRef > lastId || lastId > BTF_MAX_TYPE) return undefined;
  return { offsets: offsets.subarray(0, n), kindCounts, namedFuncs, declTags };
}

function rawIndex(bytes: Uint8Array, file: string, base?: RawBlob): RawBlob {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = parseHeader(bytes, dv, file);
  const baseLen = base ? base.strings.total : 0;
  const strings = new BtfStrings(bytes, h.strStart, h.strEnd - h.strStart, baseLen, base?.strings, file);
  const firstId = base ? base.firstId + base.offsets.length : 1;
  const le = h.littleEndian;
  const fast = fastIndex(dv, le, h.typeStart, h.typeEnd, strings.total, firstId);
  if (fast) return { bytes, dv, le, strings, ...fast, firstId, base };
  const r = indexTypes(bytes, dv, h, strings, firstId, file, base ? '' : ' (split BTF loaded without its base?)');
  const declTags: number[] = [];
  for (const o of r.offsets) if (((dv.getUint32(o + 4, le) >>> 24) & 0x1f) === Kind.DECL_TAG) declTags.push(o);
  return { bytes, dv, le, strings, offsets: r.offsets, kindCounts: r.kindCounts, namedFuncs: r.namedFuncs, declTags, firstId, base };
}

function rawKind(b: RawBlob, id: number): number {
  for (let o: RawBlob | undefined = b; o; o = o.base) {
    if (id >= o.firstId && id < o.firstId + o.offsets.length) return (o.dv.getUint32(o.offsets[id - o.firstId] + 4, o.le) >>> 24) & 0x1f;
  }
  return 0;
}

/**
 * Per-kind counts, named FUNCs and kfuncs of a BTF file (split over `baseFile`),
 * with the reader's validation of headers, records and strings but without the
 * name index (which `ksym btf --stats` does not need). Throws FormatError / I/O errors.
 */
export function quickStatsSync(file: string, baseFile?: string): BtfQuickStats {
  let base: RawBlob | undefined;
  if (baseFile) base = rawIndex(readBtfBytesSync(baseFile).bytes, baseFile);
  const b = rawIndex(readBtfBytesSync(file).bytes, file, base);
  const kinds = {} as Record<BtfKindName, number>;
  for (let k = 1; k <= MAX_KIND; k++) kinds[KIND_NAMES[k] as BtfKindName] = b.kindCounts[k];
  const want = encodeName('bpf_kfunc');
  const kf = new Set<number>();
  for (const o of b.declTags) {
    if (b.dv.getInt32(o + 12, b.le) !== -1) continue;
    if (b.strings.compare(b.dv.getUint32(o, b.le), want) !== 0) continue;
    const target = b.dv.getUint32(o + 8, b.le);
    if (target >= b.firstId && rawKind(b, target) === Kind.FUNC) kf.add(target);
  }
  return { file, types: b.offsets.length, kinds, namedFuncs: b.namedFuncs, kfuncs: kf.size, firstId: b.firstId, lastId: b.firstId + b.offsets.length - 1 };
}

// ---- the store ------------------------------------------------------------------------------------

export type ModuleFileLookup = (module: string) => readonly string[] | Promise<readonly string[]>;

export interface BtfStoreOptions {
  /** vmlinux BTF: raw BTF or an ELF with a .BTF section (default /sys/kernel/btf/vmlinux). */
  path?: string;
  /** Module files (.ko, .ko.gz/.xz/.zst) by module name, in preference order (e.g. ModuleStore.filesOf). */
  moduleFiles?: ModuleFileLookup;
  /** Where the running kernel exposes BTF (default /sys/kernel/btf). */
  sysfsDir?: string;
}

export interface BtfLoadReport {
  ok: boolean;
  /** The file asked for. */
  file: string;
  /** Types in the BTF now serving (the previous one when this load failed). */
  types: number;
  millis: number;
  /** Nothing was read: the same file was already loaded and is unchanged. */
  cached?: boolean;
  /** The error, naming file, offset and reason (ok: false). */
  error?: string;
}

export interface ModuleBtfResult {
  module: string;
  btf?: Btf;
  /** File the split BTF came from. */
  source?: string;
  /** Why there is no module BTF (or notes about rejected candidates). */
  message?: string;
}

interface Loaded {
  btf: Btf;
  file: string;
  key: string;
  live: boolean;
}

function normModule(name: string): string {
  return name.trim().replace(/^\[|\]$/g, '').replace(/-/g, '_');
}

function fileKey(file: string): string {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

function real(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

export class BtfStore {
  private opts: Required<Omit<BtfStoreOptions, 'moduleFiles'>> & { moduleFiles?: ModuleFileLookup };
  private cur: Loaded | undefined;
  private lastError: string | undefined;
  private readonly modules = new Map<string, ModuleBtfResult>();
  private readonly pending = new Map<string, Promise<ModuleBtfResult>>();
  private generation = 0;

  constructor(opts: BtfStoreOptions = {}) {
    this.opts = { path: opts.path || DEFAULT_BTF, sysfsDir: opts.sysfsDir || DEFAULT_SYSFS_BTF, moduleFiles: opts.moduleFiles };
  }

  /** The configured vmlinux BTF path. */
  get path(): string {
    return this.opts.path;
  }

  /** The vmlinux BTF serving now (undefined until a load succeeded). */
  get vmlinux(): Btf | undefined {
    return this.cur?.btf;
  }

  /** The file the serving BTF came from. */
  get file(): string | undefined {
    return this.cur?.file;
  }

  /** Whether the serving base is this machine's running kernel (/sys/kernel/btf/vmlinux). */
  get isLive(): boolean {
    return this.cur?.live ?? false;
  }

  /** The error of the last vmlinux load, if it failed. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Errors worth showing: the last load error and every module that could not be loaded. */
  messages(): string[] {
    const out: string[] = [];
    if (this.lastError) out.push(this.lastError);
    for (const m of this.modules.values()) if (!m.btf && m.message) out.push(m.message);
    return out;
  }

  /** Change settings; a changed path takes effect at the next load(). A new lookup clears module results. */
  configure(opts: BtfStoreOptions): void {
    if (opts.path !== undefined) this.opts.path = opts.path || DEFAULT_BTF;
    if (opts.sysfsDir !== undefined) this.opts.sysfsDir = opts.sysfsDir || DEFAULT_SYSFS_BTF;
    if ('moduleFiles' in opts) {
      this.opts.moduleFiles = opts.moduleFiles;
      this.clearModules();
    }
  }

  /** Forget module results (e.g. after the module store rescanned). */
  clearModules(): void {
    this.modules.clear();
    this.pending.clear();
    this.generation++;
  }

  /**
   * Load (or reload) the vmlinux BTF from `path` (default: the configured path,
   * which `path` replaces). An unchanged file already loaded is not read again
   * unless `force`. A failure keeps the previous BTF. Never throws.
   */
  loadSync(path?: string, opts: { force?: boolean } = {}): BtfLoadReport {
    return this.finish(this.begin(path, opts), (file) => loadBtfFileSync(file));
  }

  /** As loadSync, also for xz-compressed inputs. Never throws (the promise never rejects). */
  async load(path?: string, opts: { force?: boolean } = {}): Promise<BtfLoadReport> {
    const b = this.begin(path, opts);
    if ('report' in b) return b.report;
    let r: BtfFileResult;
    try {
      r = await loadBtfFile(b.file);
    } catch (e) {
      r = { ok: false, file: b.file, error: errMessage(e, b.file) };
    }
    return this.finish(b, () => r);
  }

  private begin(path: string | undefined, opts: { force?: boolean }): { report: BtfLoadReport } | { file: string; key: string; t0: number } {
    if (path) this.opts.path = path;
    const file = this.opts.path;
    const t0 = performance.now();
    const key = fileKey(file);
    if (!opts.force && this.cur && this.cur.file === file && key !== '' && this.cur.key === key) {
      this.lastError = undefined;
      return { report: { ok: true, file, types: this.cur.btf.types, millis: performance.now() - t0, cached: true } };
    }
    return { file, key, t0 };
  }

  private finish(b: { report: BtfLoadReport } | { file: string; key: string; t0: number }, load: (file: string) => BtfFileResult): BtfLoadReport {
    if ('report' in b) return b.report;
    let r: BtfFileResult;
    try {
      r = load(b.file);
    } catch (e) {
      r = { ok: false, file: b.file, error: errMessage(e, b.file) };
    }
    const millis = performance.now() - b.t0;
    if (!r.ok) {
      this.lastError = this.cur ? `${r.error} (still using ${this.cur.file})` : r.error;
      return { ok: false, file: b.file, types: this.cur?.btf.types ?? 0, millis, error: r.error };
    }
    let live = false;
    try {
      live = real(b.file) === real(join(this.opts.sysfsDir, 'vmlinux'));
    } catch {
      live = false;
    }
    this.cur = { btf: r.btf, file: b.file, key: b.key, live };
    this.lastError = undefined;
    this.clearModules();
    return { ok: true, file: b.file, types: r.btf.types, millis };
  }

  /** A module's BTF if it was already loaded (or failed): no I/O. */
  cachedModule(module: string): ModuleBtfResult | undefined {
    return this.modules.get(normModule(module));
  }

  /**
   * A module's split BTF over the vmlinux base, loaded on first use and cached
   * (failures too, until the base or the module lookup changes). Never rejects.
   */
  module(module: string): Promise<ModuleBtfResult> {
    const name = normModule(module);
    const got = this.modules.get(name);
    if (got) return Promise.resolve(got);
    const p = this.pending.get(name);
    if (p) return p;
    const gen = this.generation;
    const q = this.loadModule(name).then(
      (r) => r,
      (e) => ({ module: name, message: `module ${name}: ${errMessage(e, name)}` }),
    ).then((r) => {
      if (gen === this.generation) {
        this.modules.set(name, r);
        this.pending.delete(name);
      }
      return r;
    });
    this.pending.set(name, q);
    return q;
  }

  private async loadModule(name: string): Promise<ModuleBtfResult> {
    const cur = this.cur;
    if (!cur) return { module: name, message: `module ${name}: no vmlinux BTF loaded${this.lastError ? ` (${this.lastError})` : ''}` };
    if (!name || /[/\\\0]/.test(name) || name === '.' || name === '..') return { module: name, message: `module ${JSON.stringify(name)}: not a module name` };
    const base = cur.btf;
    const notes: string[] = [];
    if (cur.live) {
      const sys = join(this.opts.sysfsDir, name);
      let exists = false;
      try {
        exists = statSync(sys).isFile();
      } catch {
        exists = false;
      }
      if (exists) {
        const r = loadBtfFileSync(sys, base);
        if (r.ok) return { module: name, btf: r.btf, source: sys };
        notes.push(r.error);
      }
    }
    let files: readonly string[] = [];
    if (this.opts.moduleFiles) {
      try {
        files = (await this.opts.moduleFiles(name)) ?? [];
      } catch (e) {
        notes.push(`module ${name}: module file lookup failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const f of files) {
      const r = await loadBtfFile(f, base);
      if (r.ok) return { module: name, btf: r.btf, source: f, message: notes.length ? notes.join('; ') : undefined };
      notes.push(r.error);
    }
    if (notes.length) return { module: name, message: `module ${name}: no usable BTF: ${notes.join('; ')}` };
    const where = [cur.live ? join(this.opts.sysfsDir, name) : undefined, this.opts.moduleFiles ? 'no .ko file found by the module store' : 'no module directories configured'].filter(Boolean).join(', ');
    return { module: name, message: `module ${name}: no BTF found (${where})` };
  }
}
