/**
 * Symbol search: one ranking over every indexed source (kallsyms/System.map symbols,
 * BTF types and functions, module `.ko` symbols). Pure: no LSP types.
 *
 * Ranking (issue 5):
 *   0 exact name;
 *   1 the same name with compiler suffixes (`.constprop.N`, `.isra.N`, `.part.N`,
 *     `.cold`, `.llvm.N`, `.N`) and `__pfx_` variants, grouped right after their base;
 *   2 prefix;
 *   3 word-start matches across `_` (`tvr` finds `tcp_v4_rcv`), fewer skipped words first;
 *   4 substring;
 * ties: text before data, vmlinux before modules (BTF types sit right after vmlinux
 * text, BTF FUNC/VAR records, which repeat a kallsyms symbol, last), then shorter names.
 * Variants of a name that matched are listed right after it, in any class.
 *
 * Smart case: an all-lowercase query matches case-insensitively, a query with an
 * upper-case letter case-sensitively.
 *
 * Speed: per source, a corpus is built once (cached per source object): the names,
 * lower-cased, joined by '\n' into one byte buffer laid out in tie order (tier, then
 * length), so every scan finds the best candidates first and stops once it has `cap`
 * of them; a 32-bit letter mask per name prefilters word-start matching; variants
 * are linked to their base. Exact names and suffixed variants come from the sources'
 * own sorted name indexes (binary search); prefix and substring hits come from native
 * `Buffer.indexOf` over the corpus buffer (no JS string per symbol); word-start runs a
 * byte matcher only on names whose letter masks allow a match.
 */
import { Btf } from './btf';
import { Kind } from './btf/kinds';
import type { ModuleSymbols } from './module';
import type { SymbolIndex } from './symindex';

// ---- sources -------------------------------------------------------------------------------

/** Tie tiers: lower is better. */
export const enum Tier {
  VmlinuxText = 0,
  BtfType = 1,
  ModuleText = 2,
  VmlinuxData = 3,
  ModuleData = 4,
  BtfDecl = 5,
}

export type EntryKind = 'function' | 'variable' | 'struct' | 'union' | 'enum' | 'typedef' | 'other';

/** A searchable list of named entries. Entry ids are 0..count-1 (the source's own ids). */
export interface SearchSource {
  /** 'kallsyms', 'btf' or 'module'. */
  readonly type: 'kallsyms' | 'btf' | 'module';
  /** The object the corpus cache is keyed on. */
  readonly key: object;
  readonly count: number;
  /** Name length in bytes (0: not searchable). */
  nameLength(i: number): number;
  /** Copy the name bytes of entry i to out[pos...]. */
  copyName(i: number, out: Uint8Array, pos: number): void;
  nameOf(i: number): string;
  tier(i: number): number;
  /** Entries named exactly `name` (case-sensitive), by binary search of a sorted name index. */
  exact(name: string): number[];
  /** Entries whose name starts with `prefix` (case-sensitive), at most `limit`. */
  prefixed(prefix: string, limit: number): number[];
  kind(i: number): EntryKind;
  /** Module name, 'vmlinux' or 'btf'. */
  container(i: number): string;
  address(i: number): bigint | undefined;
  /** One line: type letter and object, or the BTF kind. */
  detail(i: number): string;
}

function isTextType(t: number): boolean {
  const c = t | 0x20;
  return c === 0x74 || c === 0x77; // t, w
}

export class KallsymsSource implements SearchSource {
  readonly type = 'kallsyms' as const;
  readonly key: object;
  readonly count: number;
  constructor(readonly index: SymbolIndex) {
    this.key = index;
    this.count = index.count;
  }
  nameLength(i: number): number {
    return this.index.nameLen[i];
  }
  copyName(i: number, out: Uint8Array, pos: number): void {
    const names = this.index.names;
    const o = this.index.nameOff[i];
    const l = this.index.nameLen[i];
    for (let k = 0; k < l; k++) out[pos + k] = names[o + k];
  }
  nameOf(i: number): string {
    return this.index.nameOf(i);
  }
  tier(i: number): number {
    const text = isTextType(this.index.type[i]);
    const vml = this.index.mod[i] === 0;
    return text ? (vml ? Tier.VmlinuxText : Tier.ModuleText) : vml ? Tier.VmlinuxData : Tier.ModuleData;
  }
  exact(name: string): number[] {
    return this.index.byNameAll(name);
  }
  prefixed(prefix: string, limit: number): number[] {
    return this.index.byPrefix(prefix, limit);
  }
  kind(i: number): EntryKind {
    return isTextType(this.index.type[i]) ? 'function' : 'variable';
  }
  container(i: number): string {
    return this.index.moduleOf(i) ?? 'vmlinux';
  }
  address(i: number): bigint {
    return this.index.addressOf(i);
  }
  detail(i: number): string {
    const m = this.index.moduleOf(i);
    return `${String.fromCharCode(this.index.type[i])} ${m ? `[${m}]` : 'vmlinux'}`;
  }
}

const BTF_KINDS: Partial<Record<number, EntryKind>> = {
  [Kind.STRUCT]: 'struct',
  [Kind.UNION]: 'union',
  [Kind.ENUM]: 'enum',
  [Kind.ENUM64]: 'enum',
  [Kind.TYPEDEF]: 'typedef',
  [Kind.FUNC]: 'function',
  [Kind.VAR]: 'variable',
};

/** Named BTF types (struct, union, enum, typedef) and FUNC/VAR records of one BTF blob (not its base). */
export class BtfSource implements SearchSource {
  readonly type = 'btf' as const;
  readonly key: object;
  readonly count: number;
  /** Type ids of the entries, in name order. */
  readonly ids: Uint32Array;
  private readonly pos: Uint32Array;
  private readonly len: Uint16Array;
  private readonly bufs: Uint8Array[];
  private readonly sel: Uint8Array;
  private readonly enc = new TextEncoder();

  constructor(readonly btf: Btf, readonly containerName = 'btf') {
    this.key = btf;
    const ni = btf.nameIndex;
    const keep: number[] = [];
    for (let k = 0; k < ni.length; k++) {
      const id = btf.firstId + ni[k];
      if (BTF_KINDS[btf.kindOf(id)] !== undefined) keep.push(id);
    }
    this.ids = Uint32Array.from(keep);
    this.count = keep.length;
    this.pos = new Uint32Array(this.count);
    this.len = new Uint16Array(this.count);
    this.sel = new Uint8Array(this.count);
    this.bufs = [];
    const dv = new DataView(btf.bytes.buffer, btf.bytes.byteOffset, btf.bytes.byteLength);
    const le = btf.header.littleEndian;
    for (let i = 0; i < this.count; i++) {
      const off = dv.getUint32(btf.recordOffset(this.ids[i]), le);
      const buf = btf.strings.bufOf(off);
      let s = this.bufs.indexOf(buf);
      if (s < 0) s = this.bufs.push(buf) - 1;
      const p = btf.strings.posOf(off);
      let e = p;
      while (buf[e] !== 0 && e - p < 0xffff) e++;
      this.sel[i] = s;
      this.pos[i] = p;
      this.len[i] = e - p;
    }
  }
  nameLength(i: number): number {
    return this.len[i];
  }
  copyName(i: number, out: Uint8Array, pos: number): void {
    const b = this.bufs[this.sel[i]];
    const o = this.pos[i];
    const l = this.len[i];
    for (let k = 0; k < l; k++) out[pos + k] = b[o + k];
  }
  nameOf(i: number): string {
    return this.btf.nameOf(this.ids[i]);
  }
  tier(i: number): number {
    const k = this.btf.kindOf(this.ids[i]);
    return k === Kind.FUNC || k === Kind.VAR ? Tier.BtfDecl : Tier.BtfType;
  }
  private cmp(i: number, q: Uint8Array): number {
    const b = this.bufs[this.sel[i]];
    const p = this.pos[i];
    const n = this.len[i];
    const m = n < q.length ? n : q.length;
    for (let k = 0; k < m; k++) {
      const d = b[p + k] - q[k];
      if (d !== 0) return d;
    }
    return n - q.length;
  }
  private lower(q: Uint8Array): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(mid, q) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  exact(name: string): number[] {
    const q = this.enc.encode(name);
    const out: number[] = [];
    for (let i = this.lower(q); i < this.count && this.cmp(i, q) === 0; i++) out.push(i);
    return out;
  }
  prefixed(prefix: string, limit: number): number[] {
    const q = this.enc.encode(prefix);
    const out: number[] = [];
    for (let i = this.lower(q); i < this.count && out.length < limit; i++) {
      if (this.len[i] < q.length) break;
      const b = this.bufs[this.sel[i]];
      const p = this.pos[i];
      let ok = true;
      for (let k = 0; k < q.length; k++) if (b[p + k] !== q[k]) { ok = false; break; }
      if (!ok) break;
      out.push(i);
    }
    return out;
  }
  kind(i: number): EntryKind {
    return BTF_KINDS[this.btf.kindOf(this.ids[i])] ?? 'other';
  }
  kindName(i: number): string {
    return this.btf.kindName(this.ids[i]);
  }
  container(): string {
    return this.containerName;
  }
  address(): undefined {
    return undefined;
  }
  detail(i: number): string {
    const k = this.btf.kindOf(this.ids[i]);
    const word = k === Kind.STRUCT ? 'struct' : k === Kind.UNION ? 'union' : k === Kind.ENUM || k === Kind.ENUM64 ? 'enum' : k === Kind.TYPEDEF ? 'typedef' : k === Kind.FUNC ? 'BTF FUNC' : 'BTF VAR';
    if (k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64) return `${word} (${this.btf.sizeOrType(this.ids[i])} bytes) [${this.ids[i]}]`;
    return `${word} [${this.ids[i]}]`;
  }
  /** Entry of a type id, or -1. */
  entryOfId(id: number): number {
    const name = this.btf.nameOf(id);
    for (const i of this.exact(name)) if (this.ids[i] === id) return i;
    return -1;
  }
}

const KO_LETTERS = new Set(['t', 'T', 'w', 'W', 'd', 'D', 'b', 'B', 'r', 'R', 'v', 'V']);

/** Symbols of one module `.ko` (the full symtab: what the kernel has before init). */
export class ModuleKoSource implements SearchSource {
  readonly type = 'module' as const;
  readonly key: object;
  readonly count: number;
  /** symtab indices of the entries, in name order. */
  readonly syms: Uint32Array;
  private readonly names: string[];
  private readonly bytes: Uint8Array[];

  constructor(readonly module: ModuleSymbols, readonly moduleName = module.name, readonly file?: string) {
    this.key = module;
    const rows: { i: number; name: string }[] = [];
    for (let i = 1; i < module.count; i++) {
      const name = module.symbolName(i);
      if (!name || !KO_LETTERS.has(module.nmType(i))) continue;
      if (typeof module.sectionNdx(i) !== 'number') continue;
      rows.push({ i, name });
    }
    rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.i - b.i));
    this.syms = Uint32Array.from(rows.map((r) => r.i));
    this.names = rows.map((r) => r.name);
    const enc = new TextEncoder();
    this.bytes = this.names.map((n) => enc.encode(n));
    this.count = rows.length;
  }
  nameLength(i: number): number {
    return Math.min(this.bytes[i].length, 0xffff);
  }
  copyName(i: number, out: Uint8Array, pos: number): void {
    out.set(this.bytes[i].subarray(0, 0xffff), pos);
  }
  nameOf(i: number): string {
    return this.names[i];
  }
  tier(i: number): number {
    return isTextType(this.module.nmType(this.syms[i]).charCodeAt(0)) ? Tier.ModuleText : Tier.ModuleData;
  }
  private lower(q: string): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.names[mid] < q) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  exact(name: string): number[] {
    const out: number[] = [];
    for (let i = this.lower(name); i < this.count && this.names[i] === name; i++) out.push(i);
    return out;
  }
  prefixed(prefix: string, limit: number): number[] {
    const out: number[] = [];
    for (let i = this.lower(prefix); i < this.count && out.length < limit && this.names[i].startsWith(prefix); i++) out.push(i);
    return out;
  }
  kind(i: number): EntryKind {
    return isTextType(this.module.nmType(this.syms[i]).charCodeAt(0)) ? 'function' : 'variable';
  }
  container(): string {
    return this.moduleName;
  }
  address(): undefined {
    return undefined;
  }
  detail(i: number): string {
    const s = this.syms[i];
    return `${this.module.nmType(s)} ${this.module.sectionName(s)}+0x${this.module.value(s).toString(16)} [${this.moduleName}.ko]`;
  }
}

// ---- corpus --------------------------------------------------------------------------------

const NL = 0x0a;
const NONE = 0xffffffff;

/** Precomputed per-source search structure (built once per source object). */
export class Corpus {
  /** '\n' name0 '\n' name1 '\n' ... '\n', lower-cased, in tie order. */
  readonly buf: Buffer;
  /** Start of slot k's name in buf; start[slots] = buf.length (sentinel: start[k + 1] - 1 is the end of name k). */
  readonly start: Uint32Array;
  /** Entry id of each slot. */
  readonly entry: Uint32Array;
  /** Slot of each entry (NONE: not searchable). */
  readonly slotOf: Uint32Array;
  readonly tierOf: Uint8Array;
  /** Letters (a-z: bits 0-25, digits: bit 26) present in the name. */
  readonly mask: Uint32Array;
  /** Letters that start a word. */
  readonly initials: Uint32Array;
  /**
   * Words of each name (alphanumeric runs), for word-start matching: slot k's words are
   * wordPos[2w], wordPos[2w + 1] (start and end, relative to the name) for w in
   * [wordAt[k], wordAt[k + 1]). Names longer than 255 bytes keep none (split when matched).
   */
  readonly wordAt: Uint32Array;
  readonly wordPos: Uint8Array;
  /** Base entry of a variant (`__pfx_x`, `x.cold`, ...) when x exists in the same container; else -1. */
  readonly baseOf: Int32Array;
  /** First variant of an entry (-1), and the next variant of the same base. */
  readonly firstVariant: Int32Array;
  readonly nextVariant: Int32Array;
  readonly slots: number;
  /** Per-query stamps (dedupe without allocation). */
  readonly stamp: Uint32Array;

  constructor(readonly source: SearchSource) {
    const n = source.count;
    let slots = 0;
    let bytes = 1;
    const tierOf = new Uint8Array(n);
    let maxLen = 0;
    for (let i = 0; i < n; i++) {
      const l = source.nameLength(i);
      tierOf[i] = source.tier(i);
      if (l === 0) continue;
      slots++;
      bytes += l + 1;
      if (l > maxLen) maxLen = l;
    }
    // Counting sort of entries by (tier, length), stable (entry order).
    const keys = 8 * (maxLen + 1);
    const count = new Uint32Array(keys + 1);
    for (let i = 0; i < n; i++) {
      const l = source.nameLength(i);
      if (l > 0) count[tierOf[i] * (maxLen + 1) + l + 1]++;
    }
    for (let k = 1; k <= keys; k++) count[k] += count[k - 1];
    const entry = new Uint32Array(slots);
    for (let i = 0; i < n; i++) {
      const l = source.nameLength(i);
      if (l > 0) entry[count[tierOf[i] * (maxLen + 1) + l]++] = i;
    }
    const buf = Buffer.allocUnsafe(bytes);
    const start = new Uint32Array(slots + 1);
    const slotOf = new Uint32Array(n).fill(NONE);
    const mask = new Uint32Array(slots);
    const initials = new Uint32Array(slots);
    const wordAt = new Uint32Array(slots + 1);
    let wordPos = new Uint8Array(Math.max(64, bytes));
    let nw = 0;
    let p = 0;
    buf[p++] = NL;
    for (let k = 0; k < slots; k++) {
      const i = entry[k];
      slotOf[i] = k;
      start[k] = p;
      wordAt[k] = nw;
      const l = source.nameLength(i);
      source.copyName(i, buf, p);
      const keepWords = l <= 255;
      const s0 = p;
      let m = 0;
      let ini = 0;
      let prevAlnum = false;
      for (let e = p + l; p < e; p++) {
        let c = buf[p];
        if (c >= 0x41 && c <= 0x5a) c = buf[p] = c | 0x20;
        else if (c === NL) c = buf[p] = 0x3f; // never in kernel names; keep the separator unique
        const bit = c >= 0x61 && c <= 0x7a ? 1 << (c - 0x61) : c >= 0x30 && c <= 0x39 ? 1 << 26 : 0;
        if (bit) {
          m |= bit;
          if (!prevAlnum) {
            ini |= bit;
            if (keepWords && nw - wordAt[k] < MAX_WORDS) {
              if (2 * nw + 2 > wordPos.length) {
                const b = new Uint8Array(wordPos.length * 2);
                b.set(wordPos);
                wordPos = b;
              }
              wordPos[2 * nw] = p - s0;
              wordPos[2 * nw + 1] = l; // until the word ends
              nw++;
            }
          }
          prevAlnum = true;
        } else {
          if (prevAlnum && keepWords && nw > wordAt[k]) wordPos[2 * nw - 1] = Math.min(wordPos[2 * nw - 1], p - s0);
          prevAlnum = false;
        }
      }
      buf[p++] = NL;
      mask[k] = m;
      initials[k] = ini;
    }
    start[slots] = p;
    wordAt[slots] = nw;
    this.wordAt = wordAt;
    this.wordPos = wordPos.slice(0, 2 * nw);
    this.buf = buf;
    this.start = start;
    this.entry = entry;
    this.slotOf = slotOf;
    this.tierOf = tierOf;
    this.mask = mask;
    this.initials = initials;
    this.slots = slots;
    this.stamp = new Uint32Array(slots);
    // Variants.
    this.baseOf = new Int32Array(n).fill(-1);
    this.firstVariant = new Int32Array(n).fill(-1);
    this.nextVariant = new Int32Array(n).fill(-1);
    const lastVariant = new Int32Array(n).fill(-1);
    const link = (i: number, b: number) => {
      this.baseOf[i] = b;
      if (lastVariant[b] < 0) this.firstVariant[b] = i;
      else this.nextVariant[lastVariant[b]] = i;
      lastVariant[b] = i;
    };
    for (let k = 0; k < slots; k++) {
      const s = start[k];
      const e = start[k + 1] - 1;
      if (!maybeVariant(buf, s, e)) continue;
      const i = entry[k];
      // `__pfx_x` right before `x` (kallsyms: address order): compare bytes, no strings.
      if (e - s > 6 && buf[s] === 0x5f && buf[s + 5] === 0x5f && i + 1 < n && slotOf[i + 1] !== NONE) {
        const t = start[slotOf[i + 1]];
        const tl = start[slotOf[i + 1] + 1] - 1 - t;
        if (tl === e - s - 6 && buf.compare(buf, t, t + tl, s + 6, e) === 0 && source.container(i) === source.container(i + 1)) {
          link(i, i + 1);
          continue;
        }
      }
      const name = source.nameOf(i);
      const base = baseName(name);
      if (base === undefined || base === name) continue;
      const cont = source.container(i);
      const b = source.exact(base).find((j) => source.container(j) === cont);
      if (b !== undefined) link(i, b);
    }
  }

  /** Slot containing buffer position `pos`. */
  slotAt(pos: number): number {
    let lo = 0;
    let hi = this.slots;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.start[mid] <= pos) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

function maybeVariant(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s > 6 && buf[s] === 0x5f && buf[s + 1] === 0x5f && buf[s + 2] === 0x70 && buf[s + 3] === 0x66 && buf[s + 4] === 0x78 && buf[s + 5] === 0x5f) return true;
  for (let p = s + 1; p < e; p++) if (buf[p] === 0x2e) return true;
  return false;
}

const SUFFIX = /(?:\.(?:constprop|isra|part|llvm|lto_priv|cold|localalias)(?:\.\d+)?|\.\d+)+$/;

/** Compiler suffix of a name (`.constprop.0.isra.0`, `.cold`, `.llvm.1234`, `.5`), or ''. */
export function compilerSuffix(name: string): string {
  const m = SUFFIX.exec(name);
  return m && m.index > 0 ? m[0] : '';
}

/** The base name of `__pfx_x.cold` etc. (x), or the name itself. */
export function baseName(name: string): string {
  let s = name.startsWith('__pfx_') && name.length > 6 ? name.slice(6) : name;
  const suf = compilerSuffix(s);
  if (suf) s = s.slice(0, s.length - suf.length);
  return s;
}

/** Whether `name` is `q` with compiler suffixes and/or a `__pfx_` prefix. */
export function isVariantOf(name: string, q: string): boolean {
  return name !== q && baseName(name) === q;
}

const corpora = new WeakMap<object, Corpus>();

/** Build the corpora now (e.g. right after indexing) instead of on the first query. */
export function prepare(sources: readonly SearchSource[]): void {
  for (const s of sources) corpusOf(s);
}

/** The corpus of a source (built on first use, then cached per source key). */
export function corpusOf(source: SearchSource): Corpus {
  let c = corpora.get(source.key);
  if (!c || c.source.count !== source.count || c.source.type !== source.type) {
    c = new Corpus(source);
    corpora.set(source.key, c);
  }
  return c;
}

// ---- search --------------------------------------------------------------------------------

export const enum MatchClass {
  Exact = 0,
  Suffixed = 1,
  Prefix = 2,
  WordStart = 3,
  Substring = 4,
  /** Empty query: landmark symbols. */
  Landmark = 5,
}

export const MATCH_NAMES = ['exact', 'suffixed', 'prefix', 'word-start', 'substring', 'landmark'] as const;

export interface SearchHit {
  source: SearchSource;
  /** Entry id in the source. */
  id: number;
  name: string;
  match: MatchClass;
  /** Word-start: skipped words (lower is better); 0 otherwise. */
  score: number;
  tier: number;
  /** Set for a variant listed after its base. */
  variantOf?: number;
}

export interface SearchOptions {
  /** Maximum results (default 100). */
  cap?: number;
}

export const DEFAULT_CAP = 100;

/** Names shown for an empty query, when present. */
export const LANDMARKS = [
  '_stext', '_text', '_etext', '_sinittext', '_einittext', '_end', 'start_kernel', 'kernel_init', 'rest_init',
  'entry_SYSCALL_64', 'do_syscall_64', 'asm_exc_page_fault', 'exc_page_fault', 'handle_mm_fault',
  'schedule', '__schedule', 'panic', 'oops_begin', 'die', 'do_exit', 'do_group_exit',
  'task_struct', 'sk_buff', 'page', 'folio', 'file', 'inode', 'dentry', 'super_block', 'net_device', 'sock', 'mm_struct', 'vm_area_struct',
];

interface Group {
  hit: SearchHit;
  /** Sort key: class, score, tier, length, source order, entry. */
  k0: number;
  k1: number;
  len: number;
  src: number;
}

let generation = 0;

/** Search every source; results in rank order, at most `cap`. Never throws. */
export function search(sources: readonly SearchSource[], query: string, opts: SearchOptions = {}): SearchHit[] {
  const cap = Math.max(0, Math.floor(opts.cap ?? DEFAULT_CAP));
  if (cap === 0) return [];
  const q = query.trim().replace(/\s+/g, ' ');
  try {
    return searchUnsafe(sources, q, cap);
  } catch {
    return [];
  }
}

function searchUnsafe(sources: readonly SearchSource[], q: string, cap: number): SearchHit[] {
  const gen = (generation = (generation + 1) >>> 0 || 1);
  const groups: Group[] = [];
  const corpora = sources.map(corpusOf);
  // `struct X` / `union X` / `enum X`: BTF types only, by their bare name.
  const tagged = /^(struct|union|enum|typedef) (\S+)$/.exec(q);
  const onlyKind = tagged ? tagged[1] : undefined;
  const text = tagged ? tagged[2] : q;

  const add = (s: number, c: Corpus, id: number, match: MatchClass, score = 0): void => {
    const slot = c.slotOf[id];
    if (slot === NONE || c.stamp[slot] === gen) return;
    const src = c.source;
    if (onlyKind && (src.type !== 'btf' || src.kind(id) !== onlyKind)) return;
    c.stamp[slot] = gen;
    const tier = c.tierOf[id];
    groups.push({ hit: { source: src, id, name: '', match, score, tier }, k0: match * 64 + Math.min(score, 63), k1: tier, len: c.start[slot + 1] - c.start[slot] - 1, src: s });
  };

  if (text === '') {
    corpora.forEach((c, s) => {
      for (const name of LANDMARKS) for (const id of c.source.exact(name)) add(s, c, id, MatchClass.Landmark);
    });
    return finish(groups, corpora, cap, gen);
  }

  const lower = text.toLowerCase();
  const caseSensitive = lower !== text;
  const qb = Buffer.from(lower, 'latin1');
  const orig = Buffer.from(text, 'latin1');

  let total = 0;
  corpora.forEach((c, s) => {
    const src = c.source;
    const before = groups.length;
    // 0/1: exact and suffixed variants from the sorted name index.
    for (const id of src.exact(text)) add(s, c, id, MatchClass.Exact);
    for (const id of src.prefixed(text + '.', cap * 4)) if (isVariantOf(src.nameOf(id), text)) add(s, c, id, MatchClass.Suffixed);
    for (const id of src.prefixed('__pfx_' + text, cap * 4)) if (isVariantOf(src.nameOf(id), text)) add(s, c, id, MatchClass.Suffixed);
    // 2: prefix. A small prefix range comes whole from the sorted index; a large one
    // from the tie-ordered corpus, best first, stopping at `cap`.
    const pre = src.prefixed(text, PREFIX_RANGE + 1);
    if (pre.length <= PREFIX_RANGE && caseSensitive) {
      for (const id of pre) add(s, c, id, compilerSuffix(src.nameOf(id)).length === src.nameLength(id) - text.length ? MatchClass.Suffixed : MatchClass.Prefix);
    } else if (pre.length <= PREFIX_RANGE) {
      for (const id of pre) add(s, c, id, compilerSuffix(src.nameOf(id)).length === src.nameLength(id) - text.length ? MatchClass.Suffixed : MatchClass.Prefix);
    } else {
      scanPrefix(c, s, qb, orig, caseSensitive, cap, add);
    }
    total += groups.length - before;
  });
  if (text.length < 2) return finish(groups, corpora, cap, gen);
  // 3/4: only while the list is not full with better classes.
  if (total < cap) corpora.forEach((c, s) => scanWords(c, s, qb, cap, add));
  if (groups.length < cap * 2) corpora.forEach((c, s) => scanSubstring(c, s, qb, orig, caseSensitive, cap, add));
  return finish(groups, corpora, cap, gen);
}

/** Prefix ranges up to this size are read from the sorted name index. */
const PREFIX_RANGE = 4096;

type AddFn = (s: number, c: Corpus, id: number, match: MatchClass, score?: number) => void;

function verifyCase(c: Corpus, slot: number, at: number, orig: Buffer): boolean {
  const id = c.entry[slot];
  const l = c.source.nameLength(id);
  const tmp = scratch(l);
  c.source.copyName(id, tmp, 0);
  const off = at - c.start[slot];
  for (let k = 0; k < orig.length; k++) if (tmp[off + k] !== orig[k]) return false;
  return true;
}

let scratchBuf = new Uint8Array(256);
function scratch(n: number): Uint8Array {
  if (scratchBuf.length < n) scratchBuf = new Uint8Array(n * 2);
  return scratchBuf;
}

function prefixClass(c: Corpus, slot: number, qlen: number): MatchClass {
  const len = c.start[slot + 1] - 1 - c.start[slot];
  if (len === qlen) return MatchClass.Exact;
  if (c.buf[c.start[slot] + qlen] === 0x2e && compilerSuffix(c.source.nameOf(c.entry[slot])).length === len - qlen) return MatchClass.Suffixed;
  return MatchClass.Prefix;
}

/** Prefix hits ('\n' + q) in tie order; equal length = exact (other case), variant of q = suffixed. */
function scanPrefix(c: Corpus, s: number, qb: Buffer, orig: Buffer, cs: boolean, cap: number, add: AddFn): void {
  const needle = Buffer.allocUnsafe(qb.length + 1);
  needle[0] = NL;
  qb.copy(needle, 1);
  const buf = c.buf;
  let found = 0;
  let from = 0;
  while (found < cap) {
    const h = buf.indexOf(needle, from);
    if (h < 0) break;
    const slot = c.slotAt(h + 1);
    from = c.start[slot + 1] - 1;
    if (cs && !verifyCase(c, slot, h + 1, orig)) continue;
    if (c.stamp[slot] !== generation) found++;
    add(s, c, c.entry[slot], prefixClass(c, slot, qb.length));
  }
}

/** Substring hits in tie order (a hit at the start of a name, or of the base after `__pfx_`, is a prefix hit). */
function scanSubstring(c: Corpus, s: number, qb: Buffer, orig: Buffer, cs: boolean, cap: number, add: AddFn): void {
  if (qb.includes(NL)) return;
  const buf = c.buf;
  let found = 0;
  let from = 0;
  while (found < cap) {
    const h = buf.indexOf(qb, from);
    if (h < 0) break;
    const slot = c.slotAt(h);
    if (cs && !verifyCase(c, slot, h, orig)) {
      from = h + 1;
      continue;
    }
    from = c.start[slot + 1] - 1;
    if (c.stamp[slot] === generation) continue;
    const id = c.entry[slot];
    const off = h - c.start[slot];
    found++;
    add(s, c, id, off === 0 ? prefixClass(c, slot, qb.length) : off === 6 && c.baseOf[id] >= 0 ? MatchClass.Prefix : MatchClass.Substring);
  }
}

// Word-start matching ---------------------------------------------------------------------------

const MAX_WORDS = 64;
const wStart = new Int32Array(MAX_WORDS);
const wEnd = new Int32Array(MAX_WORDS);
let wCount = 0;
let wBuf: Uint8Array = new Uint8Array(0);
let wQ: Uint8Array = new Uint8Array(0);
let wBest = -1;
let wBudget = 0;

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/**
 * Word-start match of q (lower case; '_' and ' ' separate pieces) in buf[s, e):
 * q is cut into pieces, each a prefix of a later word (words may be skipped).
 * Returns the best score (skipped words + pieces - 1), or -1.
 */
function wordMatch(buf: Uint8Array, s: number, e: number, q: Uint8Array): number {
  let nw = 0;
  let prev = false;
  for (let p = s; p < e; p++) {
    const a = isAlnum(buf[p]);
    if (a && !prev) {
      if (nw === MAX_WORDS) break;
      wStart[nw] = p;
    } else if (!a && prev) wEnd[nw++] = p;
    prev = a;
  }
  if (prev && nw < MAX_WORDS) wEnd[nw++] = e;
  return wordSearch(buf, nw, q);
}

/** wordMatch for a corpus slot, with its words already found (Corpus.wordPos). */
function wordMatchSlot(c: Corpus, k: number, q: Uint8Array): number {
  const s = c.start[k];
  const a = c.wordAt[k];
  const b = c.wordAt[k + 1];
  if (a === b) return wordMatch(c.buf, s, c.start[k + 1] - 1, q); // long name: words not kept
  const pos = c.wordPos;
  for (let w = a; w < b; w++) {
    wStart[w - a] = s + pos[2 * w];
    wEnd[w - a] = s + pos[2 * w + 1];
  }
  return wordSearch(c.buf, b - a, q);
}

function wordSearch(buf: Uint8Array, nw: number, q: Uint8Array): number {
  wCount = nw;
  wBuf = buf;
  wQ = q;
  wBest = -1;
  wBudget = 1000;
  wordRec(0, 0, 0);
  return wBest;
}

function wordRec(qi: number, w: number, score: number): void {
  if (--wBudget < 0) return;
  const q = wQ;
  while (qi < q.length && !isAlnum(q[qi])) qi++;
  if (qi === q.length) {
    // A trailing '_' asks for one more word.
    if (!isAlnum(q[q.length - 1]) && w >= wCount) return;
    if (wBest < 0 || score < wBest) wBest = score;
    return;
  }
  const buf = wBuf;
  const piece = qi === 0 ? 0 : 1;
  for (let v = w; v < wCount; v++) {
    const sc = score + (v - w) + piece;
    if (wBest >= 0 && sc >= wBest) return;
    const ws = wStart[v];
    const we = wEnd[v];
    let k = 0;
    while (ws + k < we && qi + k < q.length && buf[ws + k] === q[qi + k]) k++;
    for (let l = k; l >= 1; l--) wordRec(qi + l, v + 1, sc);
  }
}

function scanWords(c: Corpus, s: number, qb: Buffer, cap: number, add: AddFn): void {
  let need = 0;
  let inits = 0;
  let sep = true;
  for (let k = 0; k < qb.length; k++) {
    const ch = qb[k];
    const bit = ch >= 0x61 && ch <= 0x7a ? 1 << (ch - 0x61) : ch >= 0x30 && ch <= 0x39 ? 1 << 26 : 0;
    if (!bit && ch !== 0x5f && ch !== 0x20) return; // other characters: no word-start semantics
    need |= bit;
    // The first letter, and every letter after an explicit '_', must start a word.
    if (bit && sep) inits |= bit;
    sep = !bit;
  }
  if (need === 0) return;
  const mask = c.mask;
  const ini = c.initials;
  const stamp = c.stamp;
  // Best score first: per-score buckets; stop when bucket 0 is full.
  const buckets: number[][] = [[], [], [], []];
  for (let k = 0; k < c.slots; k++) {
    if ((mask[k] & need) !== need || (ini[k] & inits) !== inits) continue;
    if (stamp[k] === generation) continue;
    const sc = wordMatchSlot(c, k, qb);
    if (sc < 0) continue;
    const b = buckets[sc < 3 ? sc : 3];
    if (b.length < cap) b.push(k);
    if (buckets[0].length >= cap) break;
  }
  let taken = 0;
  for (let sc = 0; sc < 4 && taken < cap; sc++) {
    for (const k of buckets[sc]) {
      if (taken++ >= cap) break;
      add(s, c, c.entry[k], MatchClass.WordStart, sc);
    }
  }
}

function finish(groups: Group[], corpora: Corpus[], cap: number, gen: number): SearchHit[] {
  groups.sort((a, b) => a.k0 - b.k0 || a.k1 - b.k1 || a.len - b.len || a.src - b.src || a.hit.id - b.hit.id);
  const out: SearchHit[] = [];
  const emitted = new Set<number>();
  const keyOf = (src: number, id: number) => id * 64 + (src & 63);
  for (const g of groups) {
    if (out.length >= cap) break;
    const c = corpora[g.src];
    const h = g.hit;
    if (emitted.has(keyOf(g.src, h.id))) continue;
    // A variant whose base is also a hit is listed right after its base.
    const b = c.baseOf[h.id];
    if (h.match > MatchClass.Suffixed && b >= 0 && c.slotOf[b] !== NONE && c.stamp[c.slotOf[b]] === gen) continue;
    h.name = c.source.nameOf(h.id);
    out.push(h);
    emitted.add(keyOf(g.src, h.id));
    if (h.match <= MatchClass.Suffixed || h.match === MatchClass.Landmark) continue;
    for (let v = c.firstVariant[h.id]; v >= 0 && out.length < cap; v = c.nextVariant[v]) {
      if (emitted.has(keyOf(g.src, v))) continue;
      emitted.add(keyOf(g.src, v));
      out.push({ source: c.source, id: v, name: c.source.nameOf(v), match: h.match, score: h.score, tier: c.tierOf[v], variantOf: h.id });
    }
  }
  return out;
}
