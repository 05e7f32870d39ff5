// The start-up read on a worker thread (server/src/prefetch.ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prefetch, takePrefetched } from '../../server/src/prefetch';
import { readSource } from '../../server/src/loader';

describe('prefetch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-prefetch-'));

  it('reads a file on a worker; readSource takes the bytes once, then reads normally', async () => {
    const f = join(dir, 'kallsyms');
    writeFileSync(f, 'ffffffff81000000 T _stext\n');
    prefetch(f);
    writeFileSync(f, 'ffffffff81000000 T _stext\nffffffff81000010 T later\n'); // may or may not be seen by the worker
    const bytes = await takePrefetched(f);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(takePrefetched(f)).toBeUndefined(); // used once
    const again = await readSource({ file: f, kind: 'kallsyms' });
    expect(Buffer.from(again.bytes).toString()).toBe(readFileSync(f, 'utf8'));
  });

  it('reads procfs files (size 0) whole', async () => {
    prefetch('/proc/self/status');
    const bytes = await takePrefetched('/proc/self/status');
    expect(Buffer.from(bytes!).toString()).toMatch(/^Name:/);
  });

  it('gives nothing for missing files, directories and devices (the normal read reports the error)', async () => {
    for (const f of [join(dir, 'missing'), dir, '/dev/zero']) {
      prefetch(f);
      expect(await takePrefetched(f), f).toBeUndefined();
    }
    await expect(readSource({ file: '/dev/zero', kind: 'kallsyms' })).rejects.toMatchObject({ code: 'ENOTREG' });
  });
});
