/**
 * Line programs (.debug_line v2–v5), run once per unit into typed-array rows, split
 * into sequences sorted by address. A lookup finds the sequence containing the address
 * and the last row whose address is ≤ it (the rule llvm-symbolizer uses).
 *
 * DWARF 5 file index 0 is valid and names the unit's primary file; in DWARF 2–4 the
 * file table is 1-based and directory 0 is the compilation directory.
 */
import { Cursor, cstringAt, type SectionBytes } from './cursor';
import * as C from './consts';
import { joinPath } from './paths';

export interface LineStrings {
  readonly str?: SectionBytes;
  readonly lineStr?: SectionBytes;
}

export interface LineTable {
  readonly version: number;
  readonly addr: Float64Array;
  readonly file: Uint32Array;
  readonly line: Uint32Array;
  readonly column: Uint32Array;
  readonly disc: Uint32Array;
  /** Sequences sorted by low address: first row, end row (the end_sequence row), low, high. */
  readonly seqFirst: Uint32Array;
  readonly seqEnd: Uint32Array;
  readonly seqLo: Float64Array;
  readonly seqHi: Float64Array;
  /** Full path of a file index (comp_dir/dir/name joined and normalised); undefined when out of range. */
  fileName(index: number): string | undefined;
  readonly bytes: number;
}

export interface LineRow {
  file: number;
  line: number;
  column: number;
  discriminator: number;
  address: number;
}

class Grow {
  a: Float64Array;
  f: Uint32Array;
  l: Uint32Array;
  c: Uint32Array;
  d: Uint32Array;
  n = 0;
  constructor(cap: number) {
    this.a = new Float64Array(cap);
    this.f = new Uint32Array(cap);
    this.l = new Uint32Array(cap);
    this.c = new Uint32Array(cap);
    this.d = new Uint32Array(cap);
  }
  push(a: number, f: number, l: number, c: number, d: number): void {
    if (this.n === this.a.length) {
      const cap = this.a.length * 2;
      const g = <T extends Float64Array | Uint32Array>(x: T): T => {
        const y = new (x.constructor as { new (n: number): T })(cap);
        y.set(x);
        return y;
      };
      this.a = g(this.a); this.f = g(this.f); this.l = g(this.l); this.c = g(this.c); this.d = g(this.d);
    }
    const i = this.n++;
    this.a[i] = a; this.f[i] = f; this.l[i] = l; this.c[i] = c; this.d[i] = d;
  }
}

function readFormString(c: Cursor, form: number, offSize: number, strs: LineStrings): string | undefined {
  switch (form) {
    case C.DW_FORM_string: {
      const at = c.skipCString();
      return cstringAt(c.s, at);
    }
    case C.DW_FORM_line_strp: {
      const o = c.offset(offSize);
      if (!strs.lineStr) c.fail('DW_FORM_line_strp without a .debug_line_str section');
      return cstringAt(strs.lineStr, o);
    }
    case C.DW_FORM_strp: {
      const o = c.offset(offSize);
      if (!strs.str) c.fail('DW_FORM_strp without a .debug_str section');
      return cstringAt(strs.str, o);
    }
    default:
      skipLineForm(c, form, offSize);
      return undefined;
  }
}

function readFormUnsigned(c: Cursor, form: number, offSize: number): number {
  switch (form) {
    case C.DW_FORM_data1: return c.u8();
    case C.DW_FORM_data2: return c.u16();
    case C.DW_FORM_data4: return c.u32();
    case C.DW_FORM_data8: return c.u64();
    case C.DW_FORM_udata: return c.uleb();
    default: skipLineForm(c, form, offSize); return 0;
  }
}

function skipLineForm(c: Cursor, form: number, offSize: number): void {
  switch (form) {
    case C.DW_FORM_block: c.skip(c.uleb()); return;
    case C.DW_FORM_block1: c.skip(c.u8()); return;
    case C.DW_FORM_block2: c.skip(c.u16()); return;
    case C.DW_FORM_block4: c.skip(c.u32()); return;
    case C.DW_FORM_data1: case C.DW_FORM_strx1: c.skip(1); return;
    case C.DW_FORM_data2: case C.DW_FORM_strx2: c.skip(2); return;
    case C.DW_FORM_strx3: c.skip(3); return;
    case C.DW_FORM_data4: case C.DW_FORM_strx4: c.skip(4); return;
    case C.DW_FORM_data8: c.skip(8); return;
    case C.DW_FORM_data16: c.skip(16); return;
    case C.DW_FORM_udata: case C.DW_FORM_strx: c.uleb(); return;
    case C.DW_FORM_sdata: c.sleb(); return;
    case C.DW_FORM_string: c.skipCString(); return;
    case C.DW_FORM_strp: case C.DW_FORM_line_strp: case C.DW_FORM_sec_offset: c.skip(offSize); return;
    default: c.fail(`unsupported form 0x${form.toString(16)} in a line table header`);
  }
}

/**
 * Decode the line program at `offset` of `.debug_line` (`s` may be a slice starting at the
 * program: pass offset 0). `compDir` and `cuName` come from the unit's DIE.
 */
export function readLineTable(s: SectionBytes, offset: number, addrSizeCu: number, compDir: string, cuName: string, strs: LineStrings): LineTable {
  const c = new Cursor(s, offset);
  let unitLength = c.u32();
  let offSize = 4;
  if (unitLength === 0xffffffff) {
    unitLength = c.u64();
    offSize = 8;
  } else if (unitLength >= 0xfffffff0) c.fail(`reserved unit length 0x${unitLength.toString(16)}`);
  const end = c.pos + unitLength;
  if (end > s.bytes.length) c.fail(`line program length 0x${unitLength.toString(16)} runs past the end of ${s.section}`);
  c.end = end;
  const version = c.u16();
  if (version < 2 || version > 5) c.fail(`unsupported line table version ${version}`, c.pos - 2);
  let addrSize = addrSizeCu;
  if (version >= 5) {
    addrSize = c.u8();
    c.u8(); // segment selector size
  }
  const headerLength = c.offset(offSize);
  const progStart = c.pos + headerLength;
  if (progStart > end) c.fail('line table header longer than the program');
  const minInst = c.u8();
  const maxOps = version >= 4 ? c.u8() : 1;
  void maxOps;
  const defaultIsStmt = c.u8();
  void defaultIsStmt;
  const lineBase = (c.u8() << 24) >> 24;
  const lineRange = c.u8();
  const opcodeBase = c.u8();
  if (lineRange === 0) c.fail('line_range is 0', c.pos - 2);
  const stdLen = new Uint8Array(Math.max(opcodeBase, 1));
  for (let i = 1; i < opcodeBase; i++) stdLen[i] = c.u8();

  const dirs: string[] = [];
  const fileNames: string[] = [];
  const fileDirs: number[] = [];
  if (version >= 5) {
    const readEntries = (isFile: boolean): void => {
      const fmtCount = c.u8();
      const fmt: number[] = [];
      for (let i = 0; i < fmtCount; i++) fmt.push(c.uleb(), c.uleb());
      const count = c.uleb();
      if (count > c.left) c.fail(`${count} line table ${isFile ? 'file' : 'directory'} entries cannot fit`);
      for (let k = 0; k < count; k++) {
        let name = '', dir = 0;
        for (let i = 0; i < fmt.length; i += 2) {
          const ct = fmt[i], form = fmt[i + 1];
          if (ct === 1) name = readFormString(c, form, offSize, strs) ?? '';
          else if (ct === 2) dir = readFormUnsigned(c, form, offSize);
          else skipLineForm(c, form, offSize);
        }
        if (isFile) {
          fileNames.push(name);
          fileDirs.push(dir);
        } else dirs.push(name);
      }
    };
    readEntries(false);
    readEntries(true);
  } else {
    dirs.push(compDir);
    for (;;) {
      const at = c.skipCString();
      if (c.pos - at === 1) break;
      dirs.push(cstringAt(s, at));
    }
    fileNames.push(cuName); // index 0 is not used by DWARF 2-4 programs; keep the primary name there
    fileDirs.push(0);
    for (;;) {
      const at = c.skipCString();
      if (c.pos - at === 1) break;
      const name = cstringAt(s, at);
      const dir = c.uleb();
      c.uleb();
      c.uleb();
      fileNames.push(name);
      fileDirs.push(dir);
    }
  }

  // Program.
  c.pos = progStart;
  const rows = new Grow(Math.max(64, Math.min(1 << 16, (end - progStart) >> 2)));
  let address = 0, file = 1, line = 1, column = 0, disc = 0;
  const reset = (): void => {
    address = 0; file = 1; line = 1; column = 0; disc = 0;
  };
  const seqStarts: number[] = [];
  let seqStart = 0;
  // Every iteration consumes at least one byte: bounded by the program size.
  while (c.pos < end) {
    const op = c.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      address += Math.floor(adj / lineRange) * minInst;
      line += lineBase + (adj % lineRange);
      rows.push(address, file, line >>> 0, column, disc);
      disc = 0;
      continue;
    }
    switch (op) {
      case 0: {
        const len = c.uleb();
        const subEnd = c.pos + len;
        if (len === 0 || subEnd > end) c.fail(`extended opcode length ${len} runs past the program`);
        const sub = c.u8();
        if (sub === 1) {
          rows.push(address, file, line >>> 0, column, disc);
          seqStarts.push(seqStart, rows.n);
          seqStart = rows.n;
          reset();
        } else if (sub === 2) {
          const n = len - 1;
          address = n === 8 || n === 4 || n === 2 || n === 1 ? c.addr(n) : c.addr(addrSize);
        } else if (sub === 4) disc = c.uleb();
        c.pos = subEnd;
        break;
      }
      case 1: rows.push(address, file, line >>> 0, column, disc); disc = 0; break;
      case 2: address += c.uleb() * minInst; break;
      case 3: line += c.sleb(); break;
      case 4: file = c.uleb(); break;
      case 5: column = c.uleb(); break;
      case 6: case 7: case 10: case 11: break;
      case 8: address += Math.floor((255 - opcodeBase) / lineRange) * minInst; break;
      case 9: address += c.u16(); break;
      case 12: c.uleb(); break;
      default:
        for (let i = 0; i < stdLen[op]; i++) c.uleb();
    }
  }
  // Sequences, sorted by their first address (rows of a sequence stay in program order).
  const nSeq = seqStarts.length >> 1;
  const order: number[] = [];
  for (let i = 0; i < nSeq; i++) if (seqStarts[2 * i + 1] - seqStarts[2 * i] >= 2) order.push(i);
  order.sort((x, y) => rows.a[seqStarts[2 * x]] - rows.a[seqStarts[2 * y]]);
  const seqFirst = new Uint32Array(order.length), seqEnd = new Uint32Array(order.length);
  const seqLo = new Float64Array(order.length), seqHi = new Float64Array(order.length);
  order.forEach((q, i) => {
    seqFirst[i] = seqStarts[2 * q];
    seqEnd[i] = seqStarts[2 * q + 1] - 1;
    seqLo[i] = rows.a[seqFirst[i]];
    seqHi[i] = rows.a[seqEnd[i]];
  });
  const n = rows.n;
  const names = new Map<number, string>();
  const fileName = (index: number): string | undefined => {
    const hit = names.get(index);
    if (hit !== undefined) return hit;
    if (index >= fileNames.length || (version < 5 && index === 0)) return undefined;
    const di = fileDirs[index];
    const dir = di < dirs.length ? dirs[di] : '';
    // As llvm: DWARF 5 directory 0 is the compilation directory itself; any other
    // relative directory (and every DWARF 2-4 one) is relative to DW_AT_comp_dir.
    const full = version >= 5 && di === 0 ? joinPath(dir, fileNames[index]) : joinPath(compDir, joinPath(di === 0 ? '' : dir, fileNames[index]));
    names.set(index, full);
    return full;
  };
  return {
    version,
    addr: rows.a.subarray(0, n), file: rows.f.subarray(0, n), line: rows.l.subarray(0, n), column: rows.c.subarray(0, n), disc: rows.d.subarray(0, n),
    seqFirst, seqEnd, seqLo, seqHi, fileName,
    bytes: n * 24 + order.length * 24 + (end - offset),
  };
}

/** The row for `addr`: the last row ≤ addr of the sequence that contains it; -1 when none. */
export function findRow(t: LineTable, addr: number): number {
  const lo = t.seqLo;
  let a = 0, b = lo.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (lo[m] <= addr) a = m + 1;
    else b = m;
  }
  // Sequences rarely overlap; look back a little for one containing addr.
  for (let s = a - 1, k = 0; s >= 0 && k < 8; s--, k++) {
    if (addr >= t.seqHi[s]) continue;
    let x = t.seqFirst[s] + 1, y = t.seqEnd[s];
    // upper_bound over rows (first+1 .. end-1), minus one
    while (x < y) {
      const m = (x + y) >> 1;
      if (t.addr[m] <= addr) x = m + 1;
      else y = m;
    }
    return x - 1;
  }
  return -1;
}
