// The early read at server start (server/src/core/kallsyms/readEarly.ts) and the code cache (lsp/codeCache.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prefetch, takePrefetched } from '../../../server/src/core/kallsyms/readEarly';
import { readSource } from '../../../server/src/core/kallsyms/load';

describe('early read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-prefetch-'));

  it('keeps the bytes for readSource, which takes them once, then reads normally', async () => {
    const f = join(dir, 'kallsyms');
    writeFileSync(f, 'ffffffff81000000 T _stext\n');
    prefetch(f);
    writeFileSync(f, 'ffffffff81000000 T _stext\nffffffff81000010 T later\n');
    const first = await readSource({ file: f, kind: 'kallsyms' });
    expect(Buffer.from(first.bytes).toString()).toBe('ffffffff81000000 T _stext\n'); // the early bytes
    expect(takePrefetched(f)).toBeUndefined(); // used once
    const again = await readSource({ file: f, kind: 'kallsyms' });
    expect(Buffer.from(again.bytes).toString()).toBe(readFileSync(f, 'utf8'));
  });

  it('reads procfs files (size 0) whole', () => {
    prefetch('/proc/self/status');
    expect(Buffer.from(takePrefetched('/proc/self/status')!).toString()).toMatch(/^Name:/);
  });

  it('keeps nothing for missing files, directories and devices (the normal read reports the error)', async () => {
    for (const f of [join(dir, 'missing'), dir, '/dev/zero']) {
      prefetch(f);
      expect(takePrefetched(f), f).toBeUndefined();
    }
    await expect(readSource({ file: '/dev/zero', kind: 'kallsyms' })).rejects.toMatchObject({ code: 'ENOTREG' });
  });
});

describe('code cache of the server bundle', () => {
  it('is written to a private directory after a run, then used (dist/server.js)', () => {
    const cache = mkdtempSync(join(tmpdir(), 'ksym-cache-'));
    const run = () =>
      spawnSync(
        process.execPath,
        [
          '-e',
          "process.argv.splice(1, process.argv.length, 'server.js', '--stdio'); require(process.env.SERVER); setTimeout(() => process.exit(0), 300);",
        ],
        {
          env: { ...process.env, XDG_CACHE_HOME: cache, SERVER: join(__dirname, '../../../dist/server.js'), KSYM_PREFETCH: '' },
          input: '',
          timeout: 20000,
        },
      );
    // Standard input closes at once: the server exits 1 (no shutdown request), after writing the cache.
    const ran = () => expect([0, 1]).toContain(run().status);
    ran();
    const dir = join(cache, 'ksym');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    // Node >= 22.1 keeps its own compile cache there; older ones get ours.
    expect(files.length).toBeGreaterThan(0);
    if (files.some((f) => f.endsWith('.v8cache'))) {
      const f = join(
        dir,
        files.find((x) => x.endsWith('.v8cache'))!,
      );
      expect(statSync(f).mode & 0o777).toBe(0o600);
      const before = statSync(f).mtimeMs;
      ran();
      expect(statSync(f).mtimeMs).toBe(before); // accepted: not rewritten
    }
  });
});
