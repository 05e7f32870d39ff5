/**
 * The first 200 wins, but a winner whose file fails verification (another build id, not
 * ELF) is refused and the other servers are asked again. Two node http servers on
 * 127.0.0.1; readelf -n of the corpus modules is the oracle for the build ids.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchDebuginfod } from '../../../server/src/core/kernels/storeDebuginfod';
import { have } from '../../helpers/corpus';
import { DRBD, MODS } from '../../helpers/kernelLogs';

const CRC7 = join(MODS, 'lib/crc7.ko');
const ok = have(DRBD, 'debuginfod failover') && have(CRC7, 'debuginfod failover');
const idOf = (f: string) => /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', f], { encoding: 'utf8' }))![1];

function serve(body: Buffer, delayMs: number): Promise<{ url: string; hits: number[]; close(): void }> {
  const hits: number[] = [];
  const srv = http.createServer((_req, res) => {
    hits.push(Date.now());
    setTimeout(() => res.writeHead(200, { 'Content-Length': body.length }).end(body), delayMs);
  });
  return new Promise((r) =>
    srv.listen(0, '127.0.0.1', () =>
      r({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits, close: () => (srv.closeAllConnections(), srv.close()) }),
    ),
  );
}

describe.skipIf(!ok)('debuginfod: a refused winner does not end the search', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-dbgd-failover-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the fast server answers another build id (refused), the slow one the right file (used)', async () => {
    const want = idOf(DRBD);
    const wrong = await serve(readFileSync(CRC7), 0);
    const notElf = await serve(Buffer.from('<html>hello</html>'), 10);
    const right = await serve(readFileSync(DRBD), 300);
    try {
      const r = await fetchDebuginfod({
        buildId: want,
        artifact: { kind: 'debuginfo' },
        allowNetwork: true,
        env: { DEBUGINFOD_URLS: `${wrong.url} ${notElf.url} ${right.url}`, DEBUGINFOD_CACHE_PATH: join(dir, 'c1') },
        home: dir,
      });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      expect(r.server).toBe(`${right.url}/buildid/${want}/debuginfo`);
      expect(idOf(r.path)).toBe(want);
    } finally {
      wrong.close();
      notElf.close();
      right.close();
    }
  });

  it('every server answers a wrong file: refused with the reason, nothing cached, no negative-cache entry', async () => {
    const want = idOf(DRBD);
    const wrong = await serve(readFileSync(CRC7), 0);
    try {
      const env = { DEBUGINFOD_URLS: wrong.url, DEBUGINFOD_CACHE_PATH: join(dir, 'c2') };
      const r = await fetchDebuginfod({ buildId: want, artifact: { kind: 'debuginfo' }, allowNetwork: true, env, home: dir });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe('mismatch');
      expect(r.message).toContain(`carries build id ${idOf(CRC7)}, not the requested ${want}`);
      const again = await fetchDebuginfod({ buildId: want, artifact: { kind: 'debuginfo' }, allowNetwork: true, env, home: dir });
      expect(again.ok || again.reason).toBe('mismatch'); // asked again: no negative cache for a refusal
      expect(wrong.hits.length).toBe(2);
    } finally {
      wrong.close();
    }
  });
});
