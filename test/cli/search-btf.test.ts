/**
 * `ksym search` never mixes kernels: the running kernel's BTF is searched only beside the
 * running kernel's symbols; beside another kernel's System.map it is not used unless given,
 * and a --btf that is not of those symbols is refused (the language server's rule,
 * core/kernels/btfCheck). Oracles: bpftool (the struct's size in each BTF), the corpus map.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { DEBIAN, have, SYSTEM_MAP } from '../helpers/corpus';
import { needs } from '../helpers/skip';

const BTF56 = resolve(DEBIAN, 'vmlinux-6.1.0-56-amd64.btf');
const LIVE = '/sys/kernel/btf/vmlinux';
const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'search', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
const haveCorpus = have(BTF56, 'search BTF never-mix tests') && have(SYSTEM_MAP, 'search BTF never-mix tests');
const haveLive = needs(existsSync(LIVE), `search BTF never-mix tests: ${LIVE} is absent`);
const haveBpftool = needs(
  spawnSync('bpftool', ['version']).status === 0,
  'search BTF never-mix tests: bpftool (the oracle) is not installed',
);
/** bpftool: the byte size of `struct name` in a BTF. */
const structSize = (btf: string, name: string) =>
  Number(
    new RegExp(`\\] STRUCT '${name}' size=(\\d+)`).exec(
      execFileSync('bpftool', ['btf', 'dump', 'file', btf, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 28 }),
    )![1],
  );

describe.skipIf(!haveCorpus || !haveLive || !haveBpftool)('ksym search: BTF of the symbols’ kernel only', () => {
  assertBuilt();
  const own = structSize(BTF56, 'task_struct');
  const live = structSize(LIVE, 'task_struct');

  it('the oracles: the two kernels describe task_struct differently', () => {
    expect(own).not.toBe(live);
  });

  it('another kernel’s System.map and no --btf: no BTF types from the running kernel, and a note says why', () => {
    const r = run(['--kallsyms', SYSTEM_MAP, 'struct task_struct']);
    expect(r.stdout).not.toContain(' btf ');
    expect(r.stderr).toContain('BTF types not searched: no --btf given for the symbols of');
  });

  it('its own BTF: found, with that BTF’s size', () => {
    const r = run(['--kallsyms', SYSTEM_MAP, '--btf', BTF56, 'struct task_struct']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(`task_struct  btf  (exact; struct (${own} bytes)`);
  });

  it('the running kernel’s BTF beside the 6.1 map: refused, exit 2', () => {
    const r = run(['--kallsyms', SYSTEM_MAP, '--btf', LIVE, 'struct task_struct']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ksym: BTF vmlinux is not of 6\.1\.0-56-amd64 .*sampled functions .* refused\n$/);
    expect(r.stdout).toBe('');
  });

  it('the running kernel: its symbols and its BTF', () => {
    const r = run(['struct task_struct']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(`task_struct  btf  (exact; struct (${live} bytes)`);
  });
});

describe.skipIf(!haveCorpus)('ksym search --module: module files of the symbols’ kernel only (vermagic)', () => {
  assertBuilt();
  const MODS = resolve(DEBIAN, 'modules');
  const DRBD = resolve(MODS, 'drivers/block/drbd/drbd.ko');
  const vermagic = /vermagic=(\S+)/.exec(execFileSync('readelf', ['-p', '.modinfo', DRBD], { encoding: 'utf8' }))![1];

  const running = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
  it.skipIf(running === vermagic)('beside the running kernel’s symbols the 6.1 modules are refused, each said (then counted)', () => {
    const r = run(['--btf', 'none', '--module', MODS, 'drbd_adm_attach']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`ksym: warning: drbd.ko is built for ${vermagic} (vermagic), not `);
    expect(r.stderr).toMatch(/more modules under .* could not be used \(15 in all\)/);
  });

  it('beside their own System.map they are searched', () => {
    const r = run(['--kallsyms', SYSTEM_MAP, '--btf', 'none', '--module', MODS, 'drbd_adm_attach']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^- function drbd_adm_attach {2}drbd {2}\(exact; T \.text\+0x[0-9a-f]+ \[drbd\.ko\]\)$/);
    expect(r.stderr).toBe('');
  });
});
