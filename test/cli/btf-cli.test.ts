import { koFiles } from '../helpers/corpus';
/**
 * `ksym btf`: runs cmdBtf in a separate node process through a tiny bundled entry
 * (cli.ts dispatches `btf` to the same function), with bpftool as the oracle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBtf } from '../../server/src/core/btf';
import { KIND_NAMES } from '../../fuzz/btfBuilder.mjs';

const ROOT = resolve(__dirname, '../..');
const LIVE = '/sys/kernel/btf/vmlinux';
const CORPUS = process.env.KSYM_CORPUS
  ? join(process.env.KSYM_CORPUS, 'debian-6.1.0-56-amd64')
  : resolve(ROOT, '../shared/corpus/debian-6.1.0-56-amd64');
const CORPUS_VMLINUX = join(CORPUS, 'vmlinux-6.1.0-56-amd64.btf');
const MODULES = join(CORPUS, 'modules');
const KINDS = KIND_NAMES;

const HAVE_BPFTOOL = spawnSync('sh', ['-c', 'command -v bpftool']).status === 0;
const HAVE_LIVE = existsSync(LIVE);
const HAVE_CORPUS = existsSync(CORPUS_VMLINUX);
if (!HAVE_BPFTOOL) console.warn('skipping bpftool oracle: bpftool is not installed');
if (!HAVE_LIVE) console.warn(`skipping live BTF CLI tests: ${LIVE} is absent`);
if (!HAVE_CORPUS) console.warn(`skipping corpus BTF CLI tests: ${CORPUS_VMLINUX} is absent`);

const dir = mkdtempSync(join(tmpdir(), 'btfint-cli-'));
const ENTRY = join(dir, 'btf-entry.js');

beforeAll(() => {
  const src = join(dir, 'entry.ts');
  writeFileSync(
    src,
    `import { cmdBtf } from ${JSON.stringify(join(ROOT, 'server/src/cli/btf'))};\n` +
      `cmdBtf(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { console.error('THREW', e); process.exitCode = 99; });\n`,
  );
  buildSync({ entryPoints: [src], bundle: true, platform: 'node', format: 'cjs', target: 'node18', outfile: ENTRY, logLevel: 'warning' });
});

const run = (args: string[]) => spawnSync(process.execPath, [ENTRY, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

function bpftoolCounts(file: string, base?: string): Record<string, number> {
  const args = ['btf', 'dump', 'file', file, ...(base ? ['-B', base] : []), 'format', 'raw'];
  const out = execFileSync('bpftool', args, { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const c: Record<string, number> = { types: 0, namedFuncs: 0 };
  for (const k of KINDS) c[k] = 0;
  for (const line of out.split('\n')) {
    const m = /^\[\d+\] (\S+) '([^']*)'/.exec(line);
    if (!m) continue;
    c.types++;
    c[m[1]] = (c[m[1]] ?? 0) + 1;
    if (m[1] === 'FUNC' && m[2] !== '(anon)') c.namedFuncs++;
  }
  return c;
}

function pickCounts(j: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of ['types', 'namedFuncs', ...KINDS]) o[k] = j[k];
  return o;
}

describe('ksym btf: usage and errors', () => {
  it('--help prints the usage, exit 0', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ksym btf [--btf FILE] [--base FILE] [--json]');
    expect(r.stdout).toContain('ksym btf --stats');
  });

  it('exit 2 on unusable input, naming the file and the reason', () => {
    const missing = join(dir, 'missing.btf');
    const r = run(['--btf', missing, 'foo']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${missing}: no such file`);
    const bad = join(dir, 'bad.btf');
    writeFileSync(bad, Buffer.from('not btf at all, just text\n'));
    const b = run(['--btf', bad, '--stats']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/bad\.btf: offset 0x0: bad BTF magic/);
    expect(run(['--btf', bad, 'x']).stderr).toMatch(/bad\.btf: offset 0x0: bad BTF magic/);
    expect(run(['--bogus']).status).toBe(2);
    expect(run(['--btf', bad]).status).toBe(2); // no NAME
    expect(run(['--stats', '--btf', bad, 'extra']).status).toBe(2);
  });
});

describe.skipIf(!HAVE_LIVE)('ksym btf on the live vmlinux BTF', () => {
  it("prints 'struct list_head' with its members", () => {
    const r = run(['struct list_head']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('struct list_head {');
    expect(r.stdout).toMatch(/struct list_head \*next;/);
    expect(r.stdout).toMatch(/struct list_head \*prev;/);
    expect(r.stdout).toMatch(/\/\* size: 16, cachelines: 1, members: 2 \*\//);
    const plain = run(['--no-layout', 'struct list_head']);
    expect(plain.stdout).toBe('struct list_head {\n\tstruct list_head *next;\n\tstruct list_head *prev;\n};\n');
  });

  it('functions, enums and plain names; exit 1 when a NAME is not found', () => {
    const r = run(['tcp_v4_rcv', 'enum bpf_prog_type', 'no_such_name_xyz']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/int tcp_v4_rcv\(struct sk_buff \*skb\);/);
    expect(r.stdout).toContain('enum bpf_prog_type {');
    expect(r.stderr).toContain('no_such_name_xyz: no such type or function');
  });

  it('--json: one entry per NAME, an array when a name has several types', () => {
    const btf = parseBtf(new Uint8Array(readFileSync(LIVE)), LIVE);
    const u8 = btf.idsByName('u8');
    const r = run(['--json', 'struct list_head', 'u8', 'tcp_v4_rcv', 'no_such_name_xyz']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toHaveLength(4);
    expect(j[0]).toEqual({
      name: 'list_head',
      kind: 'STRUCT',
      id: btf.idsByName('struct list_head')[0],
      size: 16,
      declaration: expect.stringContaining('struct list_head {'),
    });
    if (u8.length > 1) {
      expect(j[1].map((e: { id: number }) => e.id)).toEqual(u8);
      for (const e of j[1]) expect(e).toMatchObject({ name: 'u8', kind: 'TYPEDEF', size: 1 });
    } else expect(j[1]).toMatchObject({ name: 'u8', kind: 'TYPEDEF', size: 1 });
    const f = Array.isArray(j[2]) ? j[2][0] : j[2];
    expect(f).toMatchObject({ name: 'tcp_v4_rcv', kind: 'FUNC', size: null });
    expect(f.declaration).toMatch(/tcp_v4_rcv\(struct sk_buff \*skb\);$/);
    expect(j[3]).toEqual({ name: 'no_such_name_xyz', kind: null, id: null, size: null, declaration: null });
  });

  it.skipIf(!HAVE_BPFTOOL)('--stats --json equals bpftool raw per-kind counts', () => {
    const r = run(['--stats', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(expect.arrayContaining([...KINDS, 'types', 'namedFuncs']));
    expect(pickCounts(j)).toEqual(pickCounts(bpftoolCounts(LIVE)));
    const t = run(['--stats']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(new RegExp(`${LIVE}: ${j.types} types`));
    expect(t.stdout).toMatch(/FUNC_PROTO\s+\d+/);
  });

  it.skipIf(!HAVE_BPFTOOL)('ksym btf --stats is timed next to bpftool (informational)', () => {
    const time = (f: () => void) => {
      const t = performance.now();
      f();
      return performance.now() - t;
    };
    const k: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 5; i++) {
      k.push(time(() => run(['--stats'])));
      b.push(time(() => execFileSync('sh', ['-c', `bpftool btf dump file ${LIVE} format raw > /dev/null`])));
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
    console.log(`ksym btf --stats: median ${med(k).toFixed(0)} ms; bpftool btf dump format raw: median ${med(b).toFixed(0)} ms`);
  });
});

describe.skipIf(!HAVE_CORPUS)('ksym btf on the corpus (vmlinux BTF and module split BTF)', () => {
  it.skipIf(!HAVE_BPFTOOL)('--stats --json equals bpftool for the corpus vmlinux and every corpus module (with --base)', () => {
    expect(pickCounts(JSON.parse(run(['--stats', '--json', '--btf', CORPUS_VMLINUX]).stdout))).toEqual(
      pickCounts(bpftoolCounts(CORPUS_VMLINUX)),
    );
    const mods = koFiles(MODULES);
    expect(mods.length).toBeGreaterThan(0);
    for (const ko of mods) {
      const r = run(['--stats', '--json', '--btf', ko, '--base', CORPUS_VMLINUX]);
      expect([ko, r.status, r.stderr]).toEqual([ko, 0, '']);
      expect([ko, pickCounts(JSON.parse(r.stdout))]).toEqual([ko, pickCounts(bpftoolCounts(ko, CORPUS_VMLINUX))]);
    }
  });

  it('module declarations through --base; a module without its base is exit 2', () => {
    const ko = koFiles(MODULES).find((f) => /tcp_bbr\.ko/.test(f));
    if (!ko) return console.warn('skipping: tcp_bbr.ko not in the corpus');
    const r = run(['--btf', ko, '--base', CORPUS_VMLINUX, 'struct bbr', 'bbr_main']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('struct bbr {');
    expect(r.stdout).toMatch(/void bbr_main\(struct sock \*sk, (const )?struct rate_sample \*rs\);/);
    const nobase = run(['--btf', ko, 'struct bbr']);
    expect(nobase.status).toBe(2);
    expect(nobase.stderr).toMatch(/tcp_bbr\.ko: offset 0x[0-9a-f]+: .*(base)/);
    if (HAVE_LIVE) {
      const wrong = run(['--btf', ko, '--base', LIVE, 'struct bbr']);
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toContain(`does not match the base ${LIVE}`);
    }
  });
});
