/**
 * The language server's per-document kernel choice with a vmlinux .symtab from debuginfod
 * (lsp/kernelRegistry.ts + lsp/debuginfodFetches.ts): a log whose build id no known kernel
 * has gets its kernel from `/section/.symtab` + `.strtab` (a file:// server of built
 * sections); an untrusted workspace contacts no server; no server configured asks nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import type { Kernel } from '../../../server/src/core/kernels/kernels';
import type { FetchRequest } from '../../../server/src/core/kernels/storeDebuginfod';
import { fetchDebuginfod } from '../../../server/src/core/kernels/storeDebuginfod';
import { DebuginfodFetches } from '../../../server/src/lsp/debuginfodFetches';
import { KernelRegistry } from '../../../server/src/lsp/kernelRegistry';
import { parseSettings } from '../../../server/src/lsp/settings';
import { sections } from './sections';

const BID = 'ab'.repeat(20);
const T = 0xffffffff81000000n;

describe('kernelRegistry: a log of an unknown build id resolved with its debuginfod .symtab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-symtab-reg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const srv = join(dir, 'srv', 'buildid', BID, 'section');
  mkdirSync(srv, { recursive: true });
  const s = sections([
    { name: '_stext', value: T, type: 0, bind: 1 },
    { name: 'start_kernel', value: T + 0x200n, type: 2, bind: 1 },
    { name: 'rest_init', value: T + 0x300n, type: 2, bind: 1 },
    { name: '_etext', value: T + 0x400n, type: 0, bind: 1 },
  ]);
  writeFileSync(join(srv, '.symtab'), s.symtab);
  writeFileSync(join(srv, '.strtab'), s.strtab);
  const running: Kernel = { label: 'running', kind: 'running', dir: 'running', release: '6.18.0', arch: 'x86_64', problems: [] };
  const text = `CPU: 0 PID: 1 Comm: swapper Not tainted 6.1.0-99-amd64 #1 Debian 6.1.1-1 ${BID}\nRIP: 0010:start_kernel+0x10/0x100\n`;
  const doc = { uri: 'file:///a.log', version: 1, languageId: 'kernel-log', getText: () => text };

  const setup = (trusted: boolean, urls: string[]) => {
    const asked: FetchRequest[] = [];
    let changed = 0;
    const fetches = new DebuginfodFetches({
      env: { DEBUGINFOD_CACHE_PATH: join(dir, `cache-${trusted}`) },
      home: dir,
      linkRoot: join(dir, 'links'),
      log: () => undefined,
      changed: () => changed++,
      fetch: (r) => (asked.push(r), fetchDebuginfod(r)),
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
    reg.configure(parseSettings({ kallsyms: [], debuginfod: { urls }, workspaceTrusted: trusted }));
    return { reg, fetches, asked, changed: () => changed };
  };
  const until = async (f: () => boolean) => {
    for (let k = 0; k < 200 && !f(); k++) await new Promise((r) => setTimeout(r, 10));
  };

  it('trusted: the fetch runs, then the document is resolved by build id with the fetched symbols', async () => {
    const { reg, fetches, asked, changed } = setup(true, [`file://${join(dir, 'srv')}`]);
    const c1 = reg.context(doc);
    expect(c1.headline).toMatch(/this log is from 6.1.0-99-amd64/);
    expect(c1.fetching?.map((f) => f.section)).toEqual(['.symtab']);
    await until(() => fetches.vmlinuxSymtab(BID, text, 'x86_64')?.status !== 'fetching');
    expect(changed()).toBe(1);
    reg.invalidate();
    const c2 = reg.context(doc);
    expect(c2.headline).toBeUndefined();
    expect(c2.selection).toMatchObject({ ok: true, by: 'build-id' });
    expect(c2.view.kernel?.dir).toBe(`debuginfod:${BID}/section/.symtab`);
    expect(c2.view.index.resolve(T + 0x210n)?.text).toBe('start_kernel+0x10/0x100');
    expect(asked.map((a) => a.artifact.name)).toEqual(['.strtab', '.symtab']);
  });
  it('untrusted: no server is contacted (the cache only), the mismatch stays first', async () => {
    const { reg, fetches } = setup(false, [`file://${join(dir, 'srv')}`]);
    reg.context(doc);
    await until(() => fetches.vmlinuxSymtab(BID, text, 'x86_64')?.status !== 'fetching');
    const st = fetches.vmlinuxSymtab(BID, text, 'x86_64');
    expect(st?.status).toBe('failed');
    expect(st?.message).toMatch(/no server is contacted for an untrusted workspace/);
    reg.invalidate();
    expect(reg.context(doc).headline).toMatch(/this log is from/);
  });
  it('no server configured: nothing is asked', () => {
    const { reg, asked } = setup(true, []);
    expect(reg.context(doc).headline).toMatch(/this log is from/);
    expect(asked).toEqual([]);
  });
});
