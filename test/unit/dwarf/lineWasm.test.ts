/**
 * The line-program first pass in WebAssembly (line.wat) against the JavaScript pass it
 * replaces (line.ts indexProgram, the reference): the same sequence index and checkpoints,
 * the same rows found, for every line program of gcc fixtures (DWARF 4 and 5, several
 * sections), of the Debian vmlinux and of every fetched module (relocated .debug_line), and
 * for mutated and truncated programs the same answer or the same error (the WebAssembly pass
 * gives up on anything unusual and the JavaScript pass decides).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SectionBytes } from '../../../server/src/core/dwarf/cursor';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { readLineTable, useWasmLineIndex, wasmLineCounts, type LineStrings } from '../../../server/src/core/dwarf/line';
import { fileSource } from '../../../server/src/core/dwarf/readFile';
import { ROOT } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { haveTool } from './oracle';
import { rng } from './samples';

afterAll(() => useWasmLineIndex(true));

interface Program {
  line: SectionBytes;
  offset: number;
  strs: LineStrings;
}

function programs(path: string): Program[] {
  const elf = new ElfView(fileSource(path));
  const ls = elf.section('.debug_line');
  if (!ls) return [];
  const line = elf.data(ls);
  const str = elf.section('.debug_str');
  const lstr = elf.section('.debug_line_str');
  const strs = { str: str && elf.data(str), lineStr: lstr && elf.data(lstr) };
  const out: Program[] = [];
  const dv = new DataView(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength);
  for (let p = 0; p + 4 <= line.bytes.length;) {
    out.push({ line, offset: p, strs });
    const n = dv.getUint32(p, true);
    if (n >= 0xfffffff0) break; // no 64-bit DWARF in these files
    p += n + 4;
  }
  return out;
}

type Outcome = { error: string } | { seq: number[]; ck: number[]; rows: unknown[] };

/** Index one program with one pass and look up `probes` per sequence (start, middle, last byte, past its end). */
function run(p: Program, wasm: boolean, probes: (seq: Float64Array) => number[]): Outcome {
  useWasmLineIndex(wasm);
  try {
    const t = readLineTable(p.line, p.offset, 8, '/comp', 'unit.c', p.strs);
    const { seq, checkpoints } = t.index();
    return { seq: [...seq], ck: [...checkpoints], rows: probes(seq).map((a) => t.find(a) ?? null) };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    useWasmLineIndex(true);
  }
}

function spread(seq: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 < seq.length; i += 5) {
    const lo = seq[i + 1],
      hi = seq[i + 2];
    out.push(lo, Math.floor((lo + hi) / 2), hi - 1, hi);
  }
  return out;
}

function same(p: Program, what: string): void {
  const a = run(p, true, spread);
  const b = run(p, false, spread);
  expect(a, `${what} .debug_line+0x${p.offset.toString(16)}`).toEqual(b);
}

describe('line program first pass: WebAssembly = JavaScript', () => {
  it('the embedded module is what scripts/gen-wasm.mjs makes of line.wat (run it after editing the .wat)', async () => {
    const { generate } = await import('../../../scripts/gen-wasm.mjs');
    const want = await generate({
      wat: 'server/src/core/dwarf/line.wat',
      out: 'server/src/core/dwarf/lineWasm.ts',
      name: 'DWARF_LINE_WASM',
    });
    expect(readFileSync(join(ROOT, 'server/src/core/dwarf/lineWasm.ts'), 'utf8')).toBe(want);
  });

  const gcc = haveTool('gcc');
  if (!gcc) console.warn('skipping the gcc line-program fixtures: gcc missing');
  const dir = mkdtempSync(join(tmpdir(), 'ksym-linewasm-'));
  it.skipIf(!gcc)('gcc -g -O2 objects, DWARF 4 and 5, one and several sections', () => {
    const src = join(dir, 'f.c');
    writeFileSync(
      src,
      `static inline int sq(int x) { return x * x; }
       __attribute__((cold, noinline)) int slow(int x) { return sq(x) + 1; }
       int f(int *a, int n) { int t = 0; for (int i = 0; i < n; i++) t += sq(a[i]) > 9 ? slow(a[i]) : a[i]; return t; }
       __attribute__((section(".init.text"))) int g(int x) { return f(&x, 1) * 3; }
       int main(void) { int a[3] = {1, 2, 3}; return f(a, 3) + g(2); }`,
    );
    let n = 0;
    for (const flags of [['-gdwarf-4'], ['-gdwarf-5'], ['-gdwarf-5', '-ffunction-sections'], ['-gdwarf-4', '-c'], ['-gdwarf-5', '-c']]) {
      const out = join(dir, `f${n++}.o`);
      execFileSync('gcc', ['-g', '-O2', ...flags, '-o', out, src]);
      const ps = programs(out);
      expect(ps.length).toBeGreaterThan(0);
      for (const p of ps) same(p, `${flags.join(' ')}`);
    }
  });

  const kd = kernelData();
  it.skipIf(!kd)(
    'every line program of the Debian vmlinux and of every fetched module',
    () => {
      let count = 0;
      const before = { ...wasmLineCounts };
      for (const f of [kd!.vmlinux, ...kd!.modules.values()]) {
        const ps = programs(f);
        expect(ps.length, f).toBeGreaterThan(0);
        for (const p of ps) {
          const a = run(p, true, spread);
          const b = run(p, false, spread);
          if (JSON.stringify(a) !== JSON.stringify(b)) expect(a, `${f} .debug_line+0x${p.offset.toString(16)}`).toEqual(b);
          count++;
        }
      }
      console.log(`line programs compared: ${count}`);
      expect(count).toBeGreaterThan(2000);
      // the WebAssembly pass indexed every real program (it never gave up to JavaScript)
      expect(wasmLineCounts.used - before.used).toBe(count);
      expect(wasmLineCounts.gaveUp - before.gaveUp).toBe(0);
    },
    240_000,
  );

  it.skipIf(!gcc)('mutated and truncated programs: the same answer or the same error', () => {
    const out = join(dir, 'm.o');
    execFileSync('gcc', ['-g', '-O2', '-gdwarf-5', '-ffunction-sections', '-o', out, join(dir, 'f.c')]);
    const [p] = programs(out);
    const bytes = p.line.bytes;
    const r = rng(15);
    // where the program starts (after the header): mutations there reach the opcode loop
    const t = readLineTable(p.line, p.offset, 8, '/comp', 'unit.c', p.strs);
    expect(t.index().seq.length).toBeGreaterThan(0);
    const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(p.offset, true) + 4;
    const special = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0c, 0x7f, 0x80, 0xff];
    let gaveErrors = 0;
    for (let i = 0; i < 1500; i++) {
      const m = bytes.slice(p.offset, p.offset + len);
      const k = 1 + Math.floor(r() * 4);
      for (let j = 0; j < k; j++) {
        const at = Math.floor(len / 3 + r() * (len - len / 3));
        m[at] = r() < 0.5 ? special[Math.floor(r() * special.length)] : Math.floor(r() * 256);
      }
      // some truncated: the unit length says more than there is
      const cut = i % 7 === 0 ? m.subarray(0, Math.floor(len / 2 + r() * (len / 2))) : m;
      const q: Program = { line: { ...p.line, bytes: cut }, offset: 0, strs: p.strs };
      // the same probes for both passes: the sequences' spread and one fixed random address
      const extra = Math.floor(r() * 2 ** 20);
      const fixed = () => (seq: Float64Array) => [...spread(seq), extra];
      const a = run(q, true, fixed());
      const b = run(q, false, fixed());
      expect(a, `mutation ${i}`).toEqual(b);
      if ('error' in b) gaveErrors++;
    }
    expect(gaveErrors).toBeGreaterThan(0); // the loop reached the error paths too
  });

  it.skipIf(!gcc)('a file index that is not one (negative, fractional, NaN: a hostile call_file) names no file', () => {
    const out = join(dir, 'n.o');
    execFileSync('gcc', ['-g', '-O2', '-gdwarf-5', '-c', '-o', out, join(dir, 'f.c')]);
    const [p] = programs(out);
    const t = readLineTable(p.line, p.offset, 8, '/comp', 'unit.c', p.strs);
    expect(t.fileName(1)).toMatch(/f\.c$/);
    for (const i of [-1, 0.5, NaN, Infinity, 2 ** 40]) expect(t.fileName(i), String(i)).toBeUndefined();
  });

  it('a program the WebAssembly pass gives up on is answered by the JavaScript pass', () => {
    // a DWARF 4 unit: version, header_length, min_inst 1, max_ops 1, default_is_stmt 1,
    // line_base -5, line_range 14, opcode_base 13 and its 12 standard lengths, no
    // directories, no files; then the opcodes
    const unit = (ops: number[]): Uint8Array => {
      const h = [1, 1, 1, -5 & 0xff, 14, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0];
      const body = [4, 0, h.length, 0, 0, 0, ...h, ...ops];
      return Uint8Array.from([body.length & 0xff, body.length >> 8, 0, 0, ...body]);
    };
    const cases = [
      // set_address with a 3-byte operand (not 1, 2, 4 or 8), a row, end_sequence
      // (the JavaScript pass reads an address of the unit's size there: bytes follow)
      [0, 4, 2, 0x10, 0x20, 0x30, 1, 0, 1, 1, 1, 1, 0, 1, 1],
      // set_address (8 bytes), set_file with a ULEB128 of 2^35 (past 32 bits), a row, end_sequence
      [0, 9, 2, 0, 0x10, 0, 0, 0, 0, 0, 0, 4, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x20, 0, 1, 1],
      // an address past 2^53: set_address 2^60
      [0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x20, 0, 1, 1],
      // an advance_line past 32 bits, then a row
      [0, 9, 2, 0, 0x10, 0, 0, 0, 0, 0, 0, 3, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 0, 1, 1],
    ];
    for (const ops of cases) {
      const b = unit(ops);
      const q: Program = {
        line: { file: 'synthetic', section: '.debug_line', fileOffset: 0, bytes: b, le: true, decompressed: false },
        offset: 0,
        strs: {},
      };
      const wa = run(q, true, spread);
      const js = run(q, false, spread);
      expect(wa, JSON.stringify(ops)).toEqual(js);
      expect('seq' in js ? js.seq.length : js.error, JSON.stringify(ops)).toBeGreaterThan(0);
    }
  });
});
