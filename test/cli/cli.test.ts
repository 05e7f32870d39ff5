import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { have, liveKallsyms, SYSTEM_MAP, SYSTEM_MAP_STUB } from '../helpers/corpus';

assertBuilt();
const dir = mkdtempSync(join(tmpdir(), 'ksym-cli-'));
const run = (args: string[], input?: string) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });

const MAP = join(dir, 'fixture.kallsyms');
writeFileSync(
  MAP,
  [
    'ffffffff81000000 T _stext',
    'ffffffff81000000 T _text',
    'ffffffff810000ba T entry_SYSCALL_64_after_hwframe',
    'ffffffff81000138 T next_fn',
    'ffffffff81000200 t dup',
    'ffffffff81000300 t dup',
    'ffffffff81000400 T _etext',
    'ffffffffc0001000 t modfn\t[mymod]',
    'ffffffffc0001100 t modfn2\t[mymod]',
    '',
  ].join('\n'),
);

describe('ksym lookup', () => {
  it('prints "<address> <kernel form>" per query, for addresses and name+off/size', () => {
    const r = run([
      'lookup',
      '--kallsyms',
      MAP,
      'ffffffff81000130',
      '0xffffffff81000130',
      'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
      'modfn+0x10 [mymod]',
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'ffffffff81000130 entry_SYSCALL_64_after_hwframe+0x76/0x7e',
      'ffffffff81000130 entry_SYSCALL_64_after_hwframe+0x76/0x7e',
      'ffffffff81000130 entry_SYSCALL_64_after_hwframe+0x76/0x7e',
      'ffffffffc0001010 modfn+0x10/0x100 [mymod]',
      '',
    ]);
  });

  it('--json gives the contract shape, with candidates for ambiguous names; exit 1 when a query does not resolve', () => {
    const r = run(['lookup', '--kallsyms', MAP, '--json', 'next_fn+0x4', 'dup', 'ffffffff90000000']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j[0]).toEqual({
      query: 'next_fn+0x4',
      address: 'ffffffff8100013c',
      name: 'next_fn',
      offset: 4,
      size: 0xc8,
      module: null,
      type: 'T',
      candidates: [],
    });
    expect(j[1].address).toBeNull();
    expect(j[1].candidates.map((c: { address: string }) => c.address)).toEqual(['ffffffff81000200', 'ffffffff81000300']);
    expect(j[2]).toMatchObject({ query: 'ffffffff90000000', address: 'ffffffff90000000', name: null });
  });

  it('exit 2 on unusable input, with the file named', () => {
    const r = run(['lookup', '--kallsyms', join(dir, 'missing'), 'foo']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'missing')}: no such file`);
    const bin = join(dir, 'bin.kallsyms');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0]));
    const b = run(['lookup', '--kallsyms', bin, 'foo']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/bin\.kallsyms: offset 0x4: binary data/);
    expect(run(['lookup']).status).toBe(2);
    expect(run(['frobnicate']).status).toBe(2);
  });

  it('--help on every command', () => {
    for (const c of ['lookup', 'decode', 'stats', 'lsp']) {
      const r = run([c, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`ksym ${c}`);
    }
    expect(run(['--help']).stdout).toContain('Commands:');
  });

  it.skipIf(!have(SYSTEM_MAP_STUB, 'stub test'))('refuses the stub System.map with the reason', () => {
    const r = run(['lookup', '--kallsyms', SYSTEM_MAP_STUB, 'foo']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/placeholder System\.map/);
  });
});

describe('ksym decode', () => {
  it('annotates addresses (%pB in traces, %pS on RIP) and frames, applying the KASLR line', () => {
    const log = [
      'Kernel Offset: 0x1000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)',
      'RIP: 0010:[<ffffffff82000138>]',
      'Call Trace:',
      ' [<ffffffff82000138>] entry_SYSCALL_64_after_hwframe+0x7e/0x7e',
      ' dup+0x4/0x100',
    ].join('\n');
    const r = run(['decode', '--kallsyms', MAP, '-'], log);
    expect(r.status).toBe(0);
    const out = r.stdout.split('\n');
    expect(out[1]).toBe('RIP: 0010:[<ffffffff82000138>]  ⟶ ffffffff82000138 = next_fn+0x0/0xc8');
    expect(out[3]).toBe(' [<ffffffff82000138>] entry_SYSCALL_64_after_hwframe+0x7e/0x7e  ⟶ ✓');
    expect(out[4]).toContain('ambiguous (ffffffff81000200, ffffffff81000300)');
  });

  it.skipIf(!have(SYSTEM_MAP, 'decode against System.map'))('flags a log from another kernel', () => {
    const r = run(['decode', '--kallsyms', SYSTEM_MAP, '-'], ' [<ffffffff81000000>] do_syscall_64+0x3b/0x90\n');
    expect(r.stdout).toMatch(/⚠/);
  });
});

describe('ksym stats', () => {
  it('counts symbols, modules, duplicates and types', () => {
    const r = run(['stats', '--kallsyms', MAP, '--json']);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      symbols: 9,
      vmlinuxSymbols: 7,
      modules: 1,
      duplicateNames: 1,
      symbolsWithDuplicateNames: 2,
      byType: { T: 5, t: 4 },
    });
    expect(run(['stats', '--kallsyms', MAP]).stdout).toContain('duplicate names: 1 (2 symbols)');
  });

  it.skipIf(!liveKallsyms())('defaults to /proc/kallsyms and matches its line count', () => {
    const j = JSON.parse(run(['stats', '--json']).stdout);
    expect(j.symbols).toBe(readFileSync('/proc/kallsyms', 'latin1').split('\n').filter(Boolean).length);
    expect(j.sources[0].file).toBe('/proc/kallsyms');
  });
});
