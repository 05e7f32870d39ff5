// Differential test of the kallsyms parser: its fast path (canonical lines, names left in the
// text) and its general line parser must together give exactly what a plain, independent
// reading of the line grammar gives, on real files and on line-level mutations of them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKallsymsInto, SymbolColumns, latin1, useWasmKallsyms } from '../../../server/src/core/kallsyms/parse';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { have, liveKallsyms, REAL_SYSTEM_MAP } from '../../helpers/corpus';

interface Row {
  line: number;
  addr: string;
  type: string;
  name: string;
  mod: string;
}

/**
 * The grammar, read line by line with regular expressions: ADDR (1-16 hex digits) SP TYPE SP
 * NAME (up to TAB/SP) [TAB/SP* '[' MODULE (up to the first ']') ']' anything]; one CR before the
 * LF is dropped; blank lines are skipped; the stub System.map line is not a symbol.
 */
function reference(text: string): { rows: Row[]; bad: number[] } {
  const rows: Row[] = [];
  const bad: number[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l === '') return;
    const m = /^([0-9a-fA-F]{1,16}) ([A-Za-z?-]) ([^\t ]+)(.*)$/s.exec(l);
    if (!m || m[3].length > 0xffff) return void bad.push(i + 1);
    const addr = m[1].toLowerCase().padStart(16, '0');
    if (rows.length === 0 && addr === 'ffffffffffffffff' && /real System\.map/i.test(l.slice(l.indexOf(m[3])))) return;
    const rest = m[4].replace(/^[\t ]+/, '');
    let mod = '';
    if (rest !== '') {
      const mm = /^\[([^\]]+)\]/s.exec(rest);
      if (!mm) return void bad.push(i + 1);
      mod = mm[1];
    }
    rows.push({ line: i + 1, addr, type: m[2], name: m[3], mod });
  });
  return { rows, bad: bad.slice(0, 100) }; // the parser keeps the first 100 problems
}

function parsed(text: string, window?: number): { rows: Row[]; bad: number[] } {
  const cols = new SymbolColumns(16);
  const bytes = Buffer.from(text, 'latin1');
  const report = parseKallsymsInto(cols, bytes, 'fixture', 'kallsyms', 0, window);
  const rows: Row[] = [];
  for (let i = 0; i < cols.n; i++) {
    rows.push({
      line: cols.line[i],
      addr: cols.hi[i].toString(16).padStart(8, '0') + cols.lo[i].toString(16).padStart(8, '0'),
      type: String.fromCharCode(cols.type[i]),
      name: latin1(cols.names, cols.nameOff[i], cols.nameOff[i] + cols.nameLen[i]),
      mod: cols.modules[cols.mod[i]],
    });
  }
  // Every rejected line is counted; the first 100 are kept with their reasons.
  expect(report.problems.length).toBe(Math.min(report.problemCount, 100));
  return { rows, bad: report.problems.map((p) => p.line) };
}

/** Deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const MUTATIONS: ((l: string, r: () => number) => string)[] = [
  (l, r) => {
    const p = Math.floor(r() * l.length);
    return l.slice(0, p) + ' ' + l.slice(p + 1);
  }, // a space anywhere
  (l, r) => {
    const p = Math.floor(r() * l.length);
    return l.slice(0, p) + '\t' + l.slice(p);
  }, // a TAB anywhere
  (l) => l + '\r', // CRLF
  (l) => l.replace(/^0*/, '').replace(/^ffffffff/, ''), // short addresses
  (l) => 'f' + l, // 17 digits
  (l) => l + '\t[mod_' + (l.length % 7) + ']', // a module suffix
  (l) => l + '\t[mod]x', // text after the module
  (l) => l + '\t[mod', // unterminated module
  (l) => l + '\t[]', // empty module
  (l) => l + '  [mod a]', // spaces before and inside the module
  (l) => l + ' trailing', // text after the name
  (l) => l.slice(0, 19), // no name
  (l) => l.slice(0, 17), // no type
  (l) => l.slice(0, 16) + ' # ' + l.slice(19), // bad type
  (l) => l.replace(/ [A-Za-z] /, ' \x01 '), // control character as the type
  (l) => l + '\x01\x7f\xe9', // control and high bytes in the name
  (l) => l.replace(/^(.{5})./, '$1g'), // a non-hex digit
  () => '', // blank line
  () => 'ffffffffffffffff B The real System.map is in the linux-image-6.1.0-dbg package', // the stub line
  (l) => l.replace(/\]$/, '] [x]'),
];

function mutate(text: string, seed: number, rate: number): string {
  const r = rng(seed);
  return text
    .split('\n')
    .map((l) => (l !== '' && r() < rate ? MUTATIONS[Math.floor(r() * MUTATIONS.length)](l, r) : l))
    .join('\n');
}

describe('kallsyms parser against an independent reading of the grammar', () => {
  const synthetic = [
    'ffffffff81000000 T _stext',
    'ffffffff81000010 t a_function',
    'ffffffffc0001000 t mod_fn\t[some_mod]',
    'ffffffffc0001010 d mod_data\t[some_mod]',
    'ffffffffc0100000 t bpf_prog_6deef7357e7b4530_prog1\t[bpf]',
    '00000000c1000000 T thirty_two_bit_padded',
    'c1000010 T eight_digits',
    '',
  ].join('\n');

  it('agrees on a hand-made file and on 400 mutations of it, with windows of every size', () => {
    expect(parsed(synthetic)).toEqual(reference(synthetic));
    for (let seed = 1; seed <= 400; seed++) {
      const m = mutate(synthetic, seed, 0.6);
      // Small windows cut lines at every place (64 bytes is the smallest the parser takes).
      const window = 64 + (seed % 97);
      const ref = reference(m);
      expect(parsed(m), `seed ${seed}:\n${JSON.stringify(m)}`).toEqual(ref);
      expect(parsed(m, window), `seed ${seed}, window ${window}:\n${JSON.stringify(m)}`).toEqual(ref);
    }
  });

  it('handles lines longer than a window and files without a final newline', () => {
    const long = 'ffffffff81000000 T ' + 'n'.repeat(300) + '\nffffffff81000010 t x\t[' + 'm'.repeat(200) + ']\nffffffff81000020 t last';
    for (const window of [64, 100, 150, 1 << 21]) expect(parsed(long, window), `window ${window}`).toEqual(reference(long));
  });

  it('agrees on the corpus System.map and on mutations of a slice of it', () => {
    if (!have(REAL_SYSTEM_MAP, 'System.map differential test')) return;
    const text = readFileSync(REAL_SYSTEM_MAP, 'latin1');
    const ref = reference(text);
    expect(ref.rows.length).toBeGreaterThan(90000);
    expect(parsed(text)).toEqual(ref);
    expect(parsed(text, 4093)).toEqual(ref);
    const slice = text.split('\n').slice(20000, 22000).join('\n');
    for (let seed = 1; seed <= 30; seed++) {
      const m = mutate(slice, seed * 7919, 0.2);
      const r = reference(m);
      expect(parsed(m), `seed ${seed}`).toEqual(r);
      expect(parsed(m, 1000 + seed * 37), `seed ${seed}, small window`).toEqual(r);
    }
  });

  it('agrees on the running kernel /proc/kallsyms', () => {
    const live = liveKallsyms();
    if (!live) return;
    const text = live.toString('latin1');
    expect(parsed(text)).toEqual(reference(text));
  });

  it('keeps names readable after they move out of the text (compactNames), for several sources', () => {
    const a = Buffer.from(synthetic, 'latin1');
    const b = Buffer.from('ffffffff81000020 t from_map\nffffffff81000030 t another\n', 'latin1');
    const index = buildIndex([
      { file: 'a', bytes: a, kind: 'kallsyms' },
      { file: 'b', bytes: b, kind: 'system.map' },
    ]);
    const before = Array.from({ length: index.count }, (_, i) => index.nameOf(i));
    index.compactNames();
    expect(Array.from({ length: index.count }, (_, i) => index.nameOf(i))).toEqual(before);
    // The compacted buffer holds the names only.
    expect(index.names.length).toBe(before.reduce((s, n) => s + n.length, 0));
    expect(index.byNameAll('a_function')).toHaveLength(1);
  });
});

describe('index construction passes (wasm) against a straightforward computation', () => {
  /** Size of each address-ordered symbol: next higher address in the same module, by BigInt. */
  function naiveSizes(index: ReturnType<typeof buildIndex>): (number | undefined)[] {
    const out: (number | undefined)[] = [];
    for (let i = 0; i < index.count; i++) {
      const a = index.addressOf(i);
      let next: bigint | undefined;
      for (let j = i + 1; j < index.count; j++) {
        if (index.mod[j] !== index.mod[i]) continue;
        const b = index.addressOf(j);
        if (b > a) {
          next = b;
          break;
        }
      }
      out.push(next === undefined ? undefined : next - a >= 0xffffffffn ? 0xfffffffe : Number(next - a));
    }
    return out;
  }
  const sizesOf = (index: ReturnType<typeof buildIndex>) =>
    Array.from({ length: index.count }, (_, i) => (index.size[i] === 0xffffffff ? undefined : index.size[i]));

  it('sizes across 4 GiB boundaries, aliases, modules, unsorted input', () => {
    const text = [
      '00000000fffffff0 t below_4g',
      '0000000100000010 t above_4g',
      '0000000100000010 t above_alias',
      '0000000300000000 t far',
      'ffffffffc0001000 t m1\t[a]',
      'ffffffffc0000000 t m0\t[a]',
      'ffffffffc0000800 t b0\t[b]',
      'ffffffffc0000800 t b0_alias\t[b]',
      'ffffffffc0002000 t m2\t[a]',
      '0000000000001000 t low',
      '',
    ].join('\n');
    const index = buildIndex([{ file: 't', bytes: Buffer.from(text), kind: 'kallsyms' }]);
    expect(sizesOf(index)).toEqual(naiveSizes(index));
    expect(index.nameOf(0)).toBe('low');
  });

  it('sizes of the corpus System.map', () => {
    if (!have(REAL_SYSTEM_MAP, 'System.map sizes')) return;
    const bytes = readFileSync(REAL_SYSTEM_MAP);
    // Every 50th line keeps the naive check quadratic-free enough.
    const text = bytes
      .toString('latin1')
      .split('\n')
      .filter((_, i) => i % 50 === 0)
      .join('\n');
    const index = buildIndex([{ file: 's', bytes: Buffer.from(text, 'latin1'), kind: 'system.map' }]);
    expect(index.count).toBeGreaterThan(1000);
    expect(sizesOf(index)).toEqual(naiveSizes(index));
  });
});

describe('address order against a plain stable sort', () => {
  it('mixes of long sorted runs, short runs, equal addresses and several high halves', () => {
    const r = rng(99);
    for (let round = 0; round < 40; round++) {
      const lines: string[] = [];
      const his = ['ffffffff', '00000000', 'ffffff80', '00000001'].slice(0, 1 + (round % 4));
      let a = 0x81000000;
      const n = 50 + Math.floor(r() * 3000);
      while (lines.length < n) {
        if (r() < 0.5) {
          // a long ascending run (vmlinux-like), some equal neighbours
          const len = 64 + Math.floor(r() * 400);
          for (let k = 0; k < len; k++) {
            if (r() > 0.2) a += 1 + Math.floor(r() * 64);
            lines.push(`${his[0]}${(a >>> 0).toString(16).padStart(8, '0')} t s${lines.length}`);
          }
        } else {
          // a block in no order (module symtab order), from any high half, with duplicates
          const len = 1 + Math.floor(r() * 80);
          for (let k = 0; k < len; k++) {
            const lo = r() < 0.3 ? 0xc0000000 + 16 * Math.floor(r() * 8) : Math.floor(r() * 0xffffffff);
            lines.push(`${his[Math.floor(r() * his.length)]}${lo.toString(16).padStart(8, '0')} t m${lines.length}\t[mod${k % 3}]`);
          }
        }
      }
      const text = lines.join('\n') + '\n';
      const index = buildIndex([{ file: 't', bytes: Buffer.from(text), kind: 'kallsyms' }]);
      const want = lines
        .map((l, i) => ({ a: BigInt('0x' + l.slice(0, 16)), i, name: l.split(' ')[2].split('\t')[0] }))
        .sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : x.i - y.i));
      const got = Array.from({ length: index.count }, (_, i) => index.nameOf(i));
      expect(got, `round ${round}`).toEqual(want.map((w) => w.name));
    }
  });
});

describe('section markers (_stext, _etext, ...): text search and full scan agree', () => {
  const markers = (index: ReturnType<typeof buildIndex>) => {
    const x = index as unknown as Record<string, bigint | undefined>;
    return ['stext', 'etext', 'sinittext', 'einittext', 'end'].map((k) => x[k]);
  };
  it('on the live kernel and the corpus System.map, LF (text search) vs CRLF (scan)', () => {
    const texts: string[] = [];
    const live = liveKallsyms();
    if (live) texts.push(live.toString('latin1'));
    if (have(REAL_SYSTEM_MAP, 'markers')) texts.push(readFileSync(REAL_SYSTEM_MAP, 'latin1'));
    for (const t of texts) {
      const lf = buildIndex([{ file: 'a', bytes: Buffer.from(t, 'latin1'), kind: 'kallsyms' }]);
      const crlf = buildIndex([{ file: 'b', bytes: Buffer.from(t.replace(/\n/g, '\r\n'), 'latin1'), kind: 'kallsyms' }]);
      expect(markers(lf)).toEqual(markers(crlf));
      expect(markers(lf)[0]).toBeDefined();
      // without wasm: the native text search (the wasm parse hands its list of possible markers)
      useWasmKallsyms(false);
      try {
        expect(markers(buildIndex([{ file: 'c', bytes: Buffer.from(t, 'latin1'), kind: 'kallsyms' }]))).toEqual(markers(lf));
      } finally {
        useWasmKallsyms(true);
      }
    }
  });
  it('the parse list: past 127 look-alikes in one window, _end, a name that only ends like one', () => {
    const lines = ['ffffffff81000000 T _text', 'ffffffff81000010 T _stext', 'ffffffff81000011 T __stext', 'ffffffff81000012 T x_etext'];
    // 200 names that look like markers ("_a0text" ...): the per-call list overflows, the text search decides
    for (let i = 0; i < 200; i++) lines.push(`ffffffff810001${(i >> 4).toString(16)}${(i & 15).toString(16)} t _a${i % 100}text`);
    lines.push('ffffffff81100000 T _etext', 'ffffffff81200000 D _edata', 'ffffffff81300000 B _end', 'ffffffff81300000 B _end', '');
    const few = lines.filter((l) => !/ _a\d+text$/.test(l));
    for (const text of [lines.join('\n'), few.join('\n')]) {
      const wasm = markers(buildIndex([{ file: 't', bytes: Buffer.from(text), kind: 'kallsyms' }]));
      useWasmKallsyms(false);
      let js: unknown;
      try {
        js = markers(buildIndex([{ file: 't', bytes: Buffer.from(text), kind: 'kallsyms' }]));
      } finally {
        useWasmKallsyms(true);
      }
      expect(wasm).toEqual(js);
      expect(wasm.slice(0, 2)).toEqual([0xffffffff81000010n, 0xffffffff81100000n]);
      // the short text is mostly data: CONFIG_KALLSYMS_ALL is inferred and _end searched for
      if (text === few.join('\n')) expect(wasm[4]).toBe(0xffffffff81300000n);
    }
  });
  it('skips lines that are not symbols and module symbols of the same name', () => {
    const text = [
      'zzzz T _stext', // not a symbol
      'ffffffff81000000 T _text',
      'ffffffff81000010 T _stext',
      'ffffffff81000020 T f',
      'ffffffff81000100 T _etext',
      'ffffffffc0000000 t _etext\t[m]',
      '',
    ].join('\n');
    const m = markers(buildIndex([{ file: 't', bytes: Buffer.from(text), kind: 'kallsyms' }]));
    expect(m.slice(0, 2)).toEqual([0xffffffff81000010n, 0xffffffff81000100n]);
  });
});
