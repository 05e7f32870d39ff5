// Without WebAssembly (node --jitless, a big-endian host) the kallsyms parse and the column
// passes run in JavaScript: the same index as with the wasm passes, column by column, on this
// machine's /proc/kallsyms, the corpus System.map and random unsorted multi-module input; and
// the CLI answers under node --jitless.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helpers without type declarations
import { rng as untypedRng } from '../../../fuzz/mutate.mjs';
import { columnPasses, useWasmKallsyms } from '../../../server/src/core/kallsyms/parse';
import { buildIndex, type SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { have, liveKallsyms, ROOT, SYSTEM_MAP } from '../../helpers/corpus';

const rng = untypedRng as (seed: number) => { int(n: number): number; chance(p: number): boolean; pick<T>(a: readonly T[]): T };
afterAll(() => useWasmKallsyms(true));

function columns(idx: SymbolIndex): unknown {
  const x = idx as unknown as Record<string, ArrayLike<number>>;
  const out: Record<string, unknown> = { count: idx.count, stats: idx.stats(), messages: idx.messages };
  for (const k of ['hi', 'lo', 'mod', 'type', 'size', 'nameOff', 'nameLen', 'order']) {
    expect(x[k], `index column ${k}`).toBeDefined(); // a renamed column must not compare as two undefineds
    out[k] = Array.from(x[k]);
  }
  return out;
}

function both(file: string, bytes: Uint8Array, kind: 'kallsyms' | 'system.map'): void {
  useWasmKallsyms(true);
  const a = columns(buildIndex([{ file, bytes, kind }]));
  useWasmKallsyms(false);
  const b = columns(buildIndex([{ file, bytes, kind }]));
  useWasmKallsyms(true);
  expect(b).toEqual(a);
}

describe('kallsyms without WebAssembly', () => {
  const live = liveKallsyms();
  it.skipIf(!live)("this machine's /proc/kallsyms: the same index", () => both('/proc/kallsyms', live!, 'kallsyms'));

  it.skipIf(!have(SYSTEM_MAP, 'the corpus System.map'))('the corpus System.map: the same index', () =>
    both(SYSTEM_MAP, readFileSync(SYSTEM_MAP), 'system.map'),
  );

  it('random unsorted input of several modules, ties and high halves: the same index', () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const lines: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const hi = r.pick(['ffffffff', 'ffffffff', 'ffffa0b0', '00000000']);
        const lo = (r.chance(0.1) ? 0x81000000 : 0x81000000 + r.int(1 << 24)).toString(16).padStart(8, '0');
        const mod = r.pick(['', '', '', '\t[xfs]', '\t[kvm]', '\t[__builtin__ftrace]']);
        lines.push(`${hi}${lo} ${r.pick(['t', 'T', 'd', 'b', 'r', 'W'])} sym_${r.int(800)}${mod}`);
      }
      both(`random-${seed}`, Buffer.from(lines.join('\n') + '\n'), 'kallsyms');
    }
  });

  it('the column passes: sizes at 2^32 boundaries and past them, per module', () => {
    const hi = Uint32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 7, 0xffffffff, 0xffffffff]);
    const lo = Uint32Array.from([0, 5, 5, 3, 0xffffffff, 0, 0xfffffffe, 0xffffffff, 1, 0, 0xffffffff]);
    const mod = Uint16Array.from([0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    const type = Uint8Array.from([0x74, 0x44, 0x64, 0x62, 0x54, 0x42, 0x74, 0x74, 0x74, 0x74, 0x74]);
    useWasmKallsyms(true);
    const a = columnPasses(hi, lo, mod, type, hi.length, 2);
    useWasmKallsyms(false);
    const b = columnPasses(hi, lo, mod, type, hi.length, 2);
    useWasmKallsyms(true);
    expect(b.scan).toEqual(a.scan);
    expect(Array.from(b.sizes!)).toEqual(Array.from(a.sizes!));
  });

  const cli = join(ROOT, 'dist/cli.js');
  it.skipIf(!existsSync(cli) || !live)('ksym lookup and stats answer under node --jitless', () => {
    const addr = /^([0-9a-f]+) T (vfs_read|schedule|do_syscall_64)$/m.exec(live!.toString('latin1'));
    const run = (...a: string[]) =>
      execFileSync(process.execPath, ['--jitless', cli, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const plain = (...a: string[]) => execFileSync(process.execPath, [cli, ...a], { encoding: 'utf8' });
    expect(run('stats')).toBe(plain('stats'));
    if (addr && !/^0+$/.test(addr[1])) expect(run('lookup', addr[2])).toBe(plain('lookup', addr[2]));
  });
});
