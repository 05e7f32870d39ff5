/**
 * Compile units: headers (DWARF 2–5, 32- and 64-bit formats, every unit type), and the
 * DIE walk of one unit into compact arrays: only the DIEs that carry code and can be
 * frames (subprograms, inlined subroutines) are kept, with their parent, their ranges
 * and their call site; names are read lazily from the DIE offset. Type subtrees are
 * skipped through DW_AT_sibling, and DIEs whose attributes all have fixed sizes are
 * skipped in one step.
 */
import { Cursor, cstringAt, dwarfError, type SectionBytes } from './cursor';
import { readAbbrevTable, type AbbrevTable } from './abbrev';
import * as C from './consts';
import { readDebugRanges, readRngList, rnglistxOffset, type RangeContext } from './ranges';

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
  readonly bytes: SectionBytes;
  readonly abbrev: AbbrevTable;
  readonly name: string;
  readonly compDir: string;
  readonly stmtList: number;
  readonly strOffsetsBase: number;
  readonly addrBase: number;
  /**
   * Scopes (subprograms and inlined subroutines with code), as columns. The subtree of a
   * top-level subprogram is decoded on first need (`expandFor`), so a lookup decodes the
   * unit's top level plus the one function it lands in.
   */
  readonly s: Cols;
  /** The unit's own ranges (from low_pc/high_pc or DW_AT_ranges). */
  readonly unitRanges: Float64Array;
  /** Decode the pending subtrees of top-level scopes containing `addr`. */
  expandFor(addr: number): void;
  memory: number;
}

export const SCOPE_SUBPROGRAM = 1;
export const SCOPE_INLINED = 2;

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

/** Unsigned/offset/reference/address value of an attribute (NaN for string and block forms, after skipping them). */
function readNum(c: Cursor, form: number, u: UnitCtx): number {
  const h = u.h;
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
      skipForm(c, form, h);
      return NaN;
  }
}

function readStr(c: Cursor, form: number, u: UnitCtx): string | undefined {
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

export class Cols {
  n = 0;
  tag: number[] = [];
  parent: number[] = [];
  depth: number[] = [];
  die: number[] = [];
  rf: number[] = [];
  rc: number[] = [];
  cf: number[] = [];
  cl: number[] = [];
  cc: number[] = [];
  cd: number[] = [];
  ranges: number[] = [];
  /** Pending subtrees: scope index, children start, subtree end (-1 = decoded). */
  lazyScope: number[] = [];
  lazyStart: number[] = [];
  lazyEnd: number[] = [];
}

/**
 * Decode one unit. `s` holds the unit's bytes (position 0 = the unit header).
 */
export function decodeUnit(h: UnitHeader, s: SectionBytes, sec: DebugSections, firstAddr?: number): DecodedUnit {
  const abbrev = readAbbrevTable(sec.abbrev, h.abbrevOffset, h.addrSize, h.offSize, h.version);
  const u = new UnitCtx(h, sec, s);
  const unitEnd = Math.min(h.size, s.bytes.length);
  const {
    dense,
    big,
    tag: aTag,
    children,
    first,
    count,
    attr,
    form,
    implicit,
    size: aSize,
    fixed,
    sibAt,
    sibSize,
    hasCode,
    skipKids,
  } = abbrev;
  const bytes = s.bytes;
  const out = new Cols();
  let cuName = '',
    compDir = '',
    stmtList = -1,
    cuLow = 0;
  let cuDone = false;
  const unitRanges: number[] = [];
  const rctx = (): RangeContext => ({ addrSize: h.addrSize, offSize: h.offSize, base: cuLow, addrx: (i) => u.addrx(i) });
  const ranges = (c: Cursor, off: number, f: number, into: number[]): void => {
    if (h.version >= 5) {
      if (!sec.rnglists) throw dwarfError(s, c.pos, 'DW_AT_ranges without a .debug_rnglists section');
      const o = f === C.DW_FORM_rnglistx ? rnglistxOffset(sec.rnglists, u.rnglistsBase, off, h.offSize) : off;
      readRngList(sec.rnglists, o, rctx(), into);
    } else {
      if (!sec.ranges) throw dwarfError(s, c.pos, 'DW_AT_ranges without a .debug_ranges section');
      readDebugRanges(sec.ranges, off, rctx(), into);
    }
  };
  /**
   * Walk DIEs from `start` to `end`. `depth0`: depth of the first DIE; `parent0`: the scope of its parent.
   * With `lazyTop`, the subtree of a scope at depth 1 that has a DW_AT_sibling is recorded
   * as pending instead of being walked.
   */
  /** Set when the top-level walk recorded a top-level scope containing its stop address. */
  let topHit = false;
  const walk = (start: number, end: number, depth0: number, parent0: number, lazyTop: boolean, stopAddr?: number): number => {
    const c = new Cursor(s, start, end);
    const stack: number[] = [];
    let depth = depth0;
    // Each DIE consumes at least one byte: the walk is bounded by the unit size.
    while (c.pos < c.end) {
      // resumable top level: stop between top-level DIEs once the function is found
      if (topHit && depth === 1) return c.pos;
      const dieOff = c.pos;
      // abbrev codes are almost always below 128: one byte, no call
      let code = bytes[dieOff];
      if (code < 0x80 && dieOff < c.end) c.pos = dieOff + 1;
      else code = c.uleb();
      if (code === 0) {
        if (depth === depth0) break; // end of this sibling chain
        depth--;
        stack.pop();
        if (depth === 0 && cuDone) break;
        continue;
      }
      let ai = code < dense.length ? dense[code] : (big.get(code) ?? 0);
      if (ai === 0) c.fail(`abbreviation code ${code} not in the table at .debug_abbrev+0x${h.abbrevOffset.toString(16)}`, dieOff);
      ai--;
      const tg = aTag[ai];
      const hasKids = children[ai] !== 0;
      const a0 = first[ai],
        a1 = a0 + count[ai];
      // A subprogram without low_pc/ranges (a declaration, an abstract instance) has no code:
      // its subtree is skipped like a type's.
      const isScope = (tg === C.DW_TAG_subprogram || tg === C.DW_TAG_inlined_subroutine) && hasCode[ai] !== 0;
      const isUnit = depth === 0 && !cuDone;
      if (!isScope && !isUnit) {
        let sib = -1;
        const fx = fixed[ai];
        const sa = sibAt[ai];
        if (hasKids && sa >= 0 && skipKids[ai] !== 0) {
          // one read, one jump: the sibling reference sits at a fixed offset
          const q = c.pos + sa,
            z = sibSize[ai];
          if (z === 4 && q + 4 <= c.end)
            sib = c.le
              ? (bytes[q] | (bytes[q + 1] << 8) | (bytes[q + 2] << 16) | (bytes[q + 3] << 24)) >>> 0
              : ((bytes[q] << 24) | (bytes[q + 1] << 16) | (bytes[q + 2] << 8) | bytes[q + 3]) >>> 0;
          else {
            c.pos = q;
            sib = readNum(
              c,
              z === 0
                ? C.DW_FORM_ref_udata
                : z === 1
                  ? C.DW_FORM_ref1
                  : z === 2
                    ? C.DW_FORM_ref2
                    : z === 8
                      ? C.DW_FORM_ref8
                      : C.DW_FORM_ref4,
              u,
            );
          }
          if (sib > dieOff && sib <= c.end) {
            c.pos = sib;
            continue;
          }
          c.pos = q - sa;
          sib = -1;
          if (fx >= 0) {
            c.need(fx);
            c.pos += fx;
          } else skipAttrs(c, a0, a1, form, aSize, h);
        } else if (hasKids && skipKids[ai] !== 0) {
          for (let k = a0; k < a1; k++) {
            const f = form[k];
            if (attr[k] === C.DW_AT_sibling && isRefForm(f) && f !== C.DW_FORM_ref_addr) sib = readNum(c, f, u);
            else skipForm(c, f, h);
          }
        } else if (fx >= 0) {
          c.need(fx);
          c.pos += fx;
        } else {
          skipAttrs(c, a0, a1, form, aSize, h);
        }
        if (hasKids) {
          if (sib > dieOff && sib <= c.end)
            c.pos = sib; // skip the subtree
          else {
            depth++;
            stack.push(stack.length ? stack[stack.length - 1] : parent0);
          }
        }
        continue;
      }
      // A scope (or the unit DIE): decode the attributes we need.
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
      for (let k = a0; k < a1; k++) {
        let f = form[k];
        const at = attr[k];
        if (f === C.DW_FORM_indirect) f = c.uleb();
        if (f === C.DW_FORM_implicit_const) {
          const v = implicit[k];
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
          case C.DW_AT_name:
            if (isUnit) cuName = readStr(c, f, u) ?? '';
            else skipForm(c, f, h);
            break;
          case C.DW_AT_comp_dir:
            if (isUnit) compDir = readStr(c, f, u) ?? '';
            else skipForm(c, f, h);
            break;
          case C.DW_AT_stmt_list:
            if (isUnit) stmtList = readNum(c, f, u);
            else skipForm(c, f, h);
            break;
          case C.DW_AT_str_offsets_base:
            if (isUnit) u.strOffsetsBase = readNum(c, f, u);
            else skipForm(c, f, h);
            break;
          case C.DW_AT_addr_base:
          case C.DW_AT_GNU_addr_base:
            if (isUnit) u.addrBase = readNum(c, f, u);
            else skipForm(c, f, h);
            break;
          case C.DW_AT_rnglists_base:
            if (isUnit) u.rnglistsBase = readNum(c, f, u);
            else skipForm(c, f, h);
            break;
          default:
            skipForm(c, f, h);
        }
      }
      if (isUnit) {
        cuDone = true;
        // addrx/strx in the unit DIE itself may precede the *_base attributes: reread them now.
        if (u.addrBase || u.strOffsetsBase) {
          const c2 = new Cursor(s, dieOff);
          c2.uleb();
          for (let k = a0; k < a1; k++) {
            let f = form[k];
            if (f === C.DW_FORM_indirect) f = c2.uleb();
            const at = attr[k];
            if (at === C.DW_AT_low_pc) low = readNum(c2, f, u);
            else if (at === C.DW_AT_high_pc) high = readNum(c2, f, u);
            else if (at === C.DW_AT_name) cuName = readStr(c2, f, u) ?? cuName;
            else if (at === C.DW_AT_comp_dir) compDir = readStr(c2, f, u) ?? compDir;
            else if (f !== C.DW_FORM_implicit_const) skipForm(c2, f, h);
          }
        }
        cuLow = Number.isNaN(low) ? 0 : low;
        if (rOff >= 0) ranges(c, rOff, rForm, unitRanges);
        else if (!Number.isNaN(low) && !Number.isNaN(high)) {
          const hi = highIsAddr ? high : low + high;
          if (hi > low) unitRanges.push(low, hi);
        }
        if (hasKids) {
          depth++;
          stack.push(-1);
        } else break;
        continue;
      }
      // Scope ranges.
      const rFirst = out.ranges.length;
      if (rOff >= 0) ranges(c, rOff, rForm, out.ranges);
      else if (!Number.isNaN(low) && !Number.isNaN(high)) {
        const hi = highIsAddr ? high : low + high;
        if (hi > low) out.ranges.push(low, hi);
      }
      const nr = (out.ranges.length - rFirst) >> 1;
      if (stopAddr !== undefined && depth === 1)
        for (let r = rFirst; r < out.ranges.length; r += 2) if (stopAddr >= out.ranges[r] && stopAddr < out.ranges[r + 1]) topHit = true;
      const parent = stack.length ? stack[stack.length - 1] : parent0;
      let self = parent;
      if (nr > 0) {
        self = out.n++;
        out.tag.push(tg === C.DW_TAG_subprogram ? SCOPE_SUBPROGRAM : SCOPE_INLINED);
        out.parent.push(parent);
        out.depth.push(depth);
        out.die.push(dieOff);
        out.rf.push(rFirst >> 1);
        out.rc.push(nr);
        out.cf.push(cf);
        out.cl.push(cl);
        out.cc.push(cc);
        out.cd.push(cd);
      }
      if (hasKids) {
        if (lazyTop && depth === 1 && sib > c.pos && sib <= c.end) {
          if (nr > 0) {
            out.lazyScope.push(self);
            out.lazyStart.push(c.pos);
            out.lazyEnd.push(sib);
          }
          c.pos = sib; // no code of another function below a subprogram without ranges
          continue;
        }
        depth++;
        stack.push(self);
      }
    }
    return -1;
  };
  // The top level is walked up to the function containing the first address; later
  // lookups continue it (ensureTop) when no top-level scope found so far contains theirs.
  let topPos = walk(h.dieStart, unitEnd, 0, -1, true, firstAddr);
  const ensureTop = (addr: number): void => {
    while (topPos >= 0) {
      const { ranges: rr, rf, rc, depth: dd } = out;
      for (let i = 0; i < out.n; i++) {
        if (dd[i] !== 1) continue;
        for (let r = rf[i] * 2, e = r + rc[i] * 2; r < e; r += 2) if (addr >= rr[r] && addr < rr[r + 1]) return;
      }
      topHit = false;
      const before = out.n;
      topPos = walk(topPos, unitEnd, 1, -1, true, addr);
      unit.memory += (out.n - before) * 80;
    }
  };
  const unit: DecodedUnit = {
    header: h,
    bytes: s,
    abbrev,
    name: cuName,
    compDir,
    stmtList,
    strOffsetsBase: u.strOffsetsBase,
    addrBase: u.addrBase,
    s: out,
    unitRanges: Float64Array.from(unitRanges),
    memory: 0,
    expandFor(addr: number): void {
      ensureTop(addr);
      const L = out.lazyScope;
      for (let i = 0; i < L.length; i++) {
        if (out.lazyEnd[i] < 0) continue;
        const sc = L[i];
        const r0 = out.rf[sc] * 2,
          r1 = r0 + out.rc[sc] * 2;
        let hit = false;
        for (let r = r0; r < r1; r += 2)
          if (addr >= out.ranges[r] && addr < out.ranges[r + 1]) {
            hit = true;
            break;
          }
        if (!hit) continue;
        const end = out.lazyEnd[i];
        out.lazyEnd[i] = -1;
        const before = out.n;
        walk(out.lazyStart[i], end, 2, sc, false);
        unit.memory += (out.n - before) * 80;
      }
    },
  };
  unit.memory = s.bytes.length + out.n * 80 + out.lazyScope.length * 24;
  return unit;
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
  const h = unit.header;
  const u = new UnitCtx(h, sec, unit.bytes);
  u.strOffsetsBase = unit.strOffsetsBase;
  u.addrBase = unit.addrBase;
  const a = unit.abbrev;
  const c = new Cursor(unit.bytes, dieOff, Math.min(h.size, unit.bytes.bytes.length));
  if (dieOff < h.dieStart || dieOff >= c.end) return undefined;
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
