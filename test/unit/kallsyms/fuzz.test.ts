import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../server/src/core/common/errors';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { scanLine } from '../../../server/src/core/log/scan';
import { resolveFrame, resolveAddressToken } from '../../../server/src/core/log/resolve';
import { have, OOPS, SYSTEM_MAP } from '../../helpers/corpus';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const b = Uint8Array.from(src);
  const n = 1 + Math.floor(rnd() * 16);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 4)) {
      case 0:
        b[at] = Math.floor(rnd() * 256);
        break;
      case 1:
        b[at] = [0x20, 0x09, 0x0a, 0x5b, 0x5d, 0x30, 0x66][Math.floor(rnd() * 7)];
        break;
      case 2:
        return b.subarray(0, at); // truncation
      default:
        b.copyWithin(at, Math.floor(rnd() * b.length));
        break;
    }
  }
  return b;
}

describe('fuzz: kallsyms parser and resolution', () => {
  it.skipIf(!have(SYSTEM_MAP, 'kallsyms fuzz'))('mutated System.map slices only ever give an index or a FormatError', () => {
    const full = readFileSync(SYSTEM_MAP);
    const rnd = prng(1234);
    let indexes = 0;
    let formatErrors = 0;
    for (let i = 0; i < 300; i++) {
      const start = Math.floor(rnd() * (full.length - 20000));
      const slice = full.subarray(start, start + 20000);
      const bytes = mutate(slice, rnd);
      try {
        const idx = buildIndex([{ file: `mut${i}`, bytes, kind: rnd() < 0.5 ? 'kallsyms' : 'system.map' }]);
        indexes++;
        for (let k = 0; k < 20 && idx.count > 0; k++) {
          const a = idx.addressOf(Math.floor(rnd() * idx.count)) + BigInt(Math.floor(rnd() * 64));
          idx.resolve(a, rnd() < 0.5);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        formatErrors++;
      }
    }
    expect(indexes + formatErrors).toBe(300);
  });

  it('random bytes never throw anything but FormatError', () => {
    const rnd = prng(99);
    for (let i = 0; i < 300; i++) {
      const b = new Uint8Array(Math.floor(rnd() * 4096));
      for (let k = 0; k < b.length; k++) b[k] = rnd() < 0.9 ? 0x20 + Math.floor(rnd() * 95) : [0, 9, 10, 13][Math.floor(rnd() * 4)];
      try {
        buildIndex([{ file: 'rnd', bytes: b, kind: 'kallsyms' }]);
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
      }
    }
  });

  it.skipIf(!have(OOPS, 'log fuzz') || !have(SYSTEM_MAP, 'log fuzz'))(
    'mutated corpus log lines tokenize and resolve without throwing',
    () => {
      const idx = buildIndex([{ file: SYSTEM_MAP, bytes: readFileSync(SYSTEM_MAP), kind: 'system.map' }]);
      const lines = readdirSync(OOPS)
        .filter((f) => f.endsWith('.txt'))
        .flatMap((f) => readFileSync(join(OOPS, f), 'latin1').split('\n'));
      const rnd = prng(7);
      const enc = new TextEncoder();
      const dec = new TextDecoder('latin1');
      for (let i = 0; i < 3000; i++) {
        const l = dec.decode(mutate(enc.encode(lines[Math.floor(rnd() * lines.length)] + ' '), rnd));
        for (const t of scanLine(l)) {
          if (t.kind === 'frame') resolveFrame(idx, t);
          else if (t.kind === 'address') resolveAddressToken(idx, t, 0n);
        }
      }
    },
  );
});
