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
import { parseHexAddr } from '../common/addr';
import { lookupQuery } from '../log/lookup';
import { compilerSuffix, Corpus, corpusOf, isVariantOf, MAX_WORDS, NL, NONE } from './corpus';
import type { BtfSource, KallsymsSource, SearchSource } from './sources';

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
  /**
   * An address or `name+0xoff` query: what the kernel prints for it (`vfs_read+0x10/0x180`),
   * this hit being the symbol that covers it.
   */
  form?: string;
  /** A vmlinux symbol that BTF also describes: its FUNC/VAR record (listed once, here, not as a BTF hit of its own). */
  btf?: { source: BtfSource; id: number };
}

export interface SearchOptions {
  /** Maximum results (default 100). */
  cap?: number;
}

export const DEFAULT_CAP = 100;

/** Results of Go to Symbol in Workspace: the ksym.searchLimit default (package.json) and its maximum. */
export const DEFAULT_SEARCH_LIMIT = 200;
export const MAX_SEARCH_LIMIT = 10000;

/** Names shown for an empty query, when present. */
const LANDMARKS = [
  '_stext',
  '_text',
  '_etext',
  '_sinittext',
  '_einittext',
  '_end',
  'start_kernel',
  'kernel_init',
  'rest_init',
  'entry_SYSCALL_64',
  'do_syscall_64',
  'asm_exc_page_fault',
  'exc_page_fault',
  'handle_mm_fault',
  'schedule',
  '__schedule',
  'panic',
  'oops_begin',
  'die',
  'do_exit',
  'do_group_exit',
  'task_struct',
  'sk_buff',
  'page',
  'folio',
  'file',
  'inode',
  'dentry',
  'super_block',
  'net_device',
  'sock',
  'mm_struct',
  'vm_area_struct',
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
    const covering = mergeBtfRecords(sources, addressHits(sources, q));
    const hits = mergeBtfRecords(sources, searchUnsafe(sources, q, cap));
    if (covering.length === 0) return hits;
    const seen = new Set(covering.map((h) => `${sources.indexOf(h.source)}:${h.id}`));
    return [...covering, ...hits.filter((h) => !seen.has(`${sources.indexOf(h.source)}:${h.id}`))].slice(0, cap);
  } catch {
    return [];
  }
}

/** A query that names an address: hex (`0x…`, or 8+ digits), or `name+0xoff[/0xsize] [mod]`. */
const ADDRESS_QUERY = /^(?:0x[0-9a-fA-F]{1,16}|[0-9a-fA-F]{8,16})$/;
const OFFSET_QUERY = /^\.?[A-Za-z_$][\w.$]*\+(?:0x[0-9a-fA-F]+|\d+)(?:\/(?:0x[0-9a-fA-F]+|\d+))?(?: ?\[[\w-]+(?: [0-9a-f]+)?\])?$/;

/**
 * The symbols covering an address query, as the kernel resolves it (%pS: the last symbol at
 * or below, its first alias), one per kallsyms source; every candidate of an ambiguous
 * `name+0xoff`. Empty for other queries.
 */
function addressHits(sources: readonly SearchSource[], q: string): SearchHit[] {
  if (!ADDRESS_QUERY.test(q) && !OFFSET_QUERY.test(q)) return [];
  const out: SearchHit[] = [];
  for (const src of sources) {
    if (src.type !== 'kallsyms') continue;
    const index = (src as KallsymsSource).index;
    let entry;
    try {
      entry = lookupQuery(index, q);
    } catch {
      continue; // not an address any symbol can have (QueryError)
    }
    const found = entry.name !== null ? [entry] : entry.candidates;
    // `name+0xoff` past the end of `name` (no frame would print it): the symbol at that address.
    const past = found.length === 0 ? offsetPastEnd(index, q) : [];
    for (const at of [...found.map((e) => (e.address !== null ? parseHexAddr(e.address) : undefined)), ...past]) {
      const r = at !== undefined ? index.resolve(at) : undefined;
      if (!r || out.some((h) => h.source === src && h.id === r.sym.id)) continue;
      out.push({ source: src, id: r.sym.id, name: r.sym.name, match: MatchClass.Exact, score: 0, tier: src.tier(r.sym.id), form: r.text });
    }
  }
  return out;
}

/** The addresses `name+off` names for each vmlinux (or `[mod]`) symbol called `name`. */
function offsetPastEnd(index: KallsymsSource['index'], q: string): bigint[] {
  const m = /^(\.?[A-Za-z_$][\w.$]*)\+(0x[0-9a-fA-F]+|\d+)(?:\/\S+)?(?: ?\[([\w-]+)[^\]]*\])?$/.exec(q);
  if (!m) return [];
  const off = BigInt(m[2]);
  return index
    .byNameAll(m[1])
    .filter((i) => index.moduleOf(i) === m[3])
    .map((i) => index.addressOf(i) + off)
    .filter((a) => a < 1n << 64n);
}

/**
 * One entry per symbol: a BTF FUNC/VAR record repeats a vmlinux kallsyms symbol of the same
 * name, so it is not listed on its own; the kallsyms hit carries it (`btf`). Records with no
 * such symbol (another kernel's index, no kallsyms) stay.
 */
function mergeBtfRecords(sources: readonly SearchSource[], hits: SearchHit[]): SearchHit[] {
  const kallsyms = sources.filter((s) => s.type === 'kallsyms');
  const btfs = sources.filter((s): s is BtfSource => s.type === 'btf');
  if (kallsyms.length === 0 || btfs.length === 0) return hits;
  const isRecord = (s: SearchSource, id: number) => {
    const k = s.kind(id);
    return k === 'function' || k === 'variable';
  };
  const inVmlinux = (name: string) => kallsyms.some((k) => k.exact(name).some((i) => k.container(i) === 'vmlinux'));
  const out = hits.filter((h) => !(h.source.type === 'btf' && isRecord(h.source, h.id) && inVmlinux(h.name)));
  for (const h of out) {
    if (h.source.type !== 'kallsyms' || h.source.container(h.id) !== 'vmlinux') continue;
    for (const b of btfs) {
      const id = b.exact(h.name).find((i) => isRecord(b, i) && (b.kind(i) === 'function') === (h.source.kind(h.id) === 'function'));
      if (id !== undefined) {
        h.btf = { source: b, id };
        break;
      }
    }
  }
  return out;
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
    groups.push({
      hit: { source: src, id, name: '', match, score, tier },
      k0: match * 64 + Math.min(score, 63),
      k1: tier,
      len: c.start[slot + 1] - c.start[slot] - 1,
      src: s,
    });
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
    if (pre.length <= PREFIX_RANGE) {
      for (const id of pre)
        add(s, c, id, compilerSuffix(src.nameOf(id)).length === src.nameLength(id) - text.length ? MatchClass.Suffixed : MatchClass.Prefix);
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
  if (c.buf[c.start[slot] + qlen] === 0x2e && compilerSuffix(c.source.nameOf(c.entry[slot])).length === len - qlen)
    return MatchClass.Suffixed;
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

// ---- word-start matching ----------------------------------------------------------------------

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/**
 * Word-start match of q (lower case; '_' and ' ' separate pieces) in a name: q is cut
 * into pieces, each a prefix of a later word (words may be skipped). The score is
 * skipped words + pieces - 1 (lower is better). One matcher per search: its word
 * arrays are reused for every name (no allocation per name).
 */
class WordMatcher {
  private readonly wStart = new Int32Array(MAX_WORDS);
  private readonly wEnd = new Int32Array(MAX_WORDS);
  private count = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private best = -1;
  private budget = 0;

  constructor(private readonly q: Uint8Array) {}

  /** The best score for the name in buf[s, e), or -1. */
  match(buf: Uint8Array, s: number, e: number): number {
    let nw = 0;
    let prev = false;
    for (let p = s; p < e; p++) {
      const a = isAlnum(buf[p]);
      if (a && !prev) {
        if (nw === MAX_WORDS) break;
        this.wStart[nw] = p;
      } else if (!a && prev) this.wEnd[nw++] = p;
      prev = a;
    }
    if (prev && nw < MAX_WORDS) this.wEnd[nw++] = e;
    return this.search(buf, nw);
  }

  /** match() for a corpus slot, with its words already found (Corpus.wordPos). */
  matchSlot(c: Corpus, k: number): number {
    const s = c.start[k];
    const a = c.wordAt[k];
    const b = c.wordAt[k + 1];
    if (a === b) return this.match(c.buf, s, c.start[k + 1] - 1); // long name: words not kept
    const pos = c.wordPos;
    for (let w = a; w < b; w++) {
      this.wStart[w - a] = s + pos[2 * w];
      this.wEnd[w - a] = s + pos[2 * w + 1];
    }
    return this.search(c.buf, b - a);
  }

  private search(buf: Uint8Array, nw: number): number {
    this.count = nw;
    this.buf = buf;
    this.best = -1;
    this.budget = 1000;
    this.rec(0, 0, 0);
    return this.best;
  }

  private rec(qi: number, w: number, score: number): void {
    if (--this.budget < 0) return;
    const q = this.q;
    while (qi < q.length && !isAlnum(q[qi])) qi++;
    if (qi === q.length) {
      // A trailing '_' asks for one more word.
      if (!isAlnum(q[q.length - 1]) && w >= this.count) return;
      if (this.best < 0 || score < this.best) this.best = score;
      return;
    }
    const buf = this.buf;
    const piece = qi === 0 ? 0 : 1;
    for (let v = w; v < this.count; v++) {
      const sc = score + (v - w) + piece;
      if (this.best >= 0 && sc >= this.best) return;
      const ws = this.wStart[v];
      const we = this.wEnd[v];
      let k = 0;
      while (ws + k < we && qi + k < q.length && buf[ws + k] === q[qi + k]) k++;
      for (let l = k; l >= 1; l--) this.rec(qi + l, v + 1, sc);
    }
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
  const words = new WordMatcher(qb);
  for (let k = 0; k < c.slots; k++) {
    if ((mask[k] & need) !== need || (ini[k] & inits) !== inits) continue;
    if (stamp[k] === generation) continue;
    const sc = words.matchSlot(c, k);
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
  // Emitted entries, per source (a key packing source and entry would have to bound
  // one of them; `ksym search --module DIR` has a source per module).
  const emitted = corpora.map(() => new Set<number>());
  for (const g of groups) {
    if (out.length >= cap) break;
    const c = corpora[g.src];
    const h = g.hit;
    if (emitted[g.src].has(h.id)) continue;
    // A variant whose base is also a hit is listed right after its base.
    const b = c.baseOf[h.id];
    if (h.match > MatchClass.Suffixed && b >= 0 && c.slotOf[b] !== NONE && c.stamp[c.slotOf[b]] === gen) continue;
    h.name = c.source.nameOf(h.id);
    out.push(h);
    emitted[g.src].add(h.id);
    if (h.match <= MatchClass.Suffixed || h.match === MatchClass.Landmark) continue;
    for (let v = c.firstVariant[h.id]; v >= 0 && out.length < cap; v = c.nextVariant[v]) {
      if (emitted[g.src].has(v)) continue;
      emitted[g.src].add(v);
      out.push({ source: c.source, id: v, name: c.source.nameOf(v), match: h.match, score: h.score, tier: c.tierOf[v], variantOf: h.id });
    }
  }
  return out;
}
