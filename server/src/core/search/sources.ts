/**
 * Search sources: the named entries of one kallsyms index, one BTF blob or one module
 * `.ko`, each with its own sorted name index (exact and prefix lookups by binary
 * search), tie tier, kind and container (the ranking: ranking.ts). Sources are cached
 * per object, so a corpus (corpus.ts) is built once per index, BTF and module.
 */
import type { Btf } from '../btf/btf';
import { Kind } from '../btf/kinds';
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import type { ModuleSymbols } from '../modules/symtab';

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

  constructor(
    readonly btf: Btf,
    readonly containerName = 'btf',
  ) {
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
      for (let k = 0; k < q.length; k++)
        if (b[p + k] !== q[k]) {
          ok = false;
          break;
        }
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
    const word =
      k === Kind.STRUCT
        ? 'struct'
        : k === Kind.UNION
          ? 'union'
          : k === Kind.ENUM || k === Kind.ENUM64
            ? 'enum'
            : k === Kind.TYPEDEF
              ? 'typedef'
              : k === Kind.FUNC
                ? 'BTF FUNC'
                : 'BTF VAR';
    if (k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64)
      return `${word} (${this.btf.sizeOrType(this.ids[i])} bytes) [${this.ids[i]}]`;
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

  constructor(
    readonly module: ModuleSymbols,
    readonly moduleName = module.name,
    readonly file?: string,
  ) {
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

// ---- the sources of an index, a BTF and modules ---------------------------------------------

// Cached per object so the search corpora are built once per index/BTF/module.
const kallsymsSources = new WeakMap<SymbolIndex, KallsymsSource>();
const btfSources = new WeakMap<Btf, BtfSource>();
const koSources = new WeakMap<ModuleSymbols, ModuleKoSource>();

/** What is searched: the kallsyms index, the vmlinux BTF, parsed module .ko symbol tables. */
export interface SearchScope {
  index: SymbolIndex;
  btf?: Btf;
  /** Parsed module .ko symbol tables (e.g. those the module store has loaded). */
  modules?: ReadonlyArray<{ module: ModuleSymbols; file?: string }>;
}

/** The search sources of a scope, in tie order (kallsyms, BTF, modules). */
export function searchSources(scope: SearchScope): SearchSource[] {
  const out: SearchSource[] = [];
  let k = kallsymsSources.get(scope.index);
  if (!k) kallsymsSources.set(scope.index, (k = new KallsymsSource(scope.index)));
  out.push(k);
  if (scope.btf) {
    let b = btfSources.get(scope.btf);
    if (!b) btfSources.set(scope.btf, (b = new BtfSource(scope.btf)));
    out.push(b);
  }
  for (const m of scope.modules ?? []) {
    let s = koSources.get(m.module);
    if (!s) koSources.set(m.module, (s = new ModuleKoSource(m.module, m.module.name, m.file)));
    out.push(s);
  }
  return out;
}

/** Module .ko sources of a scope (for symbol pages). */
export function moduleSources(scope: SearchScope): ModuleKoSource[] {
  return searchSources(scope).filter((s): s is ModuleKoSource => s instanceof ModuleKoSource);
}
