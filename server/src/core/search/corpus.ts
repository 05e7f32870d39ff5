/**
 * The per-source search structure: the names, lower-cased, joined by '\n' into one byte
 * buffer laid out in tie order (tier, then length), so that every scan finds the best
 * candidates first and stops once it has enough; a 32-bit letter mask per name
 * prefilters word-start matching; compiler-suffixed and `__pfx_` variants are linked to
 * their base. Built once per source object (corpusOf), then cached.
 */
import type { SearchSource } from './sources';

export const NL = 0x0a;
export const NONE = 0xffffffff;
/** Words kept per name for word-start matching. */
export const MAX_WORDS = 64;

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
    const order = tieOrder(source);
    const names = layoutNames(source, order);
    this.tierOf = order.tierOf;
    this.entry = order.entry;
    this.slots = order.entry.length;
    this.buf = names.buf;
    this.start = names.start;
    this.slotOf = names.slotOf;
    this.mask = names.mask;
    this.initials = names.initials;
    this.wordAt = names.wordAt;
    this.wordPos = names.wordPos;
    this.stamp = new Uint32Array(this.slots);
    const n = source.count;
    this.baseOf = new Int32Array(n).fill(-1);
    this.firstVariant = new Int32Array(n).fill(-1);
    this.nextVariant = new Int32Array(n).fill(-1);
    this.linkVariants();
  }

  /** Link every `__pfx_x` / `x.suffix` to its base x in the same container. */
  private linkVariants(): void {
    const { source, buf, start, entry, slotOf, slots } = this;
    const n = source.count;
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

interface TieOrder {
  /** Tier of each entry. */
  tierOf: Uint8Array;
  /** The searchable entries (name length > 0) in tie order: tier, then length, then entry order. */
  entry: Uint32Array;
  /** Bytes of the joined names ('\n' before each and after the last). */
  bytes: number;
}

/** A stable counting sort of the entries by (tier, name length). */
function tieOrder(source: SearchSource): TieOrder {
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
  return { tierOf, entry, bytes };
}

interface NameLayout {
  buf: Buffer;
  start: Uint32Array;
  slotOf: Uint32Array;
  mask: Uint32Array;
  initials: Uint32Array;
  wordAt: Uint32Array;
  wordPos: Uint8Array;
}

/** The lower-cased names joined in tie order, with each name's letter masks and word positions. */
function layoutNames(source: SearchSource, order: TieOrder): NameLayout {
  const { entry, bytes } = order;
  const n = source.count;
  const slots = entry.length;
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
  return { buf, start, slotOf, mask, initials, wordAt, wordPos: wordPos.slice(0, 2 * nw) };
}

function maybeVariant(buf: Uint8Array, s: number, e: number): boolean {
  if (
    e - s > 6 &&
    buf[s] === 0x5f &&
    buf[s + 1] === 0x5f &&
    buf[s + 2] === 0x70 &&
    buf[s + 3] === 0x66 &&
    buf[s + 4] === 0x78 &&
    buf[s + 5] === 0x5f
  )
    return true;
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
