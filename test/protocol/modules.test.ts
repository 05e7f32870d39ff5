import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readelfSymbols } from '../helpers/readelf';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ready, startClient } from '../helpers/lspclient';
import { DEBIAN, have, SYSTEM_MAP } from '../helpers/corpus';

const MODS = resolve(DEBIAN, 'modules');
const XFS = join(MODS, 'fs/xfs/xfs.ko');

/** readelf -sW value and size of a unique symbol. */
const readelf = (file: string, name: string) => readelfSymbols(file).find((r) => r.name === name)!;

describe.skipIf(!have(MODS, 'module hover tests') || !existsSync(XFS))('hover on module frames with ksym.modules', () => {
  it('a [xfs] frame the kallsyms source lacks resolves in xfs.ko: section, value, binding, position', async () => {
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], modules: [MODS] });
    try {
      await c.waitStatus((s) => ready(s) && s.moduleFiles === 15, 'module scan');
      const { value } = readelf(XFS, 'xfs_buf_ioend');
      const uri = 'file:///mod.oops';
      await c.open(
        uri,
        'kernel-log',
        ' xfs_buf_ioend+0x3c/0x5e0 [xfs]\n put_ldev+0x10/0xf0 [drbd]\n nosuchfn+0x1/0x2 [xfs]\n ghost+0x1/0x2 [not_a_module]',
      );
      const h = (await c.hover(uri, 0, 5))!;
      expect(h).toContain('`xfs` from `' + XFS + '`');
      expect(h).toContain('`xfs_buf_ioend+0x3c/0x5e0 [xfs]`** ✓ matches the log');
      expect(h).toContain(`| \`.text\` | \`0x${value.toString(16)}\` |`);
      expect(h).toContain('LOCAL');
      const d = (await c.hover(uri, 1, 5))!;
      expect(d).toContain('10 symbols named `put_ldev` match: the frame is ambiguous');
      expect(d).toMatch(/\| 30 \| `\.text` \|[^\n]*\| 1 \|/);
      const n = (await c.hover(uri, 2, 5))!;
      expect(n).toMatch(/nosuchfn/);
      const g = (await c.hover(uri, 3, 5))!;
      expect(g).toMatch(/not_a_module/);
      // What the user can do, not how the store works.
      expect(g).toContain('add the directory holding `not_a_module.ko` to `ksym.modules`');
      // One code span for the section-relative place (no "`.text``+0x…`").
      expect(h).toMatch(/kernel form \(`\.text\+0x[0-9a-f]+`\)/);
      expect(h + d).not.toContain('``');
      // The candidates show the kernel's size (what /0xsize prints: the distance to the next symbol of
      // the section, from readelf -sW) and ELF st_size only where it differs, labelled.
      const syms = readelfSymbols(join(MODS, 'drivers/block/drbd/drbd.ko'));
      const first = syms.find((x) => x.name === 'put_ldev')!;
      const next = Math.min(
        ...syms.filter((x) => x.ndx === first.ndx && x.value > first.value && x.type !== 'SECTION').map((x) => x.value),
      );
      expect(next - first.value).toBe(0xf0); // the frame printed /0xf0
      expect(first.size).not.toBe(0xf0);
      expect(d).toContain(`| \`0x${first.value.toString(16)}\` | \`0xf0\` (st_size \`0x${first.size.toString(16)}\`) |`);
    } finally {
      await c.close();
    }
  });

  it('a truncated module gives an error naming the file and offset, and other modules keep working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-trunc-'));
    const bytes = execFileSync('head', ['-c', '5000', XFS]);
    writeFileSync(join(dir, 'xfs.ko'), bytes);
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], modules: [dir, join(MODS, 'lib')] });
    try {
      await c.waitStatus((s) => ready(s) && s.moduleFiles === 2, 'module scan');
      const uri = 'file:///trunc.oops';
      await c.open(uri, 'kernel-log', ' xfs_buf_ioend+0x3c/0x5e0 [xfs]\n crc7_be+0x4/0x40 [crc7]');
      expect(await c.hover(uri, 0, 5)).toMatch(new RegExp(`${join(dir, 'xfs.ko')}: offset 0x[0-9a-f]+: `));
      expect(await c.hover(uri, 1, 5)).toContain('`crc7` from');
    } finally {
      await c.close();
    }
  });
});
