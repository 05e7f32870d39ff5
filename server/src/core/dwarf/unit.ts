/**
 * Compile units: headers (DWARF 2–5, 32- and 64-bit formats, every unit type), and the
 * DIE walk of one unit into compact arrays: only the DIEs that carry code and can be
 * frames (subprograms, inlined subroutines) are kept, with their parent, their ranges
 * and their call site; names are read lazily from the DIE offset. Type subtrees are
 * skipped through DW_AT_sibling, and DIEs whose attributes all have fixed sizes are
 * skipped in one step.
 */
import { Cursor, cstringAt, dwarfError, type SectionBytes } from './cursor';
import { ABBREV_DESCEND, ABBREV_LEAF, ABBREV_OTHER, ABBREV_SCOPE, ABBREV_SIB4, readAbbrevTable, type AbbrevTable } from './abbrev';
import * as C from './consts';
import { readDebugRanges, readRngList, rnglistxOffset, type RangeContext, type RangeSink } from './ranges';

export interface UnitHeader {
  /** Offset of the unit header in .debug_info. */
  readonly offset: number;
  /** Total size including the length field. */
  readonly size: number;
  readonly version: number;
  readonly unitType: number;
  readonly addrSize: number;
  readonly offSize: number;
  readonly abbrevOffset: number;
  /** Offset of the first DIE relative to the unit start. */
  readonly dieStart: number;
}

export interface DebugSections {
  readonly file: string;
  readonly abbrev: SectionBytes;
  readonly str?: SectionBytes;
  readonly lineStr?: SectionBytes;
  readonly strOffsets?: SectionBytes;
  readonly addr?: SectionBytes;
  readonly ranges?: SectionBytes;
  readonly rnglists?: SectionBytes;
}

/** Parse a unit header from the first bytes of a unit (`s` starts at the unit, `at` is its .debug_info offset). */
export function parseUnitHeader(s: SectionBytes, pos: number, at: number): UnitHeader {
  const c = new Cursor(s, pos);
  let len = c.u32();
  let offSize = 4;
  if (len === 0xffffffff) {
    len = c.u64();
    offSize = 8;
  } else if (len >= 0xfffffff0) c.fail(`reserved unit length 0x${len.toString(16)}`, pos);
  const size = len + (offSize === 8 ? 12 : 4);
  const version = c.u16();
  if (version < 2 || version > 5) c.fail(`unsupported DWARF version ${version} in the unit at 0x${at.toString(16)}`, c.pos - 2);
  let unitType = 1,
    addrSize: number,
    abbrevOffset: number;
  if (version >= 5) {
    unitType = c.u8();
    addrSize = c.u8();
    abbrevOffset = c.offset(offSize);
    if (unitType === 4 || unitType === 5)
      c.skip(8); // skeleton, split_compile: dwo_id
    else if (unitType === 2 || unitType === 6) c.skip(8 + offSize); // type, split_type: signature + type offset
  } else {
    abbrevOffset = c.offset(offSize);
    addrSize = c.u8();
  }
  if (addrSize !== 1 && addrSize !== 2 && addrSize !== 4 && addrSize !== 8) c.fail(`bad address size ${addrSize}`);
  return { offset: at, size, version, unitType, addrSize, offSize, abbrevOffset, dieStart: c.pos - pos };
}

/** Size of the header fields needed to know a unit's total length and header (the largest header). */
export const MAX_UNIT_HEADER = 4 + 8 + 2 + 1 + 1 + 8 + 8 + 8;

export interface DecodedUnit {
  readonly header: UnitHeader;
  /** The unit's bytes by range (read again from the file: the unit keeps none). */
  readonly bytesOf: UnitBytes;
  readonly abbrev: AbbrevTable;
  readonly name: string;
  readonly compDir: string;
  readonly stmtList: number;
  readonly strOffsetsBase: number;
  readonly addrBase: number;
  /**
   * Scopes (subprograms and inlined subroutines with code), as columns. The subtree of a
   * top-level subprogram is decoded on first need (by `innermost`), so a lookup decodes the
   * unit's top level plus the one function it lands in.
   */
  readonly s: Cols;
  /** The unit's own ranges (from low_pc/high_pc or DW_AT_ranges). */
  readonly unitRanges: Float64Array;
  /** Names found by dieName, by DIE offset. */
  readonly names: Map<number, string | undefined>;
  /**
   * The innermost scope containing `addr` (the deepest; the first recorded among equals),
   * or -1, after decoding what `addr` needs.
   */
  innermost(addr: number): number;
  memory: number;
}

class UnitCtx {
  strOffsetsBase = 0;
  addrBase = 0;
  rnglistsBase = 0;
  constructor(
    readonly h: UnitHeader,
    readonly sec: DebugSections,
    readonly s: SectionBytes,
  ) {}

  addrx(index: number): number {
    const a = this.sec.addr;
    if (!a) throw dwarfError(this.s, 0, 'DW_FORM_addrx without a .debug_addr section');
    const c = new Cursor(a, this.addrBase + index * this.h.addrSize);
    return c.addr(this.h.addrSize);
  }

  strx(index: number): string {
    const so = this.sec.strOffsets;
    if (!so || !this.sec.str) throw dwarfError(this.s, 0, 'DW_FORM_strx without .debug_str_offsets/.debug_str');
    const c = new Cursor(so, this.strOffsetsBase + index * this.h.offSize);
    return cstringAt(this.sec.str, c.offset(this.h.offSize));
  }
}

/** Skip one attribute value of `form` (an unknown form is a FormatError, never a guess). */
export function skipForm(c: Cursor, form: number, h: UnitHeader): void {
  switch (form) {
    case C.DW_FORM_addr:
      c.skip(h.addrSize);
      return;
    case C.DW_FORM_data1:
    case C.DW_FORM_ref1:
    case C.DW_FORM_flag:
    case C.DW_FORM_strx1:
    case C.DW_FORM_addrx1:
      c.skip(1);
      return;
    case C.DW_FORM_data2:
    case C.DW_FORM_ref2:
    case C.DW_FORM_strx2:
    case C.DW_FORM_addrx2:
      c.skip(2);
      return;
    case C.DW_FORM_strx3:
    case C.DW_FORM_addrx3:
      c.skip(3);
      return;
    case C.DW_FORM_data4:
    case C.DW_FORM_ref4:
    case C.DW_FORM_ref_sup4:
    case C.DW_FORM_strx4:
    case C.DW_FORM_addrx4:
      c.skip(4);
      return;
    case C.DW_FORM_data8:
    case C.DW_FORM_ref8:
    case C.DW_FORM_ref_sig8:
    case C.DW_FORM_ref_sup8:
      c.skip(8);
      return;
    case C.DW_FORM_data16:
      c.skip(16);
      return;
    case C.DW_FORM_strp:
    case C.DW_FORM_line_strp:
    case C.DW_FORM_sec_offset:
    case C.DW_FORM_strp_sup:
    case C.DW_FORM_GNU_ref_alt:
    case C.DW_FORM_GNU_strp_alt:
      c.skip(h.offSize);
      return;
    case C.DW_FORM_ref_addr:
      c.skip(h.version <= 2 ? h.addrSize : h.offSize);
      return;
    case C.DW_FORM_flag_present:
    case C.DW_FORM_implicit_const:
      return;
    case C.DW_FORM_udata:
    case C.DW_FORM_ref_udata:
    case C.DW_FORM_strx:
    case C.DW_FORM_addrx:
    case C.DW_FORM_loclistx:
    case C.DW_FORM_rnglistx:
    case C.DW_FORM_GNU_addr_index:
    case C.DW_FORM_GNU_str_index:
      c.uleb();
      return;
    case C.DW_FORM_sdata:
      c.sleb();
      return;
    case C.DW_FORM_string:
      c.skipCString();
      return;
    case C.DW_FORM_block1:
      c.skip(c.u8());
      return;
    case C.DW_FORM_block2:
      c.skip(c.u16());
      return;
    case C.DW_FORM_block4:
      c.skip(c.u32());
      return;
    case C.DW_FORM_block:
    case C.DW_FORM_exprloc:
      c.skip(c.uleb());
      return;
    case C.DW_FORM_indirect:
      skipForm(c, c.uleb(), h);
      return;
    default:
      c.fail(`unknown attribute form 0x${form.toString(16)}`);
  }
}

/**
 * Skip the attributes [a0, a1) of a DIE: fixed-size forms by their precomputed size (the
 * size skipForm would skip, checked the same way), the others through skipForm.
 */
function skipAttrs(c: Cursor, a0: number, a1: number, form: Uint32Array, size: Int32Array, h: UnitHeader): void {
  for (let k = a0; k < a1; k++) {
    const z = size[k];
    if (z > 0) {
      if (c.pos + z > c.end) c.need(z);
      c.pos += z;
    } else if (z < 0) skipForm(c, form[k], h);
  }
}

/**
 * skipAttrs without the cursor for the common variable forms (LEB128s, exprloc and blocks
 * with a LEB128 or 1-byte length, inline strings): the position after the attributes
 * [a0, a1) from `p`, or -1 when a form is another one or a read would pass `end` (the
 * caller then skips through skipAttrs, which raises the error at the same place).
 */
function skipFast(b: Uint8Array, p: number, end: number, a0: number, a1: number, form: Uint32Array, size: Int32Array): number {
  for (let k = a0; k < a1; k++) {
    const z = size[k];
    if (z >= 0) {
      p += z;
      if (p > end) return -1;
      continue;
    }
    switch (form[k]) {
      case C.DW_FORM_udata:
      case C.DW_FORM_sdata:
      case C.DW_FORM_ref_udata:
      case C.DW_FORM_strx:
      case C.DW_FORM_addrx:
      case C.DW_FORM_loclistx:
      case C.DW_FORM_rnglistx:
        while (p < end && b[p] & 0x80) p++;
        if (p >= end) return -1;
        p++;
        break;
      case C.DW_FORM_exprloc:
      case C.DW_FORM_block: {
        let n = 0,
          m = 1,
          x = 0x80;
        while (x & 0x80) {
          if (p >= end || m > 2 ** 28) return -1;
          x = b[p++];
          n += (x & 0x7f) * m;
          m *= 128;
        }
        p += n;
        if (p > end) return -1;
        break;
      }
      case C.DW_FORM_block1:
        if (p >= end) return -1;
        p += 1 + b[p];
        if (p > end) return -1;
        break;
      case C.DW_FORM_string:
        while (p < end && b[p] !== 0) p++;
        if (p >= end) return -1;
        p++;
        break;
      default:
        return -1;
    }
  }
  return p;
}

/**
 * The value of a numeric, offset or reference form that needs no unit context (addrx needs
 * .debug_addr); undefined, with nothing read, for any other form. One rule for the reader
 * and inlinedInto.ts.
 */
export function plainNum(c: Cursor, form: number, h: UnitHeader): number | undefined {
  // Bytes read without relocation (a relocatable file's unit: see SectionBytes.patch): the
  // forms that can hold a relocated value (an address, an offset into another section) are
  // relocated before they are read. Unit-relative references and constants never carry one.
  if (c.patch !== undefined) patchValue(c, form, h);
  switch (form) {
    case C.DW_FORM_addr:
      return c.addr(h.addrSize);
    case C.DW_FORM_data1:
    case C.DW_FORM_ref1:
    case C.DW_FORM_flag:
      return c.u8();
    case C.DW_FORM_data2:
    case C.DW_FORM_ref2:
      return c.u16();
    case C.DW_FORM_data4:
    case C.DW_FORM_ref4:
      return c.u32();
    case C.DW_FORM_data8:
    case C.DW_FORM_ref8:
      return c.u64();
    case C.DW_FORM_sec_offset:
    case C.DW_FORM_strp:
    case C.DW_FORM_line_strp:
      return c.offset(h.offSize);
    case C.DW_FORM_ref_addr:
      return h.version <= 2 ? c.addr(h.addrSize) : c.offset(h.offSize);
    case C.DW_FORM_udata:
    case C.DW_FORM_ref_udata:
    case C.DW_FORM_rnglistx:
    case C.DW_FORM_loclistx:
      return c.uleb();
    case C.DW_FORM_sdata:
      return c.sleb();
    case C.DW_FORM_flag_present:
      return 1;
    default:
      return undefined;
  }
}

/** Unsigned/offset/reference/address value of an attribute (NaN for string and block forms, after skipping them). */
function readNum(c: Cursor, form: number, u: UnitCtx): number {
  const v = plainNum(c, form, u.h);
  if (v !== undefined) return v;
  switch (form) {
    case C.DW_FORM_addrx:
    case C.DW_FORM_GNU_addr_index:
      return u.addrx(c.uleb());
    case C.DW_FORM_addrx1:
      return u.addrx(c.u8());
    case C.DW_FORM_addrx2:
      return u.addrx(c.u16());
    case C.DW_FORM_addrx3:
      return u.addrx(c.u24());
    case C.DW_FORM_addrx4:
      return u.addrx(c.u32());
    default:
      skipForm(c, form, u.h);
      return NaN;
  }
}

/** Relocate the value of `form` at c.pos when it is a relocatable form (see plainNum). */
function patchValue(c: Cursor, form: number, h: UnitHeader): void {
  let n = 0;
  switch (form) {
    case C.DW_FORM_addr:
      n = h.addrSize;
      break;
    case C.DW_FORM_data4:
      n = 4;
      break;
    case C.DW_FORM_data8:
      n = 8;
      break;
    case C.DW_FORM_sec_offset:
    case C.DW_FORM_strp:
    case C.DW_FORM_line_strp:
    case C.DW_FORM_strp_sup:
    case C.DW_FORM_GNU_strp_alt:
    case C.DW_FORM_GNU_ref_alt:
      n = h.offSize;
      break;
    case C.DW_FORM_ref_addr:
      n = h.version <= 2 ? h.addrSize : h.offSize;
      break;
    default:
      return;
  }
  if (c.pos + n <= c.end) c.patch!(c.pos, n); // else the read fails as truncated
}

function readStr(c: Cursor, form: number, u: UnitCtx): string | undefined {
  if (c.patch !== undefined) patchValue(c, form, u.h);
  switch (form) {
    case C.DW_FORM_string:
      return cstringAt(c.s, c.skipCString());
    case C.DW_FORM_strp: {
      const o = c.offset(u.h.offSize);
      if (!u.sec.str) c.fail('DW_FORM_strp without a .debug_str section');
      return cstringAt(u.sec.str, o);
    }
    case C.DW_FORM_line_strp: {
      const o = c.offset(u.h.offSize);
      if (!u.sec.lineStr) c.fail('DW_FORM_line_strp without a .debug_line_str section');
      return cstringAt(u.sec.lineStr, o);
    }
    case C.DW_FORM_strx:
    case C.DW_FORM_GNU_str_index:
      return u.strx(c.uleb());
    case C.DW_FORM_strx1:
      return u.strx(c.u8());
    case C.DW_FORM_strx2:
      return u.strx(c.u16());
    case C.DW_FORM_strx3:
      return u.strx(c.u24());
    case C.DW_FORM_strx4:
      return u.strx(c.u32());
    default:
      skipForm(c, form, u.h);
      return undefined;
  }
}

function isAddrForm(form: number): boolean {
  return (
    form === C.DW_FORM_addr ||
    form === C.DW_FORM_addrx ||
    (form >= C.DW_FORM_addrx1 && form <= C.DW_FORM_addrx4) ||
    form === C.DW_FORM_GNU_addr_index
  );
}

function isRefForm(form: number): boolean {
  return (form >= C.DW_FORM_ref1 && form <= C.DW_FORM_ref_udata) || form === C.DW_FORM_ref_addr;
}

/**
 * A growable column of numbers in a Float64Array (`a`, valid up to `length`; replaced when it
 * grows, so read it again after a push). Off the JavaScript heap: a cache of a thousand
 * decoded units otherwise keeps the young-generation collector copying their columns.
 */
export class NumVec {
  length = 0;
  a: Float64Array;
  constructor(capacity: number) {
    this.a = new Float64Array(capacity);
  }
  push(x: number, y?: number): void {
    if (this.length + 2 > this.a.length) {
      const b = new Float64Array(this.a.length * 4);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = x;
    if (y !== undefined) this.a[this.length++] = y;
  }
}

// Scope fields, row-major in Cols.v (one allocation per growth instead of one per column).
const F_PARENT = 0,
  F_DEPTH = 1,
  F_DIE = 2,
  F_RF = 3,
  F_RC = 4,
  F_CF = 5,
  F_CL = 6,
  F_CC = 7,
  F_CD = 8,
  F = 9;

/** Scopes (index = scope): parent, depth, DIE offset, ranges, call site. */
export class Cols {
  n = 0;
  v = new Float64Array(F * 32);
  readonly ranges = new NumVec(64);
  /** Pending subtrees: scope index, children start, subtree end (-1 = decoded). */
  readonly lazyScope = new NumVec(16);
  readonly lazyStart = new NumVec(16);
  readonly lazyEnd = new NumVec(16);
  /** Scopes recorded by the top-level walk (any depth), ascending. */
  readonly topScopes = new NumVec(16);
  /** Per top scope: the index of its pending subtree in lazyScope, or -1. */
  readonly topLazy = new NumVec(16);
  /** Per pending subtree, once decoded: the scope indices [lazyB0, lazyB1) it added. */
  readonly lazyB0 = new NumVec(16);
  readonly lazyB1 = new NumVec(16);

  /** Record a scope; its index. */
  add(parent: number, depth: number, die: number, rf: number, rc: number, cf: number, cl: number, cc: number, cd: number): number {
    const o = this.n * F;
    if (o + F > this.v.length) {
      const b = new Float64Array(this.v.length * 4);
      b.set(this.v);
      this.v = b;
    }
    const v = this.v;
    v[o + F_PARENT] = parent;
    v[o + F_DEPTH] = depth;
    v[o + F_DIE] = die;
    v[o + F_RF] = rf;
    v[o + F_RC] = rc;
    v[o + F_CF] = cf;
    v[o + F_CL] = cl;
    v[o + F_CC] = cc;
    v[o + F_CD] = cd;
    return this.n++;
  }
  /** Enclosing scope, -1 at the top. */
  parent(i: number): number {
    return this.v[i * F + F_PARENT];
  }
  depth(i: number): number {
    return this.v[i * F + F_DEPTH];
  }
  die(i: number): number {
    return this.v[i * F + F_DIE];
  }
  /** First range (index of its pair in `ranges`) and count. */
  rf(i: number): number {
    return this.v[i * F + F_RF];
  }
  rc(i: number): number {
    return this.v[i * F + F_RC];
  }
  /** Call site of an inlined scope: file index, line, column, discriminator. */
  cf(i: number): number {
    return this.v[i * F + F_CF];
  }
  cl(i: number): number {
    return this.v[i * F + F_CL];
  }
  cc(i: number): number {
    return this.v[i * F + F_CC];
  }
  cd(i: number): number {
    return this.v[i * F + F_CD];
  }
  /** Bytes held by the columns (their capacity, not only what is used). */
  bytes(): number {
    return (
      this.v.byteLength +
      this.ranges.a.byteLength +
      this.lazyScope.a.byteLength +
      this.lazyStart.a.byteLength +
      this.lazyEnd.a.byteLength +
      this.topScopes.a.byteLength +
      this.topLazy.a.byteLength +
      this.lazyB0.a.byteLength +
      this.lazyB1.a.byteLength
    );
  }
  /** Whether scope i's ranges contain addr. */
  contains(i: number, addr: number): boolean {
    const ra = this.ranges.a;
    const o = i * F;
    for (let r = this.v[o + F_RF] * 2, e = r + this.v[o + F_RC] * 2; r < e; r += 2) if (addr >= ra[r] && addr < ra[r + 1]) return true;
    return false;
  }
}

/**
 * A unit's bytes by range: `bytesOf(lo, hi)` returns SectionBytes whose `bytes` hold the
 * unit's bytes [lo, hi) at their unit offsets (position 0 = the unit header). Other
 * positions are unspecified (the reader reuses one scratch buffer for every unit), so every
 * read through the result stays inside [lo, hi); the result is valid until the next call.
 */
export type UnitBytes = (lo: number, hi: number) => SectionBytes;

/** What the DIE walk of one unit shares between its top-level pass, its resumptions and its subtree expansions. */
class Walker {
  /** Set when the top-level walk recorded a top-level scope containing its stop address. */
  topHit = false;
  cuName = '';
  compDir = '';
  stmtList = -1;
  cuLow = 0;
  readonly unitRanges: number[] = [];
  readonly out = new Cols();
  constructor(
    readonly h: UnitHeader,
    readonly sec: DebugSections,
    readonly abbrev: AbbrevTable,
    readonly u: UnitCtx,
  ) {}

  private rctx?: RangeContext;
  ranges(s: SectionBytes, at: number, off: number, f: number, into: RangeSink): void {
    const h = this.h,
      sec = this.sec,
      u = this.u;
    // one context per unit (cuLow is set by the unit DIE, before any scope's ranges)
    let ctx = this.rctx;
    if (!ctx || ctx.base !== this.cuLow)
      ctx = this.rctx = { addrSize: h.addrSize, offSize: h.offSize, base: this.cuLow, addrx: (i) => u.addrx(i) };
    if (h.version >= 5) {
      if (!sec.rnglists) throw dwarfError(s, at, 'DW_AT_ranges without a .debug_rnglists section');
      const o = f === C.DW_FORM_rnglistx ? rnglistxOffset(sec.rnglists, u.rnglistsBase, off, h.offSize) : off;
      readRngList(sec.rnglists, o, ctx, into);
    } else {
      if (!sec.ranges) throw dwarfError(s, at, 'DW_AT_ranges without a .debug_ranges section');
      readDebugRanges(sec.ranges, off, ctx, into);
    }
  }
}

/** The unit DIE at `at` (depth 0): name, comp_dir, stmt_list, bases, ranges. Returns whether it has children and the position after it. */
function unitDie(w: Walker, s: SectionBytes, at: number, end: number): { kids: boolean; pos: number } | undefined {
  const c = new Cursor(s, at, end);
  const h = w.h,
    u = w.u,
    ab = w.abbrev;
  const code = c.uleb();
  if (code === 0) return undefined;
  let ai = code < ab.dense.length ? ab.dense[code] : (ab.big.get(code) ?? 0);
  if (ai === 0) c.fail(`abbreviation code ${code} not in the table at .debug_abbrev+0x${h.abbrevOffset.toString(16)}`, at);
  ai--;
  const a0 = ab.first[ai],
    a1 = a0 + ab.count[ai];
  const { attr, form, implicit } = ab;
  let low = NaN,
    high = NaN,
    highIsAddr = false,
    rOff = -1,
    rForm = 0;
  for (let k = a0; k < a1; k++) {
    let f = form[k];
    const atr = attr[k];
    if (f === C.DW_FORM_indirect) f = c.uleb();
    if (f === C.DW_FORM_implicit_const) {
      if (atr === C.DW_AT_high_pc) high = implicit[k];
      continue;
    }
    switch (atr) {
      case C.DW_AT_low_pc:
        low = readNum(c, f, u);
        break;
      case C.DW_AT_high_pc:
        highIsAddr = isAddrForm(f);
        high = readNum(c, f, u);
        break;
      case C.DW_AT_ranges:
        rForm = f;
        rOff = readNum(c, f, u);
        break;
      case C.DW_AT_name:
        w.cuName = readStr(c, f, u) ?? '';
        break;
      case C.DW_AT_comp_dir:
        w.compDir = readStr(c, f, u) ?? '';
        break;
      case C.DW_AT_stmt_list:
        w.stmtList = readNum(c, f, u);
        break;
      case C.DW_AT_str_offsets_base:
        u.strOffsetsBase = readNum(c, f, u);
        break;
      case C.DW_AT_addr_base:
      case C.DW_AT_GNU_addr_base:
        u.addrBase = readNum(c, f, u);
        break;
      case C.DW_AT_rnglists_base:
        u.rnglistsBase = readNum(c, f, u);
        break;
      default:
        skipForm(c, f, h);
    }
  }
  const pos = c.pos;
  // addrx/strx in the unit DIE itself may precede the *_base attributes: reread them now.
  if (u.addrBase || u.strOffsetsBase) {
    const c2 = new Cursor(s, at, end);
    c2.uleb();
    for (let k = a0; k < a1; k++) {
      let f = form[k];
      if (f === C.DW_FORM_indirect) f = c2.uleb();
      const atr = attr[k];
      if (atr === C.DW_AT_low_pc) low = readNum(c2, f, u);
      else if (atr === C.DW_AT_high_pc) high = readNum(c2, f, u);
      else if (atr === C.DW_AT_name) w.cuName = readStr(c2, f, u) ?? w.cuName;
      else if (atr === C.DW_AT_comp_dir) w.compDir = readStr(c2, f, u) ?? w.compDir;
      else if (f !== C.DW_FORM_implicit_const) skipForm(c2, f, h);
    }
  }
  w.cuLow = Number.isNaN(low) ? 0 : low;
  if (rOff >= 0) w.ranges(s, pos, rOff, rForm, w.unitRanges);
  else if (!Number.isNaN(low) && !Number.isNaN(high)) {
    const hi = highIsAddr ? high : low + high;
    if (hi > low) w.unitRanges.push(low, hi);
  }
  return { kids: ab.children[ai] !== 0, pos };
}

/**
 * Skip the DIEs from `pos` while each is a leaf of fixed size (ABBREV_LEAF), a skippable
 * subtree with its 4-byte sibling reference (ABBREV_SIB4) or a leaf whose attributes have a
 * skip plan (skipFast), as walk does; returns the position of the first DIE that is none of
 * these (or that needs a check walk makes: a code of more than two bytes, an unknown one, a
 * DIE past `end`, a bad sibling reference), where walk carries on.
 * Most DIEs of a unit end here: a loop this small is optimised early in a process, long
 * before walk itself is.
 */
function skipRun(b: Uint8Array, pos: number, end: number, le: boolean, ab: AbbrevTable): number {
  const { dense, kind, fixed, sibAt, children, first, count, form, size } = ab;
  const denseLen = dense.length;
  while (pos < end) {
    // the abbrev code: one byte, or two (units with more than 127 abbreviations)
    let code = b[pos],
      p = pos + 1;
    if (code >= 0x80) {
      if (p >= end || b[p] >= 0x80) return pos;
      code = (code & 0x7f) | (b[p] << 7);
      p++;
    }
    if (code === 0 || code >= denseLen) return pos;
    const ai = dense[code] - 1;
    if (ai < 0) return pos;
    const k = kind[ai];
    if (k === ABBREV_LEAF) {
      const np = p + fixed[ai];
      if (np > end) return pos;
      pos = np;
    } else if (k === ABBREV_SIB4) {
      const q = p + sibAt[ai];
      if (q + 4 > end) return pos;
      const sib = le
        ? (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> 0
        : ((b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3]) >>> 0;
      if (sib <= pos || sib > end) return pos;
      pos = sib;
    } else if (k === ABBREV_OTHER && children[ai] === 0) {
      // a leaf with variable-size attributes (an inline string, an expression): its skip plan
      const np = skipFast(b, p, end, first[ai], first[ai] + count[ai], form, size);
      if (np < 0) return pos;
      pos = np;
    } else return pos;
  }
  return pos;
}

/**
 * Walk DIEs from `start` to `end` of `s` (unit offsets). `depth0`: depth of the first DIE
 * (1: the top level, 2: a subtree); `parent0`: the scope of its parent. With `lazyTop`, the
 * subtree of a scope at depth 1 that has a DW_AT_sibling is recorded as pending instead of
 * being walked, and the walk returns the position of the next top-level DIE once a
 * top-level scope containing `stopAddr` was recorded (NaN: never), else -1.
 *
 * The hot path (types and declarations: ~3M DIEs in a vmlinux) keeps its position in a
 * local and follows the abbrev's precomputed skip plan (ABBREV_*); the cursor serves the
 * rare variable-size attributes and every bounds failure.
 */
function walk(
  w: Walker,
  s: SectionBytes,
  start: number,
  end: number,
  depth0: number,
  parent0: number,
  lazyTop: boolean,
  stopAddr: number,
): number {
  const c = new Cursor(s, start, end);
  end = c.end;
  const b = s.bytes,
    le = s.le;
  const h = w.h,
    u = w.u,
    out = w.out;
  const ab = w.abbrev;
  const { dense, big, children, first, count, attr, form, implicit, size: aSize, fixed, sibAt, sibSize, skipKids, kind } = ab;
  const denseLen = dense.length;
  const stack: number[] = [];
  let depth = depth0;
  let pos = start;
  // Each DIE consumes at least one byte: the walk is bounded by the range size.
  while (pos < end) {
    // resumable top level: stop between top-level DIEs once the function is found
    if (depth === 1 && w.topHit) return pos;
    // runs of leaves and skippable subtrees (most DIEs of a unit) in a small loop of their own
    pos = skipRun(b, pos, end, le, ab);
    if (pos >= end) break;
    const dieOff = pos;
    // abbrev codes are almost always below 128: one byte, no call
    let code = b[pos];
    if (code < 0x80) pos++;
    else {
      c.pos = pos;
      code = c.uleb();
      pos = c.pos;
    }
    if (code === 0) {
      if (depth === depth0) break; // end of this sibling chain
      depth--;
      stack.pop();
      continue;
    }
    let ai = code < denseLen ? dense[code] : (big.get(code) ?? 0);
    if (ai === 0) c.fail(`abbreviation code ${code} not in the table at .debug_abbrev+0x${h.abbrevOffset.toString(16)}`, dieOff);
    ai--;
    const k = kind[ai];
    if (k === ABBREV_LEAF) {
      const z = fixed[ai];
      if (pos + z > end) {
        c.pos = pos;
        c.need(z);
      }
      pos += z;
      continue;
    }
    if (k === ABBREV_SIB4) {
      const q = pos + sibAt[ai];
      if (q + 4 <= end) {
        const sib = le
          ? (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> 0
          : ((b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3]) >>> 0;
        if (sib > dieOff && sib <= end) {
          pos = sib;
          continue;
        }
      }
    } else if (k === ABBREV_DESCEND) {
      const z = fixed[ai];
      if (pos + z > end) {
        c.pos = pos;
        c.need(z);
      }
      pos += z;
      depth++;
      stack.push(stack.length ? stack[stack.length - 1] : parent0);
      continue;
    }
    const hasKids = children[ai] !== 0;
    const a0 = first[ai],
      a1 = a0 + count[ai];
    c.pos = pos;
    if (k !== ABBREV_SCOPE) {
      // A subprogram without low_pc/ranges (a declaration, an abstract instance) has no code:
      // its subtree is skipped like a type's.
      let sib = -1;
      const fx = fixed[ai];
      const sa = sibAt[ai];
      if (hasKids && sa >= 0 && skipKids[ai] !== 0) {
        // the sibling reference sits at a fixed offset
        const q = c.pos + sa,
          z = sibSize[ai];
        c.pos = q;
        sib = readNum(
          c,
          z === 0 ? C.DW_FORM_ref_udata : z === 1 ? C.DW_FORM_ref1 : z === 2 ? C.DW_FORM_ref2 : z === 8 ? C.DW_FORM_ref8 : C.DW_FORM_ref4,
          u,
        );
        if (sib > dieOff && sib <= c.end) {
          pos = sib;
          continue;
        }
        c.pos = q - sa;
        sib = -1;
        if (fx >= 0) {
          c.need(fx);
          c.pos += fx;
        } else skipAttrs(c, a0, a1, form, aSize, h);
      } else if (hasKids && skipKids[ai] !== 0) {
        for (let k2 = a0; k2 < a1; k2++) {
          const f = form[k2];
          if (attr[k2] === C.DW_AT_sibling && isRefForm(f) && f !== C.DW_FORM_ref_addr) sib = readNum(c, f, u);
          else skipForm(c, f, h);
        }
      } else if (fx >= 0) {
        c.need(fx);
        c.pos += fx;
      } else {
        const np = skipFast(b, c.pos, end, a0, a1, form, aSize);
        if (np >= 0) c.pos = np;
        else skipAttrs(c, a0, a1, form, aSize, h); // the rare forms, and every error, as before
      }
      pos = c.pos;
      if (hasKids) {
        if (sib > dieOff && sib <= end)
          pos = sib; // skip the subtree
        else {
          depth++;
          stack.push(stack.length ? stack[stack.length - 1] : parent0);
        }
      }
      continue;
    }
    // A scope: decode the attributes we need.
    let low = NaN,
      high = NaN,
      highIsAddr = false,
      rOff = -1,
      rForm = 0,
      cf = 0,
      cl = 0,
      cc = 0,
      cd = 0,
      sib = -1;
    for (let k2 = a0; k2 < a1; k2++) {
      let f = form[k2];
      const at = attr[k2];
      if (f === C.DW_FORM_indirect) f = c.uleb();
      if (f === C.DW_FORM_implicit_const) {
        const v = implicit[k2];
        if (at === C.DW_AT_call_file) cf = v;
        else if (at === C.DW_AT_call_line) cl = v;
        else if (at === C.DW_AT_call_column) cc = v;
        else if (at === C.DW_AT_high_pc) high = v;
        continue;
      }
      switch (at) {
        case C.DW_AT_sibling:
          if (isRefForm(f) && f !== C.DW_FORM_ref_addr) sib = readNum(c, f, u);
          else skipForm(c, f, h);
          break;
        case C.DW_AT_low_pc:
          low = readNum(c, f, u);
          break;
        case C.DW_AT_high_pc:
          highIsAddr = isAddrForm(f);
          high = readNum(c, f, u);
          break;
        case C.DW_AT_ranges:
          rForm = f;
          rOff = readNum(c, f, u);
          break;
        case C.DW_AT_call_file:
          cf = readNum(c, f, u);
          break;
        case C.DW_AT_call_line:
          cl = readNum(c, f, u);
          break;
        case C.DW_AT_call_column:
          cc = readNum(c, f, u);
          break;
        case C.DW_AT_GNU_discriminator:
          cd = readNum(c, f, u);
          break;
        default:
          skipForm(c, f, h);
      }
    }
    pos = c.pos;
    // Scope ranges.
    const rFirst = out.ranges.length;
    if (rOff >= 0) w.ranges(s, pos, rOff, rForm, out.ranges);
    else if (!Number.isNaN(low) && !Number.isNaN(high)) {
      const hi = highIsAddr ? high : low + high;
      if (hi > low) out.ranges.push(low, hi);
    }
    const nr = (out.ranges.length - rFirst) >> 1;
    if (depth === 1 && stopAddr === stopAddr) {
      const ra = out.ranges.a;
      for (let r = rFirst; r < out.ranges.length; r += 2) if (stopAddr >= ra[r] && stopAddr < ra[r + 1]) w.topHit = true;
    }
    const parent = stack.length ? stack[stack.length - 1] : parent0;
    let self = parent;
    if (nr > 0) {
      self = out.add(parent, depth, dieOff, rFirst >> 1, nr, cf, cl, cc, cd);
      if (lazyTop) {
        out.topScopes.push(self);
        out.topLazy.push(-1);
      }
    }
    if (hasKids) {
      if (lazyTop && depth === 1 && sib > pos && sib <= end) {
        if (nr > 0) {
          out.topLazy.a[out.topLazy.length - 1] = out.lazyScope.length; // self is the last top scope
          out.lazyScope.push(self);
          out.lazyStart.push(pos);
          out.lazyEnd.push(sib);
          out.lazyB0.push(0);
          out.lazyB1.push(0);
        }
        pos = sib; // no code of another function below a subprogram without ranges
        continue;
      }
      depth++;
      stack.push(self);
    }
  }
  return -1;
}

/**
 * Decode one unit: its unit DIE and top level, up to the top-level function containing
 * `firstAddr` (later lookups continue the walk, and decode a function's subtree when they
 * land in it). `bytesOf` gives the unit's bytes by range; the decoded unit keeps none of
 * them (only columns and the offsets of pending subtrees), so a cached unit costs its
 * columns, not its size.
 */
export function decodeUnit(h: UnitHeader, bytesOf: UnitBytes, sec: DebugSections, firstAddr?: number): DecodedUnit {
  const abbrev = readAbbrevTable(sec.abbrev, h.abbrevOffset, h.addrSize, h.offSize, h.version);
  const s = bytesOf(0, h.size);
  const u = new UnitCtx(h, sec, s);
  const unitEnd = Math.min(h.size, s.bytes.length);
  const w = new Walker(h, sec, abbrev, u);
  const out = w.out;
  const top = unitDie(w, s, h.dieStart, unitEnd);
  // The top level is walked up to the function containing the first address; later
  // lookups continue it (ensureTop) when no top-level scope found so far contains theirs.
  let topPos = top && top.kids ? walk(w, s, top.pos, unitEnd, 1, -1, true, firstAddr ?? NaN) : -1;
  const ensureTop = (addr: number): void => {
    while (topPos >= 0) {
      const ts = out.topScopes.a;
      for (let j = 0; j < out.topScopes.length; j++) {
        const i = ts[j];
        if (out.depth(i) === 1 && out.contains(i, addr)) return;
      }
      // The rest of the top level in one pass: its bytes are read again (the scratch buffer
      // has moved on), so the walk does not stop at this function.
      w.topHit = false;
      const before = out.bytes();
      topPos = walk(w, bytesOf(topPos, unitEnd), topPos, unitEnd, 1, -1, true, NaN);
      unit.memory += out.bytes() - before;
    }
  };
  /** Decode pending subtree `i` (a top-level function's children). */
  const expand = (i: number): void => {
    const sc = out.lazyScope.a[i];
    const start = out.lazyStart.a[i],
      end = out.lazyEnd.a[i];
    out.lazyEnd.a[i] = -1;
    const before = out.n;
    // from the function's own DIE: its name is read next, from the same bytes
    const bytes0 = out.bytes();
    walk(w, bytesOf(Math.min(start, out.die(sc)), end), start, end, 2, sc, false, NaN);
    out.lazyB0.a[i] = before;
    out.lazyB1.a[i] = out.n;
    unit.memory += out.bytes() - bytes0;
  };
  const unit: DecodedUnit = {
    header: h,
    bytesOf,
    abbrev,
    name: w.cuName,
    compDir: w.compDir,
    stmtList: w.stmtList,
    strOffsetsBase: u.strOffsetsBase,
    addrBase: u.addrBase,
    s: out,
    unitRanges: Float64Array.from(w.unitRanges),
    names: new Map(),
    memory: 0,
    innermost(addr: number): number {
      ensureTop(addr);
      // One pass over the scopes of the top-level walk: each that contains addr is a
      // candidate, and so is every scope of its subtree (decoded here on first need), not
      // every scope of the unit. The subtree walk adds scopes but no top-level ones.
      const ts = out.topScopes.a,
        tl = out.topLazy.a;
      const nTop = out.topScopes.length;
      let best = -1,
        bestDepth = -1;
      for (let j = 0; j < nTop; j++) {
        const t = ts[j];
        if (!out.contains(t, addr)) continue;
        const d = out.depth(t);
        if (d > bestDepth || (d === bestDepth && t < best)) {
          best = t;
          bestDepth = d;
        }
        const l = tl[j];
        if (l < 0) continue;
        if (out.lazyEnd.a[l] >= 0) expand(l);
        for (let i = out.lazyB0.a[l], b1 = out.lazyB1.a[l]; i < b1; i++) {
          const di = out.depth(i);
          if (di < bestDepth || (di === bestDepth && i > best)) continue;
          if (out.contains(i, addr)) {
            best = i;
            bestDepth = di;
          }
        }
      }
      return best;
    },
  };
  unit.memory = 512 + abbrevMemory(abbrev) + out.bytes();
  return unit;
}

function abbrevMemory(a: AbbrevTable): number {
  return a.dense.byteLength + a.tag.length * 34 + a.attr.length * 20 + a.big.size * 32;
}

/** Only the unit DIE: name, comp_dir and ranges (for units that .debug_aranges does not cover). */
export function unitRangesOnly(h: UnitHeader, s: SectionBytes, sec: DebugSections): Float64Array {
  // decodeUnit stops early when the unit DIE has no children; here we need the ranges only,
  // so decode a copy of the header claiming no children beyond the unit DIE.
  return decodeUnitDieOnly(h, s, sec);
}

function decodeUnitDieOnly(h: UnitHeader, s: SectionBytes, sec: DebugSections): Float64Array {
  const abbrev = readAbbrevTable(sec.abbrev, h.abbrevOffset, h.addrSize, h.offSize, h.version);
  const u = new UnitCtx(h, sec, s);
  const c = new Cursor(s, h.dieStart, Math.min(h.size, s.bytes.length));
  const code = c.uleb();
  if (code === 0) return new Float64Array(0);
  let ai = code < abbrev.dense.length ? abbrev.dense[code] : (abbrev.big.get(code) ?? 0);
  if (ai === 0) c.fail(`abbreviation code ${code} not in the table`, h.dieStart);
  ai--;
  const a0 = abbrev.first[ai],
    a1 = a0 + abbrev.count[ai];
  // first pass: bases
  const start = c.pos;
  for (let k = a0; k < a1; k++) {
    const f = abbrev.form[k],
      at = abbrev.attr[k];
    if (f === C.DW_FORM_implicit_const) continue;
    if (at === C.DW_AT_addr_base || at === C.DW_AT_GNU_addr_base) u.addrBase = readNum(c, f, u);
    else if (at === C.DW_AT_rnglists_base) u.rnglistsBase = readNum(c, f, u);
    else skipForm(c, f, h);
  }
  c.pos = start;
  let low = NaN,
    high = NaN,
    hiAddr = false,
    rOff = -1,
    rForm = 0;
  for (let k = a0; k < a1; k++) {
    const f = abbrev.form[k],
      at = abbrev.attr[k];
    if (f === C.DW_FORM_implicit_const) continue;
    if (at === C.DW_AT_low_pc) low = readNum(c, f, u);
    else if (at === C.DW_AT_high_pc) {
      hiAddr = isAddrForm(f);
      high = readNum(c, f, u);
    } else if (at === C.DW_AT_ranges) {
      rForm = f;
      rOff = readNum(c, f, u);
    } else skipForm(c, f, h);
  }
  const out: number[] = [];
  const base = Number.isNaN(low) ? 0 : low;
  const ctx: RangeContext = { addrSize: h.addrSize, offSize: h.offSize, base, addrx: (i) => u.addrx(i) };
  if (rOff >= 0) {
    if (h.version >= 5 && sec.rnglists)
      readRngList(
        sec.rnglists,
        rForm === C.DW_FORM_rnglistx ? rnglistxOffset(sec.rnglists, u.rnglistsBase, rOff, h.offSize) : rOff,
        ctx,
        out,
      );
    else if (h.version < 5 && sec.ranges) readDebugRanges(sec.ranges, rOff, ctx, out);
  } else if (!Number.isNaN(low) && !Number.isNaN(high)) {
    const hi = hiAddr ? high : low + high;
    if (hi > low) out.push(low, hi);
  }
  return Float64Array.from(out);
}

/**
 * Name of the DIE at unit offset `dieOff`: DW_AT_name, else through DW_AT_abstract_origin /
 * DW_AT_specification (at most 16 hops). `refAddr` resolves a DW_FORM_ref_addr (another unit).
 */
export function dieName(
  unit: DecodedUnit,
  sec: DebugSections,
  dieOff: number,
  refAddr?: (sectionOffset: number) => string | undefined,
  hops = 0,
): string | undefined {
  if (hops > 16) return undefined;
  // A frame's name is asked again by every later lookup in the same function, and an
  // inlined function's abstract instance by each of its inlined copies: once per DIE (and
  // per hop count and refAddr presence, which can change the answer of long or cross-unit chains).
  const names = unit.names;
  const key = (dieOff * 32 + hops) * 2 + (refAddr ? 1 : 0);
  if (names.has(key)) return names.get(key);
  const n = dieNameUncached(unit, sec, dieOff, refAddr, hops);
  if (names.size < 1 << 16) {
    names.set(key, n);
    unit.memory += 64 + (n?.length ?? 0) * 2;
  }
  return n;
}

function dieNameUncached(
  unit: DecodedUnit,
  sec: DebugSections,
  dieOff: number,
  refAddr: ((sectionOffset: number) => string | undefined) | undefined,
  hops: number,
): string | undefined {
  const h = unit.header;
  const unitEnd = h.size;
  if (dieOff < h.dieStart || dieOff >= unitEnd) return undefined;
  // The DIE's bytes: a small window first (a name DIE is a few dozen bytes), the rest of the
  // unit when the window was too short for it (so the answer and any error are those of
  // reading the whole unit).
  const near = Math.min(unitEnd, dieOff + 256);
  try {
    return dieNameIn(unit, sec, unit.bytesOf(dieOff, near), dieOff, near, refAddr, hops);
  } catch (e) {
    if (near >= unitEnd) throw e;
  }
  return dieNameIn(unit, sec, unit.bytesOf(dieOff, unitEnd), dieOff, unitEnd, refAddr, hops);
}

function dieNameIn(
  unit: DecodedUnit,
  sec: DebugSections,
  bytes: SectionBytes,
  dieOff: number,
  end: number,
  refAddr: ((sectionOffset: number) => string | undefined) | undefined,
  hops: number,
): string | undefined {
  const h = unit.header;
  const u = new UnitCtx(h, sec, bytes);
  u.strOffsetsBase = unit.strOffsetsBase;
  u.addrBase = unit.addrBase;
  const a = unit.abbrev;
  const c = new Cursor(bytes, dieOff, end);
  const code = c.uleb();
  if (code === 0) return undefined;
  let ai = code < a.dense.length ? a.dense[code] : (a.big.get(code) ?? 0);
  if (ai === 0) return undefined;
  ai--;
  let ref = -1,
    refIsAddr = false;
  let linkage: string | undefined;
  for (let k = a.first[ai], e = k + a.count[ai]; k < e; k++) {
    let f = a.form[k];
    if (f === C.DW_FORM_indirect) f = c.uleb();
    if (f === C.DW_FORM_implicit_const) continue;
    const at = a.attr[k];
    if (at === C.DW_AT_name) {
      const s = readStr(c, f, u);
      if (s !== undefined) return s;
    } else if ((at === C.DW_AT_abstract_origin || at === C.DW_AT_specification) && isRefForm(f)) {
      ref = readNum(c, f, u);
      refIsAddr = f === C.DW_FORM_ref_addr;
    } else if (at === C.DW_AT_linkage_name || at === C.DW_AT_MIPS_linkage_name) linkage = readStr(c, f, u);
    else skipForm(c, f, h);
  }
  if (ref >= 0) {
    if (refIsAddr) {
      const local = ref - h.offset;
      if (local >= 0 && local < h.size) return dieName(unit, sec, local, refAddr, hops + 1);
      return refAddr?.(ref) ?? linkage;
    }
    return dieName(unit, sec, ref, refAddr, hops + 1) ?? linkage;
  }
  return linkage;
}
