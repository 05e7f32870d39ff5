import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ready, startClient } from '../helpers/lspclient';
import { have, liveKallsyms, SYSTEM_MAP, SYSTEM_MAP_STUB } from '../helpers/corpus';

const dir = mkdtempSync(join(tmpdir(), 'ksym-lsp-'));

// A kallsyms file with a hostile name (markdown/HTML injection) and a duplicate.
const FIXTURE = join(dir, 'fixture.kallsyms');
writeFileSync(
  FIXTURE,
  [
    'ffffffff81000000 T _stext',
    'ffffffff81000000 T _text',
    'ffffffff81000100 T evil*_[click](http://x)<img_src=x>',
    'ffffffff81000200 t dup',
    'ffffffff81000300 t dup',
    'ffffffff81000400 T _etext',
    '',
  ].join('\n'),
);

describe('language server over stdio: fixture kallsyms', () => {
  let c: Client;
  beforeAll(async () => {
    c = await startClient({ kallsyms: [FIXTURE] });
    await c.waitStatus(ready, 'first index');
  });
  afterAll(() => c.close());

  it('sends the ready status with the symbol count and source', async () => {
    const s = await c.waitStatus(ready);
    expect(s).toMatchObject({ state: 'ready', symbols: 6 });
    expect(s.sources[0]).toBe(FIXTURE);
    expect(s.generation).toBe(1);
    // Indexing was reported with $/progress (begin ... end).
    expect(c.progress.find((p) => p.kind === 'begin')?.title).toBe('Indexing kernel symbols');
    expect(c.progress.some((p) => p.kind === 'end')).toBe(true);
  });

  it('hovers an address and a frame with the kernel form and sympos, escaping names', async () => {
    const uri = 'file:///fixture.oops';
    await c.open(
      uri,
      'kernel-log',
      ['[    1.000000] RIP: 0010:[<ffffffff81000104>]', '[    1.000001]  dup+0x10/0x100', '[    1.000002]  ? dup+0x10/0x100'].join('\n'),
    );
    const h1 = await c.hover(uri, 0, 35);
    expect(h1).toContain('evil*_[click](http://x)<img_src=x>+0x4/0x100');
    // The name only appears inside code spans: no live link, no raw HTML.
    expect(h1!.replace(/`[^`]*`/g, '')).not.toMatch(/\[click\]\(|<img/);
    const h2 = await c.hover(uri, 1, 18);
    expect(h2).toContain('ambiguous');
    expect(h2).toMatch(/\| 1\/2 \|[\s\S]*\| 2\/2 \|/);
    const h3 = await c.hover(uri, 2, 20);
    expect(h3).toContain('`?` frame');
  });

  it('hovers lines of a kallsyms document', async () => {
    const uri = 'file:///x/fixture.kallsyms';
    await c.open(uri, 'kallsyms', readFileSync(FIXTURE, 'utf8'));
    const h = await c.hover(uri, 4, 20);
    expect(h).toContain('2 symbols named `dup` in vmlinux; this is number **2** (livepatch sympos 2)');
  });

  it('says clearly when nothing covers an address', async () => {
    const uri = 'file:///nothing.oops';
    await c.open(uri, 'kernel-log', 'RAX: ffff888012345678 RBX: 0000000000000000');
    expect(await c.hover(uri, 0, 8)).toContain('no symbol in the index covers this address');
  });

  it('keeps the previous index and reports a bad path, then recovers', async () => {
    const before = c.statuses.at(-1)!;
    await c.setSettings({ kallsyms: [join(dir, 'does-not-exist')] });
    const bad = await c.waitStatus((s) => s.state === 'error', 'error status');
    expect(bad.messages.join()).toContain(`${join(dir, 'does-not-exist')}: no such file`);
    expect(bad.symbols).toBe(before.symbols);
    expect(bad.generation).toBe(before.generation);
    // The old index still answers.
    const uri = 'file:///still.oops';
    await c.open(uri, 'kernel-log', '[<ffffffff81000104>]');
    expect(await c.hover(uri, 0, 5)).toContain('evil');
    await c.setSettings({ kallsyms: [FIXTURE] });
    const ok = await c.waitStatus((s) => s.state === 'ready' && s.generation > before.generation, 'recovery');
    expect(ok.symbols).toBe(6);
  });

  it('reindexes when a watched file changes, and serves statistics', async () => {
    const copy = join(dir, 'watched.kallsyms');
    copyFileSync(FIXTURE, copy);
    await c.setSettings({ kallsyms: [copy] });
    const g = (await c.waitStatus((s) => s.state === 'ready' && s.sources[0] === copy, 'watched index')).generation;
    writeFileSync(copy, readFileSync(FIXTURE, 'utf8') + 'ffffffff81000500 T later\n');
    const s = await c.waitStatus((x) => x.generation > g && x.state === 'ready', 'reindex after change');
    expect(s.symbols).toBe(7);
    const stats = (await c.conn.sendRequest('ksym/stats')) as { markdown: string };
    expect(stats.markdown).toContain('| symbols | 7 |');
  });
});

describe('language server over stdio: System.map and the stub', () => {
  it.skipIf(!have(SYSTEM_MAP, 'System.map protocol test'))(
    'indexes the corpus System.map, rejects the stub and keeps the index',
    async () => {
      const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP] });
      try {
        const s = await c.waitStatus(ready);
        expect(s).toMatchObject({ state: 'ready', symbols: 94280 });
        // Oracle: the System.map text itself (address of do_syscall_64) plus an offset.
        const line = /^([0-9a-f]{16}) T do_syscall_64$/m.exec(readFileSync(SYSTEM_MAP, 'latin1'))!;
        const addr = (BigInt('0x' + line[1]) + 0x3bn).toString(16);
        const uri = 'file:///sm.oops';
        await c.open(uri, 'kernel-log', `RIP: 0010:${addr}`);
        expect(await c.hover(uri, 0, 14)).toContain('do_syscall_64+0x3b/');
        await c.setSettings({ kallsyms: [], systemMap: [SYSTEM_MAP_STUB] });
        const bad = await c.waitStatus((x) => x.state === 'error');
        expect(bad.messages.join()).toMatch(/placeholder System\.map/);
        expect(bad.symbols).toBe(94280);
      } finally {
        await c.close();
      }
    },
  );
});

/** Frames printed by the kernel itself (%pB) in /proc/<pid>/stack. */
function stackFrames(): string[] {
  const out = new Set<string>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const m of readFileSync(`/proc/${pid}/stack`, 'latin1').matchAll(/^\[<[0-9a-f]+>\] (\S+)$/gm)) out.add(m[1]);
    } catch {
      /* gone */
    }
  }
  return [...out];
}

describe('language server over stdio: the running kernel (default settings)', () => {
  const live = liveKallsyms();
  it.skipIf(!live)("indexes /proc/kallsyms by default and reproduces the kernel's own stack frames on hover", async () => {
    const c = await startClient({});
    try {
      const s = await c.waitStatus(ready);
      expect(s.state).toBe('ready');
      expect(s.sources[0]).toBe('/proc/kallsyms');
      expect(s.symbols).toBeGreaterThan(10000);
      const frames = stackFrames().slice(0, 40);
      expect(frames.length).toBeGreaterThan(0);
      const uri = 'file:///live.oops';
      await c.open(uri, 'kernel-log', ['Call Trace:', ...frames.map((f) => ` ${f}`)].join('\n'));
      for (let i = 0; i < frames.length; i++) {
        const h = await c.hover(uri, i + 1, 2);
        expect(h, frames[i]).toContain(`→ **\`${frames[i]}\`** (%pB, return address)`);
        expect(h).not.toContain('⚠');
      }
    } finally {
      await c.close();
    }
  });
});

describe('ksym lsp --stdio (the CLI entry)', () => {
  it('answers hovers like dist/server.js', async () => {
    const { CLI } = await import('../helpers/lspclient');
    const c = await startClient({ kallsyms: [FIXTURE] }, [CLI, 'lsp', '--stdio']);
    try {
      expect((await c.waitStatus(ready)).symbols).toBe(6);
      await c.open('file:///cli.oops', 'plaintext', 'RIP: 0010:ffffffff81000204');
      expect(await c.hover('file:///cli.oops', 0, 14)).toContain('dup+0x4/0x100');
    } finally {
      await c.close();
    }
  });
});

describe('KASLR', () => {
  it('applies a "Kernel Offset:" line in the document and the ksym.kaslrOffset setting', async () => {
    const c = await startClient({ kallsyms: [FIXTURE], kaslrOffset: '0x200000' });
    try {
      await c.waitStatus(ready);
      await c.open('file:///k1.oops', 'kernel-log', 'RIP: 0010:ffffffff81200204');
      expect(await c.hover('file:///k1.oops', 0, 14)).toContain('dup+0x4/0x100');
      await c.open(
        'file:///k2.oops',
        'kernel-log',
        'Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)\nRIP: 0010:ffffffff9f000204',
      );
      const h = await c.hover('file:///k2.oops', 1, 14);
      expect(h).toContain('dup+0x4/0x100');
      expect(h).toContain('minus KASLR shift `0x1e000000`');
    } finally {
      await c.close();
    }
  });
});
