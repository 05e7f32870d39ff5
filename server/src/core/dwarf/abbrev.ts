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
}

/** Fixed size of a form in a unit (address size, offset size, version), or -1 when variable. */
export function formSize(form: number, addrSize: number, offSize: number, version: number): number {
  switch (form) {
    case C.DW_FORM_addr: return addrSize;
    case C.DW_FORM_data1: case C.DW_FORM_ref1: case C.DW_FORM_flag: case C.DW_FORM_strx1: case C.DW_FORM_addrx1: return 1;
    case C.DW_FORM_data2: case C.DW_FORM_ref2: case C.DW_FORM_strx2: case C.DW_FORM_addrx2: return 2;
    case C.DW_FORM_strx3: case C.DW_FORM_addrx3: return 3;
    case C.DW_FORM_data4: case C.DW_FORM_ref4: case C.DW_FORM_ref_sup4: case C.DW_FORM_strx4: case C.DW_FORM_addrx4: return 4;
    case C.DW_FORM_data8: case C.DW_FORM_ref8: case C.DW_FORM_ref_sig8: case C.DW_FORM_ref_sup8: return 8;
    case C.DW_FORM_data16: return 16;
    case C.DW_FORM_strp: case C.DW_FORM_line_strp: case C.DW_FORM_sec_offset: case C.DW_FORM_strp_sup: case C.DW_FORM_GNU_ref_alt: case C.DW_FORM_GNU_strp_alt: return offSize;
    case C.DW_FORM_ref_addr: return version <= 2 ? addrSize : offSize;
    case C.DW_FORM_flag_present: case C.DW_FORM_implicit_const: return 0;
    default: return -1;
  }
}

export function readAbbrevTable(s: SectionBytes, offset: number, addrSize: number, offSize: number, version: number): AbbrevTable {
  const c = new Cursor(s, offset);
  if (offset < 0 || offset >= s.bytes.length) c.fail(`abbreviation table offset 0x${offset.toString(16)} outside ${s.section} (size 0x${s.bytes.length.toString(16)})`, 0);
  const tags: number[] = [], kids: number[] = [], firsts: number[] = [], counts: number[] = [], fixed: number[] = [];
  const sibAt: number[] = [], sibSize: number[] = [], hasCode: number[] = [];
  const attrs: number[] = [], forms: number[] = [], imps: number[] = [];
  const codes: number[] = [];
  let maxCode = 0;
  // Each abbrev takes at least 4 bytes: the loop is bounded by the section size.
  for (;;) {
    const code = c.uleb();
    if (code === 0) break;
    const tag = c.uleb();
    const ch = c.u8();
    const first = attrs.length;
    let fx = 0, sa = -1, ss = 0, code_ = 0;
    for (;;) {
      const at = c.uleb(), fm = c.uleb();
      if (at === 0 && fm === 0) break;
      if (at === C.DW_AT_low_pc || at === C.DW_AT_ranges) code_ = 1;
      if (at === C.DW_AT_sibling && sa < 0 && fx >= 0) {
        const z = fm === C.DW_FORM_ref_udata ? 0 : fm === C.DW_FORM_ref1 ? 1 : fm === C.DW_FORM_ref2 ? 2 : fm === C.DW_FORM_ref4 ? 4 : fm === C.DW_FORM_ref8 ? 8 : -1;
        if (z >= 0) {
          sa = fx;
          ss = z;
        }
      }
      let imp = 0;
      if (fm === C.DW_FORM_implicit_const) imp = c.sleb();
      attrs.push(at);
      forms.push(fm);
      imps.push(imp);
      const sz = formSize(fm, addrSize, offSize, version);
      fx = fx < 0 || sz < 0 ? -1 : fx + sz;
    }
    codes.push(code);
    if (code > maxCode) maxCode = code;
    tags.push(tag);
    kids.push(ch);
    firsts.push(first);
    counts.push(attrs.length - first);
    fixed.push(fx);
    sibAt.push(sa);
    sibSize.push(ss);
    hasCode.push(code_);
  }
  const denseLen = Math.min(maxCode + 1, Math.max(1024, codes.length * 2));
  const dense = new Int32Array(denseLen);
  const big = new Map<number, number>();
  for (let i = codes.length - 1; i >= 0; i--) {
    if (codes[i] < denseLen) dense[codes[i]] = i + 1;
    else big.set(codes[i], i + 1);
  }
  const t: AbbrevTable = {
    dense, big,
    tag: Uint32Array.from(tags), children: Uint8Array.from(kids), first: Uint32Array.from(firsts), count: Uint32Array.from(counts),
    attr: Uint32Array.from(attrs), form: Uint32Array.from(forms), implicit: Float64Array.from(imps), fixed: Int32Array.from(fixed),
    sibAt: Int32Array.from(sibAt), sibSize: Uint8Array.from(sibSize), hasCode: Uint8Array.from(hasCode),
  };
  return t;
}
