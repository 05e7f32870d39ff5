/**
 * ET_REL sections are relocated by range: a slice (or a unit read into the scratch buffer)
 * gets only the relocations inside it, a field straddling the slice's edge written only where
 * it lies inside. Oracle: a plain reference in this test (readelf's view of the file: every
 * RELA entry applied in turn with BigInt, S = the section's synthetic base + st_value), on a
 * gcc -c object and on the Debian xfs.ko when fetched. Slices are cut at random and right
 * through relocated fields (1..7 bytes into one). The deferred read (raw bytes, then patch()
 * per field, as the unit walk reads them) must give the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ElfView, SECTION_STRIDE, type ElfSectionHeader } from '../../../server/src/core/dwarf/elf';
import { fileSource } from '../../../server/src/core/dwarf/readFile';
import { bytesSource } from '../../../server/src/core/dwarf/source';
import { kernelData } from '../../helpers/kernelData';
import { haveTool } from './oracle';
import { rng } from './samples';

/** Every RELA entry for `target` applied in turn to a copy of its raw bytes (x86_64: 1 = 64, 10/11 = 32). */
function reference(file: Uint8Array, elf: ElfView, target: ElfSectionHeader): { bytes: Uint8Array; offs: number[]; sizes: number[] } {
  const out = file.slice(target.offset, target.offset + target.size);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const odv = new DataView(out.buffer);
  const offs: number[] = [];
  const sizes: number[] = [];
  for (const r of elf.sections) {
    if (r.type !== 4 || r.info !== target.index) continue;
    const st = elf.sections[r.link];
    for (let o = r.offset; o + 24 <= r.offset + r.size; o += 24) {
      const off = Number(dv.getBigUint64(o, true));
      const info = dv.getBigUint64(o + 8, true);
      const add = dv.getBigInt64(o + 16, true);
      const type = Number(info & 0xffffffffn),
        sym = Number(info >> 32n);
      if (type === 0) continue;
      const so = st.offset + sym * 24;
      const shndx = dv.getUint16(so + 6, true);
      const value = dv.getBigUint64(so + 8, true);
      const base = shndx > 0 && shndx < 0xff00 && elf.sections[shndx].flags & 2 ? BigInt(shndx * SECTION_STRIDE) : 0n;
      const v = base + value + add;
      if (type === 1) odv.setBigUint64(off, BigInt.asUintN(64, v), true);
      else odv.setUint32(off, Number(BigInt.asUintN(32, v)), true);
      offs.push(off);
      sizes.push(type === 1 ? 8 : 4);
    }
  }
  return { bytes: out, offs, sizes };
}

function checkSection(path: string, name: string, cuts: number): void {
  const file = new Uint8Array(readFileSync(path));
  const elfFile = new ElfView(fileSource(path));
  const elfMem = new ElfView(bytesSource(file, path));
  const sec = elfFile.section(name)!;
  expect(sec).toBeDefined();
  const { bytes: ref, offs, sizes } = reference(file, elfFile, sec);
  expect(offs.length).toBeGreaterThan(0);
  // whole section, both sources; the in-memory source's bytes are left as they were
  const before = file.slice();
  expect(Buffer.compare(elfFile.data(sec).bytes, ref)).toBe(0);
  expect(Buffer.compare(elfMem.data(sec).bytes, ref)).toBe(0);
  const r = rng(offs.length);
  const sorted = offs.map((o, k) => [o, sizes[k]] as [number, number]).sort((x, y) => x[0] - y[0]);
  const scratch = new Uint8Array(sec.size + 64);
  for (let i = 0; i < cuts; i++) {
    // a window starting or ending inside a relocated field, or anywhere
    const f = offs[Math.floor(r() * offs.length)] + 1 + Math.floor(r() * 7);
    const a = i % 3 === 0 ? Math.floor(r() * sec.size) : i % 3 === 1 ? f : Math.max(0, f - 1 - Math.floor(r() * 300));
    const b = i % 3 === 2 ? Math.min(sec.size, f) : Math.min(sec.size, a + 1 + Math.floor(r() * 400));
    if (b <= a || a >= sec.size) continue;
    const want = ref.subarray(a, b);
    for (const elf of [elfFile, elfMem]) {
      expect(Buffer.compare(elf.slice(sec, a, b - a).bytes, want), `${name} slice [0x${a.toString(16)}, 0x${b.toString(16)})`).toBe(0);
      const at = 13 + (i % 17);
      elf.sliceInto(sec, a, b - a, scratch, at);
      expect(Buffer.compare(scratch.subarray(at, at + b - a), want), `${name} sliceInto [0x${a.toString(16)}, 0x${b.toString(16)})`).toBe(
        0,
      );
    }
    // read deferred (the unit walk's path): the raw bytes, then patch() on every relocated
    // field inside the window, in random order, one of them twice: the same bytes as
    // relocated up front (fields cut by the window's edges: never read by a reader, not checked)
    const at = 5 + (i % 11);
    const d = elfFile.sliceIntoDeferred(sec, a, b - a, scratch, at);
    expect(d?.patch, `${name}: deferred read gives a patch`).toBeDefined();
    expect(Buffer.compare(scratch.subarray(at, at + b - a), file.subarray(sec.offset + a, sec.offset + b))).toBe(0);
    let lo = 0,
      hi = sorted.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (sorted[m][0] < a) lo = m + 1;
      else hi = m;
    }
    const inside: [number, number][] = [];
    for (let k = lo; k < sorted.length && sorted[k][0] < b; k++) if (sorted[k][0] + sorted[k][1] <= b) inside.push(sorted[k]);
    for (let j = inside.length - 1; j > 0; j--) {
      const k = Math.floor(r() * (j + 1));
      [inside[j], inside[k]] = [inside[k], inside[j]];
    }
    for (const [o, z] of [...inside, ...inside.slice(0, 1)]) d!.patch!(at + o - a, z);
    for (const [o, z] of inside)
      for (let q = o; q < o + z; q++)
        expect(scratch[at + q - a], `${name} deferred+patch byte 0x${q.toString(16)} of [0x${a.toString(16)}, 0x${b.toString(16)})`).toBe(
          ref[q],
        );
  }
  expect(Buffer.compare(file, before)).toBe(0);
}

const gcc = haveTool('gcc');
if (!gcc) console.warn('skipping ranged-relocation fixture test: gcc missing');

describe('ET_REL relocations applied by range', () => {
  it.skipIf(!gcc)('a gcc -c object: slices equal every relocation applied in turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-reloc-'));
    const src = join(dir, 'r.c');
    writeFileSync(
      src,
      `struct big { long a[9]; const char *name; };
       static inline long twice(long x) { return 2 * x; }
       __attribute__((section(".text.unlikely"))) long cold(struct big *b) { return twice(b->a[3]); }
       long hot(struct big *b, int n) { long t = 0; for (int i = 0; i < n; i++) t += twice(b->a[i % 9]); return t + cold(b); }
       const char *nm(struct big *b) { return b->name; }`,
    );
    const obj = join(dir, 'r.o');
    execFileSync('gcc', ['-g', '-O2', '-c', '-o', obj, src]);
    for (const s of ['.debug_info', '.debug_line', '.debug_rnglists', '.debug_aranges'])
      if (new ElfView(fileSource(obj)).section(s)?.size) checkSection(obj, s, 600);
    // the same object with its .rela.debug_info entries in reverse order: not sorted by
    // offset, so the reader sorts them itself (the other path)
    const bytes = new Uint8Array(readFileSync(obj));
    const elf = new ElfView(bytesSource(bytes));
    const rela = elf.sections.find((s) => s.name === '.rela.debug_info')!;
    const n = Math.floor(rela.size / 24);
    const entries = Array.from({ length: n }, (_, i) => bytes.slice(rela.offset + i * 24, rela.offset + (i + 1) * 24));
    entries.reverse().forEach((e, i) => bytes.set(e, rela.offset + i * 24));
    const rev = join(dir, 'rev.o');
    writeFileSync(rev, bytes);
    checkSection(rev, '.debug_info', 600);
  });

  const kd = kernelData();
  const xfs = kd?.modules.get('xfs');
  it.skipIf(!xfs)('the Debian xfs.ko: .debug_info and .debug_line slices equal every relocation applied in turn', () => {
    checkSection(xfs!, '.debug_info', 3000);
    checkSection(xfs!, '.debug_line', 1000);
  });
});
