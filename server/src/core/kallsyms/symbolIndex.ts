/**
 * The kallsyms index: every symbol of the loaded sources in columnar typed arrays,
 * sorted by address (ties in source order), plus a sorted name index.
 *
 * Resolution follows the kernel (kernel/kallsyms.c get_symbol_pos / is_ksym_addr,
 * kernel/module/kallsyms.c find_kallsyms_symbol): the last symbol at or below the
 * address, the first alias in kallsyms order, size to the next higher address.
 */
import { HOST_LE } from '../common/host';
import { hiOf, loOf, toBig } from '../common/addr';
import { columnPasses, type ColumnScan, duplicateNames, latin1, ParseReport, SymbolColumns, SourceKind, parseKallsymsInto } from './parse';

export type ModuleKind = 'vmlinux' | 'module' | 'pseudo';

export interface SourceInfo {
  file: string;
  kind: SourceKind;
  report: ParseReport;
}

export interface SymbolInfo {
  /** Position in address order (the index's own id for the symbol). */
  id: number;
  name: string;
  address: bigint;
  type: string;
  /** Module name, undefined for vmlinux. */
  module?: string;
  moduleKind: ModuleKind;
  /** Distance to the next higher symbol of the same object; undefined when unknown. */
  size?: number;
  /** 1-based line in its source file. */
  line: number;
  source: string;
}

export interface Resolution {
  sym: SymbolInfo;
  /** Offset of the looked-up address from the symbol (for %pB: already +1). */
  offset: number;
  /** The text the kernel prints: `name+0xoff/0xsize [mod]`. */
  text: string;
  /** Looked up like %pB (return address: addr-1, offset+1). */
  returnAddress: boolean;
  /** Set when the symbol's end is not known (last symbol of a module or BPF area). */
  sizeUnknown: boolean;
}

const UNKNOWN_SIZE = 0xffffffff;
/**
 * Lookups answered without the lookup structures before they are built: a one-shot command
 * (`ksym lookup NAME|ADDR`) asks once or twice, and a scan of the names (~2 ms) or a binary
 * search over the addresses costs less than the name sort (~60 ms) or the bucket table; a
 * long-lived index (the server, decode of a long log) builds them on the next query.
 */
const NAME_SCANS = 8;
const PLAIN_FLOORS = 256;
/** How far past the last symbol of a module/BPF group an address is still attributed to it. */
const TAIL_LIMIT = 0x10000;

export interface IndexMessages {
  errors: string[];
  warnings: string[];
}

export class SymbolIndex {
  readonly count: number;
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly type: Uint8Array;
  readonly nameOff: Uint32Array;
  readonly nameLen: Uint16Array;
  readonly mod: Uint16Array;
  readonly line: Uint32Array;
  readonly src: Uint8Array;
  /** Source order of each (address-ordered) symbol; undefined when they are the same. */
  private readonly perm?: Uint32Array;
  /** Per-type and per-module counts from the build's column pass, for stats() (parse.ts ColumnScan). */
  private readonly scanCounts: Pick<ColumnScan, 'perType' | 'typeFirst' | 'perModule'>;
  private orderCache?: Uint32Array;
  /** Lookup table over the longest high-half run: bucket b's symbols start at bucketStart[b]. */
  private buckets?: { start: Uint32Array; base: number; shift: number };
  /** Distance to the next higher address in the same object (UNKNOWN_SIZE when none). */
  readonly size: Uint32Array;
  /** Symbol ids sorted by name bytes, then source order. */
  private byName?: Uint32Array;
  private nameScans = 0;
  private lastScan?: { name: string; ids: number[] };
  private plainFloors = 0;
  /** Name bytes: the source text until compactNames(), then the names back to back. */
  private nameBytes: Uint8Array;
  private compacted = false;
  readonly modules: string[];
  readonly moduleKinds: ModuleKind[];
  readonly sources: SourceInfo[];
  readonly messages: IndexMessages;
  /** CONFIG_KALLSYMS_ALL inferred from the presence of data symbols. */
  readonly kallsymsAll: boolean;
  readonly addressDigits: number;
  /** The longest run of symbols sharing one high half: [start, end) in address order. */
  private hiRun?: { hi: number; start: number; end: number };
  private stext?: bigint;
  private etext?: bigint;
  private sinittext?: bigint;
  private einittext?: bigint;
  private end?: bigint;

  constructor(cols: SymbolColumns, sources: SourceInfo[], messages: IndexMessages) {
    this.sources = sources;
    this.messages = messages;
    this.modules = cols.modules;
    this.moduleKinds = cols.modules.map((m, i) => (i === 0 ? 'vmlinux' : isPseudoModule(m) ? 'pseudo' : 'module'));
    this.nameBytes = cols.names;
    this.addressDigits = sources.some((s) => s.report.addressDigits === 16) || sources.length === 0 ? 16 : 8;

    const keep = sources.length > 1 ? keepMask(cols) : undefined;
    // Counts, the high-half run and (for input already in address order) the sizes, in wasm.
    let pass = keep ? undefined : columnPasses(cols.hi, cols.lo, cols.mod, cols.type, cols.n, cols.modules.length);
    // undefined: already in address order (System.map, most of /proc/kallsyms): no permutation.
    const perm = pass?.scan.sorted ? undefined : sortByAddress(cols, keep);
    const n = perm ? perm.length : cols.n;
    this.count = n;
    this.hi = take32(cols.hi, perm, n);
    this.lo = take32(cols.lo, perm, n);
    this.type = take8(cols.type, perm, n);
    this.nameOff = take32(cols.nameOff, perm, n);
    this.nameLen = take16(cols.nameLen, perm, n);
    this.mod = take16(cols.mod, perm, n);
    this.line = take32(cols.line, perm, n);
    this.src = take8(cols.src, perm, n);
    this.perm = perm;
    if (!pass?.sizes) pass = columnPasses(this.hi, this.lo, this.mod, this.type, n, cols.modules.length, pass?.memory);
    this.size = pass.sizes ?? new Uint32Array(n).fill(UNKNOWN_SIZE);
    this.hiRun = n > 0 ? pass.scan.run : undefined;
    const { vmlinux, vmlinuxData } = pass.scan;
    this.scanCounts = pass.scan;
    this.kallsymsAll = vmlinux > 0 && vmlinuxData * 20 > vmlinux;
    // Section markers, found with one pass over short vmlinux names (no name index needed:
    // it is built on first use, so that serving addresses does not wait for it).
    // (_end only matters with CONFIG_KALLSYMS_ALL, and without it the kernel does not list it: not searched for.)
    const markers = ['_stext', '_text', '_etext', '_sinittext', '_einittext', ...(this.kallsymsAll ? ['_end'] : [])];
    const m = findMarkers(this, markers, !perm, cols.marksComplete ? cols.marks : undefined);
    this.stext = m.get('_stext') ?? m.get('_text');
    this.etext = m.get('_etext');
    this.sinittext = m.get('_sinittext');
    this.einittext = m.get('_einittext');
    this.end = m.get('_end');
  }

  /** Position of symbol i in its sources (kallsyms order). */
  orderOf(i: number): number {
    return this.perm ? this.perm[i] : i;
  }

  /** Source order of every symbol, as an array (materialized on first use). */
  get order(): Uint32Array {
    if (this.perm) return this.perm;
    if (!this.orderCache) {
      const o = new Uint32Array(this.count);
      for (let i = 0; i < o.length; i++) o[i] = i;
      this.orderCache = o;
    }
    return this.orderCache;
  }

  // ---- names -------------------------------------------------------------

  get names(): Uint8Array {
    return this.nameBytes;
  }

  /**
   * Move the names out of the source text into a buffer of their own, which lets the text go.
   * Deferred work: the server runs it right after "ready" (buildNameIndex does it first).
   */
  compactNames(): void {
    if (this.compacted) return;
    this.compacted = true;
    const n = this.count;
    const off = this.nameOff;
    const len = this.nameLen;
    let total = 0;
    for (let i = 0; i < n; i++) total += len[i];
    const src = this.nameBytes;
    const out = new Uint8Array(total);
    let q = 0;
    for (let i = 0; i < n; i++) {
      const o = off[i];
      const l = len[i];
      for (let k = 0; k < l; k++) out[q + k] = src[o + k];
      off[i] = q;
      q += l;
    }
    this.nameBytes = out;
  }

  nameOf(i: number): string {
    return latin1(this.names, this.nameOff[i], this.nameOff[i] + this.nameLen[i]);
  }

  addressOf(i: number): bigint {
    return toBig(this.hi[i], this.lo[i]);
  }

  moduleOf(i: number): string | undefined {
    return this.mod[i] === 0 ? undefined : this.modules[this.mod[i]];
  }

  info(i: number): SymbolInfo {
    const sz = this.size[i];
    const m = this.mod[i];
    return {
      id: i,
      name: this.nameOf(i),
      address: this.addressOf(i),
      type: String.fromCharCode(this.type[i]),
      module: m === 0 ? undefined : this.modules[m],
      moduleKind: this.moduleKinds[m],
      size: sz === UNKNOWN_SIZE ? undefined : sz,
      line: this.line[i],
      source: this.sources[this.src[i]]?.file ?? '',
    };
  }

  private nameIndex(): Uint32Array {
    if (this.byName) return this.byName;
    this.compactNames();
    this.byName = sortByName(this.names, this.nameOff, this.nameLen, this.perm);
    return this.byName;
  }

  /** Build the name index now (it is otherwise built on first use). */
  buildNameIndex(): void {
    this.nameIndex();
  }

  /** Position in the name index of the first name >= key (binary search on bytes). */
  private lowerBound(key: Uint8Array): number {
    const idx = this.nameIndex();
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareName(this.names, this.nameOff[idx[mid]], this.nameLen[idx[mid]], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Every symbol named exactly `name`, in source (kallsyms) order. */
  byNameAll(name: string): number[] {
    const key = encodeLatin1(name);
    if (!this.byName && this.lastScan?.name === name) return [...this.lastScan.ids];
    if (!this.byName && this.nameScans++ < NAME_SCANS) {
      const ids = this.scanName(key);
      this.lastScan = { name, ids }; // a query asks for its name more than once (resolve, then sympos)
      return [...ids];
    }
    const idx = this.nameIndex();
    const out: number[] = [];
    for (let k = this.lowerBound(key); k < idx.length; k++) {
      const i = idx[k];
      if (compareName(this.names, this.nameOff[i], this.nameLen[i], key) !== 0) break;
      out.push(i);
    }
    return out;
  }

  /** byNameAll by one pass over the name lengths and bytes (no name index). */
  private scanName(key: Uint8Array): number[] {
    const names = this.names;
    const off = this.nameOff;
    const len = this.nameLen;
    const n = key.length;
    const first = n > 0 ? key[0] : -1;
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      if (len[i] !== n) continue;
      const o = off[i];
      if (n > 0 && names[o] !== first) continue;
      let k = 1;
      while (k < n && names[o + k] === key[k]) k++;
      if (k >= n) out.push(i);
    }
    return this.perm ? out.sort((a, b) => this.perm![a] - this.perm![b]) : out;
  }

  /** Symbols whose name starts with `prefix`, in name order, at most `limit`. */
  byPrefix(prefix: string, limit: number): number[] {
    const key = encodeLatin1(prefix);
    const idx = this.nameIndex();
    const out: number[] = [];
    for (let k = this.lowerBound(key); k < idx.length && out.length < limit; k++) {
      const i = idx[k];
      if (this.nameLen[i] < key.length || compareBytes(this.names, this.nameOff[i], key, key.length) !== 0) break;
      out.push(i);
    }
    return out;
  }

  /** Same-name symbols in the same object as `i` (kallsyms order), and i's 1-based position. */
  sameName(i: number): { all: number[]; inObject: number[]; position: number } {
    const all = this.byNameAll(this.nameOf(i));
    const inObject = all.filter((j) => this.mod[j] === this.mod[i]);
    return { all, inObject, position: inObject.indexOf(i) + 1 };
  }

  // ---- addresses ---------------------------------------------------------

  /** Index of the last symbol whose address is <= addr, or -1. */
  floor(hi: number, lo: number): number {
    let a = 0;
    let b = this.count;
    const H = this.hi;
    const L = this.lo;
    hi >>>= 0;
    lo >>>= 0;
    // Kernel addresses share the high half (0xffffffff...): search the low halves of that run only.
    const r = this.hiRun;
    if (r && hi === r.hi) {
      if (!this.buckets && this.plainFloors++ < PLAIN_FLOORS) {
        a = r.start;
        b = r.end;
        while (a < b) {
          const m = (a + b) >>> 1;
          if (L[m] <= lo) a = m + 1;
          else b = m;
        }
        return a - 1;
      }
      // A bucket table over the low halves narrows the search to a few symbols.
      const t = this.buckets ?? (this.buckets = bucketTable(L, r.start, r.end));
      if (lo < t.base) return r.start - 1;
      const k = (lo - t.base) >>> t.shift;
      if (k + 1 >= t.start.length) return r.end - 1;
      a = t.start[k];
      b = t.start[k + 1];
      while (a < b) {
        const m = (a + b) >>> 1;
        if (L[m] <= lo) a = m + 1;
        else b = m;
      }
      return a - 1;
    }
    while (a < b) {
      const m = (a + b) >>> 1;
      const h = H[m];
      if (h < hi || (h === hi && L[m] <= lo)) a = m + 1;
      else b = m;
    }
    return a - 1;
  }

  /** First symbol (in kallsyms order) at the same address as symbol i, within the same object. */
  firstAlias(i: number): number {
    const h = this.hi[i];
    const l = this.lo[i];
    const m = this.mod[i];
    let j = i;
    while (j > 0 && this.hi[j - 1] === h && this.lo[j - 1] === l) j--;
    // Prefer the first alias of the same object (mixed sources at one address are rare).
    for (let k = j; k <= i; k++) if (this.mod[k] === m) return k;
    return i;
  }

  /** All symbols at exactly the address of symbol i (aliases), in kallsyms order. */
  aliases(i: number): number[] {
    const h = this.hi[i];
    const l = this.lo[i];
    let j = i;
    while (j > 0 && this.hi[j - 1] === h && this.lo[j - 1] === l) j--;
    const out: number[] = [];
    for (; j < this.count && this.hi[j] === h && this.lo[j] === l; j++) out.push(j);
    return out;
  }

  /** Whether the kernel would look this address up in vmlinux (is_ksym_addr). */
  private isKsymAddr(a: bigint): boolean {
    const inText = this.stext !== undefined && this.etext !== undefined && a >= this.stext && a < this.etext;
    const inInit = this.sinittext !== undefined && this.einittext !== undefined && a >= this.sinittext && a < this.einittext;
    if (this.kallsymsAll && this.stext !== undefined && this.end !== undefined) return a >= this.stext && a < this.end;
    if (this.stext === undefined || this.etext === undefined) return true; // markers absent: trust sizes
    return inText || inInit;
  }

  private vmlinuxEnd(a: bigint): bigint | undefined {
    if (this.sinittext !== undefined && this.einittext !== undefined && a >= this.sinittext && a < this.einittext) return this.einittext;
    if (this.kallsymsAll && this.end !== undefined) return this.end;
    return this.etext;
  }

  /**
   * Resolve an address like the kernel's %pS (returnAddress=false) or %pB
   * (returnAddress=true: look up addr-1 and print offset+1).
   */
  resolve(address: bigint, returnAddress = false): Resolution | undefined {
    const a = returnAddress ? address - 1n : address;
    if (a < 0n || a >= 1n << 64n) return undefined;
    const p = this.floor(hiOf(a), loOf(a));
    if (p < 0) return undefined;
    const i = this.firstAlias(p);
    const base = this.addressOf(i);
    const m = this.mod[i];
    let size: number | undefined = this.size[i] === UNKNOWN_SIZE ? undefined : this.size[i];
    let sizeUnknown = false;
    if (m === 0) {
      if (!this.isKsymAddr(a)) return undefined;
      if (size === undefined) {
        const e = this.vmlinuxEnd(a);
        if (e === undefined || e <= base) return undefined;
        size = Number(e - base);
      }
    } else if (size === undefined) {
      sizeUnknown = true;
    }
    const off = Number(a - base);
    if (size !== undefined && off >= size) return undefined;
    if (sizeUnknown && off >= TAIL_LIMIT) return undefined;
    const printedOff = returnAddress ? off + 1 : off;
    const info = this.info(i);
    if (size !== undefined) info.size = size;
    return {
      sym: info,
      offset: printedOff,
      text: kernelForm(info.name, printedOff, size, info.module, info.moduleKind),
      returnAddress,
      sizeUnknown,
    };
  }

  /** Statistics for `ksym stats` and the "Show Index Statistics" command. */
  /** Names occurring more than once and the symbols carrying them, from the sorted name index. */
  private duplicatesSorted(idx: Uint32Array): { dupNames: number; dupSyms: number } {
    let dupNames = 0;
    let dupSyms = 0;
    let run = 1;
    for (let k = 1; k <= idx.length; k++) {
      const same = k < idx.length && this.sameNameBytes(idx[k], idx[k - 1]);
      if (same) run++;
      else {
        if (run > 1) {
          dupNames++;
          dupSyms += run;
        }
        run = 1;
      }
    }
    return { dupNames, dupSyms };
  }

  /** The same counts without sorting: an open-addressing table of symbol ids keyed by the name's FNV-1a hash. */
  private duplicatesHashed(): { dupNames: number; dupSyms: number } {
    const n = this.count;
    let size = 1;
    while (size < n * 2) size <<= 1;
    const mask = size - 1;
    const slot = new Int32Array(size).fill(-1);
    const times = new Uint32Array(size);
    const names = this.names;
    const off = this.nameOff;
    const len = this.nameLen;
    let dupNames = 0;
    let dupSyms = 0;
    for (let i = 0; i < n; i++) {
      const o = off[i];
      const l = len[i];
      // FNV-1a over 4-byte words, then the last 0-3 bytes (a quarter of the multiplies)
      let h = 0x811c9dc5 ^ l;
      let k = 0;
      for (; k + 4 <= l; k += 4)
        h = Math.imul(h ^ (names[o + k] | (names[o + k + 1] << 8) | (names[o + k + 2] << 16) | (names[o + k + 3] << 24)), 0x01000193);
      for (; k < l; k++) h = Math.imul(h ^ names[o + k], 0x01000193);
      h ^= h >>> 15; // the low bits pick the slot: mix the high ones in
      let p = (h >>> 0) & mask;
      while (slot[p] >= 0 && !this.sameNameBytes(slot[p], i)) p = (p + 1) & mask;
      if (slot[p] < 0) slot[p] = i;
      const t = ++times[p];
      if (t === 2) {
        dupNames++;
        dupSyms += 2;
      } else if (t > 2) dupSyms++;
    }
    return { dupNames, dupSyms };
  }

  private sameNameBytes(a: number, b: number): boolean {
    const l = this.nameLen[a];
    if (l !== this.nameLen[b]) return false;
    const names = this.names;
    const oa = this.nameOff[a];
    const ob = this.nameOff[b];
    for (let k = 0; k < l; k++) if (names[oa + k] !== names[ob + k]) return false;
    return true;
  }

  stats(): IndexStats {
    // counted by the build's column pass (parse.ts columnPasses)
    const { perType, typeFirst, perModule } = this.scanCounts;
    // in order of first appearance, as a per-symbol record would list them
    const byType: Record<string, number> = {};
    const order: number[] = [];
    for (let t = 0; t < 256; t++) if (perType[t]) order.push(t);
    order.sort((a, b) => typeFirst[a] - typeFirst[b]);
    for (const t of order) byType[String.fromCharCode(t)] = perType[t];
    // Duplicate names: one pass with a hash table (the name index when it is built anyway).
    const { dupNames, dupSyms } = this.byName
      ? this.duplicatesSorted(this.byName)
      : (duplicateNames(this.names, this.nameOff, this.nameLen, this.count) ?? this.duplicatesHashed());
    const modules: { name: string; kind: ModuleKind; symbols: number }[] = [];
    for (let m = 1; m < this.modules.length; m++) {
      if (perModule[m] > 0) modules.push({ name: this.modules[m], kind: this.moduleKinds[m], symbols: perModule[m] });
    }
    return {
      symbols: this.count,
      vmlinuxSymbols: perModule[0],
      modules: modules.filter((m) => m.kind === 'module').length,
      pseudoModules: modules.filter((m) => m.kind === 'pseudo').length,
      moduleList: modules,
      duplicateNames: dupNames,
      symbolsWithDuplicateNames: dupSyms,
      byType,
      kallsymsAll: this.kallsymsAll,
      sources: this.sources.map((s) => ({ file: s.file, kind: s.kind, symbols: s.report.symbols, skippedLines: s.report.problemCount })),
    };
  }
}

export interface IndexStats {
  symbols: number;
  vmlinuxSymbols: number;
  modules: number;
  pseudoModules: number;
  moduleList: { name: string; kind: ModuleKind; symbols: number }[];
  duplicateNames: number;
  symbolsWithDuplicateNames: number;
  byType: Record<string, number>;
  kallsymsAll: boolean;
  sources: { file: string; kind: SourceKind; symbols: number; skippedLines: number }[];
}

/**
 * Buckets of equal width over the low halves of symbols [start, end) (sorted): bucket k holds
 * the symbols whose low half is in [base + k << shift, base + (k+1) << shift), from start[k] to
 * start[k+1]. About one bucket per symbol, at most 2^20 (4 MiB).
 */
function bucketTable(L: Uint32Array, start: number, end: number): { start: Uint32Array; base: number; shift: number } {
  const base = L[start];
  const span = L[end - 1] - base;
  let bits = 1;
  while (bits < 20 && 2 ** bits < end - start) bits++;
  let shift = 0;
  while (shift < 32 && Math.floor(span / 2 ** shift) >= 2 ** bits) shift++;
  const nb = Math.floor(span / 2 ** shift) + 1;
  const t = new Uint32Array(nb + 1);
  let i = start;
  for (let k = 0; k <= nb; k++) {
    while (i < end && (L[i] - base) / 2 ** shift < k) i++;
    t[k] = i;
  }
  return { start: t, base, shift };
}

/** Addresses of the first vmlinux symbol (kallsyms order) of each marker name. */
function findMarkers(idx: SymbolIndex, wanted: string[], sourceOrder: boolean, marks?: readonly number[]): Map<string, bigint> {
  if (sourceOrder && marks) return markersFromParse(idx, wanted, marks);
  return (sourceOrder ? findMarkersInText(idx, wanted) : undefined) ?? scanMarkers(idx, wanted);
}

/**
 * The same from the parse's list of possible markers (parse.wat: every vmlinux name of 4 to
 * 10 bytes starting with '_' and ending in "text", or "_end"), for input in address order
 * where the index is the input order: the first of each name wins, and a name not in the
 * list is absent (every line went through that pass). No search of the text.
 */
function markersFromParse(idx: SymbolIndex, wanted: string[], marks: readonly number[]): Map<string, bigint> {
  const found = new Map<string, bigint>();
  const want = new Set(wanted);
  for (const i of marks) {
    if (idx.mod[i] !== 0) continue;
    const name = idx.nameOf(i);
    if (want.has(name) && !found.has(name)) found.set(name, idx.addressOf(i));
  }
  return found;
}

/**
 * The same, with a native search of the text for " NAME\n" (no pass over every symbol; one
 * pass for all the names ending in the same 4 bytes):
 * for input in address order only, where name offsets ascend with the symbol index, so a
 * hit maps back to its symbol by binary search. A marker the kernel does not have (`_end`
 * without CONFIG_KALLSYMS_ALL) is absent when every line ends with its name and '\n' (no
 * CR, no blank before the newline: a vmlinux name can end nowhere else); undefined
 * otherwise (CRLF text, trailing blanks, no final newline...): then scanMarkers decides.
 */
function findMarkersInText(idx: SymbolIndex, wanted: string[]): Map<string, bigint> | undefined {
  if (idx.count === 0) return undefined;
  const text = Buffer.from(idx.names.buffer, idx.names.byteOffset, idx.names.length);
  const found = new Map<string, bigint>();
  let plainLines: boolean | undefined;
  const absenceIsCertain = () =>
    (plainLines ??=
      text.length > 0 && text[text.length - 1] === 0x0a && text.indexOf('\r') < 0 && text.indexOf(' \n') < 0 && text.indexOf('\t\n') < 0);
  /** The vmlinux symbol whose name is `name` and starts at `off`, if that line was indexed. */
  const symbolAt = (off: number, name: string): number => {
    let lo = 0;
    let hi = idx.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idx.nameOff[mid] < off) lo = mid + 1;
      else hi = mid;
    }
    return lo < idx.count && idx.nameOff[lo] === off && idx.nameLen[lo] === name.length && idx.mod[lo] === 0 ? lo : -1;
  };
  // Names sharing their last 4 bytes (_stext, _text, _etext, _sinittext, _einittext: "text")
  // are found in one pass over the text: every "text\n" is checked against each of them.
  const groups = new Map<string, string[]>();
  for (const name of wanted) {
    const key = name.length >= 4 ? name.slice(-4) : name;
    groups.set(key, [...(groups.get(key) ?? []), name]);
  }
  for (const [suffix, names] of groups) {
    const needle = Buffer.from(`${suffix}\n`, 'latin1');
    const left = new Set(names);
    for (let at = text.indexOf(needle); at >= 0 && left.size > 0; at = text.indexOf(needle, at + 1)) {
      const lineEnd = at + suffix.length;
      for (const name of left) {
        const off = lineEnd - name.length;
        if (off < 1 || text[off - 1] !== 0x20 || text.toString('latin1', off, lineEnd) !== name) continue;
        const i = symbolAt(off, name);
        if (i < 0) continue;
        found.set(name, idx.addressOf(i));
        left.delete(name);
        break;
      }
    }
    if (left.size > 0 && !absenceIsCertain()) return undefined;
  }
  return found;
}

function scanMarkers(idx: SymbolIndex, wanted: string[]): Map<string, bigint> {
  const keys = wanted.map(encodeLatin1);
  const maxLen = Math.max(...keys.map((k) => k.length));
  const found = new Map<string, bigint>();
  const firstOrder = new Map<string, number>();
  for (let i = 0; i < idx.count; i++) {
    const len = idx.nameLen[i];
    if (idx.mod[i] !== 0 || len > maxLen || idx.names[idx.nameOff[i]] !== 0x5f) continue;
    for (let k = 0; k < keys.length; k++) {
      if (keys[k].length !== len || compareBytes(idx.names, idx.nameOff[i], keys[k], len) !== 0) continue;
      const prev = firstOrder.get(wanted[k]);
      if (prev === undefined || idx.orderOf(i) < prev) {
        firstOrder.set(wanted[k], idx.orderOf(i));
        found.set(wanted[k], idx.addressOf(i));
      }
    }
  }
  return found;
}

function isPseudoModule(name: string): boolean {
  return name === 'bpf' || name.startsWith('__builtin__');
}

/** `name+0xoff/0xsize [mod]` as the kernel prints it (BPF and ftrace pseudo modules get no suffix). */
export function kernelForm(name: string, off: number, size: number | undefined, mod: string | undefined, kind: ModuleKind): string {
  let s = `${name}+0x${off.toString(16)}`;
  if (size !== undefined) s += `/0x${size.toString(16)}`;
  if (mod && kind === 'module') s += ` [${mod}]`;
  return s;
}

// ---- building ---------------------------------------------------------------

export interface SourceInput {
  file: string;
  bytes: Uint8Array;
  kind: SourceKind;
}

/** Parse all sources into one index. Throws FormatError only when a source is not text. */
export function buildIndex(inputs: SourceInput[]): SymbolIndex {
  const steps = buildIndexSteps(inputs);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * buildIndex in steps: it yields after each source is parsed, so a caller may stop the
 * build between sources (a cancelled or superseded reindex: core/kallsyms/load.ts).
 */
export function* buildIndexSteps(inputs: SourceInput[]): Generator<void, SymbolIndex, void> {
  const total = inputs.reduce((s, x) => s + x.bytes.length, 0);
  const cols = new SymbolColumns(Math.ceil(total / 32) + 16);
  const sources: SourceInfo[] = [];
  const messages: IndexMessages = { errors: [], warnings: [] };
  for (const [k, inp] of inputs.entries()) {
    const report = parseKallsymsInto(cols, inp.bytes, inp.file, inp.kind, k);
    sources.push({ file: inp.file, kind: inp.kind, report });
    if (report.stubSystemMap) {
      messages.errors.push(
        `${inp.file}: this is the one-line placeholder System.map shipped by distribution image packages; the real one is in the matching -dbg package`,
      );
    } else if (report.symbols === 0) {
      messages.errors.push(`${inp.file}: no symbols found`);
    }
    if (report.hiddenAddresses) {
      messages.errors.push(
        `${inp.file}: all addresses are zero: they are hidden by kernel.kptr_restrict or a missing ` +
          `CAP_SYSLOG; read it as root or run 'sysctl kernel.kptr_restrict=1' (or 0)`,
      );
    }
    if (report.problemCount > 0) {
      const first = report.problems
        .slice(0, 5)
        .map((p) => `line ${p.line}: ${p.reason}`)
        .join('; ');
      messages.warnings.push(
        `${inp.file}: skipped ${report.problemCount} malformed line(s) (${first}${report.problemCount > 5 ? '; ...' : ''})`,
      );
    }
    yield;
  }
  return new SymbolIndex(cols, sources, messages);
}

// ---- helpers ----------------------------------------------------------------

/** Keep vmlinux symbols only from the first source that has any, and each module from the first source that has it. */
function keepMask(cols: SymbolColumns): Uint8Array | undefined {
  const n = cols.n;
  const owner = new Int16Array(cols.modules.length).fill(-1);
  let dropped = false;
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const m = cols.mod[i];
    if (owner[m] === -1) owner[m] = cols.src[i];
    if (owner[m] === cols.src[i]) keep[i] = 1;
    else dropped = true;
  }
  return dropped ? keep : undefined;
}

/**
 * Source positions in address order, ties in source order (the caller has found the columns
 * out of order, or drops symbols of later sources). `before` is a total order (source
 * position breaks every tie), so the result does not depend on how the runs are merged.
 * Temporaries: one scratch array the size of the result (the merges go back and forth
 * between it and `ids`) and the short runs' sort keys.
 */
function sortByAddress(cols: SymbolColumns, keep: Uint8Array | undefined): Uint32Array {
  const H = cols.hi;
  const L = cols.lo;
  let ids: Uint32Array<ArrayBuffer>;
  if (keep) {
    let k = 0;
    for (let i = 0; i < cols.n; i++) k += keep[i];
    ids = new Uint32Array(k);
    k = 0;
    for (let i = 0; i < cols.n; i++) if (keep[i]) ids[k++] = i;
  } else {
    ids = new Uint32Array(cols.n);
    for (let i = 0; i < cols.n; i++) ids[i] = i;
  }
  const n = ids.length;
  // kallsyms is mostly in order: vmlinux in one long ascending run, modules in symtab order
  // (short runs). Long runs are kept as they are; the symbols of short runs are sorted
  // natively (packedSort); then everything is merged.
  const tmp = new Uint32Array(n);
  const runs: number[] = [];
  let p = 0; // tmp[0, p): the short runs' symbols, in source order
  for (let s = 0; s < n;) {
    let e = s + 1;
    while (e < n && !before(H, L, ids[e], ids[e - 1])) e++;
    if (e - s >= LONG_RUN) runs.push(s, e);
    else for (let k = s; k < e; k++) tmp[p++] = ids[k];
    s = e;
  }
  // Sorted segments side by side in tmp: the short runs' symbols, then each long run.
  const bounds = [0];
  if (p > 0) {
    packedSort(H, L, tmp.subarray(0, p));
    bounds.push(p);
  }
  for (let r = 0, q = p; r < runs.length; r += 2) {
    tmp.set(ids.subarray(runs[r], runs[r + 1]), q);
    q += runs[r + 1] - runs[r];
    bounds.push(q);
  }
  // Bottom-up merges of neighbouring segments (few: the long runs and the short runs' block).
  let from = tmp;
  let to = ids;
  while (bounds.length > 2) {
    const next = [0];
    for (let b = 0; b + 1 < bounds.length; b += 2) {
      if (b + 2 < bounds.length) {
        mergeInto(H, L, from, bounds[b], bounds[b + 1], bounds[b + 2], to);
        next.push(bounds[b + 2]);
      } else {
        to.set(from.subarray(bounds[b], bounds[b + 1]), bounds[b]);
        next.push(bounds[b + 1]);
      }
    }
    bounds.splice(0, bounds.length, ...next);
    [from, to] = [to, from];
  }
  return from;
}

/*
 * A column in index order: a[perm[i]] (or the first n when there is no permutation), exact size.
 * Module-level functions, one per element type, not closures made per build: the optimized code
 * of a closure is only held by its (dead after the build) instances, and a major GC during the
 * next build dropped it, so every build of 1M symbols or more compiled them again (~10 ms of
 * V8 compiler threads) and ran them unoptimized until then.
 */
function take32(a: Uint32Array, perm: Uint32Array | undefined, n: number): Uint32Array {
  if (!perm) return a.slice(0, n);
  const b = new Uint32Array(n);
  for (let i = 0; i < n; i++) b[i] = a[perm[i]];
  return b;
}

function take16(a: Uint16Array, perm: Uint32Array | undefined, n: number): Uint16Array {
  if (!perm) return a.slice(0, n);
  const b = new Uint16Array(n);
  for (let i = 0; i < n; i++) b[i] = a[perm[i]];
  return b;
}

function take8(a: Uint8Array, perm: Uint32Array | undefined, n: number): Uint8Array {
  if (!perm) return a.slice(0, n);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = a[perm[i]];
  return b;
}

/** Runs at least this long are merged as they are; shorter ones go to the native sort. */
const LONG_RUN = 64;

/** Symbol b sorts before a: lower address, or the same address earlier in the sources. */
function before(H: Uint32Array, L: Uint32Array, b: number, a: number): boolean {
  return H[b] < H[a] || (H[b] === H[a] && (L[b] < L[a] || (L[b] === L[a] && b < a)));
}

/** Merge the sorted src[a, m) and src[m, e) into out[a, e). */
function mergeInto(H: Uint32Array, L: Uint32Array, src: Uint32Array, a: number, m: number, e: number, out: Uint32Array): void {
  let i = a;
  let j = m;
  let o = a;
  while (i < m && j < e) out[o++] = before(H, L, src[j], src[i]) ? src[j++] : src[i++];
  while (i < m) out[o++] = src[i++];
  while (j < e) out[o++] = src[j++];
}

/**
 * Sort ids (ascending source positions) by address in place: grouped by high half (usually
 * all 0xffffffff), each group sorted natively on 64-bit keys (low half, source position).
 */
function packedSort(H: Uint32Array, L: Uint32Array, ids: Uint32Array): void {
  const n = ids.length;
  const keys = new BigUint64Array(n);
  // each key's 32-bit halves in host order: [2r + LO] its low word (the id), [2r + HI] its high word (the low address half)
  const k32 = new Uint32Array(keys.buffer);
  const LO = HOST_LE ? 0 : 1,
    HI = 1 - LO;
  let single = true;
  const h0 = n > 0 ? H[ids[0]] : 0;
  for (let k = 1; k < n && single; k++) single = H[ids[k]] === h0;
  const bounds = [0, n];
  if (single) {
    for (let r = 0; r < n; r++) {
      k32[2 * r + HI] = L[ids[r]];
      k32[2 * r + LO] = ids[r];
    }
  } else {
    // Each group's keys at its own place: counts, then the starts in high-half order.
    const counts = new Map<number, number>();
    for (let k = 0; k < n; k++) {
      const h = H[ids[k]];
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    const at = new Map<number, number>();
    bounds.length = 1;
    let o = 0;
    for (const h of [...counts.keys()].sort((x, y) => x - y)) {
      at.set(h, o);
      o += counts.get(h)!;
      bounds.push(o);
    }
    for (let k = 0; k < n; k++) {
      const id = ids[k];
      const h = H[id];
      const r = at.get(h)!;
      at.set(h, r + 1);
      k32[2 * r + HI] = L[id];
      k32[2 * r + LO] = id;
    }
  }
  for (let g = 0; g + 1 < bounds.length; g++) keys.subarray(bounds[g], bounds[g + 1]).sort();
  for (let r = 0; r < n; r++) ids[r] = k32[2 * r + LO];
}

function encodeLatin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

function compareBytes(names: Uint8Array, off: number, key: Uint8Array, n: number): number {
  for (let k = 0; k < n; k++) {
    const d = names[off + k] - key[k];
    if (d !== 0) return d;
  }
  return 0;
}

function compareName(names: Uint8Array, off: number, len: number, key: Uint8Array): number {
  const n = len < key.length ? len : key.length;
  for (let k = 0; k < n; k++) {
    const d = names[off + k] - key[k];
    if (d !== 0) return d;
  }
  return len - key.length;
}

/**
 * Stable MSD radix sort of symbol ids by name bytes (ties keep source order).
 * Kernel names share long prefixes (`__pfx_`, `__ksymtab_`), which defeats prefix keys;
 * radix sort cost is the total length of the distinguishing prefixes.
 */
function sortByName(names: Uint8Array, off: Uint32Array, len: Uint16Array, perm: Uint32Array | undefined): Uint32Array {
  const n = off.length;
  // Start from source order so that the stable radix sort keeps it among equal names.
  const ids = new Uint32Array(n);
  if (!perm) {
    for (let i = 0; i < n; i++) ids[i] = i;
  } else {
    let maxOrder = 0;
    for (let i = 0; i < n; i++) if (perm[i] > maxOrder) maxOrder = perm[i];
    const at = new Int32Array(maxOrder + 1).fill(-1);
    for (let i = 0; i < n; i++) at[perm[i]] = i;
    let k = 0;
    for (let p = 0; p <= maxOrder; p++) if (at[p] >= 0) ids[k++] = at[p];
  }
  const tmp = new Uint32Array(n);
  radix(names, off, len, ids, tmp, 0, n, 0, [], []);
  return ids;
}

function radix(
  names: Uint8Array,
  off: Uint32Array,
  len: Uint16Array,
  ids: Uint32Array,
  tmp: Uint32Array,
  lo: number,
  hi: number,
  depth: number,
  counts: Uint32Array[],
  ends: Uint32Array[],
): void {
  for (;;) {
    const n = hi - lo;
    if (n < 2) return;
    if (n <= 16) {
      // Stable insertion sort comparing from `depth`.
      for (let i = lo + 1; i < hi; i++) {
        const x = ids[i];
        let j = i - 1;
        while (j >= lo && cmpFrom(names, off, len, ids[j], x, depth) > 0) {
          ids[j + 1] = ids[j];
          j--;
        }
        ids[j + 1] = x;
      }
      return;
    }
    let c = counts[depth];
    if (!c) c = counts[depth] = new Uint32Array(258);
    let minB = 257;
    let maxB = 0;
    for (let i = lo; i < hi; i++) {
      const id = ids[i];
      const b = depth < len[id] ? names[off[id] + depth] + 1 : 0;
      c[b + 1]++;
      if (b < minB) minB = b;
      if (b > maxB) maxB = b;
    }
    if (minB === maxB) {
      c[minB + 1] = 0;
      if (minB === 0) return; // all names end here: equal, already in source order
      depth++;
      continue; // one bucket: look at the next byte without moving anything
    }
    // c[b+1] = count of bucket b; turn into starts: c[b] = start of bucket b.
    c[minB] = 0;
    for (let b = minB + 1; b <= maxB + 1; b++) c[b] += c[b - 1];
    for (let i = lo; i < hi; i++) {
      const id = ids[i];
      const b = depth < len[id] ? names[off[id] + depth] + 1 : 0;
      tmp[lo + c[b]++] = id;
    }
    for (let i = lo; i < hi; i++) ids[i] = tmp[i];
    // Now c[b] = end of bucket b. Bucket 0 (names ending here) needs no further sorting.
    // Snapshot the ends before recursing (deeper levels use their own count arrays).
    let e = ends[depth];
    if (!e) e = ends[depth] = new Uint32Array(258);
    for (let b = minB; b <= maxB; b++) e[b] = c[b];
    for (let b = minB; b <= maxB + 1; b++) c[b] = 0;
    let start = lo + (minB === 0 ? e[0] : 0);
    for (let b = minB === 0 ? 1 : minB; b <= maxB; b++) {
      const end = lo + e[b];
      if (end - start > 1) radix(names, off, len, ids, tmp, start, end, depth + 1, counts, ends);
      start = end;
    }
    return;
  }
}

function cmpFrom(names: Uint8Array, off: Uint32Array, len: Uint16Array, a: number, b: number, depth: number): number {
  const la = len[a];
  const lb = len[b];
  const m = la < lb ? la : lb;
  const oa = off[a];
  const ob = off[b];
  for (let k = depth; k < m; k++) {
    const d = names[oa + k] - names[ob + k];
    if (d !== 0) return d;
  }
  return la - lb;
}
