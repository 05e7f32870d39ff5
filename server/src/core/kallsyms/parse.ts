/**
 * Parser for /proc/kallsyms text, kallsyms dumps and System.map, straight from bytes.
 *
 * Line format: `ADDR TYPE NAME` or `ADDR TYPE NAME\t[MODULE]`. Nothing is split into
 * strings: addresses are decoded nibble by nibble into (hi, lo) halves, names are
 * slices of the text (one byte buffer), module names are interned. Bad lines are recorded
 * (line number and reason) and skipped; they are never fatal.
 */
import { WASM_USABLE } from '../common/host';
import { HEX } from '../common/addr';
import { FormatError } from '../common/errors';
import { KALLSYMS_WASM } from './parseWasm';

export type SourceKind = 'kallsyms' | 'system.map';

/** One kallsyms/System.map line as an editor shows it: address, type, name, optional [module]. */
export const KALLSYMS_LINE = /^([0-9a-fA-F]{1,16}) ([A-Za-z?-]) (\S+)(?:\s+\[([^\]\s]+)\])?/;

/** A word that can name a symbol (ppc64 ELFv1 dot names included). */
export const SYMBOL_WORD = /\.?[A-Za-z_$][\w.$]*/;

/** The kind of a source from its file name: System.map* is a System.map, anything else kallsyms text. */
export function sourceKind(file: string): SourceKind {
  return /(^|\/)System\.map[^/]*$/.test(file) ? 'system.map' : 'kallsyms';
}

export interface LineProblem {
  line: number;
  reason: string;
}

/** Columnar symbols of one or more sources, in source order (not yet sorted). */
export class SymbolColumns {
  n = 0;
  hi: Uint32Array;
  lo: Uint32Array;
  type: Uint8Array;
  nameOff: Uint32Array;
  nameLen: Uint16Array;
  mod: Uint16Array;
  line: Uint32Array;
  src: Uint8Array;
  /**
   * The source texts, back to back (a single source is used in place, not copied): names are
   * (nameOff, nameLen) slices of it. SymbolIndex.compactNames() later moves them into a buffer
   * of their own.
   */
  names: Uint8Array;
  namesUsed = 0;
  /**
   * Indexes of the vmlinux symbols whose names may be section markers (parse.wat: '_', 4 to
   * 10 bytes, ending in "text" or "_end"), in input order; valid only while `marksComplete`
   * (every symbol parsed by the wasm pass, none past its 127 per call).
   */
  marks: number[] = [];
  marksComplete = true;
  /** Module names; id 0 is vmlinux (no module). */
  modules: string[] = [''];
  private modIds = new Map<string, number>([['', 0]]);

  constructor(capacity = 1024) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.type = new Uint8Array(capacity);
    this.nameOff = new Uint32Array(capacity);
    this.nameLen = new Uint16Array(capacity);
    this.mod = new Uint16Array(capacity);
    this.line = new Uint32Array(capacity);
    this.src = new Uint8Array(capacity);
    this.names = new Uint8Array(0);
  }

  /** Append a source text; returns its offset in `names`. */
  appendText(bytes: Uint8Array): number {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    if (this.namesUsed === 0) {
      this.names = view;
      this.namesUsed = view.length;
      return 0;
    }
    const base = this.namesUsed;
    const b = new Uint8Array(base + view.length);
    b.set(this.names.subarray(0, base));
    b.set(view, base);
    this.names = b;
    this.namesUsed = b.length;
    return base;
  }

  modId(name: string): number {
    let id = this.modIds.get(name);
    if (id === undefined) {
      if (this.modules.length >= 0xffff) return 0xffff;
      id = this.modules.length;
      this.modules.push(name);
      this.modIds.set(name, id);
    }
    return id;
  }

  /** Room for `extra` more symbols. */
  ensure(extra: number): void {
    const need = this.n + extra;
    if (need > this.hi.length) {
      const cap = Math.max(need, this.hi.length * 2);
      const grow = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(cap);
        b.set(a.subarray(0, this.n));
        return b;
      };
      this.hi = grow(this.hi);
      this.lo = grow(this.lo);
      this.type = grow(this.type);
      this.nameOff = grow(this.nameOff);
      this.nameLen = grow(this.nameLen);
      this.mod = grow(this.mod);
      this.line = grow(this.line);
      this.src = grow(this.src);
    }
  }
}

export interface ParseReport {
  file: string;
  kind: SourceKind;
  symbols: number;
  /** Lines skipped, first 100 kept. */
  problems: LineProblem[];
  problemCount: number;
  /** Every parsed address was zero: kptr_restrict or missing CAP_SYSLOG hid them. */
  hiddenAddresses: boolean;
  /** The one-line placeholder System.map that distribution image packages ship. */
  stubSystemMap: boolean;
  /** Width in hex digits of the addresses seen (8 or 16). */
  addressDigits: number;
}

const MAX_PROBLEMS = 100;
const MAX_NAME = 0xffff;

/** Reject obviously binary input up front (a NUL in the first 64 KiB). */
function checkText(bytes: Uint8Array, file: string): void {
  // a native search (a JavaScript loop over 64 KiB runs cold: ~1.3 ms of a one-shot command)
  const i = bytes.subarray(0, Math.min(bytes.length, 65536)).indexOf(0);
  if (i >= 0) throw new FormatError(file, i, 'binary data (NUL byte): not a kallsyms or System.map text file');
}

/** Symbol type letters kallsyms and System.map use (A-Z, a-z, '?', '-'). */
const TYPE_OK = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x41; c <= 0x5a; c++) t[c] = t[c | 0x20] = 1;
  t[0x3f] = t[0x2d] = 1;
  return t;
})();

// ---- the WebAssembly fast path (kallsyms.wat) -------------------------------------------

/** Input per window: a window is copied into the wasm memory and parsed there. */
const WINDOW = 1 << 19; // 512 KiB: small enough that allocating the memory costs little
const TABLES = 0; // HEX at 0, TYPE_OK at 256
const IN = 1024;
const MARKS = 512; // parse.wat: possible section markers of a call (count, then up to 127)

interface WasmParser {
  parse(inp: number, len: number, pos: number, line: number, final: number, out: number, cap: number, nameBase: number): number;
  pos: WebAssembly.Global;
  line: WebAssembly.Global;
  mods: WebAssembly.Global;
  nz: WebAssembly.Global;
  u8: Uint8Array;
  u32: Uint32Array;
  /** Window size, output columns' offset and capacity (canonical lines have at least 21 bytes). */
  window: number;
  out: number;
  cap: number;
}

/**
 * The WebAssembly passes run where WebAssembly exists (not under node --jitless) on a
 * little-endian host (their memory is read through host-order views); elsewhere the same
 * passes run in JavaScript. Tests turn them off to compare.
 */
let WASM = WASM_USABLE;
/** Use the WebAssembly passes (when usable here); the previous setting. */
export function useWasmKallsyms(on: boolean): boolean {
  const was = WASM;
  WASM = on && WASM_USABLE;
  return was;
}

let wasmModule: WebAssembly.Module | undefined;

/** The compiled kallsyms.wat (compiled once, instantiated per use with its own memory). */
function kallsymsWasm(): WebAssembly.Module {
  return (wasmModule ??= new WebAssembly.Module(Buffer.from(KALLSYMS_WASM, 'base64')));
}

/** A fresh instance per parse (its memory goes with it). */
function wasmParser(window: number): WasmParser {
  const cap = Math.ceil(window / 21) + 1;
  const out = (IN + window + 7) & ~7;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((out + cap * 29) / 65536) });
  const inst = new WebAssembly.Instance(kallsymsWasm(), { e: { m: memory } });
  const u8 = new Uint8Array(memory.buffer);
  for (let c = 0; c < 256; c++) {
    u8[TABLES + c] = HEX[c] < 0 ? 0xff : HEX[c];
    u8[TABLES + 256 + c] = TYPE_OK[c];
  }
  const ex = inst.exports as unknown as Pick<WasmParser, 'parse' | 'pos' | 'line' | 'mods' | 'nz'>;
  return {
    parse: ex.parse,
    pos: ex.pos,
    line: ex.line,
    mods: ex.mods,
    nz: ex.nz,
    u8,
    u32: new Uint32Array(memory.buffer),
    window,
    out,
    cap,
  };
}

// ---- index construction passes (symbolIndex.ts), also in parse.wat ------------------------

export interface ColumnScan {
  /** Addresses ascend (ties allowed). */
  sorted: boolean;
  /** vmlinux symbols (module id 0), and those of them that are data (d, b, D, B). */
  vmlinux: number;
  vmlinuxData: number;
  maxModule: number;
  /** The longest run of symbols sharing one high half, [start, end). */
  run?: { hi: number; start: number; end: number };
  /**
   * For `ksym stats`, from the same pass: symbols per type byte (256), the first index + 1 of
   * each type byte (256; 0: none), symbols per module id (below the `modules` given).
   */
  perType: Uint32Array;
  typeFirst: Uint32Array;
  perModule: Uint32Array;
}

/**
 * One pass over address columns (whether they ascend, counts, the longest high-half run) and,
 * when they ascend, the sizes: distance to the next higher address of the same module id
 * (0xffffffff none, 0xfffffffe too far). In wasm: it runs once, at start, where JS is cold.
 */
export function columnPasses(
  hi: Uint32Array,
  lo: Uint32Array,
  mod: Uint16Array,
  type: Uint8Array,
  n: number,
  /** Module ids are below this. */
  modules: number,
  /**
   * The memory of an earlier call, used again when it is big enough: the build calls this
   * twice on unsorted input (source order, then address order), and a second memory of
   * 17 bytes per symbol is only more for V8 to free.
   */
  reuse?: WebAssembly.Memory,
): { scan: ColumnScan; sizes?: Uint32Array; memory?: WebAssembly.Memory } {
  if (n === 0) {
    const counts = { perType: new Uint32Array(256), typeFirst: new Uint32Array(256), perModule: new Uint32Array(Math.max(modules, 1)) };
    return { scan: { sorted: true, vmlinux: 0, vmlinuxData: 0, maxModule: 0, ...counts }, sizes: new Uint32Array(0) };
  }
  if (!WASM) return columnPassesJs(hi, lo, mod, type, n, modules);
  const H = 0;
  const L = 4 * n;
  const M = 8 * n;
  const S = 12 * n;
  const T = 16 * n;
  const TAB = (T + n + 7) & ~7;
  const modCap = Math.min(Math.max(modules, 1), 65536); // module ids are 16-bit
  const COUNTS = TAB + 24 * modCap;
  const bytes = COUNTS + 2048 + 4 * modCap;
  const reused = reuse !== undefined && reuse.buffer.byteLength >= bytes;
  const memory = reused ? reuse : new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  // The columns are written below; the sizes pass expects its per-module table zeroed.
  if (reused) new Uint8Array(memory.buffer, TAB, bytes - TAB).fill(0);
  const ex = new WebAssembly.Instance(kallsymsWasm(), { e: { m: memory } }).exports as unknown as {
    scan(n: number, hi: number, lo: number, mod: number, type: number, counts: number, modCap: number): void;
    sizes(n: number, hi: number, lo: number, mod: number, size: number, tab: number): void;
  } & Record<'sorted' | 'vml' | 'data' | 'maxMod' | 'runHi' | 'runStart' | 'runEnd', WebAssembly.Global>;
  const u32 = new Uint32Array(memory.buffer);
  u32.set(hi.subarray(0, n), H >> 2);
  u32.set(lo.subarray(0, n), L >> 2);
  u32.set(mod.subarray(0, n), M >> 2);
  new Uint8Array(memory.buffer).set(type.subarray(0, n), T);
  ex.scan(n, H, L, M, T, COUNTS, modCap);
  const scan: ColumnScan = {
    sorted: ex.sorted.value === 1,
    vmlinux: ex.vml.value as number,
    vmlinuxData: ex.data.value as number,
    maxModule: ex.maxMod.value as number,
    run: { hi: (ex.runHi.value as number) >>> 0, start: ex.runStart.value as number, end: ex.runEnd.value as number },
    perType: u32.slice(COUNTS >> 2, (COUNTS >> 2) + 256),
    typeFirst: u32.slice((COUNTS >> 2) + 256, (COUNTS >> 2) + 512),
    perModule: u32.slice((COUNTS >> 2) + 512, (COUNTS >> 2) + 512 + modCap),
  };
  if (!scan.sorted) return { scan, memory };
  ex.sizes(n, H, L, M, S, TAB);
  return { scan, sizes: u32.slice(S >> 2, (S >> 2) + n), memory };
}

/** columnPasses in JavaScript (parse.wat's scan and sizes, rule for rule; no WebAssembly here). */
function columnPassesJs(
  hi: Uint32Array,
  lo: Uint32Array,
  mod: Uint16Array,
  type: Uint8Array,
  n: number,
  modules: number,
): { scan: ColumnScan; sizes?: Uint32Array } {
  let sorted = true,
    vmlinux = 0,
    vmlinuxData = 0,
    maxModule = 0,
    rs = 0,
    bestS = 0,
    bestE = 0,
    bestH = 0;
  const modCap = Math.min(Math.max(modules, 1), 65536);
  const perType = new Uint32Array(256),
    typeFirst = new Uint32Array(256),
    perModule = new Uint32Array(modCap);
  for (let i = 0; i < n; i++) {
    const h = hi[i];
    const ty = type[i];
    perType[ty]++;
    if (typeFirst[ty] === 0) typeFirst[ty] = i + 1;
    if (mod[i] < modCap) perModule[mod[i]]++;
    if (i > 0) {
      const ph = hi[i - 1];
      if (h < ph || (h === ph && lo[i] < lo[i - 1])) sorted = false;
      if (h !== ph) {
        // a run [rs, i) of high half ph ends
        if (i - rs > bestE - bestS) [bestS, bestE, bestH] = [rs, i, ph];
        rs = i;
      }
    }
    const m = mod[i];
    if (m === 0) {
      vmlinux++;
      const t = type[i] | 0x20;
      if (t === 0x64 || t === 0x62) vmlinuxData++;
    }
    if (m > maxModule) maxModule = m;
  }
  if (n - rs > bestE - bestS) [bestS, bestE, bestH] = [rs, n, hi[n - 1]];
  const scan: ColumnScan = {
    sorted,
    vmlinux,
    vmlinuxData,
    maxModule,
    run: { hi: bestH, start: bestS, end: bestE },
    perType,
    typeFirst,
    perModule,
  };
  if (!sorted) return { scan };
  // sizes: from the top, per module id its highest address so far and the next higher one
  const k = Math.min(Math.max(modules, maxModule + 1, 1), 65536);
  const curHi = new Uint32Array(k),
    curLo = new Uint32Array(k),
    nextHi = new Uint32Array(k),
    nextLo = new Uint32Array(k),
    state = new Uint8Array(k);
  const sizes = new Uint32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    const m = mod[i],
      h = hi[i],
      l = lo[i];
    let st = state[m];
    if (st === 0) {
      curHi[m] = h;
      curLo[m] = l;
      state[m] = 1;
    } else if (curHi[m] !== h || curLo[m] !== l) {
      nextHi[m] = curHi[m];
      nextLo[m] = curLo[m];
      curHi[m] = h;
      curLo[m] = l;
      state[m] = st = 2;
    }
    if (st < 2) sizes[i] = 0xffffffff;
    else {
      // next - address, exactly (64-bit values as halves): at least 2^32 - 1 does not fit
      const dh = nextHi[m] - h;
      const d = dh === 0 ? nextLo[m] - l : dh === 1 ? nextLo[m] + 0x100000000 - l : Infinity;
      sizes[i] = d >= 0xffffffff ? 0xfffffffe : d;
    }
  }
  return { scan, sizes };
}

/**
 * Names occurring more than once, and the symbols that carry them (`ksym stats`), in wasm (an
 * open-addressing table keyed by each name's hash): the JavaScript table took 16 ms of a
 * one-shot `ksym stats` over the 122k names of /proc/kallsyms, in a process too short for
 * the loop to get optimised. Undefined when wasm is unusable here (the caller counts in
 * JavaScript).
 */
export function duplicateNames(
  names: Uint8Array,
  off: Uint32Array,
  len: Uint16Array,
  n: number,
): { dupNames: number; dupSyms: number } | undefined {
  if (!WASM) return undefined;
  let size = 1;
  while (size * 3 < n * 4) size <<= 1; // load factor at most 3/4
  const OFF = (names.length + 3) & ~3;
  const LEN = OFF + 4 * n;
  const SLOTS = (LEN + 2 * n + 7) & ~7;
  const bytes = SLOTS + 8 * size;
  if (bytes > 1 << 30) return undefined;
  try {
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const ex = new WebAssembly.Instance(kallsymsWasm(), { e: { m: memory } }).exports as unknown as {
      dupes(names: number, off: number, len: number, n: number, slots: number, mask: number): number;
      dupSyms: WebAssembly.Global;
    };
    new Uint8Array(memory.buffer).set(names);
    new Uint32Array(memory.buffer, OFF, n).set(off.subarray(0, n));
    new Uint16Array(memory.buffer, LEN, n).set(len.subarray(0, n));
    const dupNames = ex.dupes(0, OFF, LEN, n, SLOTS, size - 1);
    return { dupNames, dupSyms: ex.dupSyms.value as number };
  } catch {
    return undefined; // no wasm (node --jitless), or no memory for it
  }
}

/** State of one parse, shared by the wasm fast path and the JS line parser. */
class LineParser {
  symbols = 0;
  /** Symbols that came from the wasm pass (the rest: the JavaScript line parser). */
  taken = 0;
  nonZero = false;
  digitsSeen = 0;
  private lastModStart = -1;
  private lastModLen = 0;
  private lastModId = 0;

  constructor(
    private cols: SymbolColumns,
    private bytes: Uint8Array,
    private base: number,
    private srcId: number,
    private report: ParseReport,
  ) {}

  private problem(line: number, reason: string): void {
    this.report.problemCount++;
    if (this.report.problems.length < MAX_PROBLEMS) this.report.problems.push({ line, reason });
  }

  /** Module id of the name at bytes[ms, me): blocks of one module reuse the previous id. */
  private module(ms: number, me: number): number {
    const ml = me - ms;
    if (ml === this.lastModLen && this.lastModStart >= 0 && sameBytes(this.bytes, this.lastModStart, ms, ml)) return this.lastModId;
    const id = this.cols.modId(latin1(this.bytes, ms, me));
    this.lastModStart = ms;
    this.lastModLen = ml;
    this.lastModId = id;
    return id;
  }

  /** Copy the k symbols the wasm parser wrote into the columns. */
  takeWasm(w: WasmParser, k: number): void {
    const cols = this.cols;
    cols.ensure(k);
    const n = cols.n;
    const nm = w.u32[MARKS >> 2];
    if (nm > 127) cols.marksComplete = false;
    else for (let j = 0; j < nm; j++) cols.marks.push(n + w.u32[(MARKS >> 2) + 1 + j]);
    w.u32[MARKS >> 2] = 0;
    this.taken += k;
    const cap = w.cap;
    const o = w.out >> 2;
    cols.hi.set(w.u32.subarray(o, o + k), n);
    cols.lo.set(w.u32.subarray(o + cap, o + cap + k), n);
    cols.nameOff.set(w.u32.subarray(o + 2 * cap, o + 2 * cap + k), n);
    cols.nameLen.set(w.u32.subarray(o + 3 * cap, o + 3 * cap + k), n);
    cols.line.set(w.u32.subarray(o + 4 * cap, o + 4 * cap + k), n);
    cols.type.set(w.u8.subarray(w.out + 28 * cap, w.out + 28 * cap + k), n);
    cols.src.fill(this.srcId, n, n + k);
    if ((w.mods.value as number) > 0) {
      const mo = w.u32.subarray(o + 5 * cap, o + 5 * cap + k);
      const ml = w.u32.subarray(o + 6 * cap, o + 6 * cap + k);
      for (let i = 0; i < k; i++) {
        if (ml[i] === 0) continue;
        const ms = mo[i] - this.base;
        cols.mod[n + i] = this.module(ms, ms + ml[i]);
      }
    } else {
      cols.mod.fill(0, n, n + k);
    }
    cols.n = n + k;
    this.symbols += k;
    if (w.nz.value) this.nonZero = true;
    this.digitsSeen = 16;
  }

  /** The general line parser: any line [start, eol), with a reason for each line it rejects. */
  line(start: number, eol: number, lineNo: number): void {
    const bytes = this.bytes;
    let end = eol;
    if (end > start && bytes[end - 1] === 13) end--;
    if (end === start) return; // blank line

    let p = start;
    let hi = 0;
    let lo = 0;
    let nd = 0;
    while (p < end) {
      const v = HEX[bytes[p]];
      if (v < 0) break;
      hi = ((hi << 4) | (lo >>> 28)) >>> 0;
      lo = ((lo << 4) | v) >>> 0;
      nd++;
      p++;
    }
    if (nd === 0 || nd > 16 || p >= end || bytes[p] !== 32) {
      this.problem(lineNo, nd > 16 ? 'address wider than 64 bits' : 'expected "ADDRESS TYPE NAME"');
      return;
    }
    p++;
    // Type letter.
    if (p + 1 >= end || bytes[p + 1] !== 32) {
      this.problem(lineNo, p >= end ? 'truncated line: no symbol type' : 'expected a one-letter symbol type');
      return;
    }
    const t = bytes[p];
    if (TYPE_OK[t] !== 1) {
      this.problem(lineNo, `invalid symbol type '${String.fromCharCode(t)}'`);
      return;
    }
    p += 2;
    // Name: up to TAB, space or end of line.
    const ns = p;
    while (p < end) {
      const c = bytes[p];
      if (c === 9 || c === 32) break;
      p++;
    }
    const nl = p - ns;
    if (nl === 0) {
      this.problem(lineNo, 'truncated line: no symbol name');
      return;
    }
    if (nl > MAX_NAME) {
      this.problem(lineNo, 'symbol name too long');
      return;
    }
    if (this.symbols === 0 && hi === 0xffffffff && lo === 0xffffffff) {
      // The one-line placeholder: "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package".
      if (/real System\.map/i.test(latin1(bytes, ns, end))) {
        this.report.stubSystemMap = true;
        return;
      }
    }
    // Optional [module].
    let modId = 0;
    while (p < end && (bytes[p] === 9 || bytes[p] === 32)) p++;
    if (p < end) {
      if (bytes[p] !== 0x5b) {
        this.problem(lineNo, 'unexpected text after the symbol name');
        return;
      }
      const ms = p + 1;
      let me = ms;
      while (me < end && bytes[me] !== 0x5d) me++;
      if (me >= end || me === ms) {
        this.problem(lineNo, 'unterminated or empty [module]');
        return;
      }
      modId = this.module(ms, me);
    }

    const cols = this.cols;
    cols.ensure(1);
    const n = cols.n;
    cols.hi[n] = hi;
    cols.lo[n] = lo;
    cols.type[n] = t;
    cols.nameOff[n] = this.base + ns;
    cols.nameLen[n] = nl;
    cols.mod[n] = modId;
    cols.line[n] = lineNo;
    cols.src[n] = this.srcId;
    cols.n = n + 1;
    this.symbols++;
    if (hi !== 0 || lo !== 0) this.nonZero = true;
    if (nd > this.digitsSeen) this.digitsSeen = nd;
  }
}

/**
 * Append the symbols of one kallsyms/System.map text to `cols`.
 * Throws FormatError only when the input is not text at all.
 *
 * Nothing is copied per symbol: names stay where they are in the text (see
 * SymbolColumns.names). Canonical lines (16 hex digits, one space, a type letter, one space,
 * a name, optionally TAB + [module]) are parsed by WebAssembly (kallsyms.wat), a window of
 * input at a time; any other line goes through the JS line parser, which says what is wrong
 * with it.
 */
export function parseKallsymsInto(
  cols: SymbolColumns,
  bytes: Uint8Array,
  file: string,
  kind: SourceKind,
  srcId: number,
  /** Input bytes per wasm window (tests use small ones to exercise the window edges). */
  window = WINDOW,
): ParseReport {
  checkText(bytes, file);
  const report: ParseReport = {
    file,
    kind,
    symbols: 0,
    problems: [],
    problemCount: 0,
    hiddenAddresses: false,
    stubSystemMap: false,
    addressDigits: 0,
  };
  const len = bytes.length;
  // Node's Buffer#indexOf is a native memchr; a plain Uint8Array's is a slower builtin loop.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, len);
  cols.ensure(Math.ceil(len / 32) + 16); // lines are ~40 bytes; grown when shorter
  const base = cols.appendText(bytes);
  const lp = new LineParser(cols, bytes, base, srcId, report);
  if (!WASM) {
    // every line by the JavaScript line parser (which the wasm path leaves the odd ones to)
    for (let pos = 0, line = 1; pos < len; line++) {
      let eol = buf.indexOf(10, pos);
      if (eol < 0) eol = len;
      lp.line(pos, eol, line);
      pos = eol + 1;
    }
    cols.marksComplete = false; // no wasm pass: the markers are searched in the text
    report.symbols = lp.symbols;
    report.hiddenAddresses = lp.symbols > 0 && !lp.nonZero;
    report.addressDigits = lp.digitsSeen <= 8 ? 8 : 16;
    return report;
  }
  // The window (and the wasm memory) no bigger than the input: small texts are parsed often.
  const w = wasmParser(Math.max(64, Math.min(window | 0, len)));

  let pos = 0; // start of the window in bytes
  let line = 1; // line number at the parse position
  while (pos < len) {
    const winLen = Math.min(w.window, len - pos);
    const final = pos + winLen === len;
    w.u8.set(bytes.subarray(pos, pos + winLen), IN);
    let wpos = 0;
    for (;;) {
      const k = w.parse(IN, winLen, wpos, line, final ? 1 : 0, w.out, w.cap, base + pos);
      if (k > 0) lp.takeWasm(w, k);
      wpos = w.pos.value as number;
      line = w.line.value as number;
      if (wpos >= winLen) break;
      if (k === w.cap) continue;
      // Not a canonical line, or one that the window cuts: find its end in the whole input.
      const start = pos + wpos;
      let eol = buf.indexOf(10, start);
      if (eol < 0) eol = len;
      if (!final && eol >= pos + winLen && wpos > 0) break; // the next window starts with it
      lp.line(start, eol, line);
      line++;
      wpos = eol + 1 - pos;
      if (wpos >= winLen) break;
    }
    pos += wpos;
  }
  if (lp.taken !== lp.symbols) cols.marksComplete = false; // some lines by the JavaScript parser
  report.symbols = lp.symbols;
  report.hiddenAddresses = lp.symbols > 0 && !lp.nonZero;
  report.addressDigits = lp.digitsSeen <= 8 ? 8 : 16;
  return report;
}

function sameBytes(b: Uint8Array, a: number, c: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (b[a + k] !== b[c + k]) return false;
  return true;
}

export function latin1(b: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let k = s; k < e; k += 4096) {
    out += String.fromCharCode.apply(null, b.subarray(k, Math.min(e, k + 4096)) as unknown as number[]);
  }
  return out;
}
