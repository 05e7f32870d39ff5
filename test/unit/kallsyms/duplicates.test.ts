// Duplicate-name counts of `ksym stats` (names occurring more than once, and the symbols that
// carry them): the WebAssembly table (parse.ts duplicateNames) against two references, a plain
// Map over the decoded names in this test and the index's own JavaScript table, on this
// machine's /proc/kallsyms, the corpus System.map and random names built to share lengths,
// prefixes and 4-byte words.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helpers without type declarations
import { rng as untypedRng } from '../../../fuzz/mutate.mjs';
import { duplicateNames } from '../../../server/src/core/kallsyms/parse';
import { buildIndex, type SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { have, liveKallsyms, SYSTEM_MAP } from '../../helpers/corpus';

const rng = untypedRng as (seed: number) => { int(n: number): number; chance(p: number): boolean; pick<T>(a: readonly T[]): T };

/** The reference: names counted in a Map. */
function reference(idx: SymbolIndex): { dupNames: number; dupSyms: number } {
  const times = new Map<string, number>();
  for (let i = 0; i < idx.count; i++) times.set(idx.nameOf(i), (times.get(idx.nameOf(i)) ?? 0) + 1);
  let dupNames = 0,
    dupSyms = 0;
  for (const t of times.values())
    if (t > 1) {
      dupNames++;
      dupSyms += t;
    }
  return { dupNames, dupSyms };
}

function check(idx: SymbolIndex): { dupNames: number; dupSyms: number } {
  const want = reference(idx);
  const x = idx as unknown as { names: Uint8Array; nameOff: Uint32Array; nameLen: Uint16Array; duplicatesHashed(): unknown };
  expect(duplicateNames(x.names, x.nameOff, x.nameLen, idx.count)).toEqual(want);
  expect(x.duplicatesHashed()).toEqual(want);
  const st = idx.stats();
  expect({ dupNames: st.duplicateNames, dupSyms: st.symbolsWithDuplicateNames }).toEqual(want);
  return want;
}

describe('duplicate names (ksym stats)', () => {
  const live = liveKallsyms();
  it.skipIf(!live)("this machine's /proc/kallsyms", () => {
    const d = check(buildIndex([{ file: '/proc/kallsyms', bytes: live!, kind: 'kallsyms' }]));
    expect(d.dupNames).toBeGreaterThan(0);
  });

  it.skipIf(!have(SYSTEM_MAP, 'the corpus System.map'))('the corpus System.map (1125 names, the known count)', () => {
    const idx = buildIndex([{ file: SYSTEM_MAP, bytes: readFileSync(SYSTEM_MAP), kind: 'system.map' }]);
    expect(check(idx).dupNames).toBe(1125);
  });

  it('random names sharing lengths, prefixes and words; empty, one and many symbols', () => {
    for (const [seed, count] of [
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 500],
      [5, 20_000],
    ]) {
      const r = rng(seed);
      const stems = ['do_sys_open', 'x', 'ab', 'abcd', 'abcde', 'vfs_read', '__pfx_vfs_read', 'a_long_name_of_forty_characters_exactly_'];
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        const stem = r.pick(stems);
        const name = r.chance(0.3) ? stem : `${stem}${r.chance(0.5) ? '.' : '_'}${r.int(count / 4 + 1)}`;
        lines.push(`ffffffff${(0x81000000 + i * 16).toString(16)} ${r.chance(0.5) ? 't' : 'T'} ${name}`);
      }
      const idx = buildIndex([{ file: `random-${seed}`, bytes: Buffer.from(lines.join('\n') + '\n'), kind: 'kallsyms' }]);
      expect(idx.count).toBe(count);
      check(idx);
    }
  });
});
