import { koFiles } from '../../helpers/corpus';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { quickStatsSync } from '../../../server/src/core/btf/read';
import { splitMismatches } from '../../../server/src/core/btf/split';
import { BtfStore, loadBtfFileSync } from '../../../server/src/core/btf/store';
import { parseBtf } from '../../../server/src/core/btf';
import { moduleNameFromPath } from '../../../server/src/core/modules/names';
import {
  cBlock,
  functionPrototypeMarkdown,
  functionPrototypeMarkdownAsync,
  truncateLines,
  typeLayoutMarkdown,
  typeLayoutMarkdownAsync,
  typeWordAt,
} from '../../../server/src/lsp/hover/btf';
import { text } from '../../../server/src/lsp/markdown';
import { linkageOf } from '../../../server/src/lsp/hover/hover';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { liveKallsyms } from '../../helpers/corpus';

const LIVE_KALLSYMS = liveKallsyms();

const LIVE = '/sys/kernel/btf/vmlinux';
const CORPUS = process.env.KSYM_CORPUS
  ? join(process.env.KSYM_CORPUS, 'debian-6.1.0-56-amd64')
  : '/work/shared/corpus/debian-6.1.0-56-amd64';
const CORPUS_VMLINUX = join(CORPUS, 'vmlinux-6.1.0-56-amd64.btf');
const MODULES = join(CORPUS, 'modules');

function present(path: string, why: string): boolean {
  if (existsSync(path)) return true;
  console.warn(`skipping ${why}: ${path} is absent`);
  return false;
}
function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
const HAVE_LIVE = present(LIVE, 'live vmlinux BTF tests');
const HAVE_CORPUS = present(CORPUS_VMLINUX, 'corpus BTF tests') && present(MODULES, 'corpus module BTF tests');
const HAVE_PAHOLE = have('pahole');
const HAVE_BPFTOOL = have('bpftool');
const HAVE_OBJCOPY = have('objcopy');
if (!HAVE_PAHOLE) console.warn('skipping pahole layout oracle: pahole is not installed');
if (!HAVE_BPFTOOL) console.warn('skipping bpftool oracle: bpftool is not installed');

const dir = mkdtempSync(join(tmpdir(), 'btfint-store-'));

function corpusLookup(): (name: string) => string[] {
  const byName = new Map<string, string[]>();
  for (const f of koFiles(MODULES)) {
    const n = moduleNameFromPath(f);
    byName.set(n, [...(byName.get(n) ?? []), f]);
  }
  return (name) => byName.get(name) ?? [];
}

/** bpftool raw dump per-kind counts and named FUNCs. */
function bpftoolCounts(file: string, base?: string): { kinds: Record<string, number>; types: number; namedFuncs: number } {
  const args = ['btf', 'dump', 'file', file, ...(base ? ['-B', base] : []), 'format', 'raw'];
  const outp = execFileSync('bpftool', args, { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const kinds: Record<string, number> = {};
  let types = 0;
  let namedFuncs = 0;
  for (const line of outp.split('\n')) {
    const m = /^\[(\d+)\] (\S+) '([^']*)'/.exec(line);
    if (!m) continue;
    types++;
    kinds[m[2]] = (kinds[m[2]] ?? 0) + 1;
    if (m[2] === 'FUNC' && m[3] !== '(anon)') namedFuncs++;
  }
  return { kinds, types, namedFuncs };
}

/** Minimal raw BTF: [1] int, [2] FUNC_PROTO int(void), [3] FUNC `evilName`, [4] STRUCT `evilStruct` { int x; }. */
function tinyBtf(evilName: string): Uint8Array {
  const enc = new TextEncoder();
  const strs: number[] = [0];
  const add = (s: string) => {
    const off = strs.length;
    strs.push(...enc.encode(s), 0);
    return off;
  };
  const sInt = add('int');
  const sEvil = add(evilName);
  const sX = add('x');
  const sS = add('tiny_struct');
  const t = [
    sInt,
    (1 << 24) | 0,
    4,
    (1 << 24) | 32, // INT int size 4, signed, 32 bits
    0,
    (13 << 24) | 0,
    1, // FUNC_PROTO returns [1]
    sEvil,
    (12 << 24) | 1,
    2, // FUNC global -> [2]
    sS,
    (4 << 24) | 1,
    4,
    sX,
    1,
    0, // STRUCT tiny_struct { int x; }
  ];
  const typeLen = t.length * 4;
  const buf = new Uint8Array(24 + typeLen + strs.length);
  const dv = new DataView(buf.buffer);
  dv.setUint16(0, 0xeb9f, true);
  buf[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strs.length, true);
  t.forEach((v, i) => dv.setUint32(24 + i * 4, v, true));
  buf.set(strs, 24 + typeLen);
  return buf;
}

describe('BtfStore: errors never throw, previous BTF kept', () => {
  it('missing, empty and malformed files give messages naming file, offset and reason', () => {
    const s = new BtfStore({ path: join(dir, 'missing.btf') });
    const r = s.loadSync();
    expect(r.ok).toBe(false);
    expect(r.error).toBe(`${join(dir, 'missing.btf')}: no such file`);
    expect(s.vmlinux).toBeUndefined();
    const bad = join(dir, 'bad.btf');
    writeFileSync(bad, Buffer.from([0x12, 0x34, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const b = s.loadSync(bad);
    expect(b.ok).toBe(false);
    expect(b.error).toMatch(/bad\.btf: offset 0x0: bad BTF magic/);
    const empty = join(dir, 'empty.btf');
    writeFileSync(empty, '');
    expect(s.loadSync(empty).error).toMatch(/empty\.btf: offset 0x0: empty file/);
    expect(s.loadSync(dir).error).toMatch(/is a directory/);
    const elf = join(dir, 'noBtf.o');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(s.loadSync(elf).error).toMatch(/noBtf\.o: offset 0x0: truncated ELF header/);
    expect(s.messages().length).toBe(1);
  });

  it('a failed reload keeps the previous good BTF serving', async () => {
    const good = join(dir, 'tiny.btf');
    writeFileSync(good, tinyBtf('tiny_fn'));
    const s = new BtfStore({ path: good });
    expect(s.loadSync().ok).toBe(true);
    const btf = s.vmlinux!;
    expect(btf.types).toBe(4);
    const r = await s.load(join(dir, 'nope.btf'));
    expect(r.ok).toBe(false);
    expect(r.types).toBe(4);
    expect(s.vmlinux).toBe(btf);
    expect(s.error).toMatch(/nope\.btf: no such file \(still using .*tiny\.btf\)/);
    // Back to the good file: unchanged file already loaded → not read again.
    const again = s.loadSync(good);
    expect(again.ok).toBe(true);
    expect(again.cached).toBe(true);
    expect(s.vmlinux).toBe(btf);
    expect(s.error).toBeUndefined();
    expect(s.loadSync(good, { force: true }).cached).toBeUndefined();
  });

  it('module BTF without a base or without files is a message, not an exception', async () => {
    const s = new BtfStore({
      path: join(dir, 'missing.btf'),
      moduleFiles: () => {
        throw new Error('boom');
      },
    });
    const m = await s.module('foo');
    expect(m.btf).toBeUndefined();
    expect(m.message).toMatch(/module foo: no vmlinux BTF loaded/);
    writeFileSync(join(dir, 'tiny2.btf'), tinyBtf('f'));
    s.loadSync(join(dir, 'tiny2.btf'));
    const m2 = await s.module('foo');
    expect(m2.message).toMatch(/module file lookup failed: boom/);
    expect((await s.module('../etc/passwd')).message).toMatch(/not a module name/);
  });
});

describe.skipIf(!HAVE_LIVE)('BtfStore: live /sys/kernel/btf/vmlinux', () => {
  let store: BtfStore;
  beforeAll(() => {
    store = new BtfStore();
    const r = store.loadSync();
    expect(r.error).toBeUndefined();
  });

  it('loads the file once into one buffer (no copy) and knows it is the live kernel', () => {
    const btf = store.vmlinux!;
    const size = readFileSync(LIVE).length;
    expect(btf.bytes.length).toBe(size);
    expect(btf.bytes.buffer.byteLength).toBe(size);
    expect(store.isLive).toBe(true);
    expect(store.file).toBe(LIVE);
    expect(store.loadSync().cached).toBe(true);
    expect(store.vmlinux).toBe(btf);
  });

  it('quick stats equal the reader stats', () => {
    const q = quickStatsSync(LIVE);
    const s = store.vmlinux!.stats();
    expect(q.kinds).toEqual(s.kinds);
    expect([q.types, q.namedFuncs, q.kfuncs, q.firstId, q.lastId]).toEqual([s.types, s.namedFuncs, s.kfuncs, s.firstId, s.lastId]);
  });

  it('a vmlinux-style ELF with a .BTF section loads like the raw file', () => {
    if (!HAVE_OBJCOPY) return console.warn('skipping ELF .BTF test: objcopy is not installed');
    const raw = join(dir, 'vmlinux.raw');
    writeFileSync(raw, readFileSync(LIVE));
    const elf = join(dir, 'vmlinux.elf');
    execFileSync('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', '--rename-section', '.data=.BTF', raw, elf]);
    const r = loadBtfFileSync(elf);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.container).toBe('elf');
    expect(r.btf.stats()).toEqual(store.vmlinux!.stats());
    expect(r.btf.bytes.buffer.byteLength).toBe(statSync(elf).size); // a view into the file buffer
  });

  it('hover: tcp_v4_rcv prototype in a fenced c block', () => {
    const md = functionPrototypeMarkdown(store, 'tcp_v4_rcv')!;
    expect(md).toContain('**BTF** prototype of `tcp_v4_rcv`');
    expect(md).toMatch(/```c\n(static |extern )?int tcp_v4_rcv\(struct sk_buff \*skb\);\n```/);
    // compiler clone suffixes fall back to the source name
    expect(functionPrototypeMarkdown(store, 'tcp_v4_rcv.cold')).toContain('int tcp_v4_rcv(struct sk_buff *skb);');
    expect(functionPrototypeMarkdown(store, 'no_such_function_xyz')).toBeUndefined();
  });

  // This BTF (like Debian's) records most functions as static whatever their binding; the
  // storage class comes from the symbol's nm type in /proc/kallsyms (the oracle): T → none, t → static.
  it.runIf(!!LIVE_KALLSYMS)('hover: the prototype takes its storage class from the kallsyms type, not the FUNC record', () => {
    const index = buildIndex([{ file: '/proc/kallsyms', kind: 'kallsyms', bytes: LIVE_KALLSYMS! }]);
    index.buildNameIndex();
    const btf = store.vmlinux!;
    const fn = (t: number) =>
      [...Array(Math.min(index.count, 200000)).keys()].find((i) => {
        if (index.type[i] !== t || index.mod[i] !== 0) return false;
        const n = index.nameOf(i);
        return index.byNameAll(n).length === 1 && btf.idsByName(n).some((id) => btf.kindName(id) === 'FUNC');
      });
    const g = fn(0x54)!; // T
    const l = fn(0x74)!; // t
    const gname = index.nameOf(g);
    const lname = index.nameOf(l);
    expect(linkageOf(index, gname, undefined)).toBe('none');
    expect(linkageOf(index, lname, undefined)).toBe('static');
    const gmd = functionPrototypeMarkdown(btf, gname, undefined, { linkage: linkageOf(index, gname, undefined) })!;
    const lmd = functionPrototypeMarkdown(btf, lname, undefined, { linkage: linkageOf(index, lname, undefined) })!;
    const decl = (md: string) => md.split('\n').find((x) => x.endsWith(');'))!;
    expect(decl(gmd)).not.toMatch(/^(static|extern) /);
    expect(decl(gmd)).toContain(`${gname}(`);
    expect(decl(lmd)).toMatch(/^static /);
    // Without a symbol type the storage class is left out rather than guessed from the FUNC record.
    expect(decl(functionPrototypeMarkdown(btf, lname)!)).not.toMatch(/^(static|extern) /);
    // The pahole/bpftool-style rendering (CLI) keeps the record's own linkage.
    expect(btf.declaration(btf.idsByName(gname).find((id) => btf.kindName(id) === 'FUNC')!)).toMatch(/^(static|extern) /);
  });

  it('hover: kfuncs are marked', () => {
    const btf = store.vmlinux!;
    const kf = btf.kfuncIds();
    if (!kf.length) return console.warn('skipping kfunc hover: no kfuncs in this BTF');
    const md = functionPrototypeMarkdown(btf, btf.nameOf(kf[0]))!;
    expect(md).toContain('**kfunc**');
    expect(md).toContain('__bpf_kfunc');
  });

  it.skipIf(!HAVE_PAHOLE)('hover: struct sk_buff layout has the member offsets pahole prints', () => {
    const outp = execFileSync('pahole', ['-C', 'sk_buff', LIVE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const want: Array<[string, number]> = [];
    for (const line of outp.split('\n')) {
      const m = /^\t[^\t/].*?\b([A-Za-z_]\w*)(\[\d*\])?;\s*\/\*\s*(\d+)\s+(\d+)\s*\*\//.exec(line);
      if (m) want.push([m[1], +m[3]]);
    }
    expect(want.length).toBeGreaterThan(10);
    const md = typeLayoutMarkdown(store, 'struct sk_buff', { maxLines: 100000 })!;
    // The title names the type once ("BTF struct struct sk_buff" was the old title).
    expect(md).toContain('**BTF** `struct sk_buff` (vmlinux BTF');
    expect(md).not.toContain('struct `struct');
    const size = /size: (\d+),/.exec(outp)![1];
    expect(md).toContain(`${size} bytes`);
    // Tabs are expanded at pahole's 8-column stops, so the columns line up in any editor.
    const got = new Map<string, number>();
    for (const line of md.split('\n')) {
      const m = /^ {8}[^ /].*?\b([A-Za-z_]\w*)(\[\d*\])?;\s*\/\*\s*(\d+)\s+(\d+)\s*\*\//.exec(line);
      if (m) got.set(m[1], +m[3]);
    }
    const block = md.slice(md.indexOf('```c'), md.lastIndexOf('```'));
    expect(block).not.toContain('\t');
    const members = block.split('\n').filter((l) => /^ +[^ /].*;\s*\/\*\s*\d+(:\s*\d+)?\s+\d+\s*\*\/$/.test(l));
    expect(members.length).toBeGreaterThanOrEqual(want.length);
    // Comment columns line up: every member comment of a short line starts at column 56, as pahole's do with 8-wide tabs.
    for (const l of members) if (l.indexOf('/*') <= 56) expect(l.indexOf('/*')).toBe(56);
    for (const [name, off] of want) expect([name, got.get(name)]).toEqual([name, off]);
    expect(md).toContain(`/* size: ${size},`);
  });

  it('hover: huge structs are truncated with a note, keeping the size summary', () => {
    const md = typeLayoutMarkdown(store, 'struct sk_buff', { maxLines: 30 })!;
    const block = md.slice(md.indexOf('```c'), md.lastIndexOf('```'));
    expect(block.split('\n').length).toBeLessThanOrEqual(32);
    expect(md).toMatch(/\/\* \.\.\. \d+ more lines; ksym btf 'struct sk_buff' prints all \.\.\. \*\//);
    expect(md).toMatch(/\/\* size: \d+, cachelines/);
    expect(md.trimEnd().endsWith('```')).toBe(true);
  });

  it('hover: typedefs show the typedef and the named type it stands for; enums and unions', () => {
    const u8 = typeLayoutMarkdown(store, 'u8')!;
    expect(u8).toMatch(/typedef (__u8|unsigned char) u8;/);
    const atomic = typeLayoutMarkdown(store, 'atomic_t')!;
    expect(atomic).toContain('} atomic_t;');
    expect(typeLayoutMarkdown(store, 'list_head')).toBeUndefined(); // plain names: typedefs only by default
    expect(typeLayoutMarkdown(store, 'list_head', { plainAggregates: true })).toContain('struct list_head {');
    expect(typeLayoutMarkdown(store, 'enum bpf_prog_type')).toMatch(/enum bpf_prog_type \{\n {8}BPF_PROG_TYPE_UNSPEC = 0,/);
    expect(typeLayoutMarkdown(store, 'enum bpf_prog_type')).toContain('**BTF** `enum bpf_prog_type`');
    expect(typeLayoutMarkdown(store, 'u8')).toContain('**BTF** typedef `u8`');
    expect(typeLayoutMarkdown(store, 'union bpf_attr')).toContain('union bpf_attr {');
    expect(typeLayoutMarkdown(store, 'struct no_such_struct_xyz')).toBeUndefined();
    expect(typeLayoutMarkdown(store, 'not a word')).toBeUndefined();
  });

  it.skipIf(!HAVE_CORPUS)('module split BTF built for another kernel is rejected with a clear mismatch message', async () => {
    const s = new BtfStore({ moduleFiles: corpusLookup() });
    expect(s.loadSync().ok).toBe(true);
    for (const name of ['tcp_bbr', 'crc7', 'virtio_net']) {
      const m = await s.module(name);
      expect(m.btf).toBeUndefined();
      expect(m.message).toMatch(
        new RegExp(`${name}: no usable BTF: .*\\.ko.*(does not match the base ${LIVE.replace(/\//g, '\\/')}|split BTF .* does not match)`),
      );
    }
    expect(s.messages().some((x) => /tcp_bbr/.test(x))).toBe(true);
    // The hover explains why the module's BTF is not used (the live kernel may have
    // bbr_main built in: then its vmlinux prototype is shown with the note).
    const md = (await functionPrototypeMarkdownAsync(s, 'bbr_main', 'tcp_bbr'))!;
    expect(md).toContain(text('module tcp_bbr: no usable BTF'));
    expect(md).toContain(text(`does not match the base ${LIVE}`));
  });
});

describe.skipIf(!HAVE_CORPUS)('BtfStore: corpus vmlinux + module .ko split BTF', () => {
  let store: BtfStore;
  const lookup = corpusLookup();
  beforeAll(() => {
    store = new BtfStore({ path: CORPUS_VMLINUX, moduleFiles: lookup, sysfsDir: join(dir, 'no-sysfs') });
    expect(store.loadSync().ok).toBe(true);
    expect(store.isLive).toBe(false);
  });

  it('every corpus module BTF loads lazily from its .ko over the corpus base, consistent, cached', async () => {
    const base = store.vmlinux!;
    const files = koFiles(MODULES);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const name = moduleNameFromPath(f);
      expect(store.cachedModule(name)).toBeUndefined();
      const m = await store.module(name);
      expect([name, m.message ?? '']).toEqual([name, '']);
      expect(m.source).toBe(f);
      expect(m.btf!.base).toBe(base);
      expect(m.btf!.firstId).toBe(base.lastId + 1);
      expect(splitMismatches(m.btf!)).toEqual([]);
      expect(await store.module(name.replace(/_/g, '-'))).toBe(m);
      expect(store.cachedModule(name)).toBe(m);
    }
  });

  it.skipIf(!HAVE_BPFTOOL)('quick stats of module split BTF equal bpftool -B per-kind counts', () => {
    for (const f of koFiles(MODULES).slice(0, 5)) {
      const q = quickStatsSync(f, CORPUS_VMLINUX);
      const b = bpftoolCounts(f, CORPUS_VMLINUX);
      expect([relative(MODULES, f), q.types, q.namedFuncs]).toEqual([relative(MODULES, f), b.types, b.namedFuncs]);
      for (const [k, v] of Object.entries(q.kinds)) expect([k, v]).toEqual([k, b.kinds[k] ?? 0]);
    }
  });

  it('module split BTF over the wrong base: a vmlinux-only store rejects, the right base accepts', () => {
    const ko = lookup('tcp_bbr')[0];
    if (!ko) return console.warn('skipping: tcp_bbr.ko not in the corpus');
    const tiny = parseBtf(tinyBtf('f'), 'tiny.btf');
    const wrong = loadBtfFileSync(ko, tiny);
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.error).toMatch(/tcp_bbr\.ko.*(does not match the base tiny\.btf)/);
    const noBase = loadBtfFileSync(ko);
    expect(noBase.ok).toBe(false);
    if (!noBase.ok) expect(noBase.error).toMatch(/without its base/);
    expect(loadBtfFileSync(ko, store.vmlinux).ok).toBe(true);
  });

  it('hover: a module frame uses the module split BTF', async () => {
    const md = (await functionPrototypeMarkdownAsync(store, 'bbr_main', 'tcp_bbr'))!;
    expect(md).toContain(text('BTF of module tcp_bbr'));
    expect(md).toMatch(/void bbr_main\(struct sock \*sk, (const )?struct rate_sample \*rs\);/);
    // a vmlinux function asked for from a module frame still resolves through the base
    expect(functionPrototypeMarkdown(store, 'tcp_v4_rcv', 'tcp_bbr')).toContain('tcp_v4_rcv(struct sk_buff *skb)');
    // module-only struct, through the module
    const st = (await typeLayoutMarkdownAsync(store, 'struct bbr', { module: 'tcp_bbr' }))!;
    expect(st).toContain('struct bbr {');
    expect(typeLayoutMarkdown(store, 'struct bbr')).toBeUndefined(); // not in vmlinux
  });

  it('hover: unknown module names are explained, escaped', async () => {
    const evil = 'evil*_[x](e)`<b>';
    const md = (await functionPrototypeMarkdownAsync(store, 'bbr_main', evil))!;
    expect(md.startsWith(`_BTF: ${text(`module ${evil}: no BTF found`)}`)).toBe(true);
    expect(md).not.toContain('<b>');
    expect(md).not.toContain('[x]');
    expect((await functionPrototypeMarkdownAsync(store, 'bbr_main', '../x'))!).toContain('not a module name');
    expect(functionPrototypeMarkdown(store, 'bbr_main', 'other', { explainMissing: false })).toBeUndefined();
  });
});

describe('hover markdown escaping and limits', () => {
  it('fences are longer than any backtick run inside; names in text go through code()', () => {
    expect(cBlock('a ``` b')).toBe('````c\na ``` b\n````');
    expect(cBlock('int x;')).toBe('```c\nint x;\n```');
    const btf = parseBtf(tinyBtf('ev`il``name'), 'tiny.btf');
    const md = functionPrototypeMarkdown(btf, 'ev`il``name')!;
    expect(md).toContain('**BTF** prototype of ```ev`il``name```');
    // The C declaration never carries the invalid identifier.
    expect(md).toContain('__btf_invalid_name_3');
    expect(md.split('\n').filter((l) => /^`{3,}/.test(l)).length).toBe(2);
  });

  it('never throws: garbage input and undefined sources', () => {
    expect(functionPrototypeMarkdown(undefined, 'x')).toBeUndefined();
    expect(typeLayoutMarkdown(undefined, 'struct x')).toBeUndefined();
    const btf = parseBtf(tinyBtf('f'), 'tiny.btf');
    for (const w of ['', ' ', 'struct', 'struct 1', '\u0000', 'a'.repeat(10000), 'tiny_struct']) {
      expect(() => typeLayoutMarkdown(btf, w, { plainAggregates: true })).not.toThrow();
      expect(() => functionPrototypeMarkdown(btf, w)).not.toThrow();
    }
    expect(typeLayoutMarkdown(btf, 'struct tiny_struct')).toContain('struct tiny_struct {\n        int x;');
  });

  it('truncateLines keeps head and summary', () => {
    const src = [
      'struct a {',
      ...Array.from({ length: 50 }, (_, i) => `\tint m${i};`),
      '',
      '\t/* size: 200, cachelines: 4, members: 50 */',
      '};',
    ].join('\n');
    const t = truncateLines(src, 10, 'hint');
    const lines = t.split('\n');
    expect(lines.length).toBe(10);
    expect(lines[0]).toBe('struct a {');
    expect(lines.slice(-3)).toEqual(['', '\t/* size: 200, cachelines: 4, members: 50 */', '};']);
    expect(t).toContain('more lines; hint');
    expect(truncateLines('a\nb', 10)).toBe('a\nb');
  });

  it('typeWordAt finds struct/union/enum words and identifiers', () => {
    const l = 'BUG: bad struct sk_buff at enum x and u8';
    expect(typeWordAt(l, l.indexOf('struct') + 1)).toEqual({ word: 'struct sk_buff', start: 9, end: 23 });
    expect(typeWordAt(l, l.indexOf('sk_buff') + 2)?.word).toBe('struct sk_buff');
    expect(typeWordAt(l, l.indexOf('u8'))?.word).toBe('u8');
    expect(typeWordAt(l, 2)?.word).toBe('BUG');
    expect(typeWordAt(l, 3)).toBeUndefined();
  });
});
