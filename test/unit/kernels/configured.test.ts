/**
 * The configured symbol sources kept to one kernel (core/kernels/configured.ts), as the
 * language server (ksym.kallsyms/systemMap) and the CLI (--kallsyms) use it. Oracles:
 * /proc/version (the running release and build string), the corpus System.map's name.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelOfSources, oneKernelSources } from '../../../server/src/core/kernels/configured';
import { readRunningKernel } from '../../../server/src/core/kernels/storeKernels';
import { have, SYSTEM_MAP } from '../../helpers/corpus';

const PROC = '/proc/kallsyms';
const haveMap = have(SYSTEM_MAP, 'configured-sources tests');
const procVersion = /^Linux version (\S+) \(.*?\) (#.*)$/m.exec(readFileSync('/proc/version', 'utf8'))!;
const running = readRunningKernel({ machine: machine() });

describe.skipIf(!haveMap)('configured symbol sources kept to one kernel', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ksym-configured-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the running kernel is the one /proc/version names', () => {
    expect(running.release).toBe(procVersion[1]);
    expect(kernelOfSources([{ file: PROC, kind: 'kallsyms' }], running)).toBe(running);
  });

  it('a System.map of another release replaces /proc/kallsyms', () => {
    expect(procVersion[1]).not.toBe('6.1.0-56-amd64');
    const r = oneKernelSources([PROC], [SYSTEM_MAP], running);
    expect(r.kallsyms).toEqual([]);
    expect(r.systemMap).toEqual([SYSTEM_MAP]);
    expect(r.warnings).toEqual([
      `ksym.systemMap is 6.1.0-56-amd64, /proc/kallsyms is the running ${procVersion[1]}: kernels are never mixed, /proc/kallsyms is not indexed`,
    ]);
    expect(kernelOfSources([{ file: SYSTEM_MAP, kind: 'system.map' }], running)?.release).toBe('6.1.0-56-amd64');
  });

  it('a System.map whose name says no release replaces /proc/kallsyms too (nothing says it is the running kernel’s)', () => {
    const map = join(mkdtempSync(join(tmp, 'norel-')), 'System.map');
    copyFileSync(SYSTEM_MAP, map);
    const r = oneKernelSources([PROC], [map], running);
    expect(r.kallsyms).toEqual([]);
    expect(r.systemMap).toEqual([map]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^ksym\.systemMap System\.map names no release, so nothing says it is the running kernel's \(/);
    expect(kernelOfSources([{ file: map, kind: 'system.map' }], running)?.release).toBeUndefined();
  });

  it('a System.map named for the running release is the same kernel: both kept, nothing said', () => {
    const map = join(tmp, `System.map-${procVersion[1]}`);
    copyFileSync(SYSTEM_MAP, map);
    const r = oneKernelSources([PROC], [map], running);
    expect(r).toEqual({ kallsyms: [PROC], systemMap: [map], warnings: [] });
  });

  it('a kallsyms snapshot (kallsyms + version of this machine) with a 6.1 System.map: the map is not indexed', () => {
    const snap = mkdtempSync(join(tmp, 'snap-'));
    writeFileSync(join(snap, 'version'), readFileSync('/proc/version')); // copyFileSync reads a /proc file as empty
    writeFileSync(join(snap, 'kallsyms'), 'ffffffff81000000 T _stext\nffffffff81000100 T start_kernel\n');
    const ks = join(snap, 'kallsyms');
    expect(kernelOfSources([{ file: ks, kind: 'kallsyms' }], running)?.release).toBe(procVersion[1]);
    const r = oneKernelSources([ks], [SYSTEM_MAP], running);
    expect(r.kallsyms).toEqual([ks]);
    expect(r.systemMap).toEqual([]);
    expect(r.warnings).toEqual([
      `ksym.systemMap System.map-6.1.0-56-amd64 is 6.1.0-56-amd64, the symbols are ${procVersion[1]} (kallsyms): kernels are never mixed, System.map-6.1.0-56-amd64 is not indexed`,
    ]);
  });

  it('no source: no kernel', () => {
    expect(kernelOfSources([], running)).toBeUndefined();
    expect(oneKernelSources([], [], running)).toEqual({ kallsyms: [], systemMap: [], warnings: [] });
  });
});
