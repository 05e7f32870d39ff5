/**
 * Address ranges of a DIE: DW_AT_low_pc/high_pc, or DW_AT_ranges through .debug_ranges
 * (DWARF 2–4) or .debug_rnglists (DWARF 5, incl. DW_FORM_rnglistx). Ranges are pushed
 * as [lo, hi) pairs of signed-Number addresses; empty ranges are dropped. Every loop is
 * bounded by the section size.
 */
import { Cursor, type SectionBytes } from './cursor';

export interface RangeContext {
  readonly addrSize: number;
  readonly offSize: number;
  /** Base address (the unit's DW_AT_low_pc, 0 when absent). */
  readonly base: number;
  readonly addrx: (index: number) => number;
}

/** Where ranges go, as (low, high) pairs: an array, or unit.ts's typed column. */
export interface RangeSink {
  push(lo: number, hi: number): unknown;
}

/** Max of an unsigned address of `size` bytes in our signed-Number representation. */
function maxAddr(size: number): number {
  return size === 8 ? -1 : size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

export function readDebugRanges(s: SectionBytes, offset: number, ctx: RangeContext, out: RangeSink): void {
  const c = new Cursor(s, offset);
  if (offset >= s.bytes.length) c.fail(`range list offset 0x${offset.toString(16)} outside ${s.section}`, 0);
  let base = ctx.base;
  const max = maxAddr(ctx.addrSize);
  while (c.left > 0) {
    const a = c.addr(ctx.addrSize),
      b = c.addr(ctx.addrSize);
    if (a === 0 && b === 0) return;
    if (a === max) {
      base = b;
      continue;
    }
    if (b > a) out.push(base + a, base + b);
  }
  c.fail('range list not terminated');
}

export function readRngList(s: SectionBytes, offset: number, ctx: RangeContext, out: RangeSink): void {
  const c = new Cursor(s, offset);
  if (offset >= s.bytes.length) c.fail(`range list offset 0x${offset.toString(16)} outside ${s.section}`, 0);
  let base = ctx.base;
  const as = ctx.addrSize;
  while (c.left > 0) {
    const kind = c.u8();
    let lo = 0,
      hi = 0;
    switch (kind) {
      case 0:
        return; // DW_RLE_end_of_list
      case 1:
        base = ctx.addrx(c.uleb());
        continue; // base_addressx
      case 2:
        lo = ctx.addrx(c.uleb());
        hi = ctx.addrx(c.uleb());
        break; // startx_endx
      case 3:
        lo = ctx.addrx(c.uleb());
        hi = lo + c.uleb();
        break; // startx_length
      case 4:
        lo = base + c.uleb();
        hi = base + c.uleb();
        break; // offset_pair
      case 5:
        base = c.addr(as);
        continue; // base_address
      case 6:
        lo = c.addr(as);
        hi = c.addr(as);
        break; // start_end
      case 7:
        lo = c.addr(as);
        hi = lo + c.uleb();
        break; // start_length
      default:
        c.fail(`unknown range list entry kind ${kind}`, c.pos - 1);
    }
    if (hi > lo) out.push(lo, hi);
  }
  c.fail('range list not terminated');
}

/** Offset of range list `index` via the offsets table at `base` (DW_AT_rnglists_base). */
export function rnglistxOffset(s: SectionBytes, base: number, index: number, offSize: number): number {
  const c = new Cursor(s, base + index * offSize);
  return base + c.offset(offSize);
}
