/**
 * Never mix kernels in the module store (issue 16 §2): a store for one release refuses
 * every file whose `.modinfo` vermagic names another, everywhere a file is used — load,
 * the load-address learning, loadedModules (workspace symbols), usableFilesOf (split BTF)
 * — with the one rule of kernels.ts belongsTo; a file without vermagic is kept; checkFiles
 * finds the refusals up front. Oracles: readelf -p .modinfo (vermagic), readelf -sW (symbols),
 * objcopy --remove-section .modinfo (a real module with no vermagic).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { belongsTo, type Kernel } from '../../../server/src/core/kernels/kernels';
import { ModuleStore } from '../../../server/src/core/modules/store';
import { DEBIAN, have, koFiles } from '../../helpers/corpus';
import { readelfSymbols } from '../../helpers/readelf';
import { needs } from '../../helpers/skip';

const MODS = resolve(DEBIAN, 'modules');
const XFS = join(MODS, 'fs/xfs/xfs.ko');
const CRC7 = join(MODS, 'lib/crc7.ko');
const tool = (t: string) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0;
const ok =
  have(XFS, 'module store never-mix tests') &&
  needs(tool('readelf') && tool('objcopy'), 'module store never-mix tests: readelf/objcopy missing');

/** readelf -p .modinfo: the vermagic release, or undefined when the file has none. */
function vermagic(file: string): string | undefined {
  const r = spawnSync('readelf', ['-p', '.modinfo', file], { encoding: 'utf8' });
  return /vermagic=(\S+)/.exec(r.stdout)?.[1];
}

const OTHER = '6.18.44-fc-v1045';
const tmp = mkdtempSync(join(tmpdir(), 'ksym-modkernel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!ok)('a module store for one release refuses other kernels’ files', () => {
  it('the refusal is belongsTo’s rule, for every corpus module (readelf vermagic is the oracle)', async () => {
    const files = koFiles(MODS);
    expect(files).toHaveLength(15);
    const s = new ModuleStore([MODS], { release: OTHER });
    const check = await s.checkFiles();
    expect(check).toMatchObject({ release: OTHER, files: 15, checked: 15, noVermagic: 0, unreadable: 0 });
    expect(check.refused.map((r) => r.file).sort()).toEqual(files);
    const k: Kernel = { label: OTHER, kind: 'snapshot', dir: '', release: OTHER, problems: [] };
    for (const r of check.refused) {
      const vm = vermagic(r.file)!;
      expect(r.release).toBe(vm);
      expect(r.reason).toBe(belongsTo(k, { kind: 'module', path: r.file, vermagicRelease: vm }));
      expect(r.message).toBe(`${r.reason}: refused`);
      expect(r.message).toBe(`${r.file.slice(r.file.lastIndexOf('/') + 1)} is built for ${vm} (vermagic), not ${OTHER}: refused`);
    }
    // Nothing refused is served: not by name, not among the loaded modules, not as a split-BTF source.
    expect(s.loadedModules()).toEqual([]);
    expect(await s.usableFilesOf('xfs')).toEqual([]);
    const r = await s.load('xfs');
    expect(r.ok ? 'loaded' : r.kind).toBe('other-kernel');
    expect(s.refusals()).toHaveLength(15);
  });

  it('the same store for the files’ own release keeps them all (and its symbols are readelf’s)', async () => {
    const rel = vermagic(XFS)!;
    const s = new ModuleStore([MODS], { release: rel });
    const check = await s.checkFiles();
    expect(check.refused).toEqual([]);
    expect(check.checked).toBe(15);
    expect(await s.usableFilesOf('xfs')).toEqual([XFS]);
    const r = await s.load('xfs');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.vermagicRelease).toBe(rel);
    const fn = readelfSymbols(XFS).find((x) => x.name === 'xfs_buf_read_map' && x.type === 'FUNC')!;
    expect(r.module.findByName('xfs_buf_read_map').map((m) => r.module.value(m.index))).toEqual([fn.value]);
  });

  it('a module without vermagic is kept and counted (nothing says it is of another kernel)', async () => {
    const dir = join(tmp, 'novm');
    mkdirSync(dir);
    const f = join(dir, 'crc7.ko');
    copyFileSync(CRC7, f);
    execFileSync('objcopy', ['--remove-section', '.modinfo', f]);
    expect(vermagic(f)).toBeUndefined();
    const s = new ModuleStore([dir], { release: OTHER });
    const check = await s.checkFiles();
    expect(check).toMatchObject({ checked: 1, noVermagic: 1, refused: [] });
    const r = await s.load('crc7');
    expect(r.ok).toBe(true);
  });

  it('a store with no release checks nothing and reads nothing to say so', async () => {
    const s = new ModuleStore([MODS]);
    const check = await s.checkFiles();
    expect(check).toMatchObject({ release: undefined, files: 15, checked: 0, refused: [] });
    expect(await s.usableFilesOf('xfs')).toEqual([XFS]);
    expect(s.stats().parsed).toBe(0);
  });

  it('a log’s store shares the refusals; a refused file teaches no load addresses', async () => {
    const s = new ModuleStore([MODS], { release: OTHER });
    const log = s.forLog({ sysfs: false });
    const fn = readelfSymbols(XFS).find((x) => x.name === 'xfs_buf_read_map' && x.type === 'FUNC')!;
    // A kallsyms index placing xfs at a load address: learned from only if the file is usable.
    const line = `${(0xffffffffc1000000n + BigInt(fn.value)).toString(16)} t xfs_buf_read_map\t[xfs]\n`;
    const ix = buildIndex([{ file: 'kallsyms', bytes: new TextEncoder().encode(line), kind: 'kallsyms' }]);
    const learned = await log.learnFromKallsyms(ix, ['xfs']);
    expect(learned[0].bases.size).toBe(0);
    expect(learned[0].problems.join('\n')).toContain(`xfs.ko is built for ${vermagic(XFS)} (vermagic), not ${OTHER}: refused`);
    expect(s.refusals().map((r) => r.file)).toEqual([XFS]);
    const frame = await log.resolveModuleFrame({
      kind: 'frame',
      name: 'xfs_buf_read_map',
      offset: 0x10,
      size: 0x100,
      module: 'xfs',
      start: 0,
      end: 0,
      unreliable: false,
      role: 'trace',
    });
    expect(frame.ok).toBe(false);
  });
});
