import { spawnSync } from 'node:child_process';
import { readelfSymbols } from '../helpers/readelf';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { DEBIAN, have } from '../helpers/corpus';

assertBuilt();
const MODS = resolve(DEBIAN, 'modules');
const XFS = join(MODS, 'fs/xfs/xfs.ko');
const DRBD = join(MODS, 'drivers/block/drbd/drbd.ko');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const haveReadelf = spawnSync('readelf', ['--version']).status === 0;

/** readelf -sW rows of one name. */
const readelfRows = (file: string, name: string) => readelfSymbols(file).filter((r) => r.name === name);

describe.skipIf(!have(MODS, 'module CLI tests') || !existsSync(XFS) || !haveReadelf)('ksym lookup --module / ksym symbols', () => {
  it('resolves a [xfs] frame in xfs.ko at the value readelf gives', () => {
    const [row] = readelfRows(XFS, 'xfs_buf_ioend');
    const r = run([
      'lookup',
      '--kallsyms',
      resolve(DEBIAN, 'System.map-6.1.0-56-amd64'),
      '--module',
      MODS,
      '--json',
      'xfs_buf_ioend+0x3c [xfs]',
    ]);
    expect(r.status).toBe(0);
    const [e] = JSON.parse(r.stdout);
    expect(e).toMatchObject({
      name: 'xfs_buf_ioend',
      module: 'xfs',
      offset: 0x3c,
      section: '.text',
      sectionOffset: row.value + 0x3c,
      position: 1,
      type: 't',
    });
    expect(e.address).toBeNull(); // load address unknown without the module in kallsyms
  });

  it('lists all 10 drbd put_ldev with readelf order as candidates', () => {
    const rows = readelfRows(DRBD, 'put_ldev');
    expect(rows.length).toBe(10);
    // The module's own kernel's System.map: against another kernel's symbols (the default /proc/kallsyms) drbd.ko is refused (modules-vermagic-cli.test.ts).
    const r = run([
      'lookup',
      '--kallsyms',
      resolve(DEBIAN, 'System.map-6.1.0-56-amd64'),
      '--module',
      DRBD,
      '--json',
      'put_ldev+0x10 [drbd]',
    ]);
    expect(r.status).toBe(1);
    const [e] = JSON.parse(r.stdout);
    expect(e.candidates.map((c: { sectionOffset: number }) => c.sectionOffset)).toEqual(rows.map((x) => x.value + 0x10));
    expect(e.candidates.map((c: { position: number }) => c.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("symbols --json matches readelf -sW row for row; --kept is the kernel's kept subset", () => {
    const all = JSON.parse(run(['symbols', '--module', XFS, '--json']).stdout);
    expect(all.length).toBe(readelfSymbols(XFS).length);
    const kept = JSON.parse(run(['symbols', '--module', XFS, '--kept', '--json']).stdout);
    expect(kept.length).toBe(all.filter((r: { kept: boolean }) => r.kept).length);
    expect(kept.every((r: { sectionIndex: unknown }) => r.sectionIndex !== 'UND' || r === kept[0])).toBe(true);
  });

  it('reports an unusable module file with exit 2', () => {
    const r = run(['symbols', '--module', resolve(DEBIAN, 'System.map-6.1.0-56-amd64')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/System\.map-6\.1\.0-56-amd64: offset 0x0: /);
  });
});
