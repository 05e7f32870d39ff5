/**
 * A lookup's answer does not depend on what the reader did before: units are decoded lazily
 * (top level up to the function asked, subtrees on demand), their bytes are re-read from the
 * file through one scratch buffer, line programs are indexed on first use and names cached.
 * Oracle: a fresh reader per address (nothing decoded before it). The same addresses asked
 * in order, in reverse, and with a cache so small that units are evicted and decoded again
 * give the same answers, on the Debian vmlinux and xfs.ko.
 */
import { describe, expect, it } from 'vitest';
import { readDwarfFile } from '../../../server/src/core/dwarf/readFile';
import type { DwarfReader, SourceResult } from '../../../server/src/core/dwarf/reader';
import { kernelData } from '../../helpers/kernelData';
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
  for (let i = 0; i < n; i++) {
    expect(b[i], `reverse order, address #${i}`).toBe(a[i]);
    expect(c[i], `evicting cache, address #${i}`).toBe(a[i]);
  }
  for (let i = 0; i < fresh; i++) {
    const k = Math.floor((i * n) / fresh);
    const one = open();
    expect(show(ask(one, k)), `fresh reader, address #${k}`).toBe(a[k]);
    one.close();
  }
  expect(a.filter((x) => x.startsWith('{"kind":"found"')).length).toBeGreaterThan(n / 2);
  for (const r of [fwd, rev, tiny]) r.close();
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
