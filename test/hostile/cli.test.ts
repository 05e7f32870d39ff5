// The built CLI (dist/cli.js) against a hostile environment: FIFOs, devices, sparse giants,
// decompression bombs, long offsets, a source named 1,000 times, 100,000 empty modules,
// escape sequences in names, a directory where a module belongs, a file appended to while
// read. Each case: the outcome (a clear message naming the file, the exit status) and the
// safety nets on time and peak RSS (run.ts).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bounded, cli } from './run';
import { hostileFiles } from '../../bench/hostileFiles.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ksym-hostile-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { kallsyms, fifo, sparse, bomb } = hostileFiles(dir);
const K = kallsyms('kallsyms');

describe('FIFOs (no writer): refused at once, never a hang', () => {
  it.each([
    ['stats --kallsyms', (f: string) => ['stats', '--kallsyms', f], 'kallsyms or System.map file'],
    ['btf --stats --btf', (f: string) => ['btf', '--stats', '--btf', f], 'BTF file'],
    ['symbols --module', (f: string) => ['symbols', '--module', f], 'module file'],
    ['decode', (f: string) => ['decode', '--kallsyms', K, f], 'kernel log'],
  ])('%s FIFO', async (_n, args, what) => {
    const f = fifo(`f${Math.random().toString(36).slice(2)}.ko`);
    const o = await cli(args(f));
    bounded(o);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain(`ksym: ${f}: a FIFO (named pipe), not a regular file: expected a ${what}`);
  });
});

describe('devices and sparse giants: refused from their type or size, nothing read', () => {
  it.each([
    [['btf', '--stats', '--btf', '/dev/zero'], '/dev/zero: a character device'],
    [['symbols', '--module', '/dev/zero'], '/dev/zero: a character device'],
    [['decode', '--kallsyms', K, '/dev/zero'], '/dev/zero: a character device'],
    [['stats', '--kallsyms', '/dev/zero'], '/dev/zero: a character device'],
  ])('%j', async (args, msg) => {
    const o = await cli(args);
    bounded(o, 5000, 150);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain(msg);
  });

  it('btf --stats on a 4 GiB sparse file: the size and the limit, not "Invalid typed array length"', async () => {
    const f = sparse('huge.btf', 4 * 2 ** 30);
    const o = await cli(['btf', '--stats', '--btf', f]);
    bounded(o, 5000, 150);
    expect(o.code).toBe(2);
    expect(o.stderr.trim()).toBe(
      `ksym: ${f}: 4 GiB (4294967296 bytes): more than the 256 MiB limit for a BTF file (raw BTF, or an ELF file with a .BTF section)`,
    );
  });

  it('a 2 GiB sparse .ko and a 2 GiB sparse kallsyms: the file named once, the right size', async () => {
    const ko = sparse('huge.ko', 2 ** 31);
    let o = await cli(['symbols', '--module', ko]);
    bounded(o, 5000, 150);
    expect(o.stderr.trim()).toBe(
      `ksym: ${ko}: 2 GiB (2147483648 bytes): more than the 512 MiB limit for a module file (.ko, .ko.gz, .ko.xz, .ko.zst)`,
    );
    const ks = sparse('huge.kallsyms', 2 ** 31);
    o = await cli(['stats', '--kallsyms', ks]);
    bounded(o, 5000, 150);
    expect(o.code).toBe(2);
    expect(o.stderr.trim()).toBe(`ksym: ${ks}: 2 GiB (2147483648 bytes): more than the 1 GiB limit for a kallsyms or System.map file`);
  });
});

describe('decompression bombs: capped, streamed', () => {
  it.each([
    ['b.ko.gz', 'gzip -1'],
    ['b.ko.zst', 'zstd -q -19 --no-content-size'],
    ['b.ko.xz', 'xz -1 -T1'],
  ])('symbols --module %s (256 MiB of zeros)', async (name, tool) => {
    const f = bomb(name, tool);
    const o = await cli(['symbols', '--module', f]);
    bounded(o);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(
      /data decompresses to more than [\d.]+ MiB \(the cap: 64 times the .* compressed, at least 16 MiB, at most 256 MiB\): a decompression bomb, or not a module/,
    );
  });
});

describe('offsets that cannot be addresses: exit 2, a clear error, no stack trace, no invented address', () => {
  it.each([
    ['schedule+0x' + 'f'.repeat(300), /offset of 302 characters is larger than any symbol/],
    ['schedule+0x1fffffffffffffffff', /offset 0x1fffffffffffffffff is larger than any symbol/],
    ['1ffffffff81001000', /17 hex digits: wider than a 64-bit address/],
  ])('%s', async (q, msg) => {
    const o = await cli(['lookup', '--kallsyms', K, q]);
    bounded(o);
    expect(o.code).toBe(2);
    expect(o.stdout).toBe('');
    expect(o.stderr).toMatch(msg);
    expect(o.stderr).not.toMatch(/\n\s+at |RangeError/);
    expect(o.stderr.length).toBeLessThan(300);
  });
});

describe('repeated sources', () => {
  it('stats with the same --kallsyms 1,000 times (and through a symlink) reads it once', async () => {
    const link = join(dir, 'k.link');
    execFileSync('ln', ['-sf', K, link]);
    const args = ['stats', ...Array.from({ length: 1000 }, () => ['--kallsyms', K]).flat(), '--kallsyms', link];
    const o = await cli(args);
    bounded(o, 5000, 150);
    expect(o.code).toBe(0);
    expect(o.stderr).toContain(`${K}: named 1001 times as a source, read once`);
    expect(o.stdout).toMatch(/symbols:\s+5\b/);
  });
});

describe('module directories at scale', () => {
  it('search --module over 100,000 empty .ko: bounded, and summarised instead of 100,000 warnings', async () => {
    const d = join(dir, 'mods');
    mkdirSync(d);
    for (let i = 0; i < 100000; i++) writeFileSync(join(d, `m${i}.ko`), '');
    const o = await cli(['search', '--kallsyms', K, '--btf', 'none', '--module', d, 'schedule'], { budgetMs: 60000 });
    bounded(o, 15000);
    expect(o.code).toBe(0);
    expect(o.stdout).toContain('schedule');
    // Empty files are skipped from the walk's stat (never opened, never loaded): one summary line.
    expect(o.stderr.trim().split('\n')).toEqual([
      `ksym: warning: ${d}: 100000 module files smaller than an ELF header (64 bytes) skipped unread: ${join(d, 'm0.ko')}, ${join(d, 'm1.ko')}, ${join(d, 'm10.ko')}, ...`,
    ]);
  }, 90000);

  it('symbols --module DIR says it is a directory and what was expected', async () => {
    const d = join(dir, 'moddir');
    mkdirSync(d);
    const o = await cli(['symbols', '--module', d]);
    expect(o.code).toBe(2);
    expect(o.stderr.trim()).toBe(`ksym: ${d}: is a directory, expected a module file (.ko, .ko.gz, .ko.xz, .ko.zst)`);
  });
});

describe('escape sequences in names are inert in the output, always', () => {
  const f = join(dir, 'evil.kallsyms');
  writeFileSync(f, Buffer.from('ffffffff81000000 T _stext\nffffffff81001000 T evil\x1b[31m\x9b2J\nffffffff81002000 T _etext\n', 'latin1'));
  it('text output: visible \\x escapes', async () => {
    const o = await cli(['lookup', '--kallsyms', f, 'ffffffff81001004']);
    expect(o.code).toBe(0);
    expect(o.stdout).toBe('ffffffff81001004 evil\\x1b[31m\\x9b2J+0x4/0x1000\n');
  });
  it('--json output: valid JSON with the same name, no raw control character', async () => {
    const o = await cli(['lookup', '--json', '--kallsyms', f, 'ffffffff81001004']);
    expect(o.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(JSON.parse(o.stdout)[0].name).toBe('evil\x1b[31m\x9b2J');
  });
  it('standard error too (its stream is made on first use, and wrapped then)', async () => {
    // a source named twice: the warning names the file (here with an escape in its name)
    const g = join(dir, 'evil\x1b[31m.kallsyms');
    writeFileSync(g, 'ffffffff81000000 T _stext\nffffffff81001000 T f\nffffffff81002000 T _etext\n');
    const o = await cli(['lookup', '--kallsyms', g, '--kallsyms', g, 'ffffffff81001004']);
    expect(o.stderr).toContain('evil\\x1b[31m.kallsyms: named 2 times');
    expect(o.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(o.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});

describe('a file appended to while it is read', () => {
  it('stats --kallsyms ends, with what the file held when it was opened (or more), in bounded time', async () => {
    const f = join(dir, 'growing.kallsyms');
    const lines = Array.from({ length: 50000 }, (_, i) => `ffffffff81${(0x1000 + i * 16).toString(16).padStart(6, '0')} T f${i}`);
    writeFileSync(f, ['ffffffff81000000 T _stext', ...lines, 'ffffffff82000000 T _etext'].join('\n') + '\n');
    const chunk = Buffer.from('ffffffff83000000 T appended\n'.repeat(4000));
    const fd = openSync(f, 'a');
    let written = 0;
    const iv = setInterval(() => {
      if (written < 64 << 20) written += writeSync(fd, chunk);
    }, 1);
    try {
      const o = await cli(['stats', '--kallsyms', f]);
      bounded(o);
      expect(o.code).toBe(0);
      expect(Number(/symbols:\s+(\d+)/.exec(o.stdout)?.[1])).toBeGreaterThanOrEqual(50002);
    } finally {
      clearInterval(iv);
      closeSync(fd);
    }
  });
});
