/**
 * C fixtures compiled here with gcc -g -O2 (static inline helpers, cold parts, a
 * .text.unlikely function, a noreturn call at a function end), as relocatable objects
 * (like a .ko, every section at 0) and linked executables, DWARF 4 and 5, compressed
 * (zlib, zstd) and 64-bit DWARF when gcc supports them. Oracles: llvm-symbolizer for the
 * linked executable (file, line, column, chain); addr2line -j SECTION for the objects.
 * Malformed inputs (truncated, mutated) give typed results or FormatErrors, quickly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DwarfReader } from '../../../server/src/core/dwarf/reader';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { bytesSource } from '../../../server/src/core/dwarf/source';
import { FormatError } from '../../../server/src/core/common/errors';
import { addr2line, diffLlvm, haveTool, llvmSymbolize } from './oracle';
import { rng } from './samples';

const SRC = `
#include <stdlib.h>
struct s { int a; int b[4]; };
static inline int helper2(int x) { return x * 3 + (x >> 2); }
static inline __attribute__((always_inline)) int helper(int x) { if (x > 10) return helper2(x) + 1; return helper2(x - 1); }
__attribute__((noinline, cold)) void rare(int x) { if (x) abort(); }
__attribute__((noinline, section(".text.unlikely"))) int slowpath(struct s *p, int n) {
  int t = 0; for (int i = 0; i < n; i++) t += helper(p->b[i & 3]); return t; }
__attribute__((noreturn, noinline)) void die(void) { abort(); }
__attribute__((noinline)) int work(struct s *p, int n) {
  int r = helper(n) + helper(p->a);
  if (__builtin_expect(n == 12345, 0)) { rare(n); r += slowpath(p, n); }
  if (r == 777) die();
  return r;
}
int main(int argc, char **argv) { struct s v = { argc, { 1, 2, 3, 4 } }; (void)argv; return work(&v, argc * 7); }
`;

const gcc = haveTool('gcc') && haveTool('llvm-symbolizer') && haveTool('addr2line');
if (!gcc) console.warn('skipping DWARF fixture tests: gcc, llvm-symbolizer or addr2line missing');

function gccAccepts(flag: string): boolean {
  return spawnSync('gcc', [flag, '-c', '-x', 'c', '-o', '/dev/null', '-'], { input: 'int x;' }).status === 0;
}

const variants: [string, string[]][] = [
  ['dwarf5', ['-gdwarf-5']],
  ['dwarf4', ['-gdwarf-4']],
  ['zlib', ['-gdwarf-5', '-gz=zlib']],
  ['zstd', ['-gdwarf-5', '-gz=zstd']],
  ['dwarf64', ['-gdwarf-5', '-gdwarf64']],
];

describe.skipIf(!gcc)('DWARF reader on gcc fixtures', () => {
  const dir = gcc ? mkdtempSync(join(tmpdir(), 'ksym-dwarf-')) : '';
  if (gcc) writeFileSync(join(dir, 'fx.c'), SRC);

  for (const [name, flags] of variants) {
    const ok = gcc && flags.every((f) => gccAccepts(f));
    it.skipIf(!ok)(`${name}: linked executable, every byte of .text vs llvm-symbolizer`, () => {
      const exe = join(dir, `fx-${name}`);
      execFileSync('gcc', ['-g', '-O2', ...flags, '-o', exe, join(dir, 'fx.c')]);
      const reader = DwarfReader.open(bytesSource(readFileSync(exe), exe));
      const text = reader.elf.sections.find((s) => s.name === '.text')!;
      const addrs: number[] = [];
      for (let a = text.addr; a < text.addr + text.size; a++) addrs.push(a);
      const o = llvmSymbolize(exe, addrs.map((a) => '0x' + a.toString(16)));
      let same = 0;
      const bad: string[] = [];
      addrs.forEach((a, i) => {
        const d = diffLlvm(reader.lookup(BigInt(a)), o[i]);
        if (!d) same++;
        else if (bad.length < 5) bad.push(`0x${a.toString(16)}: ${d}`);
      });
      console.log(`${name} executable: ${same}/${addrs.length} bytes agree with llvm-symbolizer${bad.length ? '\n  ' + bad.join('\n  ') : ''}`);
      expect(bad).toEqual([]);
      // An inline chain is found somewhere (helper2 < helper < work).
      const chains = addrs.map((a) => reader.lookup(BigInt(a))).filter((r) => r.kind === 'found' && r.frames.length >= 3);
      expect(chains.length).toBeGreaterThan(0);
    });

    // binutils 2.40 addr2line reads 64-bit DWARF objects as line 0 without a directory, so the
    // dwarf64 object is checked against the dwarf5 object (same code) read by ksym instead,
    // which is itself checked against addr2line above.
    it.skipIf(!ok || name !== 'dwarf64')(`${name}: relocatable object gives the same chains as the 32-bit DWARF object`, () => {
      const o64 = join(dir, 'fx-64.o'), o32 = join(dir, 'fx-32.o');
      execFileSync('gcc', ['-g', '-O2', ...flags, '-c', '-o', o64, join(dir, 'fx.c')]);
      execFileSync('gcc', ['-g', '-O2', '-gdwarf-5', '-c', '-o', o32, join(dir, 'fx.c')]);
      const a = DwarfReader.open(bytesSource(readFileSync(o64), o64)), b = DwarfReader.open(bytesSource(readFileSync(o32), o32));
      let n = 0;
      for (const s of a.elf.sections.filter((x) => x.flags & 4 && x.size > 0)) {
        for (let off = 0; off < s.size; off++) {
          const x = a.lookupInSection(s.name, off), y = b.lookupInSection(s.name, off);
          expect(JSON.stringify(x).replaceAll('fx-64', 'fx-32'), `${s.name}+${off}`).toBe(JSON.stringify(y));
          if (x.kind === 'found') n++;
        }
      }
      expect(n).toBeGreaterThan(100);
    });

    it.skipIf(!ok || name === 'dwarf64')(`${name}: relocatable object (sections at 0) vs addr2line -j SECTION`, () => {
      const obj = join(dir, `fx-${name}.o`);
      execFileSync('gcc', ['-g', '-O2', ...flags, '-c', '-o', obj, join(dir, 'fx.c')]);
      const reader = DwarfReader.open(bytesSource(readFileSync(obj), obj));
      expect(reader.isRelocatable).toBe(true);
      const execs = reader.elf.sections.filter((s) => s.flags & 4 && s.size > 0);
      expect(execs.map((s) => s.name)).toEqual(expect.arrayContaining(['.text', '.text.unlikely']));
      let same = 0, total = 0;
      const bad: string[] = [];
      for (const s of execs) {
        const offs = Array.from({ length: s.size }, (_, i) => i);
        const o = addr2line(obj, offs.map((x) => '0x' + x.toString(16)), s.name);
        offs.forEach((off, i) => {
          total++;
          const k = reader.lookupInSection(s.name, off);
          const of = o[i] ?? [];
          const theirs = of.map((f) => `${f.function}@${f.file}:${f.line}`).join(' < ');
          const mine = k.kind === 'found' ? k.frames.map((f) => `${f.dwarfFunction}@${f.file}:${f.line}`).join(' < ') : k.kind === 'no-function' && k.line ? `??@${k.line.file}:${k.line.line}` : '??@??:0';
          if (mine === theirs || (k.kind !== 'found' && of.length === 1 && of[0].function === '??')) same++;
          else if (bad.length < 5) bad.push(`${s.name}+0x${off.toString(16)}: ksym ${mine}\n    addr2line ${theirs}`);
        });
      }
      console.log(`${name} object: ${same}/${total} bytes agree with addr2line -j${bad.length ? '\n  ' + bad.join('\n  ') : ''}`);
      // Known open differences (see the report): padding after a cold noreturn function, where
      // addr2line still gives a line; a few DWARF 4 object bytes where addr2line drops an inline frame.
      expect(same / total).toBeGreaterThanOrEqual(0.94);
    });
  }

  it('malformed DWARF: truncated and mutated files give typed results, in bounded time', () => {
    const obj = join(dir, 'fx-m.o');
    execFileSync('gcc', ['-g', '-O2', '-gdwarf-5', '-c', '-o', obj, join(dir, 'fx.c')]);
    const good = readFileSync(obj);
    const r = rng(7);
    const t = performance.now();
    let errors = 0, results = 0;
    for (let i = 0; i < 300; i++) {
      const b = new Uint8Array(good);
      const cut = i % 3 === 0 ? Math.floor(r() * b.length) : b.length;
      for (let k = 0; k < 1 + Math.floor(r() * 20); k++) b[Math.floor(r() * cut)] = Math.floor(r() * 256);
      try {
        const rd = DwarfReader.open(bytesSource(b.subarray(0, cut), 'mutated.o'));
        for (const s of rd.elf.sections.filter((x) => x.flags & 4)) {
          for (let off = 0; off < Math.min(s.size, 64); off += 7) {
            const res = rd.lookupInSection(s.index, off);
            results++;
            if (res.kind === 'error') {
              expect(res.error).toBeInstanceOf(FormatError);
              expect(res.error.file).toBe('mutated.o');
            }
          }
        }
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        errors++;
      }
    }
    const ms = performance.now() - t;
    console.log(`malformed: 300 inputs, ${errors} refused at open, ${results} lookups, ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(20000);
  });

  it('ELF view: no DWARF is a FormatError naming the file', () => {
    const obj = join(dir, 'nodebug.o');
    execFileSync('gcc', ['-O2', '-c', '-o', obj, join(dir, 'fx.c')]);
    expect(() => DwarfReader.open(bytesSource(readFileSync(obj), obj))).toThrow(/no DWARF/);
    expect(new ElfView(bytesSource(readFileSync(obj), obj)).isRelocatable).toBe(true);
  });
});
