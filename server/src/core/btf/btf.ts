/**
 * The BTF reader: keeps the blob as it is (no copy), indexes record offsets up
 * front, builds the sorted name index on the first name query, decodes a type only
 * when asked for.
 */
import { FormatError } from '../common/errors';
import { CRenderer, type RenderOptions } from './c';
import { parseHeader, type BtfHeader } from './header';
import { Kind, KIND_NAMES, MAX_KIND, type BtfKindName } from './kinds';
import { buildNameIndex, lowerBound } from './names';
import { indexTypes } from './raw';
import { BtfStrings, encodeName } from './strings';
import type { BtfMember, BtfStats, BtfType, Linkage } from './types';

const LINKAGE: Linkage[] = ['static', 'global', 'extern'];

export class Btf {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly header: BtfHeader;
  readonly base: Btf | undefined;
  /** First id defined by this blob (1 for base BTF; base.lastId + 1 for split BTF). */
  readonly firstId: number;
  /** Last valid id (firstId - 1 when empty). */
  readonly lastId: number;
  readonly strings: BtfStrings;
  /** Record offset by local index (id - firstId). */
  readonly offsets: Uint32Array;
  private sortedNames: Uint32Array | undefined;
  private readonly namedCount: number;
  private readonly dv: DataView;
  private readonly le: boolean;
  private readonly kindCounts: Uint32Array;
  private readonly namedFuncCount: number;
  private kfuncSet: Set<number> | undefined;
  private ptrSize: number | undefined;

  constructor(bytes: Uint8Array, file: string, base?: Btf) {
    this.file = file;
    this.bytes = bytes;
    this.base = base;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.header = parseHeader(bytes, this.dv, file);
    this.le = this.header.littleEndian;
    const h = this.header;
    const baseStrLen = base ? base.strings.total : 0;
    this.strings = new BtfStrings(bytes, h.strStart, h.strEnd - h.strStart, baseStrLen, base?.strings, file);
    this.firstId = base ? base.lastId + 1 : 1;
    const hint = base ? '' : ' (split BTF loaded without its base?)';
    const raw = indexTypes(bytes, this.dv, h, this.strings, this.firstId, file, hint);
    this.offsets = raw.offsets;
    this.kindCounts = raw.kindCounts;
    this.namedFuncCount = raw.namedFuncs;
    this.lastId = this.firstId + raw.offsets.length - 1;
    this.namedCount = raw.namedCount;
  }

  /**
   * Local indices of named types, sorted by name bytes (ties by id). Built on first use
   * (any name query), so indexing a blob is only its header and record offset table.
   */
  get nameIndex(): Uint32Array {
    return (this.sortedNames ??= guard(this.file, () => this.buildNames()));
  }

  private buildNames(): Uint32Array {
    const n = this.namedCount;
    const locals = new Uint32Array(n);
    const nameOffs = new Uint32Array(n);
    const dv = this.dv;
    const le = this.le;
    const offsets = this.offsets;
    let k = 0;
    for (let i = 0; i < offsets.length; i++) {
      const no = dv.getUint32(offsets[i], le);
      if (no !== 0) {
        locals[k] = i;
        nameOffs[k++] = no;
      }
    }
    return buildNameIndex(locals, nameOffs, this.strings);
  }

  /** Number of types defined by this blob (void and base types excluded). */
  get types(): number {
    return this.offsets.length;
  }

  /** The Btf that defines `id`, or undefined (id 0 = void is defined by none). */
  owner(id: number): Btf | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.lastId) return undefined;
    if (id >= this.firstId) return this;
    return this.base?.owner(id);
  }

  has(id: number): boolean {
    return this.owner(id) !== undefined;
  }

  // ---- raw accessors (no decoding) -------------------------------------------------

  /** Kind number of `id` (0 for void or unknown ids). */
  kindOf(id: number): number {
    const o = this.owner(id);
    if (!o) return 0;
    return (o.dv.getUint32(o.offsets[id - o.firstId] + 4, o.le) >>> 24) & 0x1f;
  }

  kindName(id: number): BtfKindName | 'VOID' {
    const k = this.kindOf(id);
    return k === 0 ? 'VOID' : (KIND_NAMES[k] as BtfKindName);
  }

  nameOf(id: number): string {
    const o = this.owner(id);
    if (!o) return '';
    return o.strings.get(o.dv.getUint32(o.offsets[id - o.firstId], o.le));
  }

  /** Raw third word: size for sized kinds, type id for reference kinds. */
  sizeOrType(id: number): number {
    const o = this.owner(id);
    if (!o) return 0;
    return o.dv.getUint32(o.offsets[id - o.firstId] + 8, o.le);
  }

  vlenOf(id: number): number {
    const o = this.owner(id);
    if (!o) return 0;
    return o.dv.getUint32(o.offsets[id - o.firstId] + 4, o.le) & 0xffff;
  }

  recordOffset(id: number): number {
    const o = this.owner(id);
    return o ? o.offsets[id - o.firstId] : -1;
  }

  // ---- decoding ----------------------------------------------------------------------

  /** Decode one type; undefined for void/unknown ids. Throws FormatError for bad records. */
  byId(id: number): BtfType | undefined {
    const o = this.owner(id);
    if (!o) return undefined;
    return o.decode(id);
  }

  private checkType(id: number, at: number, t: number, what: string): number {
    if (t > this.lastId) {
      throw new FormatError(this.file, at, `type [${id}]: ${what} references type id ${t} but the last type is [${this.lastId}]`);
    }
    return t;
  }

  private str(id: number, at: number, off: number, what: string): string {
    if (off >= this.strings.total) {
      throw new FormatError(
        this.file,
        at,
        `type [${id}]: ${what} name offset ${off} is past the string section (${this.strings.total} bytes)`,
      );
    }
    return this.strings.get(off);
  }

  private decode(id: number): BtfType {
    const dv = this.dv;
    const le = this.le;
    const off = this.offsets[id - this.firstId];
    const info = dv.getUint32(off + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 !== 0;
    const st = dv.getUint32(off + 8, le);
    const name = this.strings.get(dv.getUint32(off, le));
    const d = off + 12;
    const base = { id, name, offset: off };
    switch (kind) {
      case Kind.INT: {
        const v = dv.getUint32(d, le);
        const enc = (v >>> 24) & 0x0f;
        return {
          ...base,
          kind: 'INT',
          size: st,
          signed: (enc & 1) !== 0,
          char: (enc & 2) !== 0,
          bool: (enc & 4) !== 0,
          bitsOffset: (v >>> 16) & 0xff,
          bits: v & 0xff,
        };
      }
      case Kind.PTR:
        return { ...base, kind: 'PTR', type: st };
      case Kind.TYPEDEF:
        return { ...base, kind: 'TYPEDEF', type: st };
      case Kind.VOLATILE:
        return { ...base, kind: 'VOLATILE', type: st };
      case Kind.CONST:
        return { ...base, kind: 'CONST', type: st };
      case Kind.RESTRICT:
        return { ...base, kind: 'RESTRICT', type: st };
      case Kind.TYPE_TAG:
        return { ...base, kind: 'TYPE_TAG', type: st };
      case Kind.FUNC:
        return { ...base, kind: 'FUNC', type: st, linkage: LINKAGE[vlen] ?? 'global' };
      case Kind.ARRAY:
        return { ...base, kind: 'ARRAY', type: dv.getUint32(d, le), indexType: dv.getUint32(d + 4, le), nelems: dv.getUint32(d + 8, le) };
      case Kind.STRUCT:
      case Kind.UNION: {
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0, p = d; i < vlen; i++, p += 12) {
          const mname = this.str(id, p, dv.getUint32(p, le), `member ${i}`);
          const mtype = this.checkType(id, p + 4, dv.getUint32(p + 4, le), `member ${i}`);
          const mo = dv.getUint32(p + 8, le);
          members[i] = kflag
            ? { name: mname, type: mtype, bitOffset: mo & 0xffffff, bitfieldSize: mo >>> 24 }
            : { name: mname, type: mtype, bitOffset: mo, bitfieldSize: 0 };
        }
        return kind === Kind.STRUCT ? { ...base, kind: 'STRUCT', size: st, members } : { ...base, kind: 'UNION', size: st, members };
      }
      case Kind.ENUM: {
        const values = new Array(vlen);
        for (let i = 0, p = d; i < vlen; i++, p += 8) {
          values[i] = {
            name: this.str(id, p, dv.getUint32(p, le), `enumerator ${i}`),
            value: kflag ? dv.getInt32(p + 4, le) : dv.getUint32(p + 4, le),
          };
        }
        return { ...base, kind: 'ENUM', size: st, signed: kflag, values };
      }
      case Kind.ENUM64: {
        const values = new Array(vlen);
        for (let i = 0, p = d; i < vlen; i++, p += 12) {
          const lo = BigInt(dv.getUint32(p + 4, le));
          const hi = BigInt(dv.getUint32(p + 8, le));
          const u = (hi << 32n) | lo;
          values[i] = { name: this.str(id, p, dv.getUint32(p, le), `enumerator ${i}`), value: kflag ? BigInt.asIntN(64, u) : u };
        }
        return { ...base, kind: 'ENUM64', size: st, signed: kflag, values };
      }
      case Kind.FWD:
        return { ...base, kind: 'FWD', union: kflag };
      case Kind.FUNC_PROTO: {
        const params = [];
        let variadic = false;
        for (let i = 0, p = d; i < vlen; i++, p += 8) {
          const pn = dv.getUint32(p, le);
          const pt = dv.getUint32(p + 4, le);
          if (i === vlen - 1 && pn === 0 && pt === 0) {
            variadic = true;
            break;
          }
          params.push({ name: this.str(id, p, pn, `parameter ${i}`), type: this.checkType(id, p + 4, pt, `parameter ${i}`) });
        }
        return { ...base, kind: 'FUNC_PROTO', returnType: st, params, variadic };
      }
      case Kind.VAR:
        return { ...base, kind: 'VAR', type: st, linkage: LINKAGE[dv.getUint32(d, le)] ?? 'global' };
      case Kind.DATASEC: {
        const vars = new Array(vlen);
        for (let i = 0, p = d; i < vlen; i++, p += 12) {
          vars[i] = {
            type: this.checkType(id, p, dv.getUint32(p, le), `variable ${i}`),
            offset: dv.getUint32(p + 4, le),
            size: dv.getUint32(p + 8, le),
          };
        }
        return { ...base, kind: 'DATASEC', size: st, vars };
      }
      case Kind.FLOAT:
        return { ...base, kind: 'FLOAT', size: st };
      case Kind.DECL_TAG:
        return { ...base, kind: 'DECL_TAG', type: st, componentIdx: dv.getInt32(d, le) };
      default:
        // unreachable: indexTypes rejected unknown kinds
        throw new FormatError(this.file, off, `type [${id}]: unknown BTF kind ${kind}`);
    }
  }

  // ---- name lookups --------------------------------------------------------------------

  /**
   * Ids of every type named `name` (all kinds), ascending, base types first.
   * `struct X`, `union X`, `enum X` restrict to those kinds (and matching FWDs).
   */
  idsByName(name: string): number[] {
    const m = /^\s*(struct|union|enum)\s+(\S+)\s*$/.exec(name);
    const bare = m ? m[2] : name.trim();
    const q = encodeName(bare);
    const out: number[] = [];
    this.collectByName(q, out);
    if (!m) return out;
    const tag = m[1];
    return out.filter((id) => {
      const k = this.kindOf(id);
      if (tag === 'struct') return k === Kind.STRUCT || (k === Kind.FWD && !this.kflagOf(id));
      if (tag === 'union') return k === Kind.UNION || (k === Kind.FWD && this.kflagOf(id));
      return k === Kind.ENUM || k === Kind.ENUM64;
    });
  }

  byName(name: string): BtfType[] {
    return this.idsByName(name).map((id) => this.byId(id)!);
  }

  private collectByName(q: Uint8Array, out: number[]): void {
    if (this.base) this.base.collectByName(q, out);
    if (q.length === 0 || q.includes(0)) return;
    const dv = this.dv;
    const le = this.le;
    const nameOf = (local: number) => dv.getUint32(this.offsets[local], le);
    const ni = this.nameIndex;
    let i = lowerBound(ni, nameOf, this.strings, q);
    for (; i < ni.length; i++) {
      const local = ni[i];
      if (this.strings.compare(nameOf(local), q) !== 0) break;
      out.push(this.firstId + local);
    }
  }

  /** Names with the given prefix (own types and base), at most `limit`, sorted. For completion. */
  namesWithPrefix(prefix: string, limit = 100): string[] {
    const q = encodeName(prefix);
    const res = new Set<string>();
    const walk = (b: Btf) => {
      if (b.base) walk(b.base);
      const nameOf = (local: number) => b.dv.getUint32(b.offsets[local], b.le);
      const ni = b.nameIndex;
      let i = lowerBound(ni, nameOf, b.strings, q);
      for (; i < ni.length && res.size < limit; i++) {
        const s = b.strings.get(nameOf(ni[i]));
        if (!s.startsWith(prefix)) break;
        res.add(s);
      }
    };
    walk(this);
    return [...res].sort().slice(0, limit);
  }

  kflagOf(id: number): boolean {
    const o = this.owner(id);
    if (!o) return false;
    return o.dv.getUint32(o.offsets[id - o.firstId] + 4, o.le) >>> 31 !== 0;
  }

  // ---- stats and kfuncs -------------------------------------------------------------------

  stats(): BtfStats {
    const kinds = {} as Record<BtfKindName, number>;
    for (let k = 1; k <= MAX_KIND; k++) kinds[KIND_NAMES[k] as BtfKindName] = this.kindCounts[k];
    return {
      types: this.types,
      kinds,
      namedFuncs: this.namedFuncCount,
      kfuncs: this.kfuncIds().length,
      firstId: this.firstId,
      lastId: this.lastId,
    };
  }

  /** FUNC ids (own and base) tagged with DECL_TAG "bpf_kfunc" (component_idx -1). Built lazily. */
  private kfuncs(): Set<number> {
    if (this.kfuncSet) return this.kfuncSet;
    const set = new Set<number>(this.base ? this.base.kfuncs() : []);
    const dv = this.dv;
    const le = this.le;
    const want = encodeName('bpf_kfunc');
    for (let i = 0; i < this.offsets.length; i++) {
      const o = this.offsets[i];
      if (((dv.getUint32(o + 4, le) >>> 24) & 0x1f) !== Kind.DECL_TAG) continue;
      if (dv.getInt32(o + 12, le) !== -1) continue;
      if (this.strings.compare(dv.getUint32(o, le), want) !== 0) continue;
      const target = dv.getUint32(o + 8, le);
      if (this.kindOf(target) === Kind.FUNC) set.add(target);
    }
    this.kfuncSet = set;
    return set;
  }

  isKfunc(id: number): boolean {
    return this.kfuncs().has(id);
  }

  /** Kfunc ids, ascending (only those defined by this blob). */
  kfuncIds(): number[] {
    return [...this.kfuncs()].filter((id) => id >= this.firstId).sort((a, b) => a - b);
  }

  /** Valid C for one type (bpftool `format c` style, pahole-like layout comments). */
  declaration(id: number, opts: RenderOptions = {}): string {
    return guard(this.file, () => new CRenderer(this, opts).declaration(id));
  }

  /** Self-contained C for `ids` and everything they depend on (duplicate names renamed `x___2`). */
  renderWithDependencies(ids: number[], opts: RenderOptions = {}): string {
    return guard(this.file, () => new CRenderer(this, { ...opts, dedupNames: true }).withDependencies(ids));
  }

  /** Pointer size guessed from the 'long' integer type (like libbpf), default 8. */
  pointerSize(): number {
    if (this.ptrSize !== undefined) return this.ptrSize;
    let sz = 8;
    for (const n of ['long int', 'long unsigned int', 'long', 'unsigned long']) {
      const ids = this.idsByName(n).filter((id) => this.kindOf(id) === Kind.INT);
      if (ids.length) {
        const s = this.sizeOrType(ids[0]);
        if (s === 4 || s === 8) sz = s;
        break;
      }
    }
    this.ptrSize = sz;
    return sz;
  }
}

/**
 * Parse raw BTF (or the `.BTF` section of an ELF file). `base` makes it split BTF:
 * ids continue at base.lastId + 1 and string offsets >= the base string section
 * length refer to this blob's strings. Throws FormatError on any format problem.
 */
export function parseBtf(bytes: Uint8Array, file: string, base?: Btf): Btf {
  return guard(file, () => new Btf(bytes, file, base));
}

/** Only FormatError escapes: anything else (a bug, or e.g. stack exhaustion on hostile input) is wrapped. */
function guard<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, 0, `internal error while reading BTF: ${(e as Error)?.message ?? String(e)}`);
  }
}
