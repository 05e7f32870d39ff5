/**
 * A kernel of ksym.kernels (lsp/kernelRegistry.ts buildView) reads module split BTF only
 * from module files not refused for another kernel: a kallsyms snapshot folder of Debian
 * 6.1.0-56 (its System.map as `kallsyms`, a `version`, its BTF) whose `modules` are the
 * fetched kernel's (`npm run fetch-data`: whatever ABI Debian's archive serves, not 6.1.0-56)
 * gets no split BTF from the fetched xfs.ko (refused by vermagic, the refusal kept, nothing
 * said twice); with its own 6.1.0-56 modules the split BTF is xfs.ko's.
 * Oracles: readelf -p .modinfo (the vermagic of both xfs.ko), readelf -SW (both carry .BTF).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import type { Kernel } from '../../../server/src/core/kernels/kernels';
import { KernelRegistry } from '../../../server/src/lsp/kernelRegistry';
import { parseSettings } from '../../../server/src/lsp/settings';
import { have, SYSTEM_MAP } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { BTF61, MODS } from '../../helpers/kernelLogs';
import { needs } from '../../helpers/skip';

/** The corpus kernel's release (its System.map's name). */
const CORPUS_REL = '6.1.0-56-amd64';
/** The kernel `npm run fetch-data` fetched (whatever ABI Debian's archive serves today). */
const kd = kernelData();
const FETCHED_MODS = kd ? join(kd.dir, 'modules') : '';
const ok =
  have(SYSTEM_MAP, 'kernel-view BTF test') &&
  have(BTF61, 'kernel-view BTF test') &&
  !!kd &&
  needs(existsSync(join(FETCHED_MODS, 'xfs.ko')), `kernel-view BTF test: ${FETCHED_MODS}/xfs.ko is absent (npm run fetch-data)`) &&
  needs(
    kd.abi !== CORPUS_REL,
    `kernel-view BTF test: the fetched ABI is ${CORPUS_REL}, the corpus kernel's own (no other kernel's modules)`,
  );
const readelf = (args: string[]) => execFileSync('readelf', args, { encoding: 'utf8' });
const vermagic = (f: string) => /vermagic=(\S+)/.exec(readelf(['-p', '.modinfo', f]))![1];

describe.skipIf(!ok)('kernelRegistry: a kernel view’s split BTF only from its own modules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-view-btf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const running: Kernel = { label: 'running', kind: 'running', dir: 'running', release: '6.18.0', arch: 'x86_64', problems: [] };
  const text = 'CPU: 1 PID: 4242 Comm: mount Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\n xfs_buf_read_map+0x3b/0x200 [xfs]\n';

  const moduleBtf = async (modules: string) => {
    const snap = mkdtempSync(join(dir, 'snap-'));
    copyFileSync(SYSTEM_MAP, join(snap, 'kallsyms'));
    writeFileSync(
      join(snap, 'version'),
      'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2\n',
    );
    copyFileSync(BTF61, join(snap, 'btf'));
    symlinkSync(modules, join(snap, 'modules'));
    mkdirSync(join(snap, 'empty'));
    const reg = new KernelRegistry(
      () => ({ index: buildIndex([]), generation: 1 }),
      () => undefined,
      {
        runningKernel: () => running,
        conventional: [],
      },
    );
    reg.configure(parseSettings({ kallsyms: [], modules: [join(snap, 'empty')], btf: '', kernels: [snap] }));
    const ctx = await reg.settled({ uri: `file://${snap}.log`, version: 1, languageId: 'kernel-log', getText: () => text });
    expect(ctx.selection).toMatchObject({ ok: true, by: 'release+version' });
    expect(ctx.view.kernel?.release).toBe('6.1.0-56-amd64');
    expect(ctx.view.btf?.vmlinux).toBeDefined();
    return ctx.view.btf!.module('xfs');
  };

  it('the oracles: both xfs.ko carry .BTF; the fetched kernel’s and 6.1.0-56 vermagic', () => {
    for (const f of [join(FETCHED_MODS, 'xfs.ko'), join(MODS, 'fs/xfs/xfs.ko')]) expect(readelf(['-SW', f])).toMatch(/\] \.BTF\s+PROGBITS/);
    expect(vermagic(join(FETCHED_MODS, 'xfs.ko'))).toBe(kd!.abi);
    expect(vermagic(join(MODS, 'fs/xfs/xfs.ko'))).toBe(CORPUS_REL);
  });

  it('the fetched kernel’s modules under a 6.1.0-56 kernel: no split BTF read from them, the refusal kept and not said again', async () => {
    const rel = vermagic(join(FETCHED_MODS, 'xfs.ko'));
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const b = await moduleBtf(FETCHED_MODS);
    expect(b.btf).toBeUndefined();
    expect(b.refused).toMatch(new RegExp(`^xfs\\.ko is built for ${esc(rel)} \\(vermagic\\), not ${esc(CORPUS_REL)}\\b.*: refused$`));
    expect(b.message).toBe('');
  });

  it('its own 6.1.0-56 modules: the split BTF of xfs.ko', async () => {
    const b = await moduleBtf(MODS);
    expect(b.refused).toBeUndefined();
    expect(b.btf).toBeDefined();
    expect(b.source).toMatch(/\/fs\/xfs\/xfs\.ko$/);
  });
});
