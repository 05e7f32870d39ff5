// The address order of the index (sortByAddress: long runs kept, short runs sorted natively,
// merges between two buffers) and the columns permuted into it, against a reference: a stable
// Array sort of the source lines by address, then a naive next-higher-address per module.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helpers without type declarations
import { rng as untypedRng } from '../../../fuzz/mutate.mjs';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';

/** The fuzz harness's seeded PRNG (mulberry32), the part of it used here. */
const rng = untypedRng as (seed: number) => { int(n: number): number; chance(p: number): boolean; pick<T>(a: readonly T[]): T };

interface Line {
  addr: bigint;
  type: string;
  name: string;
  mod: string;
}

const HIS = [0x00000000n, 0xffffffffn, 0xffffa0b0n];

/** Random kallsyms lines: long ascending runs (ties included) and short blocks in any order, few distinct addresses. */
function randomLines(seed: number, count: number, his = HIS): Line[] {
  const r = rng(seed);
  const out: Line[] = [];
  const mods = ['', '', 'xfs', 'nf_tables', 'kvm', 'bpf'];
  while (out.length < count) {
    const mod = r.pick(mods);
    const hi = r.chance(0.8) ? his[his.length > 1 ? 1 : 0] : r.pick(his);
    if (r.chance(0.4)) {
      // A long run (kept as it is by the sort): ascending, with equal neighbours.
      const len = 64 + r.int(200);
      let lo = BigInt(r.int(0x1000));
      for (let k = 0; k < len; k++) {
        if (!r.chance(0.2)) lo += BigInt(r.int(0x40));
        out.push({ addr: (hi << 32n) | lo, type: r.pick(['T', 't', 'D', 'b']), name: `r${out.length}`, mod });
      }
    } else {
      // A short block in symtab order, its addresses drawn from a small set (many duplicates),
      // sometimes across high halves.
      const len = 1 + r.int(40);
      for (let k = 0; k < len; k++) {
        const h = r.chance(0.1) ? r.pick(his) : hi;
        out.push({ addr: (h << 32n) | BigInt(r.int(64) * 0x10), type: r.pick(['t', 'd']), name: `s${out.length}`, mod });
      }
    }
  }
  return out.slice(0, count);
}

const hex = (a: bigint) => a.toString(16).padStart(16, '0');
const text = (lines: Line[]) => lines.map((l) => `${hex(l.addr)} ${l.type} ${l.name}${l.mod ? `\t[${l.mod}]` : ''}`).join('\n') + '\n';

/** Reference: stable sort of [source, line] positions by address; sizes to the next higher address of the same object. */
function reference(lines: Line[]): { order: number[]; sizes: number[] } {
  const order = lines.map((_, i) => i).sort((a, b) => (lines[a].addr < lines[b].addr ? -1 : lines[a].addr > lines[b].addr ? 1 : 0));
  const sizes = order.map((i, k) => {
    for (let j = k + 1; j < order.length; j++) {
      const o = lines[order[j]];
      if (o.mod !== lines[i].mod || o.addr === lines[i].addr) continue;
      const d = o.addr - lines[i].addr;
      return d >= 0xffffffffn ? 0xfffffffe : Number(d);
    }
    return 0xffffffff;
  });
  return { order, sizes };
}

function expectColumns(idx: ReturnType<typeof buildIndex>, lines: Line[], lineNo: number[], srcOf: number[]): void {
  const ref = reference(lines);
  expect(idx.count).toBe(lines.length);
  const got = Array.from({ length: idx.count }, (_, i) => idx.orderOf(i));
  expect(got).toEqual(ref.order);
  for (let i = 0; i < idx.count; i++) {
    const l = lines[ref.order[i]];
    const where = `symbol ${i} (${l.name})`;
    expect(idx.addressOf(i), where).toBe(l.addr);
    expect(idx.nameOf(i), where).toBe(l.name);
    expect(String.fromCharCode(idx.type[i]), where).toBe(l.type);
    expect(idx.moduleOf(i) ?? '', where).toBe(l.mod);
    expect(idx.line[i], where).toBe(lineNo[ref.order[i]]);
    expect(idx.src[i], where).toBe(srcOf[ref.order[i]]);
    expect(idx.size[i], where).toBe(ref.sizes[i]);
  }
}

describe('address order of the index', () => {
  it('matches a stable sort of random input (runs, short blocks, duplicate addresses, several high halves)', () => {
    for (const [seed, count, his] of [
      [1, 50, HIS],
      [2, 3000, HIS],
      [3, 10000, HIS],
      [7, 10000, [0xffffffffn]], // one high half: the short runs are sorted as one group
    ] as const) {
      const lines = randomLines(seed, count, [...his]);
      const idx = buildIndex([{ file: 'random', bytes: new TextEncoder().encode(text(lines)), kind: 'kallsyms' }]);
      expectColumns(
        idx,
        lines,
        lines.map((_, i) => i + 1),
        lines.map(() => 0),
      );
    }
  });

  it('puts equal addresses of different runs and of the short blocks in source order', () => {
    // Two long runs over the same addresses, short blocks at those addresses before, between and after them.
    const at = (k: number) => 0xffffffff81000000n + BigInt(k * 0x10);
    const run = (tag: string, mod: string) => Array.from({ length: 100 }, (_, k) => ({ addr: at(k), type: 't', name: `${tag}${k}`, mod }));
    const block = (tag: string, ks: number[]) => ks.map((k, j) => ({ addr: at(k), type: 't', name: `${tag}${j}`, mod: 'blk' }));
    const lines = [
      ...block('p', [50, 3, 50, 99, 0]),
      ...run('a', ''),
      ...block('q', [7, 3, 50, 3]),
      ...run('b', 'mod'),
      ...block('z', [99, 0, 50]),
    ];
    const idx = buildIndex([{ file: 'ties', bytes: new TextEncoder().encode(text(lines)), kind: 'kallsyms' }]);
    expectColumns(
      idx,
      lines,
      lines.map((_, i) => i + 1),
      lines.map(() => 0),
    );
  });

  it('keeps already sorted input as it is (no permutation)', () => {
    const lines = randomLines(4, 5000).sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const idx = buildIndex([{ file: 'sorted', bytes: new TextEncoder().encode(text(lines)), kind: 'kallsyms' }]);
    expect(idx.order).toEqual(Uint32Array.from(lines.map((_, i) => i)));
    expectColumns(
      idx,
      lines,
      lines.map((_, i) => i + 1),
      lines.map(() => 0),
    );
  });

  it('merges two sources in order, each object from the first source that has it', () => {
    const a = randomLines(5, 4000).filter((l) => l.mod !== 'kvm');
    const b = randomLines(6, 4000);
    const idx = buildIndex([
      { file: 'a', bytes: new TextEncoder().encode(text(a)), kind: 'kallsyms' },
      { file: 'b', bytes: new TextEncoder().encode(text(b)), kind: 'kallsyms' },
    ]);
    // Kept: all of a; of b only the objects a does not have (here: kvm).
    const inA = new Set(a.map((l) => l.mod));
    const keptB = b.map((l, i) => [l, i] as const).filter(([l]) => !inA.has(l.mod));
    const lines = [...a, ...keptB.map(([l]) => l)];
    const lineNo = [...a.map((_, i) => i + 1), ...keptB.map(([, i]) => i + 1)];
    const srcOf = [...a.map(() => 0), ...keptB.map(() => 1)];
    expect(keptB.length).toBeGreaterThan(0);
    // orderOf is the position among all parsed symbols (a, then b): map the reference to it.
    const ref = reference(lines);
    const global = [...a.map((_, i) => i), ...keptB.map(([, i]) => a.length + i)];
    expect(Array.from({ length: idx.count }, (_, i) => idx.orderOf(i))).toEqual(ref.order.map((k) => global[k]));
    for (let i = 0; i < idx.count; i++) {
      const k = ref.order[i];
      expect(idx.nameOf(i)).toBe(lines[k].name);
      expect(idx.addressOf(i)).toBe(lines[k].addr);
      expect(idx.line[i]).toBe(lineNo[k]);
      expect(idx.src[i]).toBe(srcOf[k]);
      expect(idx.size[i]).toBe(ref.sizes[i]);
    }
  });
});
