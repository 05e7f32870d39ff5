/**
 * Parser for /proc/kallsyms text, kallsyms dumps and System.map, straight from bytes.
 *
 * Line format: `ADDR TYPE NAME` or `ADDR TYPE NAME\t[MODULE]`. Nothing is split into
 * strings: addresses are decoded nibble by nibble into (hi, lo) halves, names are
 * slices of the text (one byte buffer), module names are interned. Bad lines are recorded
 * (line number and reason) and skipped; they are never fatal.
 */
import { HEX } from './addr';
import { FormatError } from './errors';

export type SourceKind = 'kallsyms' | 'system.map';

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
  const end = Math.min(bytes.length, 65536);
  for (let i = 0; i < end; i++) {
    if (bytes[i] === 0) throw new FormatError(file, i, 'binary data (NUL byte): not a kallsyms or System.map text file');
  }
}

/** Symbol type letters kallsyms and System.map use (A-Z, a-z, '?', '-'). */
const TYPE_OK = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x41; c <= 0x5a; c++) t[c] = t[c | 0x20] = 1;
  t[0x3f] = t[0x2d] = 1;
  return t;
})();

/**
 * Append the symbols of one kallsyms/System.map text to `cols`.
 * Throws FormatError only when the input is not text at all.
 *
 * Nothing is copied per symbol: lines are found with a native newline search, and names stay
 * where they are in the text (see SymbolColumns.names). Canonical lines (16 hex digits, one
 * space, a type letter, one space, a name, optionally TAB + [module]) take a fast path;
 * anything else goes through the general line parser, which says what is wrong with a line.
 */
export function parseKallsymsInto(
  cols: SymbolColumns,
  bytes: Uint8Array,
  file: string,
  kind: SourceKind,
  srcId: number,
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
  const problem = (line: number, reason: string) => {
    report.problemCount++;
    if (report.problems.length < MAX_PROBLEMS) report.problems.push({ line, reason });
  };
  const len = bytes.length;
  // Node's Buffer#indexOf is a native memchr; a plain Uint8Array's is a slower builtin loop.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, len);
  cols.ensure(Math.ceil(len / 32) + 16); // lines are ~40 bytes; grown when shorter
  const base = cols.appendText(bytes);
  let n = cols.n;
  let symbols = 0;

  let pos = 0;
  let lineNo = 0;
  let nonZero = false;
  let lastModStart = -1;
  let lastModLen = 0;
  let lastModId = 0;
  let digitsSeen = 0;
  let nextTab = -1; // first TAB at or after the current line (len: none)
  let nextSpace = -1; // first space at or after the current name

  while (pos < len) {
    lineNo++;
    const start = pos;
    let eol = buf.indexOf(10, pos);
    if (eol < 0) eol = len;
    pos = eol + 1;
    // ---- fast path: "%016lx %c %s\n" or "%016lx %c %s\t[%s]\n" -----------------------------
    if (eol - start > 19 && bytes[start + 16] === 32 && bytes[start + 18] === 32 && bytes[eol - 1] !== 13) {
      let h = 0;
      let l = 0;
      let bad = 0;
      for (let k = 0; k < 8; k++) {
        const a = HEX[bytes[start + k]];
        const b = HEX[bytes[start + 8 + k]];
        bad |= a | b;
        h = (h << 4) | (a & 15);
        l = (l << 4) | (b & 15);
      }
      const t = bytes[start + 17];
      const ns = start + 19;
      if (nextTab < start) {
        nextTab = buf.indexOf(9, start);
        if (nextTab < 0) nextTab = len;
      }
      const ne = nextTab < eol ? nextTab : eol;
      if (nextSpace < ns) {
        nextSpace = buf.indexOf(32, ns);
        if (nextSpace < 0) nextSpace = len;
      }
      const nl = ne - ns;
      let ok = bad >= 0 && TYPE_OK[t] === 1 && nl > 0 && nl <= MAX_NAME && nextSpace >= eol;
      let modId = 0;
      if (ok && ne < eol) {
        // TAB [module]: the module name is all that is left on the line, without ']' inside.
        const ms = ne + 2;
        const me = eol - 1;
        ok = me > ms && bytes[ne + 1] === 0x5b && bytes[me] === 0x5d;
        for (let k = ms; ok && k < me; k++) if (bytes[k] <= 32 || bytes[k] === 0x5d) ok = false;
        if (ok) {
          const ml = me - ms;
          if (ml === lastModLen && lastModStart >= 0 && sameBytes(bytes, lastModStart, ms, ml)) {
            modId = lastModId;
          } else {
            modId = cols.modId(latin1(bytes, ms, me));
            lastModStart = ms;
            lastModLen = ml;
            lastModId = modId;
          }
        }
      }
      const hi = h >>> 0;
      const lo = l >>> 0;
      if (ok && symbols === 0 && hi === 0xffffffff && lo === 0xffffffff) ok = false; // maybe the stub System.map
      if (ok) {
        if (n >= cols.hi.length) grow(cols, n);
        cols.hi[n] = hi;
        cols.lo[n] = lo;
        cols.type[n] = t;
        cols.nameOff[n] = base + ns;
        cols.nameLen[n] = nl;
        cols.mod[n] = modId;
        cols.line[n] = lineNo;
        cols.src[n] = srcId;
        n++;
        symbols++;
        if ((hi | lo) !== 0) nonZero = true;
        digitsSeen = 16;
        continue;
      }
    }

    // ---- general line parser ----------------------------------------------------------
    let end = eol;
    if (end > start && bytes[end - 1] === 13) end--;
    if (end === start) continue; // blank line

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
      problem(lineNo, nd > 16 ? 'address wider than 64 bits' : 'expected "ADDRESS TYPE NAME"');
      continue;
    }
    p++;
    // Type letter.
    if (p + 1 >= end || bytes[p + 1] !== 32) {
      problem(lineNo, p >= end ? 'truncated line: no symbol type' : 'expected a one-letter symbol type');
      continue;
    }
    const t = bytes[p];
    if (TYPE_OK[t] !== 1) {
      problem(lineNo, `invalid symbol type '${String.fromCharCode(t)}'`);
      continue;
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
      problem(lineNo, 'truncated line: no symbol name');
      continue;
    }
    if (nl > MAX_NAME) {
      problem(lineNo, 'symbol name too long');
      continue;
    }
    if (symbols === 0 && hi === 0xffffffff && lo === 0xffffffff) {
      // The one-line placeholder: "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package".
      if (/real System\.map/i.test(latin1(bytes, ns, end))) {
        report.stubSystemMap = true;
        continue;
      }
    }
    // Optional [module].
    let modId = 0;
    while (p < end && (bytes[p] === 9 || bytes[p] === 32)) p++;
    if (p < end) {
      if (bytes[p] !== 0x5b) {
        problem(lineNo, 'unexpected text after the symbol name');
        continue;
      }
      const ms = p + 1;
      let me = ms;
      while (me < end && bytes[me] !== 0x5d) me++;
      if (me >= end || me === ms) {
        problem(lineNo, 'unterminated or empty [module]');
        continue;
      }
      // Modules come in blocks: reuse the previous id when the bytes are equal.
      const ml = me - ms;
      if (ml === lastModLen && lastModStart >= 0 && sameBytes(bytes, lastModStart, ms, ml)) {
        modId = lastModId;
      } else {
        modId = cols.modId(latin1(bytes, ms, me));
        lastModStart = ms;
        lastModLen = ml;
        lastModId = modId;
      }
    }

    if (n >= cols.hi.length) grow(cols, n);
    cols.hi[n] = hi;
    cols.lo[n] = lo;
    cols.type[n] = t;
    cols.nameOff[n] = base + ns;
    cols.nameLen[n] = nl;
    cols.mod[n] = modId;
    cols.line[n] = lineNo;
    cols.src[n] = srcId;
    n++;
    symbols++;
    if (hi !== 0 || lo !== 0) nonZero = true;
    if (nd > digitsSeen) digitsSeen = nd;
  }
  cols.n = n;
  report.symbols = symbols;
  report.hiddenAddresses = symbols > 0 && !nonZero;
  report.addressDigits = digitsSeen <= 8 ? 8 : 16;
  return report;
}

/** More symbol rows (short lines: more symbols than the estimate). The names buffer is untouched. */
function grow(cols: SymbolColumns, n: number): void {
  cols.n = n;
  cols.ensure(1);
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
