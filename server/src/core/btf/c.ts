/**
 * C rendering of BTF types, in the style of `bpftool btf dump ... format c`, with
 * pahole-like layout comments (member offsets/sizes, holes, padding).
 *
 * Every walk is bounded (depth limits, an "inline in progress" set for anonymous
 * aggregates, visited sets for dependency closure), so corrupt BTF with reference
 * loops renders something finite instead of hanging.
 */
import type { Btf } from './btf';
import { Kind } from './kinds';
import type { BtfEnum, BtfEnum64, BtfFuncProto, BtfMember, BtfStruct, BtfType, BtfUnion } from './types';

const MAX_DEPTH = 64;
const MAX_INLINE_LEVEL = 24;
/** Member and enumerator lines one top-level rendering may expand inline (anonymous types
 *  reused many times in hostile BTF would otherwise multiply the output). */
const LINE_BUDGET = 20000;
/** The same for a whole withDependencies() file (every named kernel struct fits). */
const TOTAL_BUDGET = 1_500_000;
const COMMENT_COL = 56;
const CACHELINE = 64;

export interface RenderOptions {
  /** pahole-style offset/size/hole comments in struct/union bodies (default true). */
  layout?: boolean;
  /**
   * The storage class of a FUNC prototype: 'btf' (default) as the FUNC record says
   * (`static`/`extern`); 'static' or 'none' (no keyword) when the caller knows better:
   * pahole records many kernels' global functions as static, so a symbol's nm type
   * (t vs T) is the better source.
   */
  linkage?: 'btf' | 'static' | 'none';
}

/** Tabs expanded to spaces at 8-column stops (pahole's columns in any tab width). */
export function expandTabs(s: string): string {
  if (!s.includes('\t')) return s;
  return s
    .split('\n')
    .map((line) => {
      let out = '';
      for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
      return out;
    })
    .join('\n');
}

function safeComment(s: string): string {
  return s.replace(/\*\//g, '* /').replace(/[\r\n]/g, ' ');
}

function visualWidth(s: string): number {
  let w = 0;
  for (const ch of s) w = ch === '\t' ? (w + 8) & ~7 : w + 1;
  return w;
}

function withComment(line: string, comment: string): string {
  const w = visualWidth(line);
  let pad = '';
  if (w < COMMENT_COL) {
    let col = w;
    while (((col + 8) & ~7) <= COMMENT_COL) {
      pad += '\t';
      col = (col + 8) & ~7;
    }
    pad += ' '.repeat(Math.max(pad ? 0 : 1, COMMENT_COL - col));
  } else pad = ' ';
  return `${line}${pad}/* ${comment} */`;
}

function roundUp(x: number, a: number): number {
  return a <= 1 ? x : Math.ceil(x / a) * a;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Agg = BtfStruct | BtfUnion;

export class CRenderer {
  private readonly layout: boolean;
  private readonly linkage: 'btf' | 'static' | 'none';
  private readonly tagNames = new Map<number, string>();
  private readonly ordNames = new Map<number, string>();
  private readonly enumeratorNames = new Map<string, string>(); // `${id}:${idx}` -> name
  private readonly usedTags = new Set<string>();
  private readonly usedOrd = new Set<string>();
  private readonly packedMemo = new Map<number, boolean>();
  private readonly alignMemo = new Map<number, number>();
  private readonly inlining = new Set<number>();
  /** Lines left for inline expansion in the current top-level rendering. */
  private budget = LINE_BUDGET;
  private entries = 0;
  /** Units left for a whole withDependencies() rendering (unbounded otherwise). */
  private total = Infinity;

  /** Run a top-level rendering with a fresh line budget (nested calls share it). */
  private top<T>(f: () => T): T {
    const outer = this.entries++ === 0;
    const start = Math.min(LINE_BUDGET, Math.max(this.total, 0));
    if (outer) this.budget = start;
    try {
      return f();
    } finally {
      if (--this.entries === 0) this.total -= start - Math.max(this.budget, 0);
    }
  }
  private readonly anonEnumsEmitted = new Set<number>();
  /** Rename duplicates (name___2) — used when rendering many types into one unit. */
  private readonly dedupNames: boolean;

  constructor(
    readonly btf: Btf,
    opts: RenderOptions & { dedupNames?: boolean } = {},
  ) {
    this.layout = opts.layout ?? true;
    this.linkage = opts.linkage ?? 'btf';
    this.dedupNames = opts.dedupNames ?? false;
  }

  // ---- naming ----------------------------------------------------------------------------

  private rawName(id: number): string {
    const n = this.btf.nameOf(id);
    return IDENT.test(n) ? n : n === '' ? '' : `__btf_invalid_name_${id}`;
  }

  /** Tag (struct/union/enum) name for a named aggregate/enum/fwd. */
  tagName(id: number): string {
    const got = this.tagNames.get(id);
    if (got !== undefined) return got;
    const base = this.rawName(id);
    let name = base;
    if (this.dedupNames && this.btf.kindOf(id) !== Kind.FWD) {
      for (let i = 2; this.usedTags.has(name); i++) name = `${base}___${i}`;
      this.usedTags.add(name);
    }
    this.tagNames.set(id, name);
    return name;
  }

  /** Ordinary identifier (typedef, function, variable). */
  ordName(id: number): string {
    const got = this.ordNames.get(id);
    if (got !== undefined) return got;
    const base = this.rawName(id) || `__btf_anon_${id}`;
    let name = base;
    if (this.dedupNames) {
      for (let i = 2; this.usedOrd.has(name); i++) name = `${base}___${i}`;
      this.usedOrd.add(name);
    }
    this.ordNames.set(id, name);
    return name;
  }

  private enumeratorName(id: number, idx: number, raw: string): string {
    const key = `${id}:${idx}`;
    const got = this.enumeratorNames.get(key);
    if (got !== undefined) return got;
    const base = IDENT.test(raw) ? raw : `__btf_invalid_enumerator_${id}_${idx}`;
    let name = base;
    if (this.dedupNames) {
      for (let i = 2; this.usedOrd.has(name); i++) name = `${base}___${i}`;
      this.usedOrd.add(name);
    }
    this.enumeratorNames.set(key, name);
    return name;
  }

  // ---- sizes and alignment (as a C compiler would lay out our rendering) ---------------

  private get<T extends BtfType>(id: number): T | undefined {
    return this.btf.byId(id) as T | undefined;
  }

  /** Skip typedefs, qualifiers and type tags. */
  resolve(id: number): number {
    for (let d = 0; d < MAX_DEPTH; d++) {
      const k = this.btf.kindOf(id);
      if (k === Kind.TYPEDEF || k === Kind.CONST || k === Kind.VOLATILE || k === Kind.RESTRICT || k === Kind.TYPE_TAG) {
        id = this.btf.sizeOrType(id);
      } else return id;
    }
    return 0;
  }

  sizeOf(id: number, depth = 0): number {
    if (depth > MAX_DEPTH) return 0;
    const k = this.btf.kindOf(id);
    switch (k) {
      case Kind.INT:
      case Kind.FLOAT:
      case Kind.ENUM:
      case Kind.ENUM64:
      case Kind.STRUCT:
      case Kind.UNION:
      case Kind.DATASEC:
        return this.btf.sizeOrType(id);
      case Kind.PTR:
        return this.btf.pointerSize();
      case Kind.ARRAY: {
        const a = this.get<BtfType>(id);
        if (!a || a.kind !== 'ARRAY') return 0;
        return a.nelems * this.sizeOf(a.type, depth + 1);
      }
      case Kind.TYPEDEF:
      case Kind.CONST:
      case Kind.VOLATILE:
      case Kind.RESTRICT:
      case Kind.TYPE_TAG:
      case Kind.VAR:
        return this.sizeOf(this.btf.sizeOrType(id), depth + 1);
      default:
        return 0;
    }
  }

  alignOf(id: number, depth = 0): number {
    if (depth > MAX_DEPTH) return 1;
    const k = this.btf.kindOf(id);
    switch (k) {
      case Kind.INT:
      case Kind.FLOAT:
      case Kind.ENUM:
      case Kind.ENUM64: {
        const s = this.btf.sizeOrType(id);
        return s > 0 && (s & (s - 1)) === 0 ? Math.min(s, 16) : 1;
      }
      case Kind.PTR:
        return this.btf.pointerSize();
      case Kind.ARRAY: {
        const a = this.get<BtfType>(id);
        return a && a.kind === 'ARRAY' ? this.alignOf(a.type, depth + 1) : 1;
      }
      case Kind.STRUCT:
      case Kind.UNION: {
        const m = this.alignMemo.get(id);
        if (m !== undefined) return m;
        this.alignMemo.set(id, 1); // cycle guard
        const t = this.get<Agg>(id)!;
        let a = 1;
        if (!this.isPacked(t, depth + 1)) for (const mem of t.members) a = Math.max(a, this.alignOf(mem.type, depth + 1));
        this.alignMemo.set(id, a);
        return a;
      }
      case Kind.TYPEDEF:
      case Kind.CONST:
      case Kind.VOLATILE:
      case Kind.RESTRICT:
      case Kind.TYPE_TAG:
        return this.alignOf(this.btf.sizeOrType(id), depth + 1);
      default:
        return 1;
    }
  }

  /** Bitfield width and absolute bit offset of a member (handles kind_flag=0 int bitfields). */
  private memberBits(m: BtfMember): { off: number; bits: number } {
    if (m.bitfieldSize) return { off: m.bitOffset, bits: m.bitfieldSize };
    const r = this.resolve(m.type);
    if (this.btf.kindOf(r) === Kind.INT) {
      const t = this.get<BtfType>(r);
      if (t && t.kind === 'INT' && (t.bits !== t.size * 8 || t.bitsOffset !== 0) && t.bits > 0) {
        return { off: m.bitOffset + t.bitsOffset, bits: t.bits };
      }
    }
    return { off: m.bitOffset, bits: 0 };
  }

  /** Needs __attribute__((packed)): a non-bitfield member is misaligned or the size is not a multiple of the alignment. */
  isPacked(t: Agg, depth = 0): boolean {
    const memo = this.packedMemo.get(t.id);
    if (memo !== undefined) return memo;
    this.packedMemo.set(t.id, false);
    let maxAlign = 1;
    let packed = false;
    for (const m of t.members) {
      const a = this.alignOf(m.type, depth + 1);
      const { off, bits } = this.memberBits(m);
      if (bits === 0 && off % (8 * a) !== 0) packed = true;
      maxAlign = Math.max(maxAlign, a);
    }
    if (t.size % maxAlign !== 0) packed = true;
    this.packedMemo.set(t.id, packed);
    this.alignMemo.delete(t.id);
    return packed;
  }

  // ---- declarators -----------------------------------------------------------------------

  /** `T inner` for type id, e.g. typeDecl(ptr-to-char, 'p') = 'char *p'. */
  typeDecl(id: number, inner: string, level = 0, baseBits = 0, depth = 0): string {
    const join = (spec: string) => (inner ? `${spec} ${inner}` : spec);
    if (depth > MAX_DEPTH) return join(`void /* type chain too deep at [${id}] */`);
    if (--this.budget < 0) return join(`void /* [${id}] not expanded: declaration too large */`);
    if (id === 0) return join('void');
    const t = this.get<BtfType>(id);
    if (!t) return join(`void /* bad type id ${id} */`);
    switch (t.kind) {
      case 'INT':
      case 'FLOAT':
        return join(t.name ? t.name.replace(/[^A-Za-z0-9_ ]/g, '_') : 'int');
      case 'PTR': {
        const tk = this.btf.kindOf(this.skipQualifiers(t.type));
        const s = /^(const|volatile|restrict)\b/.test(inner) ? `* ${inner}` : `*${inner}`;
        return this.typeDecl(t.type, tk === Kind.ARRAY || tk === Kind.FUNC_PROTO ? `(${s})` : s, level, baseBits, depth + 1);
      }
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT': {
        const q = t.kind === 'CONST' ? 'const' : t.kind === 'VOLATILE' ? 'volatile' : 'restrict';
        const under = this.skipQualifiers(t.type);
        const uk = this.btf.kindOf(under);
        if (uk === Kind.PTR) return this.typeDecl(t.type, inner ? `${q} ${inner}` : q, level, baseBits, depth + 1);
        if (uk === Kind.FUNC_PROTO || t.kind === 'RESTRICT') return this.typeDecl(t.type, inner, level, baseBits, depth + 1);
        return `${q} ${this.typeDecl(t.type, inner, level, baseBits, depth + 1)}`;
      }
      case 'TYPE_TAG':
        return this.typeDecl(t.type, inner ? `/* ${safeComment(t.name)} */ ${inner}` : inner, level, baseBits, depth + 1);
      case 'ARRAY':
        return this.typeDecl(t.type, `${inner}[${t.nelems}]`, level, baseBits, depth + 1);
      case 'FUNC_PROTO': {
        const params = this.paramList(t, false, level, depth);
        return this.typeDecl(t.returnType, `${inner}(${params})`, level, baseBits, depth + 1);
      }
      case 'FUNC':
        return this.typeDecl(t.type, inner, level, baseBits, depth + 1);
      case 'TYPEDEF':
        return join(this.ordName(id));
      case 'FWD':
        return join(`${t.union ? 'union' : 'struct'} ${this.tagName(id) || `__btf_anon_${id}`}`);
      case 'STRUCT':
      case 'UNION':
        if (t.name) return join(`${t.kind === 'STRUCT' ? 'struct' : 'union'} ${this.tagName(id)}`);
        return join(this.aggregateBody(t, level, baseBits, depth + 1));
      case 'ENUM':
      case 'ENUM64':
        if (t.name) return join(`enum ${this.tagName(id)}`);
        if (this.dedupNames && this.anonEnumsEmitted.has(id)) {
          // an anonymous enum can be defined only once per unit: later uses get its integer type
          return join(`${this.enumIntType(t)} /* enum [${id}] */`);
        }
        this.anonEnumsEmitted.add(id);
        return join(this.enumBody(t, level));
      case 'VAR':
        return this.typeDecl(t.type, inner, level, baseBits, depth + 1);
      default:
        return join(`void /* ${t.kind} [${id}] */`);
    }
  }

  private skipQualifiers(id: number): number {
    for (let d = 0; d < MAX_DEPTH; d++) {
      const k = this.btf.kindOf(id);
      if (k === Kind.CONST || k === Kind.VOLATILE || k === Kind.RESTRICT || k === Kind.TYPE_TAG) id = this.btf.sizeOrType(id);
      else return id;
    }
    return 0;
  }

  private paramList(p: BtfFuncProto, withNames: boolean, level: number, depth: number): string {
    if (p.params.length === 0) return p.variadic ? '' : 'void';
    this.budget -= p.params.length;
    if (this.budget < 0) return '/* parameters not expanded: declaration too large */ ...';
    const parts = p.params.map((q, i) => {
      let n = withNames && IDENT.test(q.name) ? q.name : '';
      if (withNames && !n && q.name) n = `arg${i}`;
      return this.typeDecl(q.type, n, level, 0, depth + 1);
    });
    if (p.variadic) parts.push('...');
    return parts.join(', ');
  }

  // ---- bodies -------------------------------------------------------------------------------

  private enumBody(t: BtfEnum | BtfEnum64, level: number): string {
    const ind = '\t'.repeat(level + 1);
    const kw = 'enum';
    if (t.values.length === 0) return `${kw} ${t.name ? this.tagName(t.id) : ''}`.trimEnd();
    this.budget -= t.values.length + 1;
    if (this.budget < 0)
      return `${kw} ${t.name ? this.tagName(t.id) : ''} /* [${t.id}] not expanded: declaration too large */`.replace('  ', ' ');
    const lines = t.values.map((v, i) => `${ind}${this.enumeratorName(t.id, i, v.name)} = ${this.enumValue(t, v.value)},`);
    let s = `${kw} {\n${lines.join('\n')}\n${'\t'.repeat(level)}}`;
    const attr = this.enumSizeAttr(t);
    if (attr) s += ` ${attr}`;
    return s;
  }

  private enumIntType(t: BtfEnum | BtfEnum64): string {
    const signed = t.kind === 'ENUM64' ? t.signed : t.values.some((v) => (v.value as number) < 0);
    const base = { 1: 'char', 2: 'short', 4: 'int', 8: 'long long' }[t.size as 1 | 2 | 4 | 8] ?? 'int';
    return signed ? (base === 'char' ? 'signed char' : base) : `unsigned ${base}`;
  }

  private enumValue(t: BtfEnum | BtfEnum64, v: number | bigint): string {
    if (typeof v === 'number') {
      if (t.signed || v <= 0x7fffffff) return String(v);
      return `${v}U`;
    }
    if (t.signed) {
      if (v === -(2n ** 63n)) return '(-9223372036854775807LL - 1)';
      if (v > 0x7fffffffn || v < -0x80000000n) return `${v}LL`;
      return String(v);
    }
    if (v > 0x7fffffffn) return `${v}ULL`;
    return String(v);
  }

  /** GCC picks 4 bytes when all values fit in int/unsigned int, else 8; force other sizes. */
  private enumSizeAttr(t: BtfEnum | BtfEnum64): string {
    let natural = 4;
    for (const v of t.values) {
      const b = BigInt(v.value);
      if (b > 0xffffffffn || b < -0x80000000n) natural = 8;
    }
    if (t.size === natural) return '';
    const mode = { 1: 'QI', 2: 'HI', 4: 'SI', 8: 'DI' }[t.size as 1 | 2 | 4 | 8];
    return mode ? `__attribute__((mode(${mode})))` : '';
  }

  /** Full definition of the enum as a statement. */
  enumDefinition(t: BtfEnum | BtfEnum64): string {
    if (t.values.length === 0) return `enum ${this.tagName(t.id)};`;
    if (!t.name) {
      if (this.dedupNames && this.anonEnumsEmitted.has(t.id)) return `/* anonymous enum [${t.id}] defined above */`;
      this.anonEnumsEmitted.add(t.id);
    }
    const name = t.name ? `${this.tagName(t.id)} ` : '';
    const ind = '\t';
    const lines = t.values.map((v, i) => `${ind}${this.enumeratorName(t.id, i, v.name)} = ${this.enumValue(t, v.value)},`);
    const attr = this.enumSizeAttr(t);
    return `enum ${name}{\n${lines.join('\n')}\n}${attr ? ' ' + attr : ''};`;
  }

  /**
   * `struct [name] { ... } [__attribute__((packed))]` with members, explicit padding
   * where the C layout would differ from the BTF offsets, and layout comments.
   * `baseBits` is the offset of this aggregate inside the outermost one (comments).
   */
  aggregateBody(t: Agg, level: number, baseBits: number, depth: number): string {
    const kw = t.kind === 'STRUCT' ? 'struct' : 'union';
    const head = t.name ? `${kw} ${this.tagName(t.id)} ` : `${kw} `;
    if (level > MAX_INLINE_LEVEL || depth > MAX_DEPTH || this.inlining.has(t.id)) {
      return `${head.trimEnd()} /* [${t.id}] nested too deep or recursive */`;
    }
    this.budget -= t.members.length + 1;
    if (this.budget < 0) return `${head.trimEnd()} /* [${t.id}] not expanded: declaration too large */`;
    this.inlining.add(t.id);
    try {
      const ind = '\t'.repeat(level + 1);
      const packed = this.isPacked(t);
      const isUnion = t.kind === 'UNION';
      const lines: string[] = [];
      let cur = 0; // bits, end of the last member as our C rendering lays it out
      let prevEnd = 0; // bits, end of the last member per BTF
      let maxEnd = 0;
      let holesBytes = 0;
      let sumBytes = 0;
      let bitHoles = 0;
      const pad = (from: number, to: number): void => {
        for (const p of this.paddingFields(from, to)) lines.push(`${ind}${p}`);
      };
      for (const m of t.members) {
        const { off, bits } = this.memberBits(m);
        const size = this.sizeOf(m.type);
        const align = packed ? 1 : this.alignOf(m.type);
        if (!isUnion) {
          if (this.layout && off > prevEnd) {
            const gap = off - prevEnd;
            if (gap % 8 === 0 && prevEnd % 8 === 0) {
              lines.push(`${ind}/* XXX ${gap / 8} byte${gap === 8 ? '' : 's'} hole, try to pack */`);
              holesBytes += gap / 8;
            } else {
              lines.push(`${ind}/* XXX ${gap} bit${gap === 1 ? '' : 's'} hole, try to pack */`);
              bitHoles += gap;
            }
          }
          const nat = this.naturalPos(cur, bits, size, align, packed);
          if (nat !== off && off > cur) {
            pad(cur, off);
          } else if (nat !== off && this.layout) {
            lines.push(`${ind}/* BTF offset ${off} bits cannot be reproduced in C here (natural ${nat}) */`);
          }
        }
        const declared = this.typeDecl(
          m.type,
          m.name && IDENT.test(m.name) ? m.name : m.name ? `__btf_member_${t.id}_${lines.length}` : '',
          level + 1,
          baseBits + off,
          depth + 1,
        );
        const text = `${ind}${declared}${bits ? `: ${bits}` : ''};`;
        if (this.layout) {
          const abs = baseBits + off;
          let comment: string;
          if (bits) {
            const unit = Math.max(size, 1) * 8;
            const unitStart = Math.floor(abs / unit) * unit;
            comment = `${String(unitStart / 8).padStart(5)}:${String(abs - unitStart).padStart(2)} ${String(size).padStart(4)}`;
          } else comment = `${String(Math.floor(abs / 8)).padStart(5)} ${String(size).padStart(5)}`;
          const ls = text.split('\n');
          ls[ls.length - 1] = withComment(ls[ls.length - 1], comment);
          lines.push(ls.join('\n'));
        } else lines.push(text);
        const end = off + (bits || size * 8);
        sumBytes += bits ? 0 : size;
        if (!isUnion) {
          cur = end;
          prevEnd = end;
        }
        maxEnd = Math.max(maxEnd, end);
      }
      const sizeBits = t.size * 8;
      if (!isUnion) {
        const structAlign = packed ? 1 : Math.max(1, ...t.members.map((m) => this.alignOf(m.type)));
        const natEnd = roundUp(roundUp(cur, 8), structAlign * 8);
        if (sizeBits > natEnd && sizeBits > cur) pad(cur, sizeBits);
      } else {
        const ua = packed ? 1 : Math.max(1, ...t.members.map((m) => this.alignOf(m.type)));
        const natEnd = roundUp(roundUp(maxEnd, 8), ua * 8);
        if (sizeBits > natEnd) {
          const fields = this.paddingFields(0, sizeBits);
          lines.push(`${ind}struct {`);
          for (const f of fields) lines.push(`${ind}\t${f}`);
          lines.push(`${ind}};`);
        }
      }
      if (this.layout && level === 0) {
        const tail = isUnion ? 0 : sizeBits - prevEnd;
        lines.push('');
        const cl = Math.ceil(t.size / CACHELINE);
        let summary = `size: ${t.size}, cachelines: ${cl}, members: ${t.members.length}`;
        lines.push(`${ind}/* ${summary} */`);
        if (!isUnion && (holesBytes || bitHoles)) {
          summary = `sum members: ${sumBytes}, holes: ${holesBytes}${bitHoles ? `, bit holes: ${bitHoles} bits` : ''}`;
          lines.push(`${ind}/* ${summary} */`);
        }
        if (tail > 0) lines.push(`${ind}/* padding: ${tail % 8 === 0 ? `${tail / 8}` : `${tail} bits`} */`);
        if (sizeBits < maxEnd) lines.push(`${ind}/* BTF size ${t.size} is smaller than the members (${Math.ceil(maxEnd / 8)} bytes) */`);
      }
      const close = `${'\t'.repeat(level)}}${packed ? ' __attribute__((packed))' : ''}`;
      return `${head}{\n${lines.join('\n')}\n${close}`;
    } finally {
      this.inlining.delete(t.id);
    }
  }

  /** Where a C compiler would put the member after `cur` bits (SysV rules). */
  private naturalPos(cur: number, bits: number, size: number, align: number, packed: boolean): number {
    if (bits === 0) {
      const c = roundUp(cur, 8);
      return packed ? c : roundUp(c, align * 8);
    }
    if (packed) return cur;
    const unit = align * 8;
    if ((cur % unit) + bits > Math.max(size * 8, unit)) return roundUp(cur, unit);
    return cur;
  }

  /** Unnamed bitfields that move the C layout from `from` to `to` bits without changing alignment. */
  private paddingFields(from: number, to: number): string[] {
    const out: string[] = [];
    let cur = from;
    let guard = 0;
    const lng = this.btf.pointerSize() === 8 ? 'long' : 'long long';
    while (cur < to && guard++ < 100000) {
      const left = to - cur;
      // A huge gap (hostile or synthetic BTF): one byte array instead of thousands of lines.
      if (cur % 8 === 0 && left >= 64 * 64) {
        const bytes = Math.floor(left / 8);
        out.push(`unsigned char __pad_at_${cur / 8}[${bytes}];`);
        cur += bytes * 8;
        continue;
      }
      if (cur % 8 !== 0) {
        const k = Math.min(8 - (cur % 8), left);
        out.push(`unsigned char: ${k};`);
        cur += k;
        continue;
      }
      let done = false;
      for (const [ty, u] of [
        [lng, 64],
        ['int', 32],
        ['short', 16],
        ['char', 8],
      ] as const) {
        if (cur % u === 0 && left >= u) {
          out.push(`${ty}: ${u};`);
          cur += u;
          done = true;
          break;
        }
      }
      if (!done) {
        out.push(`unsigned char: ${Math.min(left, 8)};`);
        cur += Math.min(left, 8);
      }
    }
    return out;
  }

  // ---- whole declarations ---------------------------------------------------------------------

  /** Valid C for one type (a comment for kinds that have no C declaration of their own). */
  declaration(id: number): string {
    return this.top(() => this.declarationOf(id));
  }

  private declarationOf(id: number): string {
    const t = this.get<BtfType>(id);
    if (!t) return `/* [${id}]: no such type (void) */`;
    switch (t.kind) {
      case 'STRUCT':
      case 'UNION':
        return `${this.aggregateBody(t, 0, 0, 0)};`;
      case 'ENUM':
      case 'ENUM64':
        return this.enumDefinition(t);
      case 'FWD':
        return `${t.union ? 'union' : 'struct'} ${this.tagName(id)};`;
      case 'TYPEDEF':
        return `typedef ${this.typeDecl(t.type, this.ordName(id))};`;
      case 'FUNC': {
        const proto = this.get<BtfType>(t.type);
        const name = this.ordName(id);
        const kf = this.btf.isKfunc(id) ? '/* __bpf_kfunc */ ' : '';
        const own = t.linkage === 'static' ? 'static ' : 'extern ';
        const link = this.linkage === 'btf' ? own : this.linkage === 'static' ? 'static ' : '';
        if (!proto || proto.kind !== 'FUNC_PROTO')
          return `${kf}/* FUNC ${safeComment(t.name)}: prototype [${t.type}] is not a FUNC_PROTO */`;
        const decl = this.typeDecl(proto.returnType, `${name}(${this.paramList(proto, true, 0, 0)})`);
        return `${kf}${link}${decl};`;
      }
      case 'VAR': {
        const link = t.linkage === 'static' ? 'static' : 'extern';
        return `${link} ${this.typeDecl(t.type, this.ordName(id))};`;
      }
      case 'DATASEC': {
        const lines = [`/* DATASEC ${safeComment(t.name)}: size ${t.size}, ${t.vars.length} variables */`];
        for (const v of t.vars) {
          const vt = this.get<BtfType>(v.type);
          const body = vt && vt.kind === 'VAR' ? this.declaration(v.type) : `/* [${v.type}] ${vt ? vt.kind : 'void'} */`;
          lines.push(withComment(body, `${String(v.offset).padStart(5)} ${String(v.size).padStart(5)}`));
        }
        return lines.join('\n');
      }
      case 'DECL_TAG': {
        const target = this.btf.nameOf(t.type);
        return `/* DECL_TAG ${safeComment(t.name)} on [${t.type}] ${safeComment(target)}${t.componentIdx >= 0 ? ` component ${t.componentIdx}` : ''} */`;
      }
      case 'INT': {
        const enc = [t.signed && 'signed', t.char && 'char', t.bool && 'bool'].filter(Boolean).join(' ') || 'unsigned';
        return `/* INT ${safeComment(t.name)}: size ${t.size}, ${t.bits} bits, ${enc} */`;
      }
      case 'FLOAT':
        return `/* FLOAT ${safeComment(t.name)}: size ${t.size} */`;
      default:
        return `/* [${id}] ${t.kind}: ${safeComment(this.typeDecl(id, ''))} */`;
    }
  }

  // ---- dependency closure -------------------------------------------------------------------

  /**
   * A self-contained C translation unit declaring `ids` and everything they need:
   * forward declarations of all named structs/unions first, then definitions in
   * dependency order (by-value uses before users; pointers need only the forward
   * declaration). Duplicate names are renamed `name___2`, like bpftool.
   */
  withDependencies(ids: number[]): string {
    // Each definition is a declaration() with its own budget, all of them sharing a total one.
    this.total = TOTAL_BUDGET;
    try {
      return this.withDependenciesOf(ids);
    } finally {
      this.total = Infinity;
    }
  }

  private withDependenciesOf(ids: number[]): string {
    const fwd = new Map<number, string>();
    const defs: string[] = [];
    const done = new Set<number>();
    const busy = new Set<number>();
    const inlineSeen = new Set<number>();
    const btf = this.btf;

    const define = (id: number, depth: number): void => {
      if (done.has(id) || busy.has(id)) return;
      busy.add(id);
      const t = this.get<BtfType>(id);
      if (t) {
        switch (t.kind) {
          case 'STRUCT':
          case 'UNION':
            for (const m of t.members) need(m.type, true, depth + 1);
            break;
          case 'TYPEDEF':
            need(t.type, false, depth + 1);
            break;
          case 'FUNC':
            need(t.type, false, depth + 1);
            break;
          case 'VAR':
            need(t.type, false, depth + 1);
            break;
          case 'DATASEC':
            for (const v of t.vars) define(v.type, depth + 1);
            break;
          default:
            break;
        }
        if (t.kind === 'DATASEC') defs.push(`/* DATASEC ${safeComment(t.name)}: variables declared above */`);
        else defs.push(this.declaration(id));
      }
      busy.delete(id);
      done.add(id);
    };

    // Each (type, strength) is walked once: shared sub-graphs (DAGs of prototypes and
    // qualifiers) would otherwise be walked once per path.
    const seenStrong = new Set<number>();
    const seenWeak = new Set<number>();
    const need = (id: number, strong: boolean, depth: number): void => {
      if (depth > MAX_DEPTH * 4 || id === 0) return;
      if (seenStrong.has(id) || (!strong && seenWeak.has(id))) return;
      (strong ? seenStrong : seenWeak).add(id);
      const k = btf.kindOf(id);
      switch (k) {
        case Kind.PTR:
          need(btf.sizeOrType(id), false, depth + 1);
          return;
        case Kind.CONST:
        case Kind.VOLATILE:
        case Kind.RESTRICT:
        case Kind.TYPE_TAG:
          need(btf.sizeOrType(id), strong, depth + 1);
          return;
        case Kind.ARRAY: {
          const a = this.get<BtfType>(id);
          if (a && a.kind === 'ARRAY') need(a.type, true, depth + 1);
          return;
        }
        case Kind.TYPEDEF:
          define(id, depth + 1);
          if (strong) need(btf.sizeOrType(id), true, depth + 1);
          return;
        case Kind.STRUCT:
        case Kind.UNION: {
          if (btf.nameOf(id)) {
            if (!fwd.has(id)) fwd.set(id, `${k === Kind.STRUCT ? 'struct' : 'union'} ${this.tagName(id)};`);
            if (strong) define(id, depth + 1);
            return;
          }
          if (inlineSeen.has(id)) return;
          inlineSeen.add(id);
          const t = this.get<Agg>(id)!;
          for (const m of t.members) need(m.type, true, depth + 1);
          return;
        }
        case Kind.ENUM:
        case Kind.ENUM64:
          if (btf.nameOf(id)) define(id, depth + 1);
          return;
        case Kind.FWD:
          if (!fwd.has(id) && btf.nameOf(id)) fwd.set(id, `${btf.kflagOf(id) ? 'union' : 'struct'} ${this.tagName(id)};`);
          return;
        case Kind.FUNC_PROTO: {
          const p = this.get<BtfType>(id);
          if (p && p.kind === 'FUNC_PROTO') {
            need(p.returnType, false, depth + 1);
            for (const q of p.params) need(q.type, false, depth + 1);
          }
          return;
        }
        case Kind.FUNC:
        case Kind.VAR:
        case Kind.DATASEC:
          define(id, depth + 1);
          return;
        default:
          return;
      }
    };

    for (const id of ids) {
      const k = btf.kindOf(id);
      if (k === Kind.STRUCT || k === Kind.UNION) {
        if (btf.nameOf(id)) {
          need(id, true, 0);
          continue;
        }
      }
      if (k === Kind.DECL_TAG || k === Kind.INT || k === Kind.FLOAT || k === 0) continue;
      if (
        k === Kind.STRUCT ||
        k === Kind.UNION ||
        k === Kind.PTR ||
        k === Kind.ARRAY ||
        k === Kind.FUNC_PROTO ||
        k === Kind.CONST ||
        k === Kind.VOLATILE ||
        k === Kind.RESTRICT ||
        k === Kind.TYPE_TAG
      ) {
        need(id, true, 0);
        continue;
      }
      define(id, 0);
    }
    const head = [...fwd.values()].join('\n');
    return `${head}${head ? '\n\n' : ''}${defs.join('\n\n')}\n`;
  }
}

export type { BtfEnum, BtfEnum64 };
