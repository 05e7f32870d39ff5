/**
 * A lookup's answer does not depend on what the reader did before: units are decoded lazily
 * (top level up to the function asked, subtrees on demand), their bytes are re-read from the
 * file through one scratch buffer, line programs are indexed on first use and names cached.
 * Oracle: a fresh reader per address (nothing decoded before it). The same addresses asked
 * in order, in reverse, and with a cache so small that units are evicted and decoded again
 * give the same answers, on the Debian vmlinux and xfs.ko. So does a function's subtree
 * walked pruned to the address (its first lookups) against the same subtree decoded whole
 * (later ones), there and on a gcc fixture of nested inline helpers, instruction by instruction.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDwarfFile } from '../../../server/src/core/dwarf/readFile';
import type { DwarfReader, SourceResult } from '../../../server/src/core/dwarf/reader';
import { PRUNED_WALKS } from '../../../server/src/core/dwarf/unit';
import { kernelData } from '../../helpers/kernelData';
import { haveTool } from './oracle';
import { rng, textSymbols } from './samples';

const kd = kernelData();
const xfs = kd?.modules.get('xfs');

const show = (r: SourceResult): string => JSON.stringify(r.kind === 'error' ? { kind: r.kind, reason: r.reason } : r);

function agree(
  open: (cacheBytes?: number) => DwarfReader,
  ask: (r: DwarfReader, i: number) => SourceResult,
  n: number,
  fresh: number,
): void {
  const fwd = open();
  const a = Array.from({ length: n }, (_, i) => show(ask(fwd, i)));
  const rev = open();
  const b: string[] = [];
  for (let i = n - 1; i >= 0; i--) b[i] = show(ask(rev, i));
  const tiny = open(1 << 16); // a unit or two: nearly every lookup decodes its unit again
  const c = Array.from({ length: n }, (_, i) => show(ask(tiny, i)));
  // each address asked until its function is decoded whole (the first lookups walk it pruned)
  const whole = open();
  const d = Array.from({ length: n }, (_, i) => {
    let x = '';
    for (let k = 0; k <= PRUNED_WALKS; k++) x = show(ask(whole, i));
    return x;
  });
  for (let i = 0; i < n; i++) {
    expect(b[i], `reverse order, address #${i}`).toBe(a[i]);
    expect(c[i], `evicting cache, address #${i}`).toBe(a[i]);
    expect(d[i], `function decoded whole, address #${i}`).toBe(a[i]);
  }
  for (let i = 0; i < fresh; i++) {
    const k = Math.floor((i * n) / fresh);
    const one = open();
    expect(show(ask(one, k)), `fresh reader, address #${k}`).toBe(a[k]);
    one.close();
  }
  expect(a.filter((x) => x.startsWith('{"kind":"found"')).length).toBeGreaterThan(n / 2);
  for (const r of [fwd, rev, tiny, whole]) r.close();
}

describe.skipIf(!kd)('DWARF lookups do not depend on the reader’s history', () => {
  it('the Debian vmlinux: 1,500 addresses (several per unit) in order, reversed, evicted, fresh', () => {
    const { syms, stext, etext } = textSymbols(kd!.systemMap);
    const r = rng(77);
    const span = Number(etext - stext);
    // half random, half near symbols (function entries and their calls) so units repeat
    const addrs = Array.from({ length: 1500 }, (_, i) =>
      i % 2 ? stext + BigInt(Math.floor(r() * span)) : syms[Math.floor(r() * syms.length)].addr + BigInt(Math.floor(r() * 64)),
    );
    agree(
      (cacheBytes) => readDwarfFile(kd!.vmlinux, cacheBytes ? { cacheBytes } : {}),
      (rd, i) => rd.lookup(addrs[i]),
      addrs.length,
      40,
    );
  });

  it.skipIf(!xfs)('the Debian xfs.ko: 800 (section, offset) pairs in order, reversed, evicted, fresh', () => {
    const probe = readDwarfFile(xfs!);
    const execs = probe.elf.sections.filter((s) => s.flags & 4 && s.size > 0);
    probe.close();
    const r = rng(78);
    const qs = Array.from({ length: 800 }, (_, i) => {
      const s = i % 5 ? execs.find((x) => x.name === '.text')! : execs[Math.floor(r() * execs.length)];
      return { s: s.name, off: Math.floor(r() * s.size) };
    });
    agree(
      (cacheBytes) => readDwarfFile(xfs!, cacheBytes ? { cacheBytes } : {}),
      (rd, i) => rd.lookupInSection(qs[i].s, qs[i].off),
      qs.length,
      40,
    );
  });
});

const gcc = haveTool('gcc') && haveTool('readelf');
if (!gcc) console.warn('skipping the pruned-walk fixture test: gcc or readelf missing');

describe.skipIf(!gcc)('a function walked pruned to the address against the same function decoded whole', () => {
  it('gcc -O2 nested inline helpers: every instruction address of .text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-prune-'));
    try {
      const src = join(dir, 'nest.c');
      writeFileSync(
        src,
        `static inline int sq(int x) { return x * x; }
static inline int add3(int a, int b, int c) { return sq(a) + sq(b) + c; }
static inline int pick(int a, int b) { if (a > b) return add3(a, b, 1); return sq(b - a); }
__attribute__((noinline)) int f(int *v, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) {
    if (v[i] > 3) s += add3(v[i], i, s);
    else { int t = sq(v[i]); s -= pick(t, n) + add3(t, n, i); }
  }
  return s;
}
__attribute__((noinline)) int g(int a) { return pick(a, 7) * add3(a, a, a); }
int main(int argc, char **argv) { int v[8] = { argc, 2, 5, 1, 9 }; (void)argv; return f(v, 8) + g(argc); }
`,
      );
      const exe = join(dir, 'nest');
      execFileSync('gcc', ['-g', '-O2', '-o', exe, src]);
      const m = /\]\s+\.text\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(
        execFileSync('readelf', ['-SW', exe], { encoding: 'utf8' }),
      )!;
      const lo = parseInt(m[1], 16),
        size = parseInt(m[2], 16);
      const first: string[] = [];
      const wholeR = readDwarfFile(exe);
      let inlined = 0;
      for (let a = lo; a < lo + size; a++) {
        const fresh = readDwarfFile(exe); // nothing decoded: the function's first, pruned walk
        const x = fresh.lookup(BigInt(a));
        fresh.close();
        first.push(show(x));
        if (x.kind === 'found' && x.frames.length > 1) inlined++;
        let y = '';
        for (let k = 0; k <= PRUNED_WALKS; k++) y = show(wholeR.lookup(BigInt(a)));
        expect(y, `0x${a.toString(16)}: decoded whole`).toBe(first[first.length - 1]);
      }
      wholeR.close();
      expect(inlined, 'addresses inside inlined helpers').toBeGreaterThan(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
