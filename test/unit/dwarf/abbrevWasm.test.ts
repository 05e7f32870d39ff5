/**
 * The abbreviation table parser in WebAssembly (core/dwarf/abbrev.wat) against the
 * JavaScript loop it replaces (jsReadAbbrevTable, the reference): the embedded module
 * against abbrev.wat; every table of the Debian vmlinux, of every fetched module and of
 * gcc -g -O2 objects (DWARF 4 and 5) parsed by both, column by column, for several unit
 * shapes (address size, offset size, version); random and mutated tables (huge and padded
 * LEB128s, implicit_const values of every size, codes >= 1024 that go to the `big` map,
 * truncations, tables past the wasm's window) through readAbbrevTable (WebAssembly with
 * the JavaScript fallback) against the reference, errors included.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsReadAbbrevTable, readAbbrevTable, wasmReadAbbrevTable, type AbbrevTable } from '../../../server/src/core/dwarf/abbrev';
import type { SectionBytes } from '../../../server/src/core/dwarf/cursor';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { fileSource } from '../../../server/src/core/dwarf/readFile';
import { bytesSource } from '../../../server/src/core/dwarf/source';
import { FormatError } from '../../../server/src/core/common/errors';
import { ROOT } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { haveTool } from './oracle';
import { rng } from './samples';

/** (address size, offset size, version) of the units a table is read for: formSize and the kinds depend on them. */
const SHAPES: [number, number, number][] = [
  [8, 4, 5],
  [8, 4, 4],
  [8, 8, 5],
  [4, 4, 2],
];

const COLUMNS = [
  'tag',
  'children',
  'first',
  'count',
  'attr',
  'form',
  'implicit',
  'size',
  'fixed',
  'sibAt',
  'sibSize',
  'hasCode',
  'skipKids',
  'kind',
] as const;

/** Where two tables differ (undefined: nowhere): every column byte for byte (implicit: the same doubles), the dense and big maps, the one-buffer layout. */
function difference(a: AbbrevTable, b: AbbrevTable): string | undefined {
  for (const k of COLUMNS) {
    const x = a[k],
      y = b[k];
    if (x.constructor !== y.constructor) return `${k}: ${x.constructor.name} vs ${y.constructor.name}`;
    if (x.length !== y.length) return `${k}: length ${x.length} vs ${y.length}`;
    if (x.byteOffset !== y.byteOffset) return `${k}: at byte ${x.byteOffset} vs ${y.byteOffset} of the table's buffer`;
    if (x.buffer !== a.tag.buffer || y.buffer !== b.tag.buffer) return `${k}: not in the table's one buffer`;
    const xb = Buffer.from(x.buffer, x.byteOffset, x.byteLength),
      yb = Buffer.from(y.buffer, y.byteOffset, y.byteLength);
    if (!xb.equals(yb)) {
      const i = [...x].findIndex((v, j) => !Object.is(v, y[j]));
      return `${k}[${i}]: ${x[i]} vs ${y[i]}`;
    }
  }
  if (a.tag.buffer.byteLength !== b.tag.buffer.byteLength) return `buffer: ${a.tag.buffer.byteLength} vs ${b.tag.buffer.byteLength} bytes`;
  if (!Buffer.from(a.tag.buffer as ArrayBuffer).equals(Buffer.from(b.tag.buffer as ArrayBuffer))) return 'buffer: different bytes';
  if (a.dense.length !== b.dense.length) return `dense: length ${a.dense.length} vs ${b.dense.length}`;
  if (
    !Buffer.from(a.dense.buffer, a.dense.byteOffset, a.dense.byteLength).equals(
      Buffer.from(b.dense.buffer, b.dense.byteOffset, b.dense.byteLength),
    )
  )
    return 'dense: different entries';
  const am = JSON.stringify([...a.big]),
    bm = JSON.stringify([...b.big]);
  if (am !== bm) return `big: ${am.slice(0, 200)} vs ${bm.slice(0, 200)}`;
  return undefined;
}

/**
 * Start offsets of every table in a .debug_abbrev, read here independently of the parser
 * (a table ends after its code 0; a 0 byte between tables reads as an empty table).
 */
function tableStarts(b: Uint8Array): number[] {
  const out: number[] = [];
  let p = 0;
  const leb = (): number => {
    let v = 0,
      m = 1,
      x: number;
    do {
      if (p >= b.length) throw new Error(`LEB128 runs past the section at 0x${p.toString(16)}`);
      x = b[p++];
      v += (x & 0x7f) * m;
      m *= 128;
    } while (x & 0x80);
    return v;
  };
  while (p < b.length) {
    out.push(p);
    while (leb() !== 0) {
      leb(); // tag
      p++; // children
      for (;;) {
        const at = leb(),
          fm = leb();
        if (at === 0 && fm === 0) break;
        if (fm === 0x21) leb(); // implicit_const
      }
    }
  }
  return out;
}

/** Both parsers over every table of a section, for every shape: mismatches and tables the wasm left to JavaScript. */
function compareSection(s: SectionBytes): { tables: number; mismatches: string[]; gaveUp: number } {
  const mismatches: string[] = [];
  let gaveUp = 0;
  const starts = tableStarts(s.bytes);
  for (const off of starts)
    for (const [a, o, v] of SHAPES) {
      const js = jsReadAbbrevTable(s, off, a, o, v);
      const w = wasmReadAbbrevTable(s, off, a, o, v);
      if (!w) {
        gaveUp++;
        continue;
      }
      const d = difference(js, w);
      if (d && mismatches.length < 10) mismatches.push(`${s.file} table at 0x${off.toString(16)} (${a}/${o}/v${v}): ${d}`);
    }
  return { tables: starts.length, mismatches, gaveUp };
}

function abbrevOf(file: string, bytes?: Uint8Array): SectionBytes {
  const elf = new ElfView(bytes ? bytesSource(bytes, file) : fileSource(file));
  const sec = elf.section('.debug_abbrev') ?? elf.section('.zdebug_abbrev');
  if (!sec) throw new Error(`${file}: no .debug_abbrev`);
  return elf.data(sec);
}

describe('abbrevWasm.ts', () => {
  it('is what scripts/gen-wasm.mjs makes of abbrev.wat (run it after editing the .wat)', async () => {
    const { generate } = await import('../../../scripts/gen-wasm.mjs');
    const want = await generate({
      wat: 'server/src/core/dwarf/abbrev.wat',
      out: 'server/src/core/dwarf/abbrevWasm.ts',
      name: 'DWARF_ABBREV_WASM',
    });
    expect(readFileSync(join(ROOT, 'server/src/core/dwarf/abbrevWasm.ts'), 'utf8')).toBe(want);
  });
});

const kd = kernelData();

describe('WebAssembly abbrev parse = JavaScript, on real kernels', () => {
  it.skipIf(!kd)(
    'every table of vmlinux (Debian 6.1), every shape, column by column; none left to JavaScript',
    () => {
      const r = compareSection(abbrevOf(kd!.vmlinux));
      expect(r.tables).toBeGreaterThan(2000);
      expect(r.mismatches).toEqual([]);
      expect(r.gaveUp).toBe(0);
    },
    120_000,
  );

  it.skipIf(!kd || kd.modules.size === 0)(
    'every table of every fetched module',
    () => {
      if (kd && kd.modules.size === 0) console.warn(`skipping module abbrev tables: no modules in ${kd.dir}/modules`);
      let tables = 0;
      for (const [, path] of kd!.modules) {
        const r = compareSection(abbrevOf(path));
        expect(r.mismatches, path).toEqual([]);
        expect(r.gaveUp, path).toBe(0);
        tables += r.tables;
      }
      expect(tables).toBeGreaterThanOrEqual(kd!.modules.size);
    },
    120_000,
  );
});

const SRC = `
#include <stdint.h>
enum big { NEG = -9000000000000000000LL, POS = 9000000000000000000LL, MID = -1 };
struct s { int a; int b[4]; unsigned bits : 3; uint64_t wide; union { char c; short h; } u; };
typedef struct s s_t;
static inline int helper2(int x) { return x * 3 + (x >> 2); }
static inline __attribute__((always_inline)) int helper(int x) { if (x > 10) return helper2(x) + 1; return helper2(x - 1); }
__attribute__((noinline)) int work(s_t *p, int n, enum big e) {
  int r = helper(n) + helper(p->a);
  for (int i = 0; i < n; i++) r += helper(p->b[i & 3]) + (e == NEG);
  return r + (int)p->wide;
}
int main(int argc, char **argv) { s_t v = { argc, { 1, 2, 3, 4 }, 1, 2, { 0 } }; (void)argv; return work(&v, argc * 7, POS); }
`;

const gcc = haveTool('gcc');
if (!gcc) console.warn('skipping gcc abbrev fixtures: gcc missing');

describe('WebAssembly abbrev parse = JavaScript, on gcc -g -O2 objects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'abbrev-wasm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, flags] of [
    ['DWARF 5 object', ['-gdwarf-5', '-c']],
    ['DWARF 4 object', ['-gdwarf-4', '-c']],
    ['DWARF 5 executable', ['-gdwarf-5']],
    ['DWARF 4 executable', ['-gdwarf-4']],
  ] as const)
    it.skipIf(!gcc)(name, () => {
      writeFileSync(join(dir, 'f.c'), SRC);
      const out = join(dir, name.replace(/ /g, '-'));
      execFileSync('gcc', ['-g', '-O2', ...flags, '-o', out, join(dir, 'f.c')], { stdio: 'ignore' });
      const s = abbrevOf(out);
      const r = compareSection(s);
      expect(r.tables).toBeGreaterThan(0);
      expect(r.mismatches).toEqual([]);
      expect(r.gaveUp).toBe(0);
      if (name === 'DWARF 5 object') {
        // DWARF 5 has implicit_const (decl_file), and the enum's values are ±9e18 (data8, not implicit)
        const t = readAbbrevTable(s, 0, 8, 4, 5);
        expect([...t.form]).toContain(0x21);
      }
    });
});

// ---- synthetic tables -----------------------------------------------------------------------

function uleb(v: bigint, pad = 0): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n || pad > 0) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  for (; pad > 0; pad--) out.push(pad === 1 ? 0 : 0x80);
  return out;
}

function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const TAGS = [0x01, 0x04, 0x05, 0x0b, 0x0d, 0x11, 0x13, 0x15, 0x16, 0x17, 0x1d, 0x24, 0x26, 0x2e, 0x34, 0x48, 0x4109, 0x410a, 0x89, 0x0f];
const ATTRS = [0x01, 0x03, 0x11, 0x12, 0x55, 0x3a, 0x3b, 0x39, 0x49, 0x20, 0x31, 0x58, 0x59, 0x57, 0x2116, 0x2137, 0x6e, 0x87, 0x02];
const FORMS_COMMON = [0x0b, 0x05, 0x06, 0x07, 0x13, 0x11, 0x12, 0x14, 0x15, 0x0e, 0x17, 0x19, 0x21, 0x1f, 0x25, 0x08, 0x18, 0x01, 0x10];

/** A random abbreviation table (its bytes end with the table's code 0). */
function randomTable(r: () => number, opts: { abbrevs: number; wild: boolean; bigCodes: boolean }): number[] {
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const out: number[] = [];
  const value = (common: readonly number[], wild: boolean): number[] => {
    const x = r();
    if (!wild || x < 0.85) return uleb(BigInt(pick(common)));
    if (x < 0.9) return uleb(BigInt(int(0x10000))); // any 1-3 byte value
    if (x < 0.93) return uleb(BigInt(pick(common)), 1 + int(3)); // padded
    if (x < 0.96) return uleb(BigInt(0xffffffff - int(3)));
    if (x < 0.98) return uleb(2n ** 32n + BigInt(int(100))); // >= 2^32
    return uleb(2n ** BigInt(40 + int(40)) + 5n); // far beyond
  };
  let code = 1;
  for (let i = 0; i < opts.abbrevs; i++) {
    code = opts.bigCodes && r() < 0.3 ? code + 1 + int(5000) : r() < 0.05 ? 1 + int(code) : code + 1; // a repeated code now and then
    out.push(...(opts.wild && r() < 0.02 ? uleb(BigInt(code), 1 + int(6)) : uleb(BigInt(code))));
    out.push(...value(TAGS, opts.wild));
    out.push(r() < 0.45 ? 0 : r() < 0.9 ? 1 : int(256));
    const n = int(r() < 0.05 ? 40 : 9);
    for (let k = 0; k < n; k++) {
      out.push(...value(ATTRS, opts.wild));
      const fm = r() < 0.9 ? pick(FORMS_COMMON) : r() < 0.5 ? int(0x30) : pick([0x1f01, 0x1f02, 0x1f20, 0x1f21, 0x30, 0x7f, 0x80, 0x2000]);
      const fmBytes = opts.wild && r() < 0.03 ? value(FORMS_COMMON, true) : uleb(BigInt(fm));
      out.push(...fmBytes);
      if (fmBytes.length === uleb(BigInt(fm)).length && fm === 0x21) {
        const y = r();
        const v =
          y < 0.6
            ? BigInt(int(2000) - 1000)
            : y < 0.75
              ? -(2n ** BigInt(int(64))) - BigInt(int(3))
              : y < 0.85
                ? 2n ** 63n - 1n - BigInt(int(3))
                : y < 0.95
                  ? BigInt(Math.floor((r() - 0.5) * 2 ** 53)) * 2n ** BigInt(int(20))
                  : -(2n ** BigInt(64 + int(40))) - 1n; // more than 64 bits: past mul > 2^70
        out.push(...sleb(v));
      }
    }
    out.push(0, 0);
  }
  out.push(0);
  return out;
}

function section(bytes: Uint8Array, decompressed = false): SectionBytes {
  return { file: '/tmp/f.ko', section: '.debug_abbrev', fileOffset: 0x1234, bytes, le: true, decompressed };
}

type Outcome = { table: AbbrevTable } | { error: FormatError };
function outcome(f: () => AbbrevTable): Outcome {
  try {
    return { table: f() };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return { error: e };
  }
}

/** readAbbrevTable (wasm + fallback) against the reference: the same table or the same FormatError. */
function agree(
  s: SectionBytes,
  off: number,
  shape: [number, number, number],
): { ok: boolean; why?: string; threw: boolean; wasm: boolean } {
  const ref = outcome(() => jsReadAbbrevTable(s, off, ...shape));
  const got = outcome(() => readAbbrevTable(s, off, ...shape));
  const wasm = wasmReadAbbrevTable(s, off, ...shape) !== null;
  if ('error' in ref) {
    if (wasm) return { ok: false, why: `wasm parsed a table the reference rejects: ${ref.error.message}`, threw: true, wasm };
    if (!('error' in got)) return { ok: false, why: `reference throws ${ref.error.message}, got a table`, threw: true, wasm };
    const same = got.error.message === ref.error.message && got.error.offset === ref.error.offset && got.error.file === ref.error.file;
    return { ok: same, why: same ? undefined : `${got.error.message} vs ${ref.error.message}`, threw: true, wasm };
  }
  if ('error' in got) return { ok: false, why: `reference parses, got ${got.error.message}`, threw: false, wasm };
  const d = difference(ref.table, got.table);
  return { ok: !d, why: d, threw: false, wasm };
}

describe('WebAssembly abbrev parse + JavaScript fallback = JavaScript, on random and mutated tables', () => {
  it('well-formed random tables (big codes, every form, implicit_const of every size)', () => {
    const r = rng(1);
    let wasm = 0,
      big = 0;
    const bad: string[] = [];
    for (let i = 0; i < 400; i++) {
      const t = randomTable(r, { abbrevs: 1 + Math.floor(r() * 300), wild: false, bigCodes: i % 3 === 0 });
      const lead = Math.floor(r() * 40);
      const bytes = Uint8Array.from([...Array.from({ length: lead }, () => Math.floor(r() * 256)), ...t, 7, 7]);
      const s = section(bytes);
      const shape = SHAPES[i % SHAPES.length];
      const a = agree(s, lead, shape);
      if (!a.ok) bad.push(`#${i}: ${a.why}`);
      if (a.wasm) wasm++;
      if (jsReadAbbrevTable(s, lead, ...shape).big.size > 0) big++;
    }
    expect(bad).toEqual([]);
    expect(wasm).toBe(400); // nothing unusual: the wasm parses every one
    expect(big).toBeGreaterThan(50);
  });

  it('wild tables (padded and huge LEB128s, codes/tags/attributes/forms >= 2^32), truncated and mutated', () => {
    const r = rng(2);
    const bad: string[] = [];
    let threw = 0,
      fellBack = 0,
      wasm = 0;
    for (let i = 0; i < 1500; i++) {
      let t = randomTable(r, { abbrevs: 1 + Math.floor(r() * 80), wild: i % 2 === 0, bigCodes: i % 4 === 1 });
      const m = r();
      if (m < 0.3)
        t = t.slice(0, Math.floor(r() * t.length)); // truncated at the section end
      else if (m < 0.6) for (let k = 0; k < 1 + Math.floor(r() * 4); k++) t[Math.floor(r() * t.length)] = Math.floor(r() * 256);
      else if (m < 0.7) for (let k = 0; k < 1 + Math.floor(r() * 4); k++) t[Math.floor(r() * t.length)] |= 0x80; // continuations
      if (t.length === 0) t = [0x81];
      const s = section(Uint8Array.from(t), i % 5 === 0);
      const a = agree(s, 0, SHAPES[i % SHAPES.length]);
      if (!a.ok) bad.push(`#${i}: ${a.why}`);
      if (a.threw) threw++;
      else if (a.wasm) wasm++;
      else fellBack++;
    }
    expect(bad).toEqual([]);
    // each path is taken many times: errors, tables only JavaScript parses, tables the wasm parses
    expect(threw).toBeGreaterThan(200);
    expect(fellBack).toBeGreaterThan(50);
    expect(wasm).toBeGreaterThan(200);
  });

  it('the edges the wasm leaves to JavaScript, one by one', () => {
    const ab = (...xs: number[][]) => Uint8Array.from(xs.flat());
    const cases: [string, Uint8Array, boolean][] = [
      // [what, bytes, wasm parses it]
      ['empty table', ab([0]), true],
      ['code 0xffffffff', ab(uleb(0xffffffffn), [0x24, 0, 0, 0, 0]), true],
      ['code 2^32', ab(uleb(2n ** 32n), [0x24, 0, 0, 0, 0]), false],
      ['code 2^70', ab(uleb(2n ** 70n), [0x24, 0, 0, 0, 0]), false],
      ['padded code', ab(uleb(1n, 5), [0x24, 0, 0, 0, 0]), false],
      ['tag 0x4109 in 2 bytes', ab([1], uleb(0x4109n), [1, 0x01, 0x13, 0, 0, 0]), true],
      ['attr 2^35', ab([1, 0x24, 0], uleb(2n ** 35n), [0x0b, 0, 0, 0]), false],
      ['form 2^32 + 0x0b', ab([1, 0x24, 0, 0x03], uleb(2n ** 32n + 0x0bn), [0, 0, 0]), false],
      ['implicit_const 2^63 - 1', ab([1, 0x24, 0, 0x3a, 0x21], sleb(2n ** 63n - 1n), [0, 0, 0]), true],
      ['implicit_const -2^63', ab([1, 0x24, 0, 0x3a, 0x21], sleb(-(2n ** 63n)), [0, 0, 0]), true],
      ['implicit_const of 12 bytes', ab([1, 0x24, 0, 0x3a, 0x21], sleb(-(2n ** 80n) + 12345n), [0, 0, 0]), true],
      ['truncated in a code', ab([0x81]), false],
      ['truncated before children', ab([1, 0x24]), false],
      ['truncated in implicit_const', ab([1, 0x24, 0, 0x3a, 0x21, 0x80, 0x80]), false],
      ['no terminating code', ab([1, 0x24, 0, 0, 0]), false],
    ];
    for (const [what, bytes, wasm] of cases) {
      const s = section(bytes);
      const a = agree(s, 0, [8, 4, 5]);
      expect(a.ok, `${what}: ${a.why}`).toBe(true);
      expect(wasmReadAbbrevTable(s, 0, 8, 4, 5) !== null, what).toBe(wasm);
    }
    // an offset outside the section: the reference's error
    const s = section(ab([0]));
    for (const off of [-1, 1, 100]) expect(agree(s, off, [8, 4, 5]).ok).toBe(true);
    expect(() => readAbbrevTable(s, 1, 8, 4, 5)).toThrow(/abbreviation table offset 0x1 outside \.debug_abbrev \(size 0x1\)/);
    // the truncation error names the offset, as the JavaScript loop does
    expect(() => readAbbrevTable(section(ab([1, 0x24])), 0, 8, 4, 5)).toThrow(/\.debug_abbrev\+0x2: truncated: need 1 byte/);
  });

  it('tables longer than the 8 KB window (retried with a bigger one) and beyond 256 KB (JavaScript)', () => {
    const r = rng(3);
    for (const abbrevs of [600, 3000, 40000]) {
      const t = randomTable(r, { abbrevs, wild: false, bigCodes: true });
      const s = section(Uint8Array.from(t));
      const a = agree(s, 0, [8, 4, 5]);
      expect(a.ok, `${abbrevs} abbrevs (${t.length} bytes): ${a.why}`).toBe(true);
      expect(a.wasm, `${t.length} bytes`).toBe(t.length <= 256 << 10);
      // and the same table followed by more: the window stops short of the section end
      const s2 = section(Uint8Array.from([...t, ...t]));
      expect(agree(s2, 0, [8, 4, 5]).ok).toBe(true);
      expect(agree(s2, t.length, [8, 4, 5]).ok).toBe(true);
    }
    // a small table after a big one reuses the grown memory
    expect(agree(section(Uint8Array.from(randomTable(r, { abbrevs: 5, wild: false, bigCodes: false }))), 0, [8, 8, 5]).ok).toBe(true);
  });
});
