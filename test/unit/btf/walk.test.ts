/**
 * The BTF record walk (core/btf/walk.ts): the WebAssembly walk and the chunked scan
 * against the JavaScript walk on real, random and corrupted blobs; the embedded
 * module against walk.wat; `ksym btf --stats` (quickStatsSync, which reads raw files
 * only in part) against the reader on the same files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quickStatsSync } from '../../../server/src/core/btf/read';
import { parseBtf } from '../../../server/src/core/btf';
import { parseHeader } from '../../../server/src/core/btf/header';
import { Kind } from '../../../server/src/core/btf/kinds';
import { jsWalk, scanTypes, walkTypes, type TypeWalk } from '../../../server/src/core/btf/walk';
import { ROOT } from '../../helpers/corpus';

const LIVE = '/sys/kernel/btf/vmlinux';
const CORPUS_RAW = '/work/shared/corpus/debian-6.1.0-56-amd64/vmlinux-6.1.0-56-amd64.btf';
const dir = mkdtempSync(join(tmpdir(), 'btfwalk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

const TRAILING: Record<number, [number, number]> = {
  // kind: [fixed bytes, bytes per vlen]
  1: [4, 0],
  2: [0, 0],
  3: [12, 0],
  4: [0, 12],
  5: [0, 12],
  6: [0, 8],
  7: [0, 0],
  8: [0, 0],
  9: [0, 0],
  10: [0, 0],
  11: [0, 0],
  12: [0, 0],
  13: [0, 8],
  14: [4, 0],
  15: [0, 12],
  16: [0, 0],
  17: [4, 0],
  18: [0, 0],
  19: [0, 12],
};

/**
 * A random well-formed little-endian BTF blob: `n` records of every kind (some with
 * thousands of members, so records straddle the scan's 64 KiB chunks), names, type
 * references within range, DECL_TAGs named bpf_kfunc on FUNCs and on other kinds.
 */
function randomBlob(seed: number, n: number): Uint8Array {
  const r = rng(seed);
  const strs = ['', 'bpf_kfunc', 'bpf_fastcall', 'x', 'task_struct', 'do_thing'];
  const strOff: number[] = [];
  let strLen = 0;
  for (const s of strs) {
    strOff.push(strLen);
    strLen += s.length + 1;
  }
  const words: number[] = [];
  const kinds: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + r.int(19);
    const vlen = [4, 5, 6, 13, 15, 19].includes(k) ? (r.next() < 0.01 ? 3000 + r.int(4000) : r.int(6)) : 0;
    const name = r.next() < 0.5 ? 0 : strOff[1 + r.int(strs.length - 1)];
    const ref = k === Kind.DECL_TAG && r.next() < 0.8 ? 1 + r.int(Math.max(1, i)) : r.int(n + 1);
    words.push(k === Kind.DECL_TAG && r.next() < 0.7 ? strOff[1] : name, (k << 24) | vlen, ref);
    const [fixed, per] = TRAILING[k];
    const extra = (fixed + per * vlen) / 4;
    for (let w = 0; w < extra; w++)
      words.push(
        k === Kind.ARRAY && w < 2 ? r.int(n + 1) : k === Kind.DECL_TAG ? (r.next() < 0.7 ? 0xffffffff : r.int(4)) : r.int(1 << 30),
      );
    kinds.push(k);
  }
  const typeLen = words.length * 4;
  const out = new Uint8Array(24 + typeLen + strLen);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strLen, true);
  words.forEach((w, i) => dv.setUint32(24 + 4 * i, w >>> 0, true));
  out.set(new TextEncoder().encode(strs.join('\0') + '\0'), 24 + typeLen);
  return out;
}

function mutate(blob: Uint8Array, seed: number): Uint8Array {
  const r = rng(seed);
  const b = blob.slice(0, r.next() < 0.2 ? Math.max(24, blob.length - r.int(64)) : blob.length);
  const flips = 1 + r.int(4);
  for (let i = 0; i < flips; i++) {
    const at = 24 + r.int(Math.max(1, b.length - 24));
    b[at] = r.next() < 0.5 ? r.int(256) : b[at] ^ (1 << r.int(8));
  }
  return b;
}

function sections(b: Uint8Array) {
  const h = parseHeader(b, new DataView(b.buffer, b.byteOffset, b.byteLength), 'test');
  return { start: h.typeStart, end: h.typeEnd, strTotal: h.strEnd - h.strStart, le: h.littleEndian };
}

const plain = (w: TypeWalk | undefined) =>
  w && { ...w, offsets: Array.from(w.offsets), kindCounts: Array.from(w.kindCounts), declTags: Array.from(w.declTags) };

/** What scanTypes should give, from the JavaScript walk. */
function expectedScan(b: Uint8Array, w: TypeWalk | undefined) {
  if (!w) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    count: w.offsets.length,
    kinds: Array.from(w.offsets, (o) => dv.getUint8(o + 7) & 0x1f),
    kindCounts: Array.from(w.kindCounts),
    namedCount: w.namedCount,
    namedFuncs: w.namedFuncs,
    declTags: Array.from(w.declTags).flatMap((o) => [o, dv.getUint32(o, true), dv.getUint32(o + 8, true), dv.getUint32(o + 12, true)]),
    maxRef: w.maxRef,
  };
}

function scanOf(b: Uint8Array) {
  const { start, end, strTotal } = sections(b);
  const s = scanTypes((buf, pos, len) => buf.set(b.subarray(pos, pos + len)), start, end, strTotal);
  if (s === null) throw new Error('no WebAssembly');
  return s && { ...s, kinds: Array.from(s.kinds), kindCounts: Array.from(s.kindCounts), declTags: Array.from(s.declTags) };
}

function checkAll(b: Uint8Array, label: string): TypeWalk | undefined {
  let sec: ReturnType<typeof sections>;
  try {
    sec = sections(b);
  } catch {
    return undefined; // a truncated blob: the header already says so
  }
  const { start, end, strTotal, le } = sec;
  const js = jsWalk(b, start, end, strTotal, le);
  expect(plain(walkTypes(b, start, end, strTotal, le)), label).toEqual(plain(js));
  if (le) expect(scanOf(b), label).toEqual(expectedScan(b, js));
  return js;
}

describe('BTF walk', () => {
  it('embeds the compiled walk.wat (run node scripts/gen-wasm.mjs after editing it)', async () => {
    const gen = join(ROOT, 'scripts/gen-wasm.mjs');
    const { generate } = await import(gen);
    const want = await generate({ wat: 'server/src/core/btf/walk.wat', out: 'server/src/core/btf/walkwasm.ts', name: 'BTF_WALK_WASM' });
    expect(readFileSync(join(ROOT, 'server/src/core/btf/walkwasm.ts'), 'utf8')).toBe(want);
  });

  it.skipIf(!existsSync(LIVE))('the WebAssembly walk and scan equal the JavaScript walk on the live vmlinux BTF', () => {
    const w = checkAll(new Uint8Array(readFileSync(LIVE)), LIVE);
    expect(w!.offsets.length).toBeGreaterThan(1000);
  });

  it.skipIf(!existsSync(CORPUS_RAW))('... and on the corpus vmlinux BTF', () => {
    expect(checkAll(new Uint8Array(readFileSync(CORPUS_RAW)), CORPUS_RAW)).toBeDefined();
  });

  it('... on random blobs (records straddling 64 KiB chunks) and corrupted ones', () => {
    let valid = 0;
    for (let seed = 1; seed <= 24; seed++) {
      const blob = randomBlob(seed, seed % 6 === 0 ? 20000 : 300);
      expect(checkAll(blob, `seed ${seed}`)).toBeDefined();
      for (let m = 0; m < (seed % 6 === 0 ? 4 : 20); m++)
        if (checkAll(mutate(blob, seed * 1000 + m), `seed ${seed} mutation ${m}`)) valid++;
    }
    expect(valid).toBeGreaterThan(0); // some mutations keep the records well-formed
  });

  it('... on big-endian blobs (JavaScript only) and empty type sections', () => {
    const r = randomBlob(7, 50);
    const empty = r.slice();
    new DataView(empty.buffer).setUint32(12, 0, true);
    expect(plain(checkAll(empty, 'empty'))!.offsets).toEqual([]);
    const be = new Uint8Array(r.length);
    const src = new DataView(r.buffer);
    const dst = new DataView(be.buffer);
    const { start, end } = sections(r);
    be.set(r);
    for (let o = 0; o < 24; o += 4) dst.setUint32(o, src.getUint32(o, true), false);
    dst.setUint16(0, 0xeb9f, false);
    dst.setUint8(2, 1);
    dst.setUint8(3, 0);
    for (let o = start; o < end; o += 4) dst.setUint32(o, src.getUint32(o, true), false);
    const le = jsWalk(r, start, end, sections(r).strTotal, true);
    expect(plain(checkAll(be, 'big-endian'))).toEqual(plain(le));
  });
});

describe('ksym btf --stats (quickStatsSync)', () => {
  const same = (file: string) => {
    const s = parseBtf(new Uint8Array(readFileSync(file)), file).stats();
    const q = quickStatsSync(file);
    expect({ ...q, file: undefined }).toEqual({ ...s, file: undefined });
    return q;
  };

  it.skipIf(!existsSync(CORPUS_RAW))('reads a raw file in part and counts like the reader', () => {
    expect(same(CORPUS_RAW).types).toBeGreaterThan(1000);
  });

  it.skipIf(!existsSync(LIVE))('... the live vmlinux BTF too', () => {
    same(LIVE);
  });

  it('counts random files like the reader, kfuncs included, and fails like it', () => {
    let failures = 0;
    let kfuncs = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const blob = randomBlob(seed, seed % 3 === 0 ? 20000 : 400);
      const f = join(dir, `r${seed}.btf`);
      writeFileSync(f, blob);
      kfuncs += same(f).kfuncs;
      for (let m = 0; m < 10; m++) {
        const bad = mutate(blob, seed * 100 + m);
        writeFileSync(f, bad);
        let want: string | undefined;
        try {
          parseBtf(bad, f).stats();
        } catch (e) {
          want = (e as Error).message;
        }
        if (want === undefined) same(f);
        else {
          failures++;
          expect(() => quickStatsSync(f)).toThrow(want);
        }
      }
    }
    expect(failures).toBeGreaterThan(10);
    expect(kfuncs).toBeGreaterThan(0);
  });
});
