/**
 * Never mix kernels in the CLI: `--module` files are checked (`.modinfo` vermagic) against
 * the kernel of the symbols served (`--kallsyms`, default /proc/kallsyms: the running
 * kernel), as the language server's ksym.modules are (core/kernels/configured.ts). A module
 * built for another kernel is refused with one line, never used; the matching System.map
 * accepts it; a symbol file whose release nothing names is said not to be checked.
 * Oracles: /proc/version (the running release), readelf -p .modinfo (vermagic of drbd.ko),
 * readelf -sW (drbd_adm_attach's value: the .text offset an accepted file gives).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { have, SYSTEM_MAP } from '../helpers/corpus';
import { DRBD, drbdLog, drbdOracle, h, MODS } from '../helpers/kernelLogs';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const haveAll = have(SYSTEM_MAP, 'CLI --module vermagic tests') && have(DRBD, 'CLI --module vermagic tests');
const running = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
const vermagic = (f: string) => /vermagic=(\S+)/.exec(execFileSync('readelf', ['-p', '.modinfo', f], { encoding: 'utf8' }))![1];

describe.skipIf(!haveAll)('CLI --module checked against the served kernel (vermagic)', () => {
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'ksym-cli-vermagic-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const log = drbdLog();
  const logFile = join(dir, 'drbd.oops');
  writeFileSync(logFile, log.text + '\n');
  // The same oops without its CPU: line: it names no release, so the running kernel is chosen (by architecture).
  const noRelease = join(dir, 'norel.oops');
  writeFileSync(noRelease, log.text.replace(/^CPU: .*\n/m, '') + '\n');
  const refusal = `drbd.ko is built for 6.1.0-56-amd64 (vermagic), not ${running}`;
  const inText = `.text+0x${h(drbdOracle('drbd_adm_attach').value + 0x2fn)}`;
  const frameLines = (out: string) => out.split('\n').filter((l) => l.includes('drbd_adm_attach+0x2f/'));

  it('the oracles: drbd.ko is built for 6.1.0-56-amd64, the running kernel is another', () => {
    expect(vermagic(DRBD)).toBe('6.1.0-56-amd64');
    expect(running).not.toBe('6.1.0-56-amd64');
  });

  it('decode --kallsyms /proc/kallsyms --module <6.1 modules>: refused, one line on stderr, the frames answer the refusal', () => {
    const r = run(['decode', '--kallsyms', '/proc/kallsyms', '--module', MODS, logFile]);
    expect(r.status).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('refused'))).toEqual([`ksym: --module refused: ${refusal}`]);
    const frames = frameLines(r.stdout);
    expect(frames).toHaveLength(2); // RIP: and the Call Trace entry
    for (const l of frames) {
      expect(l).toContain(`⟶ ${refusal}: refused`);
      expect(l).not.toContain(inText);
      expect(l).not.toContain('no source line');
    }
  });

  it('decode --kallsyms <the Debian System.map> --module <its modules>: accepted, the frame in drbd.ko at readelf’s value', () => {
    const r = run(['decode', '--kallsyms', SYSTEM_MAP, '--module', MODS, logFile]);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('refused');
    expect(r.stderr).not.toContain('not checked');
    for (const l of frameLines(r.stdout)) expect(l).toContain(`✓ drbd.ko ${inText}`);
  });

  it('decode --kallsyms <a copy named System.map>: the release is unknown, so not checked (said), and used', () => {
    const map = join(mkdtempSync(join(dir, 'norel-')), 'System.map');
    copyFileSync(SYSTEM_MAP, map);
    const r = run(['decode', '--kallsyms', map, '--module', MODS, logFile]);
    expect(r.stderr).toContain(
      `ksym: --module is not checked against the kernel: the release of ${map} is unknown (neither its name nor a version file next to it says which)`,
    );
    expect(r.stderr).not.toContain('refused');
    for (const l of frameLines(r.stdout)) expect(l).toContain(`✓ drbd.ko ${inText}`);
  });

  it('decode --json --kallsyms /proc/kallsyms --module <6.1 modules>: the refusal once in kernel.problems, no module answer', () => {
    const r = run(['decode', '--json', '--kallsyms', '/proc/kallsyms', '--module', MODS, noRelease]);
    const j = JSON.parse(r.stdout) as {
      kernel: { selected: string; problems: string[] };
      tokens: { module: string | null; name: string | null; sourceProblem?: string }[];
    };
    expect(j.kernel.selected).toBe('running');
    expect(j.kernel.problems.filter((p) => p.includes('refused'))).toEqual([`--module refused: ${refusal}`]);
    const drbd = j.tokens.filter((t) => t.module === 'drbd');
    expect(drbd.length).toBeGreaterThan(0);
    for (const t of drbd) {
      expect(t.name).toBeNull();
      expect(t.sourceProblem).toBe(`${refusal}: refused`); // each token says why it has no answer
    }
  });

  it('decode --json --kallsyms <the Debian System.map> --module <its modules>: nothing refused, drbd frames answered', () => {
    const r = run(['decode', '--json', '--kallsyms', SYSTEM_MAP, '--module', MODS, logFile]);
    const j = JSON.parse(r.stdout) as {
      kernel: { problems: string[] };
      tokens: { kind: string; module: string | null; name: string | null }[];
    };
    expect(j.kernel.problems.filter((p) => p.includes('refused'))).toEqual([]);
    const frames = j.tokens.filter((t) => t.module === 'drbd' && t.kind === 'frame');
    expect(frames.length).toBeGreaterThan(0);
    for (const t of frames) expect(t.name).toBe('drbd_adm_attach');
  });

  it('lookup --module drbd.ko: refused against the running kernel (exit 1), answered against the Debian System.map', () => {
    const q = log.attach;
    const bad = run(['lookup', '--kallsyms', '/proc/kallsyms', '--module', DRBD, q]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.split('\n').filter((l) => l.includes('refused'))).toEqual([`ksym: ${refusal}: refused`]);
    // Without --kallsyms (the default /proc/kallsyms): the same refusal, with the hint to name the module's kernel.
    const implicit = run(['lookup', '--module', DRBD, q]);
    expect(implicit.status).toBe(1);
    expect(implicit.stderr.split('\n').filter((l) => l.includes('refused'))).toEqual([
      `ksym: ${refusal}: refused (the symbols are the running kernel's /proc/kallsyms: give --kallsyms with the module's own kernel's System.map)`,
    ]);
    expect(bad.stdout).toBe(`${q} ?\n`);
    const good = run(['lookup', '--kallsyms', SYSTEM_MAP, '--module', DRBD, q]);
    expect(good.status).toBe(0);
    expect(good.stdout.split('\n')[0]).toBe(`${inText} ${q}`);
  });
});
