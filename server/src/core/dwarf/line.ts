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

/** Row scratch buffers shared by every line program decode (single-threaded; copied out per unit). */
let R = { a: new Float64Array(4096), f: new Uint32Array(4096), l: new Uint32Array(4096), c: new Uint32Array(4096), d: new Uint32Array(4096) };
function grow(cap: number): void {
  const g = <T extends Float64Array | Uint32Array>(x: T, y: T): T => {
    y.set(x);
    return y;
  };
  R = { a: g(R.a, new Float64Array(cap)), f: g(R.f, new Uint32Array(cap)), l: g(R.l, new Uint32Array(cap)), c: g(R.c, new Uint32Array(cap)), d: g(R.d, new Uint32Array(cap)) };
}
/**
 * The line program's state machine, apart from the header parsing so that the optimiser
 * sees a small, stable function: rows go into the scratch buffers; returns the row count.
 */
function runProgram(b: Uint8Array, start: number, end: number, c: Cursor, minInst: number, lineBase: number, lineRange: number, opcodeBase: number, stdLen: Uint8Array, addrSize: number, seqStarts: number[]): number {
  const fail = (why: string, at: number): never => c.fail(why, at);
  scratch((end - start) >> 1);
  let ra = R.a, rf = R.f, rl = R.l, rc = R.c, rd = R.d, cap = ra.length;
  let n = 0;
  let address = 0, file = 1, line = 1, column = 0, disc = 0;
  let seqStart = 0;
  const special = opcodeBase;
  let emitRow = false;
  // Every iteration consumes at least one byte: bounded by the program size. No closure
  // captures the loop state (it stays in registers); LEB128 has a one-byte fast path.
  let p = start;
  while (p < end) {
    const op = b[p++];
    if (op >= special) {
      const adj = op - special;
      address += ((adj / lineRange) | 0) * minInst;
      line += lineBase + (adj % lineRange);
      emitRow = true;
    } else {
      let v = 0;
      switch (op) {
        case 0: {
          const len = ulebAt(b, p, end, c);
          p = LP;
          const subEnd = p + len;
          if (len === 0 || subEnd > end) fail(`extended opcode length ${len} runs past the program`, p);
          const sub = b[p++];
          if (sub === 1) {
            if (n === cap) {
              grow(cap * 2);
              ra = R.a; rf = R.f; rl = R.l; rc = R.c; rd = R.d; cap = ra.length;
            }
            ra[n] = address; rf[n] = file; rl[n] = line >>> 0; rc[n] = column; rd[n] = disc;
            n++;
            seqStarts.push(seqStart, n);
            seqStart = n;
            address = 0; file = 1; line = 1; column = 0; disc = 0;
          } else if (sub === 2) {
            const k = len - 1;
            c.pos = p;
            address = k === 8 || k === 4 || k === 2 || k === 1 ? c.addr(k) : c.addr(addrSize);
          } else if (sub === 4) disc = ulebAt(b, p, end, c);
          p = subEnd;
          break;
        }
        case 1: emitRow = true; break;
        case 2:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else { v = ulebAt(b, p, end, c); p = LP; }
          address += v * minInst;
          break;
        case 3: line += slebAt(b, p, end, c); p = LP; break;
        case 4:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else { v = ulebAt(b, p, end, c); p = LP; }
          file = v;
          break;
        case 5:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else { v = ulebAt(b, p, end, c); p = LP; }
          column = v;
          break;
        case 6: case 7: case 10: case 11: break;
        case 8: address += (((255 - opcodeBase) / lineRange) | 0) * minInst; break;
        case 9:
          if (p + 2 > end) fail('truncated DW_LNS_fixed_advance_pc', p);
          address += c.le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
          p += 2;
          break;
        case 12: ulebAt(b, p, end, c); p = LP; break;
        default:
          for (let i = 0; i < stdLen[op]; i++) { ulebAt(b, p, end, c); p = LP; }
      }
    }
    if (emitRow) {
      emitRow = false;
      if (n === cap) {
        grow(cap * 2);
        ra = R.a; rf = R.f; rl = R.l; rc = R.c; rd = R.d; cap = ra.length;
      }
      ra[n] = address; rf[n] = file; rl[n] = line >>> 0; rc[n] = column; rd[n] = disc;
      n++;
      disc = 0;
    }
  }
  return n;
}

/** Position after the last ulebAt/slebAt. */
let LP = 0;
function ulebAt(b: Uint8Array, p: number, end: number, c: Cursor): number {
  let r = 0, m = 1, x = 0;
  do {
    if (p >= end) c.fail('truncated LEB128', p);
    x = b[p++];
    r += (x & 0x7f) * m;
    m *= 128;
  } while (x & 0x80 && m < 2 ** 64);
  while (x & 0x80) {
    if (p >= end) c.fail('truncated LEB128', p);
    x = b[p++];
  }
  LP = p;
  return r;
}
function slebAt(b: Uint8Array, p: number, end: number, c: Cursor): number {
  let r = 0, m = 1, x = 0;
  do {
    if (p >= end) c.fail('truncated LEB128', p);
    x = b[p++];
    r += (x & 0x7f) * m;
    m *= 128;
  } while (x & 0x80 && m < 2 ** 64);
  while (x & 0x80) {
    if (p >= end) c.fail('truncated LEB128', p);
    x = b[p++];
  }
  if (x & 0x40) r -= m;
  LP = p;
  return r;
}
function scratch(estimate: number): void {
  if (R.a.length < estimate) grow(Math.min(Math.max(estimate, R.a.length * 2), 1 << 26));
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

  // Program: a tight loop over the bytes (no cursor calls), rows into a scratch buffer
  // reused across units, copied out at the exact size at the end.
  const b = s.bytes;
  const seqStarts: number[] = [];
  const n = runProgram(b, progStart, end, c, minInst, lineBase, lineRange, opcodeBase, stdLen, addrSize, seqStarts);
  const rows = { a: R.a, n };
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
  // exact-size copies out of the scratch buffer (one allocation)
  const buf = new ArrayBuffer(n * 24);
  const outA = new Float64Array(buf, 0, n);
  outA.set(R.a.subarray(0, n));
  const outF = new Uint32Array(buf, n * 8, n), outL = new Uint32Array(buf, n * 12, n), outC = new Uint32Array(buf, n * 16, n), outD = new Uint32Array(buf, n * 20, n);
  outF.set(R.f.subarray(0, n)); outL.set(R.l.subarray(0, n)); outC.set(R.c.subarray(0, n)); outD.set(R.d.subarray(0, n));
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
    addr: outA, file: outF, line: outL, column: outC, disc: outD,
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
