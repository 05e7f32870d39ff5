// `ksym stats` counts by type and by module, which the index takes from the build's column
// pass (parse.wat scan, or its JavaScript twin): against counts made in this test from the
// text lines themselves (the oracle: the kallsyms text), in order of first appearance by
// address, on this machine's /proc/kallsyms, the corpus System.map and unsorted multi-module
// text; with and without WebAssembly.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { useWasmKallsyms } from '../../../server/src/core/kallsyms/parse';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { liveKallsyms, REAL_SYSTEM_MAP } from '../../helpers/corpus';

/** Counts from the lines: by type in order of first appearance when sorted by address (stable), and by module. */
function fromLines(text: string): { byType: [string, number][]; modules: Map<string, number>; vmlinux: number } {
  const rows: { a: bigint; t: string; m: string; i: number }[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^([0-9a-f]{16}) (\S) (\S+)(?:\t\[(\S+)\])?$/.exec(l);
    if (m) rows.push({ a: BigInt('0x' + m[1]), t: m[2], m: m[4] ?? '', i });
  });
  rows.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : x.i - y.i));
  const byType = new Map<string, number>();
  const modules = new Map<string, number>();
  let vmlinux = 0;
  for (const r of rows) {
    byType.set(r.t, (byType.get(r.t) ?? 0) + 1);
    if (r.m) modules.set(r.m, (modules.get(r.m) ?? 0) + 1);
    else vmlinux++;
  }
  return { byType: [...byType], modules, vmlinux };
}

function check(text: string, kind: 'kallsyms' | 'system.map'): void {
  const want = fromLines(text);
  for (const wasm of [true, false]) {
    useWasmKallsyms(wasm);
    const st = buildIndex([{ file: 't', kind, bytes: Buffer.from(text, 'latin1') }]).stats();
    expect(Object.entries(st.byType)).toEqual(want.byType);
    expect(st.vmlinuxSymbols).toBe(want.vmlinux);
    expect(new Map(st.moduleList.map((m) => [m.name, m.symbols]))).toEqual(want.modules);
  }
}

afterEach(() => useWasmKallsyms(true));

describe('stats counts by type and module (from the column pass)', () => {
  const live = liveKallsyms();
  it.skipIf(!live)("this machine's /proc/kallsyms", () => check(live!.toString('latin1'), 'kallsyms'));

  it.skipIf(!existsSync(REAL_SYSTEM_MAP))('the corpus System.map', () => check(readFileSync(REAL_SYSTEM_MAP, 'latin1'), 'system.map'));

  it('no symbols at all (the index of --module only)', () => {
    const st = buildIndex([]).stats();
    expect([st.symbols, st.vmlinuxSymbols, st.byType, st.moduleList]).toEqual([0, 0, {}, []]);
  });

  it('unsorted text of several modules (the pass over the index order, not the source order)', () => {
    const types = ['t', 'T', 'd', 'D', 'b', 'r', 'W', 'u'];
    const mods = ['', 'xfs', 'ext4', 'bpf', '__builtin__kprobes'];
    const lines: string[] = [];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 3000; i++) {
      const m = mods[rnd(mods.length)];
      const a = (0xffffffffc0000000n + BigInt(rnd(1 << 24)) * 16n).toString(16);
      lines.push(`${a} ${types[rnd(types.length)]} sym_${i}${m ? `\t[${m}]` : ''}`);
    }
    check(lines.join('\n') + '\n', 'kallsyms');
  });
});
