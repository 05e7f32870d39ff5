/**
 * Never mix kernels for module files fetched from debuginfod (lsp/kernelRegistry.ts): the
 * store over the fetched files and the view's own modules is checked (vermagic) against the
 * served kernel's release, as the view's modules are. A `[drbd BUILDID]` frame whose module
 * file comes back from a file:// server built for another release is refused, not resolved.
 * Oracles: readelf -n (drbd.ko's build id), readelf -p .modinfo (its vermagic), readelf -sW
 * (drbd_adm_attach's value, which an accepted file would place the frame at).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import type { Kernel } from '../../../server/src/core/kernels/kernels';
import { scanLine } from '../../../server/src/core/log/scan';
import { DebuginfodFetches } from '../../../server/src/lsp/debuginfodFetches';
import { KernelRegistry } from '../../../server/src/lsp/kernelRegistry';
import { parseSettings } from '../../../server/src/lsp/settings';
import { have } from '../../helpers/corpus';
import { DRBD } from '../../helpers/kernelLogs';

const haveDrbd = have(DRBD, 'fetched-module never-mix test');
const readelf = (args: string[]) => execFileSync('readelf', args, { encoding: 'utf8' });

describe.skipIf(!haveDrbd)('kernelRegistry: module files fetched by build id are checked against the served kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-fetched-mods-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (release: string) => {
    const buildId = /Build ID: ([0-9a-f]+)/.exec(readelf(['-n', DRBD]))![1];
    const srv = join(dir, `srv-${release}`);
    mkdirSync(join(srv, 'buildid', buildId), { recursive: true });
    copyFileSync(DRBD, join(srv, 'buildid', buildId, 'debuginfo'));
    const running: Kernel = { label: 'running', kind: 'running', dir: 'running', release, arch: 'x86_64', problems: [] };
    const fetches = new DebuginfodFetches({
      env: { DEBUGINFOD_CACHE_PATH: join(dir, `cache-${release}`) },
      home: dir,
      linkRoot: join(dir, `links-${release}`),
      log: () => undefined,
      changed: () => undefined,
    });
    const reg = new KernelRegistry(
      () => ({ index: buildIndex([]), generation: 1 }),
      () => undefined,
      {
        runningKernel: () => running,
        conventional: [],
        fetches,
      },
    );
    const empty = mkdtempSync(join(dir, 'nomods-'));
    reg.configure(parseSettings({ kallsyms: ['/proc/kallsyms'], modules: [empty], btf: '', debuginfod: { urls: [`file://${srv}`] } }));
    const frame = ` drbd_adm_attach+0x2f/0xee0 [drbd ${buildId}]`;
    const text = `CPU: 0 PID: 1 Comm: drbdsetup Not tainted ${release} #1\nCall Trace:\n${frame}\n`;
    const doc = { uri: `file:///${release}.log`, version: 1, languageId: 'kernel-log', getText: () => text };
    reg.context(doc);
    for (let k = 0; k < 300 && fetches.state(buildId)?.status !== 'done' && fetches.state(buildId)?.status !== 'failed'; k++)
      await new Promise((r) => setTimeout(r, 10));
    expect(fetches.state(buildId)?.status).toBe('done');
    reg.invalidate();
    const ctx = reg.context(doc);
    expect(ctx.selection?.ok).toBe(true);
    const tok = scanLine(frame).find((t) => t.kind === 'frame')!;
    return { r: await ctx.modules!.resolveModuleFrame(tok), fetches };
  };

  it('drbd.ko built for 6.1.0-56-amd64, served kernel 6.18.0: refused by vermagic', async () => {
    const vermagic = /vermagic=(\S+)/.exec(readelf(['-p', '.modinfo', DRBD]))![1];
    expect(vermagic).toBe('6.1.0-56-amd64');
    const { r, fetches } = await run('6.18.0');
    try {
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toBe('drbd.ko is built for 6.1.0-56-amd64 (vermagic), not 6.18.0: refused');
    } finally {
      fetches.dispose();
    }
  });

  it('served kernel 6.1.0-56-amd64 (the vermagic): the fetched file answers, at readelf -sW’s value', async () => {
    const sym = readelf(['-sW', DRBD])
      .split('\n')
      .find((l) => / drbd_adm_attach$/.test(l))!;
    const value = BigInt('0x' + sym.trim().split(/\s+/)[1]);
    const { r, fetches } = await run('6.1.0-56-amd64');
    try {
      expect(r.ok).toBe(true);
      expect(r.ok && r.candidates.map((c) => BigInt(c.value))).toEqual([value]);
    } finally {
      fetches.dispose();
    }
  });
});
