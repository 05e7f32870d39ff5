/**
 * Issue 13 §5: `ksym lookup name+0xoff/0xsize` says when the printed size is not the
 * kernel's (another build), on stderr and as `sizeMatches: false`; `ksym decode --module`
 * resolves `[mod]` frames in the module's .ko. Oracles: /proc/kallsyms (the size is the
 * distance to the next symbol, as kallsyms_lookup_size_offset computes it) and readelf -sW.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN, have, liveKallsyms, SYSTEM_MAP } from '../helpers/corpus';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { readelfSymbols } from '../helpers/readelf';
import { needs } from '../helpers/skip';

assertBuilt();
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const live = liveKallsyms();

/** The kernel's size of `name` in a kallsyms/System.map text: the distance to the next higher vmlinux address. */
function kernelSize(text: string, name: string): { address: bigint; size: number } {
  const rows = text
    .split('\n')
    .map((l) => /^([0-9a-f]+) (\S) (\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ a: BigInt('0x' + m[1]), name: m[3] }));
  const at = rows.find((r) => r.name === name)!.a;
  const next = rows
    .map((r) => r.a)
    .filter((a) => a > at)
    .reduce((x, y) => (y < x ? y : x));
  return { address: at, size: Number(next - at) };
}

describe.skipIf(!live)('ksym lookup: the printed size against the kernel (live kernel)', () => {
  const { size } = kernelSize(live?.toString('latin1') ?? '', 'do_syscall_64');

  it('a frame printed with another size: the answer, a warning on stderr, sizeMatches false', () => {
    const wrong = size + 0x10;
    const q = `do_syscall_64+0x71/0x${wrong.toString(16)}`;
    const r = run(['lookup', '--json', q]);
    expect(r.status).toBe(0);
    const [e] = JSON.parse(r.stdout);
    expect(e).toMatchObject({ name: 'do_syscall_64', offset: 0x71, size, sizeMatches: false, printedSize: wrong });
    expect(r.stderr).toContain(
      `ksym: ${q}: the printed size 0x${wrong.toString(16)} is not do_syscall_64's size in this index (0x${size.toString(16)}): ` +
        'the frame comes from another build of the kernel',
    );
    const t = run(['lookup', q]);
    expect(t.stdout).toContain(`do_syscall_64+0x71/0x${size.toString(16)}`);
    expect(t.stderr).toContain('comes from another build');
  });

  it('the right size: sizeMatches true and no warning; no size printed: no sizeMatches', () => {
    const r = run(['lookup', '--json', `do_syscall_64+0x71/0x${size.toString(16)}`, 'do_syscall_64+0x71']);
    expect(r.status).toBe(0);
    const [a, b] = JSON.parse(r.stdout);
    expect(a.sizeMatches).toBe(true);
    expect(b.sizeMatches).toBeUndefined();
    expect(r.stderr).toBe('');
  });
});

const MODS = resolve(DEBIAN, 'modules');
const XFS = join(MODS, 'fs/xfs/xfs.ko');
const haveReadelf = needs(spawnSync('readelf', ['--version']).status === 0, 'decode --module test: readelf (binutils) is not installed');

describe.skipIf(!have(XFS, 'decode --module test') || !existsSync(SYSTEM_MAP) || !haveReadelf)('ksym decode --module', () => {
  it('resolves [xfs] frames in xfs.ko: the kernel size is the distance to the next symbol of its section (readelf -sW)', () => {
    const syms = readelfSymbols(XFS);
    const row = syms.find((s) => s.name === 'xfs_buf_ioend')!;
    const next = Math.min(...syms.filter((s) => s.ndx === row.ndx && s.value > row.value).map((s) => s.value));
    const size = next - row.value;
    const dir = mkdtempSync(join(tmpdir(), 'ksym-decode-module-'));
    const log = join(dir, 'xfs.log');
    writeFileSync(
      log,
      [
        'CPU: 1 PID: 1 Comm: mount Not tainted 6.1.0-56-amd64 #1  Debian 6.1.158-1',
        'Call Trace:',
        ' <TASK>',
        ` xfs_buf_ioend+0x3c/0x${size.toString(16)} [xfs]`,
        ` xfs_buf_ioend+0x3c/0x${(size + 0x10).toString(16)} [xfs]`,
        '',
      ].join('\n'),
    );
    const r = run(['decode', '--kallsyms', SYSTEM_MAP, '--module', MODS, '--json', log]);
    expect(r.status, r.stderr).toBe(0);
    const frames = (
      JSON.parse(r.stdout).tokens as { kind: string; name: string; module: string; size: number; matchesLog: boolean }[]
    ).filter((t) => t.kind === 'frame');
    expect(frames.map((f) => [f.name, f.module, f.size, f.matchesLog])).toEqual([
      ['xfs_buf_ioend', 'xfs', size, true],
      ['xfs_buf_ioend', 'xfs', size, false],
    ]);
    // Text mode too: each [xfs] frame judged from xfs.ko (section + offset from readelf's
    // value), the wrong size flagged with what the kernel would print — not "no symbol in the index".
    const t = run(['decode', '--kallsyms', SYSTEM_MAP, '--module', MODS, log]);
    expect(t.status, t.stderr).toBe(0);
    const lines = t.stdout.split('\n').filter((l) => l.includes('xfs_buf_ioend+0x3c'));
    const sec = /\[\s*(\d+)\] (\S+)/g.exec(
      spawnSync('readelf', ['-SW', XFS])
        .stdout.toString()
        .split('\n')
        .find((l) => new RegExp(`\\[\\s*${row.ndx}\\] `).test(l)) ?? '',
    )?.[2];
    const at = `xfs.ko ${sec}+0x${(row.value + 0x3c).toString(16)}`;
    expect(lines[0]).toContain(`⟶ ✓ ${at}`);
    expect(lines[1]).toContain(`⟶ ⚠ ${at}: the kernel would print xfs_buf_ioend+0x3c/0x${size.toString(16)} [xfs]`);
    expect(t.stdout).not.toMatch(/no symbol named xfs_buf_ioend/);
  });
});
