import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../../server/src/core/common/errors';
import { Btf, CRenderer, parseBtf, type BtfStruct } from '../../../server/src/core/btf';
import { BtfBuilder, K, KIND_NAMES } from '../../../fuzz/btfBuilder.mjs';

const LIVE = '/sys/kernel/btf/vmlinux';
const CORPUS = '/work/shared/corpus/debian-6.1.0-56-amd64';
const CORPUS_VMLINUX = join(CORPUS, 'vmlinux-6.1.0-56-amd64.btf');
const MODULES = join(CORPUS, 'modules');

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
const HAVE_BPFTOOL = have('bpftool');
const HAVE_PAHOLE = have('pahole');
const HAVE_GCC = have('gcc');
const HAVE_OBJCOPY = have('objcopy');

function load(path: string, base?: Btf): Btf {
  return parseBtf(new Uint8Array(readFileSync(path)), path, base);
}

interface RawType {
  id: number;
  kind: string;
  name: string;
  line: string;
}
/** Parse `bpftool btf dump format raw` type lines. */
function bpftoolRaw(file: string, base?: string): RawType[] {
  const args = ['btf', 'dump', 'file', file, ...(base ? ['-B', base] : []), 'format', 'raw'];
  const out = execFileSync('bpftool', args, { maxBuffer: 1 << 30, encoding: 'utf8' });
  const res: RawType[] = [];
  for (const line of out.split('\n')) {
    const m = /^\[(\d+)\] (\S+) '([^']*)'/.exec(line);
    if (m) res.push({ id: +m[1], kind: m[2], name: m[3] === '(anon)' ? '' : m[3], line });
  }
  return res;
}

function compareWithBpftool(btf: Btf, raw: RawType[]): void {
  expect(btf.types).toBe(raw.length);
  expect(btf.firstId).toBe(raw[0]?.id ?? btf.firstId);
  const counts: Record<string, number> = {};
  let namedFuncs = 0;
  const kfuncTargets = new Set<number>();
  const mism: string[] = [];
  for (const r of raw) {
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    if (r.kind === 'FUNC' && r.name) namedFuncs++;
    if (r.kind === 'DECL_TAG' && r.name === 'bpf_kfunc' && /component_idx=-1/.test(r.line)) {
      const t = +/type_id=(\d+)/.exec(r.line)![1];
      kfuncTargets.add(t);
    }
    const k = btf.kindName(r.id);
    const n = btf.nameOf(r.id);
    if (k !== r.kind || n !== r.name) mism.push(`[${r.id}] ${r.kind} '${r.name}' vs ${k} '${n}'`);
  }
  expect(mism.slice(0, 10)).toEqual([]);
  const st = btf.stats();
  for (const [k, v] of Object.entries(st.kinds)) expect([k, v]).toEqual([k, counts[k] ?? 0]);
  expect(Object.keys(st.kinds).sort()).toEqual([...KIND_NAMES].sort());
  expect(st.namedFuncs).toBe(namedFuncs);
  expect(st.kfuncs).toBe([...kfuncTargets].filter((t) => t >= btf.firstId).length);
  for (const t of kfuncTargets) expect(btf.isKfunc(t)).toBe(true);
}

/** Every type decodes; every name lookup finds its id. */
function checkDecodeAndNames(btf: Btf): void {
  const byName = new Map<string, number[]>();
  for (let id = btf.firstId; id <= btf.lastId; id++) {
    const t = btf.byId(id)!;
    expect(t.id).toBe(id);
    if (t.name) {
      let a = byName.get(t.name);
      if (!a) byName.set(t.name, (a = []));
      a.push(id);
    }
  }
  for (const [name, ids] of byName) {
    const got = btf.idsByName(name).filter((id) => id >= btf.firstId);
    if (got.join() !== ids.join()) expect([name, got]).toEqual([name, ids]);
  }
}

function gccCheck(src: string, label: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-btf-gcc-'));
  try {
    const f = join(dir, `${label}.c`);
    writeFileSync(f, src);
    const r = spawnSync('gcc', ['-std=gnu11', '-fsyntax-only', '-w', f], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) {
      const errs = r.stderr
        .split('\n')
        .filter((l) => /error/.test(l))
        .slice(0, 15);
      expect(errs, `gcc on ${label}`).toEqual([]);
    }
    expect(r.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** C unit with every given aggregate plus static asserts on its size and member offsets. */
function layoutUnit(btf: Btf, ids: number[], extra: number[] = []): string {
  const r = new CRenderer(btf, { dedupNames: true, layout: true });
  const src = r.withDependencies([...ids, ...extra]);
  const asserts: string[] = [];
  for (const id of ids) {
    const t = btf.byId(id);
    if (!t || (t.kind !== 'STRUCT' && t.kind !== 'UNION') || !t.name) continue;
    const nm = `${t.kind === 'STRUCT' ? 'struct' : 'union'} ${r.tagName(id)}`;
    asserts.push(`_Static_assert(sizeof(${nm}) == ${t.size}, "size of ${nm}");`);
    for (const m of t.members) {
      if (m.name && !m.bitfieldSize)
        asserts.push(`_Static_assert(__builtin_offsetof(${nm}, ${m.name}) == ${m.bitOffset / 8}, "${nm}.${m.name}");`);
    }
  }
  return `${src}\n${asserts.join('\n')}\n`;
}

function sample<T>(arr: T[], n: number, seed = 1): T[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const a = arr.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

function idsOfKind(btf: Btf, ...kinds: string[]): number[] {
  const out: number[] = [];
  for (let id = btf.firstId; id <= btf.lastId; id++) if (kinds.includes(btf.kindName(id))) out.push(id);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Synthetic BTF builder (for exact rendering checks and malformed inputs)

/** A small BTF with one of everything. */
function sampleBtf(): { b: BtfBuilder; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const s = (n: string) => b.str(n);
  const ids: Record<string, number> = {};
  ids.int = b.add(K.INT, 'int', 0, 4, [(1 << 24) | 32]);
  ids.char = b.add(K.INT, 'char', 0, 1, [(1 << 24) | 8]);
  ids.uint = b.add(K.INT, 'unsigned int', 0, 4, [32]);
  ids.long = b.add(K.INT, 'long int', 0, 8, [(1 << 24) | 64]);
  ids.charp = b.add(K.PTR, '', 0, ids.char);
  ids.constchar = b.add(K.CONST, '', 0, ids.char);
  ids.constcharp = b.add(K.PTR, '', 0, ids.constchar);
  ids.cpconst = b.add(K.CONST, '', 0, ids.charp); // char * const
  ids.proto = b.add(K.FUNC_PROTO, '', 2, 0, [0, ids.int, 0, ids.charp]); // void (int, char *)
  ids.fnptr = b.add(K.PTR, '', 0, ids.proto);
  ids.arr = b.add(K.ARRAY, '', 0, 0, [ids.char, ids.int, 16]);
  ids.volint = b.add(K.VOLATILE, '', 0, ids.int);
  ids.rptr = b.add(K.RESTRICT, '', 0, ids.charp);
  ids.anon = b.add(K.STRUCT, '', 2, 8, [s('x'), ids.int, 0, s('y'), ids.int, 32]);
  ids.u = b.add(K.UNION, 'u', 2, 8, [s('i'), ids.int, 0, s('l'), ids.long, 0]);
  // struct s { int a:3; int b:5; char *p; void (*fn)(int, char *); char buf[16]; struct {int x,y;};
  //            volatile int v; char * const cp; const char *ccp; char * restrict rp; union u uu; }
  ids.s = b.add(
    K.STRUCT,
    's',
    11,
    88,
    [
      s('a'),
      ids.int,
      (3 << 24) | 0,
      s('b'),
      ids.int,
      (5 << 24) | 3,
      s('p'),
      ids.charp,
      64,
      s('fn'),
      ids.fnptr,
      128,
      s('buf'),
      ids.arr,
      192,
      0,
      ids.anon,
      320,
      s('v'),
      ids.volint,
      384,
      s('cp'),
      ids.cpconst,
      448,
      s('ccp'),
      ids.constcharp,
      512,
      s('rp'),
      ids.rptr,
      576,
      s('uu'),
      ids.u,
      640,
    ],
    true,
  );
  // packed: struct pk { char c; int i; } __attribute__((packed)) => size 5
  ids.pk = b.add(K.STRUCT, 'pk', 2, 5, [s('c'), ids.char, 0, s('i'), ids.int, 8]);
  // aligned(64) style: struct al { int a; } size 64 (needs explicit padding)
  ids.al = b.add(K.STRUCT, 'al', 1, 64, [s('a'), ids.int, 0]);
  ids.en = b.add(K.ENUM, 'e', 2, 4, [s('E_NEG'), -1, s('E_ONE'), 1], true);
  ids.en64 = b.add(K.ENUM64, 'e64', 2, 8, [s('BIG'), 0xffffffff, 0xffffffff, s('SMALL'), 1, 0]);
  ids.td = b.add(K.TYPEDEF, 's_t', 0, ids.s);
  ids.tdanon = b.add(K.TYPEDEF, 'anon_t', 0, ids.anon);
  ids.fwd = b.add(K.FWD, 'opaque', 0, 0);
  ids.opaquep = b.add(K.PTR, '', 0, ids.fwd);
  ids.fproto = b.add(K.FUNC_PROTO, '', 3, ids.int, [s('x'), ids.int, s('o'), ids.opaquep, 0, 0]); // int (int x, struct opaque *o, ...)
  ids.func = b.add(K.FUNC, 'myfunc', 1, ids.fproto);
  ids.kf = b.add(K.FUNC, 'my_kfunc', 1, ids.fproto);
  ids.tag = b.add(K.DECL_TAG, 'bpf_kfunc', 0, ids.kf, [-1]);
  ids.var = b.add(K.VAR, 'myvar', 0, ids.td, [1]);
  ids.sec = b.add(K.DATASEC, '.data', 1, 88, [ids.var, 0, 88]);
  ids.flt = b.add(K.FLOAT, 'double', 0, 8);
  ids.ttag = b.add(K.TYPE_TAG, 'user', 0, ids.char);
  ids.ttp = b.add(K.PTR, '', 0, ids.ttag);
  return { b, ids };
}

// ---------------------------------------------------------------------------------------------

describe('BTF: synthetic', () => {
  it('decodes every kind, both byte orders, longer header', () => {
    const { b, ids } = sampleBtf();
    const le = parseBtf(b.build(true), 'le.btf');
    const be = parseBtf(b.build(false), 'be.btf');
    const long = parseBtf(b.build(true, 8), 'long.btf');
    expect(le.header.littleEndian).toBe(true);
    expect(be.header.littleEndian).toBe(false);
    for (let id = 1; id <= le.lastId; id++) {
      const x = le.byId(id)!;
      const y = be.byId(id)!;
      const z = long.byId(id)!;
      expect({ ...y, offset: x.offset }).toEqual(x);
      expect({ ...z, offset: x.offset }).toEqual(x);
    }
    const st = le.stats();
    for (const k of Object.keys(K)) expect(st.kinds[k as keyof typeof st.kinds]).toBeGreaterThan(0);
    expect(st.namedFuncs).toBe(2);
    expect(st.kfuncs).toBe(1);
    expect(le.isKfunc(ids.kf)).toBe(true);
    expect(le.isKfunc(ids.func)).toBe(false);
    const s = le.byId(ids.s) as BtfStruct;
    expect(s.members[1]).toEqual({ name: 'b', type: ids.int, bitOffset: 3, bitfieldSize: 5 });
    const e64 = le.byId(ids.en64)!;
    expect(e64.kind === 'ENUM64' && e64.values[0].value).toBe(0xffffffffffffffffn);
    const e = le.byId(ids.en)!;
    expect(e.kind === 'ENUM' && e.values[0].value).toBe(-1);
    const fp = le.byId(ids.fproto)!;
    expect(fp.kind === 'FUNC_PROTO' && fp.variadic).toBe(true);
    expect(le.byId(0)).toBeUndefined();
    expect(le.byId(le.lastId + 1)).toBeUndefined();
  });

  it('name lookups with struct/union/enum forms', () => {
    const { b, ids } = sampleBtf();
    const btf = parseBtf(b.build(), 'x.btf');
    expect(btf.idsByName('s')).toEqual([ids.s]);
    expect(btf.idsByName('struct s')).toEqual([ids.s]);
    expect(btf.idsByName('union s')).toEqual([]);
    expect(btf.idsByName('union u')).toEqual([ids.u]);
    expect(btf.idsByName('enum e')).toEqual([ids.en]);
    expect(btf.idsByName('enum e64')).toEqual([ids.en64]);
    expect(btf.idsByName('struct opaque')).toEqual([ids.fwd]);
    expect(btf.idsByName('bpf_kfunc')).toEqual([ids.tag]);
    expect(btf.idsByName('nope')).toEqual([]);
    expect(btf.idsByName('')).toEqual([]);
    expect(btf.byName('myfunc')[0].kind).toBe('FUNC');
  });

  it('renders C like bpftool/pahole', () => {
    const { b, ids } = sampleBtf();
    const btf = parseBtf(b.build(), 'x.btf');
    const s = btf.declaration(ids.s);
    expect(s).toMatch(/^struct s \{/);
    expect(s).toMatch(/\tint a: 3;\s+\/\*\s+0: 0\s+4 \*\//);
    expect(s).toMatch(/\tint b: 5;/);
    expect(s).toMatch(/\tvoid \(\*fn\)\(int, char \*\);\s+\/\*\s+16\s+8 \*\//);
    expect(s).toMatch(/\tchar buf\[16\];\s+\/\*\s+24\s+16 \*\//);
    expect(s).toMatch(/\tstruct \{\n\t\tint x;[^\n]*\n\t\tint y;[^\n]*\n\t\};/);
    expect(s).toMatch(/\tvolatile int v;/);
    expect(s).toMatch(/\tchar \* const cp;/);
    expect(s).toMatch(/\tconst char \*ccp;/);
    expect(s).toMatch(/\tchar \* restrict rp;/);
    expect(s).toMatch(/\tunion u uu;\s+\/\*\s+80\s+8 \*\//);
    expect(s).toMatch(/XXX 7 bytes hole/);
    expect(s).toMatch(/size: 88, cachelines: 2, members: 11/);
    expect(btf.declaration(ids.pk)).toMatch(/\} __attribute__\(\(packed\)\);$/);
    const al = btf.declaration(ids.al);
    expect(al).toMatch(/long: 64;/);
    expect(al).toMatch(/padding: 60/);
    expect(btf.declaration(ids.en)).toBe('enum e {\n\tE_NEG = -1,\n\tE_ONE = 1,\n};');
    expect(btf.declaration(ids.en64)).toMatch(/BIG = 18446744073709551615ULL,/);
    expect(btf.declaration(ids.td)).toBe('typedef struct s s_t;');
    expect(btf.declaration(ids.tdanon)).toMatch(/^typedef struct \{\n\tint x;/);
    expect(btf.declaration(ids.func)).toBe('extern int myfunc(int x, struct opaque *o, ...);');
    expect(btf.declaration(ids.kf)).toBe('/* __bpf_kfunc */ extern int my_kfunc(int x, struct opaque *o, ...);');
    expect(btf.declaration(ids.var)).toBe('extern s_t myvar;');
    expect(btf.declaration(ids.sec)).toMatch(/DATASEC \.data/);
    expect(btf.declaration(ids.fwd)).toBe('struct opaque;');
    if (HAVE_GCC) {
      gccCheck(layoutUnit(btf, idsOfKind(btf, 'STRUCT', 'UNION'), Object.values(ids)), 'synthetic');
    }
  });

  it('reports malformed input as FormatError with offset and reason', () => {
    const good = () => sampleBtf().b.build();
    const expectFE = (bytes: Uint8Array, re: RegExp, base?: Btf) => {
      let err: unknown;
      try {
        parseBtf(bytes, 'bad.btf', base);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).file).toBe('bad.btf');
      expect(typeof (err as FormatError).offset).toBe('number');
      expect((err as FormatError).reason).toMatch(re);
      return err as FormatError;
    };
    expectFE(new Uint8Array(0), /truncated/);
    expectFE(good().slice(0, 20), /truncated/);
    const bad = good();
    bad[0] = 0x12;
    expectFE(bad, /magic/);
    const v = good();
    v[2] = 2;
    expectFE(v, /version/);
    const h = good();
    new DataView(h.buffer).setUint32(4, 8, true);
    expectFE(h, /hdr_len/);
    const tl = good();
    new DataView(tl.buffer).setUint32(12, 1 << 20, true);
    expectFE(tl, /type section/);
    // unknown kind in the 2nd record
    const uk = good();
    new DataView(uk.buffer).setUint32(24 + 16 + 4, 25 << 24, true);
    const e1 = expectFE(uk, /unknown BTF kind 25/);
    expect(e1.reason).toMatch(/\[2\]/);
    expect(e1.offset).toBe(24 + 16);
    // vlen past the end: last struct gets a huge vlen
    const { b, ids } = sampleBtf();
    b.types[ids.s - 1][1] = (1 << 31) | (K.STRUCT << 24) | 0xffff;
    expectFE(b.build(), /runs past the end of the type section/);
    // name offset past the strings
    const b2 = sampleBtf().b;
    b2.types[0][0] = 1 << 24;
    expectFE(b2.build(), /name offset .* past the string section/);
    // type reference past the last id
    const b3 = sampleBtf().b;
    b3.types[4][2] = 99999;
    expectFE(b3.build(), /references type id 99999/);
    // string section not NUL-terminated
    const ns = good();
    ns[ns.length - 1] = 0x41;
    expectFE(ns, /NUL-terminated/);
  });

  it('split BTF: ids and strings continue from the base; no base is detected', () => {
    const { b: bb } = sampleBtf();
    const baseBytes = bb.build();
    const base = parseBtf(baseBytes, 'base.btf');
    const baseStrLen = base.strings.total;
    // split: strings start at offset baseStrLen, no leading NUL
    const strs = Buffer.from('splitty\0fld\0');
    const words = [
      baseStrLen,
      (K.STRUCT << 24) | 1,
      4,
      baseStrLen + 8,
      1,
      0, // struct splitty { int fld; }
      base.idsByName('int')[0] === 1 ? 0 : 0,
      K.PTR << 24,
      base.lastId + 1, // ptr to splitty
    ];
    const buf = new Uint8Array(24 + words.length * 4 + strs.length);
    const dv = new DataView(buf.buffer);
    dv.setUint16(0, 0xeb9f, true);
    buf[2] = 1;
    dv.setUint32(4, 24, true);
    dv.setUint32(12, words.length * 4, true);
    dv.setUint32(16, words.length * 4, true);
    dv.setUint32(20, strs.length, true);
    words.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, true));
    buf.set(strs, 24 + words.length * 4);
    const split = parseBtf(buf, 'split.btf', base);
    expect(split.firstId).toBe(base.lastId + 1);
    expect(split.types).toBe(2);
    expect(split.nameOf(split.firstId)).toBe('splitty');
    expect(split.idsByName('struct splitty')).toEqual([split.firstId]);
    expect(split.idsByName('int')).toEqual(base.idsByName('int'));
    expect(split.declaration(split.firstId)).toMatch(/struct splitty \{\n\tint fld;/);
    expect(split.byId(1)).toEqual(base.byId(1));
    expect(() => parseBtf(buf, 'split.btf')).toThrow(FormatError);
    expect(() => parseBtf(buf, 'split.btf')).toThrow(/split|base/);
  });

  it('survives reference loops and random mutations (only FormatError, never hangs)', () => {
    // loops: PTR -> CONST -> PTR ..., TYPEDEF to itself, struct containing itself by value
    const b = new BtfBuilder();
    const p = b.add(K.PTR, '', 0, 2);
    b.add(K.CONST, '', 0, p);
    const td = b.add(K.TYPEDEF, 'loop_t', 0, 3);
    const st = b.add(K.STRUCT, 'self', 2, 8, [b.str('me'), 4, 0, b.str('p'), 1, 0]);
    const arr = b.add(K.ARRAY, '', 0, 0, [5, 5, 1000000]);
    const anon = b.add(K.UNION, '', 1, 8, [b.str('a'), 6, 0]);
    b.add(K.PTR, '', 0, anon);
    const btf = parseBtf(b.build(), 'loops.btf');
    for (let id = 1; id <= btf.lastId; id++) {
      expect(typeof btf.declaration(id)).toBe('string');
    }
    expect(typeof btf.renderWithDependencies([p, td, st, arr, anon, 7])).toBe('string');

    const seeds: Uint8Array[] = [sampleBtf().b.build(), sampleBtf().b.build(false), b.build()];
    let rnd = 12345;
    const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    let parsed = 0;
    let errors = 0;
    let lateErrors = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const src = seeds[iter % seeds.length];
      const m = src.slice();
      const nmut = 1 + (next() % 4);
      for (let j = 0; j < nmut; j++) {
        const pos = next() % m.length;
        const mode = next() % 4;
        m[pos] = mode === 0 ? 0 : mode === 1 ? 0xff : mode === 2 ? m[pos] ^ (1 << (next() % 8)) : next() & 0xff;
      }
      const cut = iter % 7 === 0 ? m.subarray(0, next() % m.length) : m;
      let x: Btf;
      try {
        x = parseBtf(cut, 'fuzz.btf');
        parsed++;
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        errors++;
        continue;
      }
      try {
        const all: number[] = [];
        for (let id = 1; id <= x.lastId; id++) all.push(id);
        for (const id of all) {
          x.byId(id);
          x.declaration(id);
          x.idsByName(x.nameOf(id));
        }
        x.renderWithDependencies(all);
        x.stats();
      } catch (e) {
        // a record whose trailing data is corrupt is reported when it is decoded
        if (!(e instanceof FormatError)) throw e;
        lateErrors++;
      }
    }
    expect(parsed + errors).toBe(3000);
    expect(parsed).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);
    expect(lateErrors).toBeGreaterThanOrEqual(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(!existsSync(LIVE))('BTF: live /sys/kernel/btf/vmlinux', () => {
  let btf: Btf;
  beforeAll(() => {
    const bytes = new Uint8Array(readFileSync(LIVE));
    const t0 = performance.now();
    btf = parseBtf(bytes, LIVE);
    console.log(`live vmlinux BTF: ${btf.types} types indexed in ${(performance.now() - t0).toFixed(1)} ms`);
  });

  it.skipIf(!HAVE_BPFTOOL)('matches bpftool raw dump: ids, kinds, names, per-kind counts, kfuncs', () => {
    compareWithBpftool(btf, bpftoolRaw(LIVE));
  });

  it('decodes every type; name index finds every named type', () => {
    checkDecodeAndNames(btf);
    expect(btf.idsByName('struct task_struct').length).toBe(1);
    expect(btf.byName('struct list_head')[0]).toMatchObject({ kind: 'STRUCT', size: 16 });
  });

  it.skipIf(!HAVE_PAHOLE)('struct/union sizes match pahole --sizes for every struct', () => {
    const out = execFileSync('pahole', ['-F', 'btf', '--sizes', LIVE], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const bad: string[] = [];
    let n = 0;
    for (const line of out.split('\n')) {
      const m = /^(\S+)\t(\d+)\t/.exec(line);
      if (!m) continue;
      n++;
      const sizes = btf
        .byName(m[1])
        .filter((t) => t.kind === 'STRUCT' || t.kind === 'UNION')
        .map((t) => (t as BtfStruct).size);
      if (!sizes.includes(+m[2])) bad.push(`${m[1]}: pahole ${m[2]} ours ${sizes.join(',')}`);
    }
    expect(n).toBeGreaterThan(1000);
    expect(bad).toEqual([]);
  });

  it.skipIf(!HAVE_PAHOLE)('member offsets match pahole layout for a sample of structs', () => {
    const structs = idsOfKind(btf, 'STRUCT').filter((id) => btf.nameOf(id) && btf.idsByName(`struct ${btf.nameOf(id)}`).length === 1);
    const pick = sample(structs, 60, 7);
    const names = pick.map((id) => btf.nameOf(id));
    const out = execFileSync('pahole', ['-F', 'btf', '-C', names.join(','), LIVE], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const blocks = new Map<string, string[]>();
    let cur: string[] | undefined;
    for (const line of out.split('\n')) {
      const m = /^struct (\S+) \{/.exec(line);
      if (m) blocks.set(m[1], (cur = []));
      else if (cur) cur.push(line);
    }
    for (const id of pick) {
      const lines = blocks.get(btf.nameOf(id));
      expect(lines, btf.nameOf(id)).toBeDefined();
      // top-level (one tab) non-bitfield member lines end with /* offset size */
      const theirs = lines!
        .filter((l) => /^\t[^\t/]/.test(l) || /^\t\}/.test(l))
        .map((l) => /\/\*\s+(\d+)\s+(\d+)\s+\*\/$/.exec(l))
        .filter(Boolean)
        .map((m) => +m![1]);
      const s = btf.byId(id) as BtfStruct;
      const ours = s.members.filter((m) => !m.bitfieldSize).map((m) => m.bitOffset / 8);
      expect([btf.nameOf(id), ours]).toEqual([btf.nameOf(id), theirs]);
    }
  });

  it.skipIf(!HAVE_GCC)(
    'gcc compiles every named struct/union with size/offset asserts, plus typedefs, enums, vars and a sample of funcs',
    () => {
      const aggs = idsOfKind(btf, 'STRUCT', 'UNION').filter((id) => btf.nameOf(id));
      const extra = [...idsOfKind(btf, 'TYPEDEF', 'ENUM', 'ENUM64', 'VAR'), ...sample(idsOfKind(btf, 'FUNC'), 2000, 3), ...btf.kfuncIds()];
      gccCheck(layoutUnit(btf, aggs, extra), 'vmlinux');
    },
  );

  it.skipIf(!HAVE_GCC)('gcc compiles single declarations with their dependencies (sample)', () => {
    const ids = sample(idsOfKind(btf, 'STRUCT', 'UNION', 'TYPEDEF', 'FUNC', 'ENUM', 'VAR', 'DATASEC'), 40, 11);
    const units = ids.map((id) => `/* ---- [${id}] */\n${btf.renderWithDependencies([id])}`);
    // each unit separately would be slow; compile them as separate functions' worth in one go via #if blocks
    const src = units.map((u, i) => `#if UNIT == ${i}\n${u}\n#endif`).join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'ksym-btf-units-'));
    try {
      const f = join(dir, 'units.c');
      writeFileSync(f, src);
      for (let i = 0; i < units.length; i++) {
        const r = spawnSync('gcc', ['-std=gnu11', '-fsyntax-only', '-w', `-DUNIT=${i}`, f], { encoding: 'utf8' });
        expect([
          ids[i],
          r.stderr
            .split('\n')
            .filter((l) => /error/.test(l))
            .slice(0, 5),
        ]).toEqual([ids[i], []]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(!existsSync(CORPUS_VMLINUX))('BTF: corpus debian 6.1 vmlinux and module split BTF', () => {
  let base: Btf;
  let dir: string;
  const mods: { name: string; file: string }[] = [];
  beforeAll(() => {
    base = load(CORPUS_VMLINUX);
    dir = mkdtempSync(join(tmpdir(), 'ksym-btf-mods-'));
    if (!HAVE_OBJCOPY) return;
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((e) => {
        const p = join(d, e);
        return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ko') ? [p] : [];
      });
    for (const ko of walk(MODULES)) {
      const name = ko.split('/').pop()!.replace(/\.ko$/, '');
      const out = join(dir, `${name}.btf`);
      const r = spawnSync('objcopy', [`--dump-section`, `.BTF=${out}`, ko, join(dir, 'discard.o')]);
      if (r.status === 0 && existsSync(out)) mods.push({ name, file: out });
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!HAVE_BPFTOOL)('vmlinux matches bpftool raw dump', () => {
    compareWithBpftool(base, bpftoolRaw(CORPUS_VMLINUX));
    checkDecodeAndNames(base);
  });

  it.skipIf(!HAVE_BPFTOOL || !HAVE_OBJCOPY)('every module .BTF parses as split BTF and matches bpftool -B', () => {
    expect(mods.length).toBeGreaterThan(5);
    for (const m of mods) {
      const split = load(m.file, base);
      expect(split.firstId).toBe(base.lastId + 1);
      compareWithBpftool(split, bpftoolRaw(m.file, CORPUS_VMLINUX));
      checkDecodeAndNames(split);
      for (let id = split.firstId; id <= split.lastId; id++) expect(typeof split.declaration(id)).toBe('string');
    }
  });

  it.skipIf(!HAVE_OBJCOPY)('module BTF without its base is a FormatError naming the problem', () => {
    for (const m of mods) {
      let err: unknown;
      try {
        load(m.file);
      } catch (e) {
        err = e;
      }
      expect(err, m.name).toBeInstanceOf(FormatError);
      expect((err as FormatError).reason).toMatch(/split|base/);
    }
  });

  it.skipIf(!HAVE_GCC || !HAVE_OBJCOPY)('gcc compiles module structs with layout asserts over the vmlinux base', () => {
    for (const m of mods.filter((x) => ['ext4', 'kvm', 'bridge', 'xfs', 'tcp_bbr'].includes(x.name))) {
      const split = load(m.file, base);
      const aggs = idsOfKind(split, 'STRUCT', 'UNION').filter((id) => split.nameOf(id));
      const extra = [...idsOfKind(split, 'TYPEDEF', 'ENUM', 'VAR'), ...sample(idsOfKind(split, 'FUNC'), 200, 5)];
      gccCheck(layoutUnit(split, aggs, extra), m.name);
    }
  });

  it('the .BTF bytes can be passed unaligned (e.g. a slice of an ELF image)', () => {
    const bytes = readFileSync(CORPUS_VMLINUX);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const b = parseBtf(shifted.subarray(1), 'unaligned');
    expect(b.types).toBe(base.types);
    expect(b.idsByName('struct sk_buff')).toEqual(base.idsByName('struct sk_buff'));
  });
});
