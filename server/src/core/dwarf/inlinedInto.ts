/**
 * Where a fully inlined function went: the concrete functions holding a DW_TAG_inlined_subroutine
 * whose DW_AT_abstract_origin is the function (directly, or through DW_AT_specification).
 *
 * Bounded, without decoding the whole .debug_info (a distribution vmlinux has ~170 MB of it):
 * 1. the name's offsets in .debug_str (`name\0`, tail-merged strings included);
 * 2. a native byte search of .debug_info, read by offset in chunks, for those offsets as
 *    DW_FORM_strp values: only the units holding one can name the function;
 * 3. those units (at most `maxUnits`) are walked DIE by DIE.
 * The callers are the outermost subprograms with code (what kallsyms lists), with the address
 * of one inlined copy (DW_AT_low_pc or DW_AT_entry_pc) when it has one. Units using
 * DW_FORM_strx names (.debug_str_offsets) are not searched: `complete` says so.
 */
import { FormatError } from '../common/errors';
import { formSize, readAbbrevTable, type AbbrevTable } from './abbrev';
import * as C from './consts';
import { Cursor, cstringAt, type SectionBytes } from './cursor';
import type { ElfView } from './elf';
import { parseUnitHeader, MAX_UNIT_HEADER, plainNum, skipForm, type UnitHeader } from './unit';

export interface InlinedCaller {
  /** The concrete function the copy sits in. */
  caller: string;
  /** Address of one inlined copy (low_pc or entry_pc), when the DIE gives one. */
  address?: number;
  /** .debug_info offset of that DW_TAG_inlined_subroutine. */
  die: number;
}

export interface InlinedInto {
  callers: InlinedCaller[];
  /** False when a bound was reached or some names could not be searched (then say so). */
  complete: boolean;
  note?: string;
}

const DW_AT_entry_pc = 0x52;
const CHUNK = 16 << 20;

function strOffsets(str: Uint8Array, name: string): number[] {
  const pat = Buffer.from(name + '\0', 'latin1');
  const hay = Buffer.from(str.buffer, str.byteOffset, str.byteLength);
  const out: number[] = [];
  for (let p = hay.indexOf(pat); p >= 0 && out.length < 64; p = hay.indexOf(pat, p + 1)) out.push(p);
  return out;
}

/** Skip or read one attribute value; returns a number for numeric/ref/strp forms, NaN otherwise. */
function value(c: Cursor, form: number, h: UnitHeader, implicit: number): number {
  if (form === C.DW_FORM_implicit_const) return implicit;
  const v = plainNum(c, form, h);
  if (v !== undefined) return v;
  // Every other form is skipped by the reader's own rule (one place knows each form's length).
  const fixed = formSize(form, h.addrSize, h.offSize, h.version);
  if (fixed >= 0) c.skip(fixed);
  else skipForm(c, form, h);
  return NaN;
}

interface Die {
  tag: number;
  name: number; // strp offset, -1
  origin: number; // absolute .debug_info offset, -1
  spec: number;
  code: boolean;
  pc: number;
}

/** Decode one unit's DIEs: per DIE offset its facts, and for each the outermost subprogram it sits in. */
function walkUnit(
  info: SectionBytes,
  h: UnitHeader,
  abbrev: AbbrevTable,
  onDie: (off: number, d: Die, top: number) => void,
  budget: { dies: number },
): void {
  const c = new Cursor(info, h.dieStart, h.size);
  let depth = 0;
  let top = -1;
  const a = abbrev;
  while (c.pos < h.size) {
    const off = h.offset + c.pos;
    const code = c.uleb();
    if (code === 0) {
      if (depth > 0) depth--;
      continue;
    }
    if (--budget.dies < 0) return;
    let ai = code < a.dense.length ? a.dense[code] : (a.big.get(code) ?? 0);
    if (ai === 0) c.fail(`abbreviation code ${code} not in the table at .debug_abbrev+0x${h.abbrevOffset.toString(16)}`, c.pos);
    ai--;
    const d: Die = { tag: a.tag[ai], name: -1, origin: -1, spec: -1, code: a.hasCode[ai] !== 0, pc: NaN };
    for (let k = a.first[ai], e = k + a.count[ai]; k < e; k++) {
      const at = a.attr[k];
      const form = a.form[k];
      const v = value(c, form, h, a.implicit[k]);
      const ref = form === C.DW_FORM_ref_addr ? v : h.offset + v;
      if (at === C.DW_AT_name && form === C.DW_FORM_strp) d.name = v;
      else if (at === C.DW_AT_abstract_origin) d.origin = ref;
      else if (at === C.DW_AT_specification) d.spec = ref;
      else if ((at === C.DW_AT_low_pc || at === DW_AT_entry_pc) && form === C.DW_FORM_addr && Number.isNaN(d.pc)) d.pc = v;
    }
    if (depth === 1) top = d.tag === C.DW_TAG_subprogram ? off : -1;
    onDie(off, d, top);
    if (a.children[ai]) depth++;
  }
}

/**
 * The functions `name` is inlined into, from `elf`'s DWARF. At most `limit` callers, `maxUnits`
 * units walked. Throws FormatError on malformed DWARF.
 */
export function inlinedInto(elf: ElfView, name: string, limit = 32, maxUnits = 4096): InlinedInto {
  const infoH = elf.section('.debug_info');
  const abbrevH = elf.section('.debug_abbrev');
  const strH = elf.section('.debug_str');
  if (!infoH || !abbrevH || !strH) throw new FormatError(elf.file, 0, 'no DWARF (.debug_info/.debug_abbrev/.debug_str)');
  const str = elf.data(strH);
  const abbrevS = elf.data(abbrevH);
  const infoSize = elf.dataSize(infoH);
  const offs = strOffsets(str.bytes, name);
  const note = elf.section('.debug_str_offsets')
    ? 'units naming functions by DW_FORM_strx were not searched'
    : name.length < 4
      ? 'names this short are often inline DW_FORM_string values, which are not searched'
      : undefined;
  if (offs.length === 0) return { callers: [], complete: !note, note };

  // 2. the units whose bytes hold one of the offsets as a 4-byte strp value
  const pats = offs.map((o) => {
    const b = Buffer.alloc(4);
    if (elf.le) b.writeUInt32LE(o);
    else b.writeUInt32BE(o);
    return b;
  });
  const hits: number[] = [];
  for (let at = 0; at < infoSize; at += CHUNK - 3) {
    const len = Math.min(CHUNK, infoSize - at);
    const s = elf.slice(infoH, at, len).bytes;
    const buf = Buffer.from(s.buffer, s.byteOffset, s.byteLength);
    for (const p of pats) for (let i = buf.indexOf(p); i >= 0; i = buf.indexOf(p, i + 1)) hits.push(at + i);
    if (len < CHUNK) break;
  }
  hits.sort((x, y) => x - y);
  // unit starts: walk the headers once
  const units: number[] = [];
  const sizes: number[] = [];
  for (let p = 0; p + 11 <= infoSize;) {
    const h = parseUnitHeader(elf.slice(infoH, p, Math.min(MAX_UNIT_HEADER, infoSize - p)), 0, p);
    if (h.size <= 0 || p + h.size > infoSize)
      throw new FormatError(elf.file, infoH.offset + p, `.debug_info+0x${p.toString(16)}: unit runs past the section`);
    units.push(p);
    sizes.push(h.size);
    p += h.size;
  }
  const wanted: number[] = [];
  for (let i = 0, u = 0; i < hits.length; i++) {
    while (u + 1 < units.length && units[u + 1] <= hits[i]) u++;
    if (wanted[wanted.length - 1] !== units[u]) wanted.push(units[u]);
  }
  let complete = !note;
  if (wanted.length > maxUnits) {
    complete = false;
    wanted.length = maxUnits;
  }

  // 3. walk them
  const callers: InlinedCaller[] = [];
  const seen = new Set<string>();
  const nameOf = (d: Die | undefined, dies: Map<number, Die>, hops = 0): number => {
    if (!d || hops > 4) return -1;
    if (d.name >= 0) return d.name;
    return nameOf(dies.get(d.origin >= 0 ? d.origin : d.spec), dies, hops + 1);
  };
  const offSet = new Set(offs);
  const budget = { dies: 20_000_000 };
  for (const u of wanted) {
    const size = sizes[units.indexOf(u)];
    const us = elf.slice(infoH, u, size);
    const h = parseUnitHeader(us, 0, u);
    const unitBytes: SectionBytes = us;
    const hh: UnitHeader = { ...h, offset: u };
    const abbrev = readAbbrevTable(abbrevS, h.abbrevOffset, h.addrSize, h.offSize, h.version);
    const dies = new Map<number, Die>();
    const inl: { off: number; d: Die; top: number }[] = [];
    walkUnit(
      unitBytes,
      hh,
      abbrev,
      (off, d, top) => {
        if (d.tag === C.DW_TAG_subprogram) dies.set(off, d);
        else if (d.tag === C.DW_TAG_inlined_subroutine && d.origin >= 0) inl.push({ off, d, top });
      },
      budget,
    );
    for (const x of inl) {
      if (!offSet.has(nameOf(dies.get(x.d.origin), dies))) continue;
      const t = dies.get(x.top);
      if (!t || !t.code) continue;
      const n = nameOf(t, dies);
      if (n < 0) continue;
      const caller = cstringAt(str, n);
      if (seen.has(caller)) continue;
      seen.add(caller);
      callers.push({ caller, address: Number.isNaN(x.d.pc) ? undefined : x.d.pc, die: x.off });
      if (callers.length >= limit) return { callers, complete: false, note: `the first ${limit} callers` };
    }
    if (budget.dies < 0) return { callers, complete: false, note: 'DIE budget reached' };
  }
  return { callers, complete, note: complete ? undefined : (note ?? `only the first ${maxUnits} units naming ${name} were read`) };
}
