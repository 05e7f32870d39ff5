/**
 * Abbreviation tables (.debug_abbrev), decoded into flat typed arrays: per abbrev its
 * tag, children flag and a slice of (attribute, form, implicit_const) triples, plus the
 * byte size of its attributes when every form has a fixed size in this unit (so
 * uninteresting DIEs are skipped with one addition).
 */
import { Cursor, type SectionBytes } from './cursor';
import * as C from './consts';

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

export function readAbbrevTable(s: SectionBytes, offset: number, addrSize: number, offSize: number, version: number): AbbrevTable {
  const c = new Cursor(s, offset);
  if (offset < 0 || offset >= s.bytes.length)
    c.fail(`abbreviation table offset 0x${offset.toString(16)} outside ${s.section} (size 0x${s.bytes.length.toString(16)})`, 0);
  const b = s.bytes,
    end = b.length;
  let na = 0,
    nt = 0;
  let { tags, kids, firsts, counts, fixed, sibAt, sibSize, hasCode, skipKids, codes, kind, attrs, forms, imps, sizes } = S;
  let maxCode = 0;
  let p = offset;
  // formSize of the standard forms for this unit's sizes, by table (one load per attribute)
  const key = addrSize * 100 + offSize * 10 + (version <= 2 ? 1 : 0); // formSize depends on version only as version <= 2
  let sizeOf = SIZE_TABLES.get(key);
  if (!sizeOf) {
    sizeOf = new Int8Array(0x30);
    for (let f = 0; f < 0x30; f++) sizeOf[f] = formSize(f, addrSize, offSize, version);
    SIZE_TABLES.set(key, sizeOf);
  }
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
  // Every column in one buffer (one backing store per table instead of sixteen): 8-byte
  // columns first, then 4-byte, then 1-byte, each at an offset aligned for its type.
  const bytes = na * 8 + (nt * 5 + na * 3) * 4 + nt * 5 + 8;
  const buf = new ArrayBuffer(bytes);
  let at = 0;
  const col = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(
    Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number },
    src: T,
    n: number,
  ): T => {
    const v = new Ctor(buf, at, n);
    v.set(src.subarray(0, n) as never);
    at += n * Ctor.BYTES_PER_ELEMENT;
    return v;
  };
  const implicit = col(Float64Array, imps, na);
  const tag = col(Uint32Array, tags, nt),
    first = col(Uint32Array, firsts, nt),
    count = col(Uint32Array, counts, nt),
    fixedC = col(Int32Array, fixed, nt),
    sibAtC = col(Int32Array, sibAt, nt),
    attr = col(Uint32Array, attrs, na),
    form = col(Uint32Array, forms, na),
    size = col(Int32Array, sizes, na);
  const t: AbbrevTable = {
    dense,
    big,
    tag,
    children: col(Uint8Array, kids, nt),
    first,
    count,
    attr,
    form,
    implicit,
    size,
    fixed: fixedC,
    sibAt: sibAtC,
    sibSize: col(Uint8Array, sibSize, nt),
    hasCode: col(Uint8Array, hasCode, nt),
    skipKids: col(Uint8Array, skipKids, nt),
    kind: col(Uint8Array, kind, nt),
  };
  return t;
}
