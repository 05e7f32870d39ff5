/**
 * Abbreviation tables (.debug_abbrev), decoded into flat typed arrays: per abbrev its
 * tag, children flag and a slice of (attribute, form, implicit_const) triples, plus the
 * byte size of its attributes when every form has a fixed size in this unit (so
 * uninteresting DIEs are skipped with one addition).
 *
 * A lookup run parses ~1,200 tables early in a fresh process, where this loop would still
 * run in V8's interpreter or baseline code (80-170 ms cold against ~23 ms warm), so an
 * ordinary table is parsed by a small WebAssembly function (abbrev.wat), at full speed from
 * its first call; the JavaScript loop (jsReadAbbrevTable) parses what it does not handle
 * (huge LEB128 values, truncated or oversized tables: it reports the errors), and parses
 * everything where WebAssembly is unavailable. Both give the same table.
 */
import { WASM_USABLE } from '../common/host';
import { Cursor, type SectionBytes } from './cursor';
import * as C from './consts';
import { DWARF_ABBREV_WASM } from './abbrevWasm';

export interface AbbrevTable {
  /** code → abbrev index + 1 (0 = unknown) for small codes; larger codes go through `big`. */
  readonly dense: Int32Array;
  readonly big: Map<number, number>;
  readonly tag: Uint32Array;
  readonly children: Uint8Array;
  readonly first: Uint32Array;
  readonly count: Uint32Array;
  readonly attr: Uint32Array;
  readonly form: Uint32Array;
  readonly implicit: Float64Array;
  /** Per attribute: the byte size of its form in this unit, or -1 when variable (formSize). */
  readonly size: Int32Array;
  /** Fixed byte size of the attributes, or -1 when a form is variable-sized. */
  readonly fixed: Int32Array;
  /**
   * Byte offset of the DW_AT_sibling value from the end of the abbrev code when every
   * attribute before it has a fixed size (the common case: a type's subtree is skipped
   * with one read and one jump), else -1. `sibSize` is its size (0 = ULEB128).
   */
  readonly sibAt: Int32Array;
  readonly sibSize: Uint8Array;
  /** 1 when the abbrev has DW_AT_low_pc or DW_AT_ranges (it can carry code). */
  readonly hasCode: Uint8Array;
  /**
   * 1 when a DIE of this abbrev that is not itself a frame has a subtree the walk may skip:
   * types and their kin (no code below), and subprograms without code (declarations,
   * abstract instances: their inlined copies live in the concrete functions).
   */
  readonly skipKids: Uint8Array;
  /** How the DIE walk treats a DIE of this abbrev (ABBREV_* below): its skip plan. */
  readonly kind: Uint8Array;
}

/** A frame candidate (subprogram or inlined subroutine with low_pc/ranges): decoded. */
export const ABBREV_SCOPE = 0;
/** No children, every attribute of a fixed size: skipped by `fixed` bytes. */
export const ABBREV_LEAF = 1;
/** A skippable subtree whose DW_AT_sibling (4 bytes) sits at `sibAt`: one read, one jump. */
export const ABBREV_SIB4 = 2;
/** Children that are walked, every attribute of a fixed size: skipped by `fixed` bytes, then one level down. */
export const ABBREV_DESCEND = 3;
/** Anything else: attribute by attribute. */
export const ABBREV_OTHER = 4;

/** Fixed size of a form in a unit (address size, offset size, version), or -1 when variable. */
export function formSize(form: number, addrSize: number, offSize: number, version: number): number {
  switch (form) {
    case C.DW_FORM_addr:
      return addrSize;
    case C.DW_FORM_data1:
    case C.DW_FORM_ref1:
    case C.DW_FORM_flag:
    case C.DW_FORM_strx1:
    case C.DW_FORM_addrx1:
      return 1;
    case C.DW_FORM_data2:
    case C.DW_FORM_ref2:
    case C.DW_FORM_strx2:
    case C.DW_FORM_addrx2:
      return 2;
    case C.DW_FORM_strx3:
    case C.DW_FORM_addrx3:
      return 3;
    case C.DW_FORM_data4:
    case C.DW_FORM_ref4:
    case C.DW_FORM_ref_sup4:
    case C.DW_FORM_strx4:
    case C.DW_FORM_addrx4:
      return 4;
    case C.DW_FORM_data8:
    case C.DW_FORM_ref8:
    case C.DW_FORM_ref_sig8:
    case C.DW_FORM_ref_sup8:
      return 8;
    case C.DW_FORM_data16:
      return 16;
    case C.DW_FORM_strp:
    case C.DW_FORM_line_strp:
    case C.DW_FORM_sec_offset:
    case C.DW_FORM_strp_sup:
    case C.DW_FORM_GNU_ref_alt:
    case C.DW_FORM_GNU_strp_alt:
      return offSize;
    case C.DW_FORM_ref_addr:
      return version <= 2 ? addrSize : offSize;
    case C.DW_FORM_flag_present:
    case C.DW_FORM_implicit_const:
      return 0;
    default:
      return -1;
  }
}

/** Tags whose subtrees never hold code that can be a frame (types and their kin), and subprograms. */
function skippableTag(tag: number): boolean {
  switch (tag) {
    case 0x01:
    case 0x04:
    case 0x13:
    case 0x15:
    case 0x17:
    case 0x48:
    case 0x4109:
    case C.DW_TAG_subprogram:
      return true;
    default:
      return false;
  }
}

/** ULEB128 at `p` of `b` (bounded by `end`); the position after it in `ULP`. */
let ULP = 0;
function ulebAt(c: Cursor, b: Uint8Array, p: number, end: number): number {
  const at = p;
  let r = 0,
    m = 1,
    x = 0;
  do {
    if (p >= end) c.fail('truncated LEB128', at);
    x = b[p++];
    r += (x & 0x7f) * m;
    m *= 128;
  } while (x & 0x80 && m < 2 ** 64);
  while (x & 0x80) {
    if (p >= end) c.fail('truncated LEB128', at);
    x = b[p++];
  }
  ULP = p;
  return r;
}

/**
 * Scratch columns shared by every parse (a parse runs to completion, nothing re-enters it):
 * a table is built here and copied out at its exact size, so a unit's table costs one
 * allocation per column instead of a growing JS array each.
 */
const S = {
  tags: new Uint32Array(256),
  kids: new Uint8Array(256),
  firsts: new Uint32Array(256),
  counts: new Uint32Array(256),
  fixed: new Int32Array(256),
  sibAt: new Int32Array(256),
  sibSize: new Uint8Array(256),
  hasCode: new Uint8Array(256),
  skipKids: new Uint8Array(256),
  codes: new Float64Array(256),
  kind: new Uint8Array(256),
  attrs: new Uint32Array(2048),
  forms: new Uint32Array(2048),
  imps: new Float64Array(2048),
  sizes: new Int32Array(2048),
};
function grow<T extends Uint32Array | Int32Array | Float64Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** formSize tables of forms 0..0x2f by (address size, offset size, version). */
const SIZE_TABLES = new Map<number, Int8Array>();

/** The key of SIZE_TABLES: formSize depends on the version only as version <= 2. */
function sizeKey(addrSize: number, offSize: number, version: number): number {
  return addrSize * 100 + offSize * 10 + (version <= 2 ? 1 : 0);
}

function sizeTable(key: number, addrSize: number, offSize: number, version: number): Int8Array {
  let sizeOf = SIZE_TABLES.get(key);
  if (!sizeOf) {
    sizeOf = new Int8Array(0x30);
    for (let f = 0; f < 0x30; f++) sizeOf[f] = formSize(f, addrSize, offSize, version);
    SIZE_TABLES.set(key, sizeOf);
  }
  return sizeOf;
}

function checkOffset(s: SectionBytes, offset: number): void {
  if (offset < 0 || offset >= s.bytes.length)
    new Cursor(s, offset).fail(
      `abbreviation table offset 0x${offset.toString(16)} outside ${s.section} (size 0x${s.bytes.length.toString(16)})`,
      0,
    );
}

export function readAbbrevTable(s: SectionBytes, offset: number, addrSize: number, offSize: number, version: number): AbbrevTable {
  checkOffset(s, offset);
  const key = sizeKey(addrSize, offSize, version);
  const sizeOf = sizeTable(key, addrSize, offSize, version);
  return wasmTable(s.bytes, offset, offSize, key, sizeOf) ?? jsTable(s, offset, addrSize, offSize, version, sizeOf);
}

/** The table parsed by the JavaScript loop: the reference (tests compare the WebAssembly parse with it). */
export function jsReadAbbrevTable(s: SectionBytes, offset: number, addrSize: number, offSize: number, version: number): AbbrevTable {
  checkOffset(s, offset);
  const key = sizeKey(addrSize, offSize, version);
  return jsTable(s, offset, addrSize, offSize, version, sizeTable(key, addrSize, offSize, version));
}

/** The table parsed by the WebAssembly function, or null where it leaves the table to the JavaScript loop. */
export function wasmReadAbbrevTable(
  s: SectionBytes,
  offset: number,
  addrSize: number,
  offSize: number,
  version: number,
): AbbrevTable | null {
  if (offset < 0 || offset >= s.bytes.length) return null;
  const key = sizeKey(addrSize, offSize, version);
  return wasmTable(s.bytes, offset, offSize, key, sizeTable(key, addrSize, offSize, version));
}

/** The byte size of a table's one buffer (see tableOf). */
function tableBytes(nt: number, na: number): number {
  return na * 8 + (nt * 5 + na * 3) * 4 + nt * 5 + 8;
}

/**
 * The table's columns as views of one buffer (one backing store per table instead of
 * sixteen): 8-byte columns first, then 4-byte, then 1-byte, each at an offset aligned for
 * its type. abbrev.wat packs its columns in this layout.
 */
function tableOf(buf: ArrayBuffer, nt: number, na: number, dense: Int32Array, big: Map<number, number>): AbbrevTable {
  const implicit = new Float64Array(buf, 0, na);
  let at = na * 8;
  const tag = new Uint32Array(buf, at, nt),
    first = new Uint32Array(buf, (at += nt * 4), nt),
    count = new Uint32Array(buf, (at += nt * 4), nt),
    fixed = new Int32Array(buf, (at += nt * 4), nt),
    sibAt = new Int32Array(buf, (at += nt * 4), nt),
    attr = new Uint32Array(buf, (at += nt * 4), na),
    form = new Uint32Array(buf, (at += na * 4), na),
    size = new Int32Array(buf, (at += na * 4), na),
    children = new Uint8Array(buf, (at += na * 4), nt),
    sibSize = new Uint8Array(buf, (at += nt), nt),
    hasCode = new Uint8Array(buf, (at += nt), nt),
    skipKids = new Uint8Array(buf, (at += nt), nt),
    kind = new Uint8Array(buf, (at += nt), nt);
  return { dense, big, tag, children, first, count, attr, form, implicit, size, fixed, sibAt, sibSize, hasCode, skipKids, kind };
}

// ---- WebAssembly (abbrev.wat) ---------------------------------------------------------------

// Memory: the form-size table at 0, results at 64, the window of .debug_abbrev at DATA,
// then (at `out`) the columns for a window's worth of abbrevs, the dense map and the
// packed columns.
const SIZES = 0;
const RESULTS = 64;
const DATA = 128;
const PAGE = 65536;
/** Bytes copied per parse (every table of the Debian vmlinux has under 6 KB) ... */
const WINDOW = 8 << 10;
/** ... up to this when a table runs past it; larger tables take the JavaScript loop. */
const MAX_WINDOW = 256 << 10;

interface Arena {
  memory: WebAssembly.Memory;
  parse: (p: number, end: number, offSize: number, out: number, capT: number, capA: number) => number;
  u8: Uint8Array;
  res: Uint32Array;
  /** The largest window the layout has room for; output capacities (an abbrev takes >= 5 bytes, an attribute >= 2). */
  window: number;
  out: number;
  capT: number;
  capA: number;
  /** sizeKey of the form-size table in the memory (-1: none). */
  sizes: number;
}

/**
 * undefined: not tried yet; null: no WebAssembly here (e.g. node --jitless), or a
 * big-endian host (the columns are read through host-order views of little-endian memory).
 */
let arena: Arena | null | undefined = WASM_USABLE ? undefined : null;

/** Memory bytes for a window of `w` bytes (see abbrev.wat) and its layout. */
function layout(w: number): { out: number; capT: number; capA: number; bytes: number } {
  const out = (DATA + w + 8 + 7) & ~7;
  const capT = Math.floor(w / 5) + 1;
  const capA = (w >> 1) + 1;
  const bytes = out + 20 * capA + 29 * capT + 8 + 4 * Math.max(1024, 2 * capT) + 20 * capA + 25 * capT + 16;
  return { out, capT, capA, bytes };
}

function arenaFor(w: number): Arena | null {
  if (arena === null) return null;
  if (arena && arena.window >= w) return arena;
  try {
    const l = layout(Math.max(w, WINDOW));
    const pages = Math.ceil(l.bytes / PAGE);
    if (!arena) {
      const memory = new WebAssembly.Memory({ initial: pages });
      const mod = new WebAssembly.Module(Buffer.from(DWARF_ABBREV_WASM, 'base64'));
      const { parse } = new WebAssembly.Instance(mod, { e: { m: memory } }).exports as unknown as Pick<Arena, 'parse'>;
      arena = { memory, parse, u8: new Uint8Array(0), res: new Uint32Array(0), window: 0, out: 0, capT: 0, capA: 0, sizes: -1 };
    } else if (pages > arena.memory.buffer.byteLength / PAGE) arena.memory.grow(pages - arena.memory.buffer.byteLength / PAGE);
    const a = arena;
    a.u8 = new Uint8Array(a.memory.buffer);
    a.res = new Uint32Array(a.memory.buffer, RESULTS, 7);
    a.sizes = -1;
    a.window = Math.max(w, WINDOW);
    a.out = l.out;
    a.capT = l.capT;
    a.capA = l.capA;
    return a;
  } catch {
    return (arena = null);
  }
}

function wasmTable(b: Uint8Array, offset: number, offSize: number, key: number, sizeOf: Int8Array): AbbrevTable | null {
  if ((offSize | 0) !== offSize || offset >>> 0 !== offset) return null;
  const rest = b.length - offset;
  let w = rest < WINDOW ? rest : WINDOW;
  let a: Arena | null;
  for (;;) {
    a = arenaFor(w);
    if (a === null) return null;
    a.u8.set(b.subarray(offset, offset + w), DATA);
    if (a.sizes !== key) {
      a.u8.set(sizeOf, SIZES);
      a.sizes = key;
    }
    let st: number;
    try {
      st = a.parse(DATA, DATA + w, offSize, a.out, a.capT, a.capA);
    } catch {
      return null;
    }
    if (st === 0) break;
    // past the window: a bigger one, unless the window already ends the section (truncated)
    if (st !== 1 || w >= rest || w >= MAX_WINDOW) return null;
    w = Math.min(rest, w * 8, MAX_WINDOW);
  }
  const r = a.res;
  const nt = r[0],
    na = r[1],
    maxCode = r[2],
    denseLen = r[3];
  const mem = a.memory.buffer;
  const buf = mem.slice(r[4], r[4] + r[5]);
  const dense = new Int32Array(mem, r[6], denseLen).slice();
  const big = new Map<number, number>();
  if (maxCode >= denseLen) {
    const codes = new Uint32Array(mem, a.out + 20 * a.capA, nt);
    for (let i = nt - 1; i >= 0; i--) if (codes[i] >= denseLen) big.set(codes[i], i + 1);
  }
  return tableOf(buf, nt, na, dense, big);
}

// ---- the JavaScript loop ----------------------------------------------------------------------

function jsTable(s: SectionBytes, offset: number, addrSize: number, offSize: number, version: number, sizeOf: Int8Array): AbbrevTable {
  const c = new Cursor(s, offset);
  const b = s.bytes,
    end = b.length;
  let na = 0,
    nt = 0;
  let { tags, kids, firsts, counts, fixed, sibAt, sibSize, hasCode, skipKids, codes, kind, attrs, forms, imps, sizes } = S;
  let maxCode = 0;
  let p = offset;
  // Each abbrev takes at least 4 bytes: the loop is bounded by the section size. LEB128
  // values below 0x80 (nearly every code, tag, attribute and form) take the one-byte path.
  for (;;) {
    let code = b[p];
    if (code < 0x80 && p < end) p++;
    else {
      code = ulebAt(c, b, p, end);
      p = ULP;
    }
    if (code === 0) break;
    let tag = b[p];
    if (tag < 0x80 && p < end) p++;
    else {
      tag = ulebAt(c, b, p, end);
      p = ULP;
    }
    if (p >= end) c.fail('truncated: need 1 byte', p);
    const ch = b[p++];
    const first = na;
    let fx = 0,
      sa = -1,
      ss = 0,
      code_ = 0;
    for (;;) {
      let at = b[p];
      if (at < 0x80 && p < end) p++;
      else {
        at = ulebAt(c, b, p, end);
        p = ULP;
      }
      let fm = b[p];
      if (fm < 0x80 && p < end) p++;
      else {
        fm = ulebAt(c, b, p, end);
        p = ULP;
      }
      if (at === 0 && fm === 0) break;
      if (at === C.DW_AT_low_pc || at === C.DW_AT_ranges) code_ = 1;
      if (at === C.DW_AT_sibling && sa < 0 && fx >= 0) {
        const z =
          fm === C.DW_FORM_ref_udata
            ? 0
            : fm === C.DW_FORM_ref1
              ? 1
              : fm === C.DW_FORM_ref2
                ? 2
                : fm === C.DW_FORM_ref4
                  ? 4
                  : fm === C.DW_FORM_ref8
                    ? 8
                    : -1;
        if (z >= 0) {
          sa = fx;
          ss = z;
        }
      }
      let imp = 0;
      if (fm === C.DW_FORM_implicit_const) {
        c.pos = p;
        imp = c.sleb();
        p = c.pos;
      }
      if (na >= attrs.length) {
        S.attrs = attrs = grow(attrs);
        S.forms = forms = grow(forms);
        S.imps = imps = grow(imps);
        S.sizes = sizes = grow(sizes);
      }
      attrs[na] = at;
      forms[na] = fm;
      imps[na] = imp;
      na++;
      const sz = fm < 0x30 ? sizeOf[fm] : formSize(fm, addrSize, offSize, version);
      sizes[na - 1] = sz;
      fx = fx < 0 || sz < 0 ? -1 : fx + sz;
    }
    if (nt >= tags.length) {
      S.tags = tags = grow(tags);
      S.kids = kids = grow(kids);
      S.firsts = firsts = grow(firsts);
      S.counts = counts = grow(counts);
      S.fixed = fixed = grow(fixed);
      S.sibAt = sibAt = grow(sibAt);
      S.sibSize = sibSize = grow(sibSize);
      S.hasCode = hasCode = grow(hasCode);
      S.skipKids = skipKids = grow(skipKids);
      S.codes = codes = grow(codes);
      S.kind = kind = grow(kind);
    }
    codes[nt] = code;
    if (code > maxCode) maxCode = code;
    tags[nt] = tag;
    kids[nt] = ch;
    firsts[nt] = first;
    counts[nt] = na - first;
    fixed[nt] = fx;
    sibAt[nt] = sa;
    sibSize[nt] = ss;
    hasCode[nt] = code_;
    const sk = skippableTag(tag);
    skipKids[nt] = sk ? 1 : 0;
    kind[nt] =
      (tag === C.DW_TAG_subprogram || tag === C.DW_TAG_inlined_subroutine) && code_
        ? ABBREV_SCOPE
        : ch === 0
          ? fx >= 0
            ? ABBREV_LEAF
            : ABBREV_OTHER
          : sk && sa >= 0 && ss === 4
            ? ABBREV_SIB4
            : !sk && fx >= 0
              ? ABBREV_DESCEND
              : ABBREV_OTHER;
    nt++;
  }
  const denseLen = Math.min(maxCode + 1, Math.max(1024, nt * 2));
  const dense = new Int32Array(denseLen);
  const big = new Map<number, number>();
  for (let i = nt - 1; i >= 0; i--) {
    if (codes[i] < denseLen) dense[codes[i]] = i + 1;
    else big.set(codes[i], i + 1);
  }
  const t = tableOf(new ArrayBuffer(tableBytes(nt, na)), nt, na, dense, big);
  t.implicit.set(imps.subarray(0, na));
  t.tag.set(tags.subarray(0, nt));
  t.first.set(firsts.subarray(0, nt));
  t.count.set(counts.subarray(0, nt));
  t.fixed.set(fixed.subarray(0, nt));
  t.sibAt.set(sibAt.subarray(0, nt));
  t.attr.set(attrs.subarray(0, na));
  t.form.set(forms.subarray(0, na));
  t.size.set(sizes.subarray(0, na));
  t.children.set(kids.subarray(0, nt));
  t.sibSize.set(sibSize.subarray(0, nt));
  t.hasCode.set(hasCode.subarray(0, nt));
  t.skipKids.set(skipKids.subarray(0, nt));
  t.kind.set(kind.subarray(0, nt));
  return t;
}
