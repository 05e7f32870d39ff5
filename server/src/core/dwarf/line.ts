/**
 * Line programs (.debug_line v2–v5), run once per unit into typed-array rows, split
 * into sequences sorted by address. A lookup finds the sequence containing the address
 * and the last row whose address is ≤ it (the rule llvm-symbolizer uses).
 *
 * DWARF 5 file index 0 is valid and names the unit's primary file; in DWARF 2–4 the
 * file table is 1-based and directory 0 is the compilation directory.
 */
import { WASM_USABLE } from '../common/host';
import { Cursor, cstringAt, type SectionBytes } from './cursor';
import * as C from './consts';
import { joinPath } from './paths';
import { DWARF_LINE_WASM } from './lineWasm';

export interface LineStrings {
  readonly str?: SectionBytes;
  readonly lineStr?: SectionBytes;
}

export interface LineTable {
  readonly version: number;
  /**
   * The row for `addr`: the last row at or below it in the sequence that contains it (the
   * sequence with the highest start, as llvm-symbolizer picks); undefined when none does.
   * `address` of the result is the sequence start.
   */
  find(addr: number): LineRow | undefined;
  /** Full path of a file index (comp_dir/dir/name joined and normalised); undefined when out of range. */
  fileName(index: number): string | undefined;
  readonly bytes: number;
  /** The sequence index and checkpoints of the first pass (built on first use), for tests. */
  index(): { seq: Float64Array; checkpoints: Float64Array };
}

export interface LineRow {
  file: number;
  line: number;
  column: number;
  discriminator: number;
  address: number;
}

/** The first pass runs in WebAssembly where it can (tests compare it with the JavaScript pass by turning this off). */
let WASM_LINES = true;
export function useWasmLineIndex(on: boolean): void {
  WASM_LINES = on;
}
/** Programs the WebAssembly pass indexed, and those it gave up on, in this process (tests). */
export const wasmLineCounts = { used: 0, gaveUp: 0 };

/** Fields per sequence in the index (program offset, low, high, first and end checkpoint) and per checkpoint. */
const SEQ = 5,
  CK = 7;

/** Result of the last scanProgram: the row found for the address asked (found = 0: none). */
const RES = { found: 0, file: 0, line: 0, column: 0, disc: 0, lo: 0 };

/**
 * The line program's state machine, apart from the header parsing so that the optimiser
 * sees a small, stable function. No row is stored: for the address asked it keeps the
 * last row at or below it in each sequence, and where a sequence contains the address
 * (the one with the highest start, as llvm-symbolizer picks) that row is the answer, in
 * RES. With `seq`, each sequence's (program offset, low, high) is recorded (the per-unit
 * sequence index); with `one`, only the sequence starting at `start` runs.
 */
function scanProgram(
  b: Uint8Array,
  start: number,
  end: number,
  c: Cursor,
  adv: Int32Array,
  opcodeBase: number,
  stdLen: Uint8Array,
  addrSize: number,
  addr: number,
  seq: number[] | undefined,
  one: boolean,
  ck?: number[],
  from?: Float64Array,
  fromAt = 0,
): void {
  const fail = (why: string, at: number): never => c.fail(why, at);
  let address = 0,
    file = 1,
    line = 1,
    column = 0,
    disc = 0;
  let rows = 0,
    lo = 0,
    cf = 0,
    cFile = 0,
    cLine = 0,
    cCol = 0,
    cDisc = 0,
    seqAt = start,
    ckFirst = ck ? ck.length : 0;
  RES.found = 0;
  RES.lo = -Infinity;
  if (from) {
    // resume at a checkpoint (the state right after a row at or below addr): rows ascend, so
    // the first row past addr ends the search
    const f = fromAt;
    address = from[f + 1];
    file = from[f + 2];
    line = from[f + 3];
    column = from[f + 4];
    cf = 1;
    cFile = file;
    cLine = line;
    cCol = column;
    cDisc = from[f + 5];
    lo = from[f + 6];
    rows = 1;
    start = from[f];
  }
  const special = opcodeBase;
  let emitRow = false;
  let p = start;
  const stopPast = one; // a sequence known to contain addr: the first row past it ends the search
  // Every iteration consumes at least one byte: bounded by the program size. No closure
  // captures the loop state (it stays in registers); LEB128 has a one-byte fast path.
  while (p < end) {
    const op = b[p++];
    if (op >= special) {
      address += adv[op];
      line += adv[256 + op];
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
            // end_sequence: [lo, address) is the sequence
            if (rows > 0) {
              if (seq) seq.push(seqAt, lo, address, ckFirst, ck ? ck.length : 0);
              if (cf && lo <= addr && addr < address && lo >= RES.lo) {
                RES.found = 1;
                RES.file = cFile;
                RES.line = cLine;
                RES.column = cCol;
                RES.disc = cDisc;
                RES.lo = lo;
              }
            }
            if (one) return;
            address = 0;
            file = 1;
            line = 1;
            column = 0;
            disc = 0;
            rows = 0;
            cf = 0;
            seqAt = subEnd;
            ckFirst = ck ? ck.length : 0;
          } else if (sub === 2) {
            const k = len - 1;
            c.pos = p;
            address = k === 8 || k === 4 || k === 2 || k === 1 ? c.addr(k) : c.addr(addrSize);
          } else if (sub === 4) disc = ulebAt(b, p, end, c);
          p = subEnd;
          break;
        }
        case 1:
          emitRow = true;
          break;
        case 2:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else {
            v = ulebAt(b, p, end, c);
            p = LP;
          }
          address += v * adv[513];
          break;
        case 3:
          line += slebAt(b, p, end, c);
          p = LP;
          break;
        case 4:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else {
            v = ulebAt(b, p, end, c);
            p = LP;
          }
          file = v;
          break;
        case 5:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else {
            v = ulebAt(b, p, end, c);
            p = LP;
          }
          column = v;
          break;
        case 6:
        case 7:
        case 10:
        case 11:
          break;
        case 8:
          address += adv[512];
          break;
        case 9:
          if (p + 2 > end) fail('truncated DW_LNS_fixed_advance_pc', p);
          address += c.le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
          p += 2;
          break;
        case 12:
          ulebAt(b, p, end, c);
          p = LP;
          break;
        default:
          for (let i = 0; i < stdLen[op]; i++) {
            ulebAt(b, p, end, c);
            p = LP;
          }
      }
    }
    if (emitRow) {
      emitRow = false;
      if (rows === 0) lo = address;
      rows++;
      // rows of a sequence ascend: the last one at or below addr is the candidate
      if (address <= addr) {
        cf = 1;
        cFile = file;
        cLine = line >>> 0;
        cCol = column;
        cDisc = disc;
      } else if (stopPast) {
        RES.found = 1;
        RES.file = cFile;
        RES.line = cLine;
        RES.column = cCol;
        RES.disc = cDisc;
        RES.lo = lo;
        return;
      }
      // a checkpoint every 32 rows: later lookups resume from the nearest one
      if (ck && (rows & 31) === 0) ck.push(p, address, file, line >>> 0, column, disc, lo);
      disc = 0;
    }
  }
}

/**
 * The first pass over a unit's line program: each sequence's (program offset, low, high,
 * checkpoint range) into `seq` and a checkpoint every 32 rows into `ck` (the state right
 * after that row), with no per-row work for an address (a lookup then runs the one
 * sequence that contains its address, from the nearest checkpoint, as every later lookup
 * does). The opcode decoding is scanProgram's, rule for rule: a deliberate copy for speed
 * (this is the hot loop of a unit's first lookup; a mode flag or per-row callback in one
 * shared loop keeps the optimiser from specialising either). A change to an opcode rule is
 * made in both; the llvm-symbolizer oracle tests run both (first and later lookups).
 */
function indexProgram(
  b: Uint8Array,
  start: number,
  end: number,
  c: Cursor,
  adv: Int32Array,
  opcodeBase: number,
  stdLen: Uint8Array,
  addrSize: number,
  seq: number[],
  ck: Float64Array,
): number {
  let nck = 0;
  let address = 0,
    file = 1,
    line = 1,
    column = 0,
    disc = 0;
  let rows = 0,
    lo = 0,
    seqAt = start,
    ckFirst = 0;
  const special = opcodeBase;
  let p = start;
  // Every iteration consumes at least one byte: bounded by the program size.
  while (p < end) {
    const op = b[p++];
    if (op >= special) {
      address += adv[op];
      line += adv[256 + op];
    } else {
      let v = 0;
      switch (op) {
        case 0: {
          const len = ulebAt(b, p, end, c);
          p = LP;
          const subEnd = p + len;
          if (len === 0 || subEnd > end) c.fail(`extended opcode length ${len} runs past the program`, p);
          const sub = b[p++];
          if (sub === 1) {
            // end_sequence: [lo, address) is the sequence
            if (rows > 0) seq.push(seqAt, lo, address, ckFirst, nck);
            address = 0;
            file = 1;
            line = 1;
            column = 0;
            disc = 0;
            rows = 0;
            seqAt = subEnd;
            ckFirst = nck;
          } else if (sub === 2) {
            const k = len - 1;
            c.pos = p;
            address = k === 8 || k === 4 || k === 2 || k === 1 ? c.addr(k) : c.addr(addrSize);
          } else if (sub === 4) disc = ulebAt(b, p, end, c);
          p = subEnd;
          continue;
        }
        case 1:
          break;
        case 2:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else {
            v = ulebAt(b, p, end, c);
            p = LP;
          }
          address += v * adv[513];
          continue;
        case 3:
          line += slebAt(b, p, end, c);
          p = LP;
          continue;
        case 4:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else {
            v = ulebAt(b, p, end, c);
            p = LP;
          }
          file = v;
          continue;
        case 5:
          v = b[p];
          if (p < end && v < 0x80) p++;
          else {
            v = ulebAt(b, p, end, c);
            p = LP;
          }
          column = v;
          continue;
        case 6:
        case 7:
        case 10:
        case 11:
          continue;
        case 8:
          address += adv[512];
          continue;
        case 9:
          if (p + 2 > end) c.fail('truncated DW_LNS_fixed_advance_pc', p);
          address += c.le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
          p += 2;
          continue;
        case 12:
          ulebAt(b, p, end, c);
          p = LP;
          continue;
        default:
          for (let i = 0; i < stdLen[op]; i++) {
            ulebAt(b, p, end, c);
            p = LP;
          }
          continue;
      }
    }
    // a row (special opcode or DW_LNS_copy)
    if (rows === 0) lo = address;
    rows++;
    // a checkpoint every 32 rows: lookups resume from the nearest one
    if ((rows & 31) === 0) {
      // rows take a byte each at least: `ck` has room for one checkpoint per 32 program bytes
      ck[nck] = p;
      ck[nck + 1] = address;
      ck[nck + 2] = file;
      ck[nck + 3] = line >>> 0;
      ck[nck + 4] = column;
      ck[nck + 5] = disc;
      ck[nck + 6] = lo;
      nck += CK;
    }
    disc = 0;
  }
  return nck;
}

// ---- the first pass in WebAssembly (line.wat) ----------------------------------------------

// Memory layout: the special-opcode table at 0 (514 i32), the standard opcode lengths at
// STD (256 bytes), the program at PROG, then the checkpoint and sequence outputs.
const STD = 2064;
const PROG = 2320;
const PAGE = 65536;
/**
 * Programs larger than this take the JavaScript pass (a kernel unit's is ~10 KB; the largest
 * in the Debian vmlinux ~1 MB): the memory, kept for the process, stays a few MB.
 */
const MAX_WASM_PROGRAM = 4 << 20;

type WasmFn = (...args: number[]) => number;
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { index: WasmFn; nck: { value: number } } };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
}
interface LineArena {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  index: WasmFn;
  nck: { value: number };
  /** The special-opcode table and opcode lengths now in the memory. */
  adv?: Int32Array;
  std?: Uint8Array;
}
let lineModule: object | null | undefined;
/**
 * undefined: not tried yet; null: no WebAssembly (node --jitless), or a big-endian host (the
 * table and outputs go through host-order views of little-endian memory).
 */
let arena: LineArena | null | undefined = WASM_USABLE ? undefined : null;

function lineArena(): LineArena | null {
  if (arena !== undefined) return arena;
  try {
    const W = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    lineModule ??= W ? new W.Module(Buffer.from(DWARF_LINE_WASM, 'base64')) : null;
    if (!W || !lineModule) return (arena = null);
    const memory = new W.Memory({ initial: 4 });
    const inst = new W.Instance(lineModule, { e: { m: memory } });
    arena = { memory, index: inst.exports.index, nck: inst.exports.nck };
  } catch {
    arena = null; // e.g. node --jitless
  }
  return arena;
}

/**
 * indexProgram in WebAssembly (line.wat): the same outputs (`seq` entries; the checkpoints,
 * returned at their exact size), or undefined where it gives up (unusual input, no
 * WebAssembly: the JavaScript pass runs instead, with its answer or its error).
 */
function indexProgramWasm(
  b: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  adv: Int32Array,
  opcodeBase: number,
  stdLen: Uint8Array,
  seq: number[],
): Float64Array | undefined {
  const len = end - start;
  if (!le || len < 0 || len > MAX_WASM_PROGRAM || opcodeBase < 1 || opcodeBase > 256) return undefined;
  const a = lineArena();
  if (!a) return undefined;
  const ckCap = Math.floor(len / 32) + 1; // a row takes a byte at least: a checkpoint per 32 bytes
  // an end_sequence takes 3 bytes at least, so a program could hold len / 3 sequences; room
  // for len / 64 (kernel units: one per section or per function): more gives up to JavaScript
  const sqCap = Math.floor(len / 64) + 16;
  const ckAt = (PROG + len + 7) & ~7;
  const sqAt = ckAt + ckCap * CK * 8;
  const need = sqAt + sqCap * SEQ * 8;
  try {
    if (a.memory.buffer.byteLength < need) {
      a.memory.grow(Math.ceil((need - a.memory.buffer.byteLength) / PAGE));
      a.adv = a.std = undefined;
    }
    const buf = a.memory.buffer;
    if (a.adv !== adv) {
      new Int32Array(buf, 0, 514).set(adv);
      a.adv = adv;
    }
    if (a.std !== stdLen) {
      const sv = new Uint8Array(buf, STD, 256);
      sv.fill(0);
      sv.set(stdLen.subarray(0, 256));
      a.std = stdLen;
    }
    new Uint8Array(buf, PROG, len).set(b.subarray(start, end));
    const n = a.index(PROG, len, 0, STD, opcodeBase, ckAt, ckCap, sqAt, sqCap, start);
    if (n < 0) return undefined;
    const sq = new Float64Array(buf, sqAt, n * SEQ);
    for (let i = 0; i < sq.length; i++) seq.push(sq[i]);
    return new Float64Array(buf, ckAt, a.nck.value * CK).slice();
  } catch {
    return undefined; // memory could not grow: the JavaScript pass
  }
}

/**
 * LEB128 over raw bytes for the line-program loop: deliberate copies of Cursor.uleb/sleb (the
 * hot loop keeps its position in a local and must not go through the cursor object per byte;
 * profiled with the vmlinux bench). Same bounds: a truncated LEB128 is a FormatError.
 * Position after the last ulebAt/slebAt.
 */
let LP = 0;
function ulebAt(b: Uint8Array, p: number, end: number, c: Cursor): number {
  let r = 0,
    m = 1,
    x = 0;
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
  let r = 0,
    m = 1,
    x = 0;
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
    case C.DW_FORM_data1:
      return c.u8();
    case C.DW_FORM_data2:
      return c.u16();
    case C.DW_FORM_data4:
      return c.u32();
    case C.DW_FORM_data8:
      return c.u64();
    case C.DW_FORM_udata:
      return c.uleb();
    default:
      skipLineForm(c, form, offSize);
      return 0;
  }
}

function skipLineForm(c: Cursor, form: number, offSize: number): void {
  switch (form) {
    case C.DW_FORM_block:
      c.skip(c.uleb());
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
    case C.DW_FORM_data1:
    case C.DW_FORM_strx1:
      c.skip(1);
      return;
    case C.DW_FORM_data2:
    case C.DW_FORM_strx2:
      c.skip(2);
      return;
    case C.DW_FORM_strx3:
      c.skip(3);
      return;
    case C.DW_FORM_data4:
    case C.DW_FORM_strx4:
      c.skip(4);
      return;
    case C.DW_FORM_data8:
      c.skip(8);
      return;
    case C.DW_FORM_data16:
      c.skip(16);
      return;
    case C.DW_FORM_udata:
    case C.DW_FORM_strx:
      c.uleb();
      return;
    case C.DW_FORM_sdata:
      c.sleb();
      return;
    case C.DW_FORM_string:
      c.skipCString();
      return;
    case C.DW_FORM_strp:
    case C.DW_FORM_line_strp:
    case C.DW_FORM_sec_offset:
      c.skip(offSize);
      return;
    default:
      c.fail(`unsupported form 0x${form.toString(16)} in a line table header`);
  }
}

/**
 * The directory or file names of a line table header, decoded on first use: per entry where
 * its string lies (a section of a few, and an offset) in typed columns, not an object or a
 * string each (a vmlinux lookup run reads ~1,100 headers of ~300 entries); names decoded, or
 * given as values, in a sparse map.
 */
class EntryNames {
  /** Entries counted so far (an entry is written at index n, then counted). */
  n = 0;
  private off: Float64Array;
  private where: Uint8Array;
  private readonly secs: SectionBytes[] = [];
  private known?: Map<number, string>;
  constructor(capacity: number) {
    this.off = new Float64Array(capacity);
    this.where = new Uint8Array(capacity);
  }
  private room(i: number): void {
    if (i < this.off.length) return;
    const off = new Float64Array(Math.max(i + 1, this.off.length * 2));
    off.set(this.off);
    this.off = off;
    const where = new Uint8Array(off.length);
    where.set(this.where);
    this.where = where;
  }
  /** Entry i's name is the string at `off` in `sec`. */
  at(i: number, sec: SectionBytes, off: number): void {
    this.room(i);
    let k = this.secs.indexOf(sec);
    if (k < 0) {
      k = this.secs.length;
      this.secs.push(sec);
    }
    this.where[i] = k;
    this.off[i] = off;
    this.known?.delete(i);
  }
  /** Entry i's name is `name` (a value, or a later path attribute of the same entry). */
  value(i: number, name: string): void {
    this.room(i);
    this.where[i] = 255;
    (this.known ??= new Map()).set(i, name);
  }
  get(i: number): string {
    const hit = this.known?.get(i);
    if (hit !== undefined) return hit;
    if (this.where[i] === 255) return '';
    const name = cstringAt(this.secs[this.where[i]], this.off[i]);
    (this.known ??= new Map()).set(i, name);
    return name;
  }
}

/** Special-opcode tables by (opcode_base, line_base, line_range, minimum_instruction_length). */
const ADV = new Map<number, Int32Array>();

/**
 * Decode the line program at `offset` of `.debug_line` (`s` may be a slice starting at the
 * program: pass offset 0). `compDir` and `cuName` come from the unit's DIE.
 */
export function readLineTable(
  s: SectionBytes,
  offset: number,
  addrSizeCu: number,
  compDir: string,
  cuName: string,
  strs: LineStrings,
): LineTable {
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
  // Special opcodes precomputed (a division and a remainder per row otherwise): adv[op] is
  // the address advance of special opcode op, adv[256 + op] its line advance, adv[512]
  // DW_LNS_const_add_pc's advance (that of special opcode 255), adv[513] minimum_instruction_length
  // (DW_LNS_advance_pc's unit) — the same integers the
  // formulas of DWARF 5 §6.2.5.1 give.
  // The table depends on four header bytes only: shared by every program with the same ones
  // (all of a kernel's units), read-only once built.
  const advKey = ((opcodeBase * 256 + (lineBase & 0xff)) * 256 + lineRange) * 256 + minInst;
  let adv = ADV.get(advKey);
  if (!adv) {
    adv = new Int32Array(514);
    for (let op = opcodeBase; op < 256; op++) {
      const adj = op - opcodeBase;
      adv[op] = ((adj / lineRange) | 0) * minInst;
      adv[256 + op] = lineBase + (adj % lineRange);
    }
    adv[512] = (((255 - opcodeBase) / lineRange) | 0) * minInst;
    adv[513] = minInst;
    if (ADV.size < 64) ADV.set(advKey, adv);
  }

  // File and directory names are decoded on first use (a kernel unit lists hundreds of
  // headers and dozens of directories, a lookup needs two or three): EntryNames.
  const dirs = new EntryNames(16);
  const fileNames = new EntryNames(64);
  let fileDirs = new Float64Array(64);
  const pushDir = (d: number): void => {
    if (fileNames.n >= fileDirs.length) {
      const g = new Float64Array(fileDirs.length * 2);
      g.set(fileDirs);
      fileDirs = g;
    }
    fileDirs[fileNames.n] = d;
  };
  const lazyName = (form: number, into: EntryNames, i: number): void => {
    switch (form) {
      case C.DW_FORM_line_strp: {
        const o = c.offset(offSize);
        if (!strs.lineStr) c.fail('DW_FORM_line_strp without a .debug_line_str section');
        return into.at(i, strs.lineStr!, o);
      }
      case C.DW_FORM_strp: {
        const o = c.offset(offSize);
        if (!strs.str) c.fail('DW_FORM_strp without a .debug_str section');
        return into.at(i, strs.str!, o);
      }
      case C.DW_FORM_string:
        return into.at(i, s, c.skipCString());
      default:
        return into.value(i, readFormString(c, form, offSize, strs) ?? '');
    }
  };
  if (version >= 5) {
    const readEntries = (isFile: boolean): void => {
      const fmtCount = c.u8();
      const fmt: number[] = [];
      for (let i = 0; i < fmtCount; i++) fmt.push(c.uleb(), c.uleb());
      const count = c.uleb();
      if (count > c.left) c.fail(`${count} line table ${isFile ? 'file' : 'directory'} entries cannot fit`);
      const into = isFile ? fileNames : dirs;
      let k = 0;
      // gcc's own formats (a path in .debug_line_str; for files, then a directory index as
      // ULEB128) in a loop of their own: a vmlinux unit lists hundreds of files. An entry
      // that does not fit, or a multi-byte index, goes to the general loop below.
      const lineStr = strs.lineStr;
      if (lineStr && offSize === 4 && fmt[0] === C.DW_LNCT_path && fmt[1] === C.DW_FORM_line_strp) {
        const withDir = fmt.length === 4 && fmt[2] === C.DW_LNCT_directory_index && fmt[3] === C.DW_FORM_udata;
        if (fmt.length === 2 || withDir) {
          for (; k < count; k++) {
            if (c.left < (withDir ? 5 : 4) || (withDir && c.b[c.pos + 4] >= 0x80)) break;
            const o = c.u32();
            // a directory index in a directory's format means nothing, but its byte is there
            const d = withDir ? c.u8() : 0;
            if (isFile) pushDir(d);
            into.at(into.n++, lineStr, o);
          }
        }
      }
      for (; k < count; k++) {
        let dir = 0,
          named = false;
        for (let i = 0; i < fmt.length; i += 2) {
          const ct = fmt[i],
            form = fmt[i + 1];
          if (ct === 1 && !named) {
            // the first path: where it lies (a later one replaces it)
            named = true;
            lazyName(form, into, into.n);
          } else if (ct === 1) into.value(into.n, readFormString(c, form, offSize, strs) ?? '');
          else if (ct === 2) dir = readFormUnsigned(c, form, offSize);
          else skipLineForm(c, form, offSize);
        }
        if (!named) into.value(into.n, '');
        if (isFile) pushDir(dir); // at index into.n: before the entry is counted
        into.n++;
      }
    };
    readEntries(false);
    readEntries(true);
  } else {
    dirs.value(dirs.n++, compDir);
    for (;;) {
      const at = c.skipCString();
      if (c.pos - at === 1) break;
      dirs.at(dirs.n++, s, at);
    }
    pushDir(0);
    fileNames.value(fileNames.n++, cuName); // index 0 is not used by DWARF 2-4 programs; keep the primary name there
    for (;;) {
      const at = c.skipCString();
      if (c.pos - at === 1) break;
      const dir = c.uleb();
      c.uleb();
      c.uleb();
      pushDir(dir);
      fileNames.at(fileNames.n++, s, at);
    }
  }

  // The program runs per lookup (no rows are stored): the first one also records the
  // sequence index, later ones run only the sequence that contains the address.
  const b = s.bytes;
  let seqIdx: Float64Array | undefined, cks: Float64Array | undefined, maxHigh: Float64Array | undefined;
  const find = (addr: number): LineRow | undefined => {
    if (!seqIdx) {
      const seq: number[] = [];
      // checkpoints: from the WebAssembly pass at their exact size, else room for one per 32 program bytes
      let ckl = WASM_LINES ? indexProgramWasm(b, progStart, end, s.le, adv, opcodeBase, stdLen, seq) : undefined;
      let nck = ckl ? ckl.length : 0;
      if (ckl) wasmLineCounts.used++;
      else if (WASM_LINES) wasmLineCounts.gaveUp++;
      if (!ckl) {
        seq.length = 0;
        ckl = new Float64Array((Math.floor((end - progStart) / 32) + 1) * CK);
        nck = indexProgram(b, progStart, end, c, adv, opcodeBase, stdLen, addrSize, seq, ckl);
      }
      // sorted by low address (stable: program order among equal lows; usually already so)
      const n = seq.length / SEQ;
      let sorted = true;
      for (let i = 1; i < n && sorted; i++) if (seq[SEQ * i + 1] < seq[SEQ * (i - 1) + 1]) sorted = false;
      const ix = new Float64Array(n * SEQ);
      if (sorted) ix.set(seq);
      else {
        const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => seq[SEQ * x + 1] - seq[SEQ * y + 1] || x - y);
        order.forEach((q, i) => {
          for (let k = 0; k < SEQ; k++) ix[SEQ * i + k] = seq[SEQ * q + k];
        });
      }
      // highest end among the sequences 0..i: below the first i whose value is <= addr, none contains addr
      const mh = new Float64Array(n);
      for (let i = 0; i < n; i++) mh[i] = Math.max(i > 0 ? mh[i - 1] : -Infinity, ix[SEQ * i + 2]);
      seqIdx = ix;
      maxHigh = mh;
      cks = nck === ckl.length ? ckl : ckl.slice(0, nck);
    }
    {
      // the sequences containing addr, highest start first (program order last among equal
      // starts): the first whose rows answer
      const ix = seqIdx;
      const mh = maxHigh!;
      let lo = 0,
        hi = ix.length / SEQ;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (ix[SEQ * m + 1] <= addr) lo = m + 1;
        else hi = m;
      }
      RES.found = 0;
      for (let k = lo - 1; k >= 0 && addr < mh[k]; k--) {
        if (addr >= ix[SEQ * k + 2]) continue;
        // the last checkpoint of this sequence at or below addr
        let x = ix[SEQ * k + 3],
          y = ix[SEQ * k + 4];
        const ck = cks!;
        while (x < y) {
          const m = x + (((y - x) / CK) >> 1) * CK;
          if (ck[m + 1] <= addr) x = m + CK;
          else y = m;
        }
        if (x > ix[SEQ * k + 3]) scanProgram(b, 0, end, c, adv, opcodeBase, stdLen, addrSize, addr, undefined, true, undefined, ck, x - CK);
        else scanProgram(b, ix[SEQ * k], end, c, adv, opcodeBase, stdLen, addrSize, addr, undefined, true);
        if (RES.found) break;
      }
    }
    return RES.found ? { file: RES.file, line: RES.line, column: RES.column, discriminator: RES.disc, address: RES.lo } : undefined;
  };
  const names = new Map<number, string>();
  const fileName = (index: number): string | undefined => {
    const hit = names.get(index);
    if (hit !== undefined) return hit;
    // a call_file of a hostile unit may be negative, fractional or NaN (DW_FORM_sdata, a string form)
    if (!Number.isInteger(index) || index < 0 || index >= fileNames.n || (version < 5 && index === 0)) return undefined;
    const di = fileDirs[index];
    const dir = di < dirs.n ? dirs.get(di) : '';
    // As llvm: DWARF 5 directory 0 is the compilation directory itself; any other
    // relative directory (and every DWARF 2-4 one) is relative to DW_AT_comp_dir.
    const fn = fileNames.get(index);
    const full = version >= 5 && di === 0 ? joinPath(dir, fn) : joinPath(compDir, joinPath(di === 0 ? '' : dir, fn));
    names.set(index, full);
    return full;
  };
  const index = (): { seq: Float64Array; checkpoints: Float64Array } => {
    if (!seqIdx) find(0);
    return { seq: seqIdx!, checkpoints: cks! };
  };
  return { version, find, fileName, index, bytes: s.bytes.length + 256 + (fileNames.n + dirs.n) * 64 };
}
