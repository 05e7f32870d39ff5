/**
 * `ksym check --kallsyms K --module M`: target modules are of the --kallsyms kernel, never
 * another's (a sympos counted in another build's module is a wrong answer). A module whose
 * `.modinfo` vermagic names another release is refused: an explicit file is an error (exit
 * 2), a module found in a directory makes its references "cannot check" with the reason; the
 * matching System.map accepts them. Oracles: /proc/version (the running release), readelf
 * -p .modinfo (drbd.ko's vermagic), readelf -sW (how many `put_ldev` symbols drbd.ko has).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { have, ROOT, SYSTEM_MAP } from '../helpers/corpus';
import { DRBD, MODS } from '../helpers/kernelLogs';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
const FIX = join(ROOT, 'test/fixtures/livepatch/klp-convert-relocs.c');
const haveAll = have(SYSTEM_MAP, 'ksym check vermagic tests') && have(DRBD, 'ksym check vermagic tests');
const running = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
const vermagic = (f: string) => /vermagic=(\S+)/.exec(execFileSync('readelf', ['-p', '.modinfo', f], { encoding: 'utf8' }))![1];
const putLdev = (f: string) =>
  execFileSync('readelf', ['-sW', f], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .split('\n')
    .filter((l) => / put_ldev$/.test(l) && !/ UND /.test(l)).length;

describe.skipIf(!haveAll)('ksym check: --module files of the --kallsyms kernel only', () => {
  assertBuilt();
  // describeKernel adds the architecture: `not 6.18.0 (x86_64)`
  const refusal = `drbd.ko is built for ${vermagic(DRBD)} (vermagic), not ${running} (${process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'arm64' : process.arch})`;

  it('the oracles: drbd.ko is built for another release than the running kernel', () => {
    expect(vermagic(DRBD)).toBe('6.1.0-56-amd64');
    expect(running).not.toBe('6.1.0-56-amd64');
  });

  it('an explicit --module file of another kernel: exit 2, one line naming both kernels', () => {
    const r = run(['--kallsyms', '/proc/kallsyms', '--module', DRBD, FIX]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`ksym: ${DRBD}: ${refusal}: refused`]);
    expect(r.stdout).toBe('');
  });

  it('a module directory of another kernel: its references cannot be checked, and say why', () => {
    const r = run(['--kallsyms', '/proc/kallsyms', '--module', MODS, FIX]);
    const drbd = r.stdout.split('\n').filter((l) => l.includes("in module 'drbd'"));
    expect(drbd).toHaveLength(3);
    for (const l of drbd) {
      expect(l).toContain('warning: cannot check');
      expect(l).toContain(`${refusal}: refused`);
    }
    expect(r.stdout).not.toContain("unresolvable ambiguity for symbol 'put_ldev'");
  });

  it('the matching System.map: the same modules are used (put_ldev counted in drbd.ko)', () => {
    const n = putLdev(DRBD);
    expect(n).toBeGreaterThan(1);
    const r = run(['--kallsyms', SYSTEM_MAP, '--module', MODS, FIX]);
    expect(r.stderr).not.toContain('refused');
    expect(r.stdout).toContain(`error: unresolvable ambiguity for symbol 'put_ldev' in object 'drbd': ${n} matches, a position is needed`);
  });
});
