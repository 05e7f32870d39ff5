/** `kfunc:` queries and `ksym search --kfuncs` against bpftool's bpf_kfunc decl tags. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../../../server/src/core/btf';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { kfuncQuery, searchKfuncs } from '../../../server/src/core/search/kfuncs';
import { searchSources } from '../../../server/src/core/search/sources';
import { liveKallsyms } from '../../helpers/corpus';

const BTF = '/sys/kernel/btf/vmlinux';
const K = liveKallsyms();
const OK = existsSync(BTF) && !!K && spawnSync('sh', ['-c', 'command -v bpftool']).status === 0;
if (!OK) console.warn('skipping kfunc search tests: needs /sys/kernel/btf/vmlinux, /proc/kallsyms and bpftool');

describe.skipIf(!OK)('kfunc search', () => {
  it('the kfunc: prefix', () => {
    expect(kfuncQuery('kfunc: bpf_obj')).toEqual({ query: 'bpf_obj', kfuncs: true });
    expect(kfuncQuery('bpf_obj')).toEqual({ query: 'bpf_obj', kfuncs: false });
  });

  it('finds exactly the bpftool-tagged kfuncs matching the query', () => {
    const raw = execFileSync('bpftool', ['btf', 'dump', 'file', BTF, 'format', 'raw'], { maxBuffer: 1 << 30, encoding: 'utf8' });
    const names = new Map<number, string>();
    const tagged = new Set<string>();
    const tags: number[] = [];
    for (const line of raw.split('\n')) {
      const m = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
      if (!m) continue;
      if (m[2] === 'FUNC') names.set(Number(m[1]), m[3]);
      if (m[2] === 'DECL_TAG' && m[3] === 'bpf_kfunc' && / component_idx=-1/.test(m[4])) tags.push(Number(/type_id=(\d+)/.exec(m[4])![1]));
    }
    for (const t of tags) tagged.add(names.get(t)!);
    const btf = parseBtf(new Uint8Array(readFileSync(BTF)), BTF);
    const index = buildIndex([{ file: '/proc/kallsyms', bytes: new Uint8Array(K!), kind: 'kallsyms' }]);
    const sources = searchSources({ index, btf, modules: [] });
    const hits = searchKfuncs(sources, 'task', { cap: 1000 });
    const got = new Set(hits.map((h) => h.name));
    const want = [...tagged].filter((n) => n.includes('task'));
    expect(want.length).toBeGreaterThan(3);
    for (const n of got) expect(tagged.has(n), n).toBe(true);
    for (const n of want) expect(got.has(n), n).toBe(true);
    expect(searchKfuncs(sources, '', { cap: 5000 }).length).toBeGreaterThan(0);
  });
});
