import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheRelPath,
  cacheRoot,
  escapeSourcePath,
  limitsFrom,
  parseServerUrls,
  requestPath,
  validBuildId,
} from '../../../server/src/core/kernels/debuginfod';
import { fetchDebuginfod, type FetchRequest } from '../../../server/src/core/kernels/storeDebuginfod';
import { buildFixture, haveToolchain } from './fixtures';

describe('debuginfod conventions (pure)', () => {
  it('DEBUGINFOD_URLS: space separated, buildid/ appended, duplicates dropped, ima: skipped', () => {
    const r = parseServerUrls(
      'https://debuginfod.debian.net  http://127.0.0.1:8002/ ima:enforcing https://debuginfod.debian.net/ file:///srv/di ftp://x\thttp://a',
    );
    expect(r.servers).toEqual([
      'https://debuginfod.debian.net/buildid/',
      'http://127.0.0.1:8002/buildid/',
      'file:///srv/di/buildid/',
      'http://a/buildid/',
    ]);
    expect(r.skipped.map((s) => s.token)).toEqual(['ima:enforcing', 'ftp://x']);
    expect(parseServerUrls(undefined).servers).toEqual([]);
    expect(parseServerUrls('  ').servers).toEqual([]);
  });
  it('cache root: DEBUGINFOD_CACHE_PATH, ~/.debuginfod_client_cache if it exists, XDG_CACHE_HOME, ~/.cache', () => {
    const none = () => false;
    expect(cacheRoot({ env: { DEBUGINFOD_CACHE_PATH: '/c/', XDG_CACHE_HOME: '/x' }, home: '/h', exists: () => true })).toBe('/c');
    expect(cacheRoot({ env: { XDG_CACHE_HOME: '/x' }, home: '/h', exists: (p) => p === '/h/.debuginfod_client_cache' })).toBe(
      '/h/.debuginfod_client_cache',
    );
    expect(cacheRoot({ env: { XDG_CACHE_HOME: '/x' }, home: '/h', exists: none })).toBe('/x/debuginfod_client');
    expect(cacheRoot({ env: {}, home: '/h', exists: none })).toBe('/h/.cache/debuginfod_client');
  });
  it('layout and request paths; build ids lower-case even-length hex', () => {
    const id = 'ab'.repeat(20);
    expect(cacheRelPath(id, { kind: 'debuginfo' })).toBe(`${id}/debuginfo`);
    expect(cacheRelPath(id, { kind: 'section', name: '.BTF' })).toBe(`${id}/section-.BTF`);
    expect(cacheRelPath(id, { kind: 'source', name: '/usr/src/a#b/c.c' })).toBe(`${id}/source##usr##src##a#_b##c.c`);
    expect(escapeSourcePath('/a/b')).toBe('##a##b');
    expect(escapeSourcePath('/a#/b')).toBe('##a#_##b');
    expect(requestPath(id, { kind: 'section', name: '.symtab' })).toBe(`${id}/section/.symtab`);
    expect(validBuildId('ABCD')).toBe('abcd');
    expect(validBuildId('abc')).toBeUndefined();
    expect(validBuildId('../etc')).toBeUndefined();
  });
  it('limits from the environment and cache_miss_s', () => {
    expect(limitsFrom({})).toEqual({
      timeoutMs: 90000,
      lowSpeedBytes: 102400,
      maxTimeMs: Infinity,
      maxSize: Infinity,
      retryLimit: 2,
      cacheMissMs: 600000,
    });
    const l = limitsFrom(
      { DEBUGINFOD_TIMEOUT: '5', DEBUGINFOD_MAXTIME: '60', DEBUGINFOD_MAXSIZE: '1000', DEBUGINFOD_RETRY_LIMIT: '0' },
      '30\n',
    );
    expect(l).toMatchObject({ timeoutMs: 5000, maxTimeMs: 60000, maxSize: 1000, retryLimit: 0, cacheMissMs: 30000 });
  });
});

type Mode = 'good' | 'wrong' | 'notelf' | 'truncated' | 'huge' | 'slow' | '404' | 'hang';

interface Fake {
  url: string;
  mode: Mode;
  requests: string[];
  closedEarly: number;
  close(): Promise<void>;
}

const toolchain = haveToolchain();

describe.skipIf(!toolchain)('fetchDebuginfod against fake servers on 127.0.0.1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-dbgd-'));
  let good: { path: string; buildId: string };
  let other: { path: string; buildId: string };
  const fakes: Fake[] = [];
  let n = 0;
  const cache = () => join(dir, `cache${++n}`);

  function fake(mode: Mode): Promise<Fake> {
    const f: Fake = { url: '', mode, requests: [], closedEarly: 0, close: async () => {} };
    const srv = http.createServer((req, res) => {
      f.requests.push(req.url ?? '');
      let done = false;
      res.on('finish', () => (done = true));
      res.on('close', () => {
        if (!done) f.closedEarly++;
      });
      const want = /\/buildid\/([0-9a-f]+)\/(debuginfo|executable|section\/[^/]+)$/.exec(req.url ?? '');
      if (!want || f.mode === '404' || (want[1] !== good.buildId && f.mode === 'good')) {
        res.writeHead(404).end('not found');
        return;
      }
      const max = Number(req.headers['x-debuginfod-maxsize'] ?? Infinity);
      const body = readFileSync(f.mode === 'wrong' ? other.path : good.path);
      if (body.length > max) {
        res.writeHead(406).end();
        return;
      }
      switch (f.mode) {
        case 'good':
        case 'wrong':
          res.writeHead(200, { 'Content-Length': body.length, 'X-DEBUGINFOD-SIZE': body.length }).end(body);
          return;
        case 'notelf': {
          const t = Buffer.from('<html>debuginfod proxy error</html>');
          res.writeHead(200, { 'Content-Length': t.length }).end(t);
          return;
        }
        case 'truncated':
          res.writeHead(200, { 'Content-Length': body.length });
          res.write(body.subarray(0, 100), () => res.destroy());
          return;
        case 'huge':
          res.writeHead(200, { 'Content-Length': 10 * 1024 ** 3 });
          res.write(body.subarray(0, 10));
          return;
        case 'slow':
          res.writeHead(200, { 'Content-Length': body.length });
          res.write(body.subarray(0, 64));
          return; // never finishes
        case 'hang':
          return; // never answers
      }
    });
    return new Promise((resolve) => {
      srv.listen(0, '127.0.0.1', () => {
        f.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
        f.close = () =>
          new Promise((r) => {
            srv.closeAllConnections();
            srv.close(() => r());
          });
        fakes.push(f);
        resolve(f);
      });
    });
  }

  beforeAll(() => {
    good = buildFixture(join(dir, 'src'), 'fixture', 'int fixture_fn(int x) { return x * 3 + 1; }\n');
    other = buildFixture(join(dir, 'src'), 'other', 'int other_fn(int x) { return x - 7; }\n');
  });
  afterAll(async () => {
    for (const f of fakes) await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const req = (urls: string | undefined, cachePath: string, extra: Partial<FetchRequest> = {}): FetchRequest => ({
    buildId: good.buildId,
    artifact: { kind: 'debuginfo' },
    allowNetwork: true,
    env: { DEBUGINFOD_URLS: urls, DEBUGINFOD_CACHE_PATH: cachePath },
    home: join(dir, 'home'),
    ...extra,
  });

  it('no DEBUGINFOD_URLS: no request and no cache access at all', async () => {
    const f = await fake('good');
    const c = cache();
    const r = await fetchDebuginfod(req(undefined, c));
    expect(r).toMatchObject({ ok: false, reason: 'no-servers' });
    expect(f.requests).toEqual([]);
    expect(existsSync(c)).toBe(false);
  });

  it('fetch by build id: verified, 0400 file in a 0700 dir; then served from the cache with the server gone', async () => {
    const f = await fake('good');
    const c = cache();
    const seen: number[] = [];
    const r = await fetchDebuginfod(req(f.url, c, { onProgress: (p) => seen.push(p.received) }));
    expect(r).toMatchObject({ ok: true, fromCache: false, verified: 'build-id', path: join(c, good.buildId, 'debuginfo') });
    expect(f.requests).toEqual([`/buildid/${good.buildId}/debuginfo`]);
    expect(readFileSync(join(c, good.buildId, 'debuginfo')).equals(readFileSync(good.path))).toBe(true);
    expect(statSync(join(c, good.buildId, 'debuginfo')).mode & 0o777).toBe(0o400);
    expect(statSync(join(c, good.buildId)).mode & 0o777).toBe(0o700);
    expect(seen.at(-1)).toBe(statSync(good.path).size);
    await f.close();
    const again = await fetchDebuginfod(req(f.url, c));
    expect(again).toMatchObject({ ok: true, fromCache: true, verified: 'build-id' });
    // Offline and untrusted: a cache hit still serves.
    expect(await fetchDebuginfod(req(f.url, c, { allowNetwork: false }))).toMatchObject({ ok: true, fromCache: true });
  });

  it('untrusted (allowNetwork false) and not cached: no request', async () => {
    const f = await fake('good');
    const r = await fetchDebuginfod(req(f.url, cache(), { allowNetwork: false }));
    expect(r).toMatchObject({ ok: false, reason: 'network-not-allowed' });
    expect(f.requests).toEqual([]);
  });

  it('404 is negative-cached: an empty file, no second request within cache_miss_s', async () => {
    const f = await fake('404');
    const c = cache();
    const r = await fetchDebuginfod(req(f.url, c));
    expect(r).toMatchObject({ ok: false, reason: 'not-found' });
    expect(statSync(join(c, good.buildId, 'debuginfo')).size).toBe(0);
    const again = await fetchDebuginfod(req(f.url, c));
    expect(again).toMatchObject({ ok: false, reason: 'negative-cache' });
    expect(f.requests).toHaveLength(1);
    // cache_miss_s = 0 in the root: the miss is stale, the server is asked again.
    writeFileSync(join(c, 'cache_miss_s'), '0\n');
    expect(await fetchDebuginfod(req(f.url, c))).toMatchObject({ reason: 'not-found' });
    expect(f.requests).toHaveLength(2);
  });

  it('a wrong build id coming back is refused and not cached', async () => {
    const f = await fake('wrong');
    const c = cache();
    const r = await fetchDebuginfod(req(f.url, c));
    expect(r).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(!r.ok && r.message).toContain(`carries build id ${other.buildId}, not the requested ${good.buildId}`);
    expect(existsSync(join(c, good.buildId, 'debuginfo'))).toBe(false);
  });

  it('hostile answers: not ELF, truncated, oversized (406 and a huge Content-Length)', async () => {
    const notelf = await fetchDebuginfod(req((await fake('notelf')).url, cache()));
    expect(notelf).toMatchObject({ ok: false, reason: 'not-elf' });
    const c = cache();
    const trunc = await fetchDebuginfod(req((await fake('truncated')).url, c));
    expect(trunc).toMatchObject({ ok: false, reason: 'truncated' });
    expect(existsSync(join(c, good.buildId, 'debuginfo'))).toBe(false);
    const small = await fetchDebuginfod(
      req((await fake('good')).url, cache(), {
        env: { DEBUGINFOD_URLS: fakes.at(-1)!.url, DEBUGINFOD_CACHE_PATH: cache(), DEBUGINFOD_MAXSIZE: '100' },
      }),
    );
    expect(small).toMatchObject({ ok: false, reason: 'too-large' });
    expect(fakes.at(-1)!.requests).toHaveLength(1);
    const huge = await fake('huge');
    const big = await fetchDebuginfod(req(huge.url, cache(), { maxBytes: 1 << 20 }));
    expect(big).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('a slow server is cancelled through the AbortSignal after progress; DEBUGINFOD_TIMEOUT gives up on it', async () => {
    const slow = await fake('slow');
    const ac = new AbortController();
    const c = cache();
    const r = await fetchDebuginfod(
      req(slow.url, c, {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.received >= 64) ac.abort();
        },
      }),
    );
    expect(r).toMatchObject({ ok: false, reason: 'cancelled' });
    expect(existsSync(join(c, good.buildId, 'debuginfo'))).toBe(false);
    // Not a 404: nothing negative-cached.
    expect(existsSync(join(c, good.buildId))).toBe(true);
    const t = await fetchDebuginfod(
      req(slow.url, cache(), { env: { DEBUGINFOD_URLS: slow.url, DEBUGINFOD_CACHE_PATH: cache(), DEBUGINFOD_TIMEOUT: '1' } }),
    );
    expect(t).toMatchObject({ ok: false, reason: 'timeout' });
    expect(!t.ok && t.message).toMatch(/fewer than 102400 bytes in 1 s/);
  });

  it('all servers asked: the first 200 wins and the others are aborted', async () => {
    const hang = await fake('hang');
    const none = await fake('404');
    const ok = await fake('good');
    const r = await fetchDebuginfod(req(`${hang.url} ${none.url} ${ok.url}`, cache()));
    expect(r).toMatchObject({ ok: true, server: `${ok.url}/buildid/${good.buildId}/debuginfo` });
    expect(hang.requests).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 50));
    expect(hang.closedEarly).toBe(1);
  });

  it('/section/ answers are not ELF: verified by size only, and it says so', async () => {
    const f = await fake('good');
    const r = await fetchDebuginfod(req(f.url, cache(), { artifact: { kind: 'section', name: '.BTF' } }));
    expect(r).toMatchObject({ ok: true, verified: 'size-only' });
    expect(r.ok && r.note).toMatch(/checked by size only/);
    expect(f.requests).toEqual([`/buildid/${good.buildId}/section/.BTF`]);
  });

  it('file:// servers (a directory laid out as buildid/ID/debuginfo)', async () => {
    const root = join(dir, 'filesrv');
    const d = join(root, 'buildid', good.buildId);
    require('node:fs').mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'debuginfo'), readFileSync(good.path));
    const r = await fetchDebuginfod(req(`file://${root}`, cache()));
    expect(r).toMatchObject({ ok: true, verified: 'build-id' });
    expect(await fetchDebuginfod(req(`file://${root}`, cache(), { buildId: other.buildId }))).toMatchObject({ reason: 'not-found' });
  });

  it('bad requests are refused before anything happens', async () => {
    expect(await fetchDebuginfod(req('http://127.0.0.1:1', cache(), { buildId: 'xyz' }))).toMatchObject({ reason: 'invalid-request' });
    expect(await fetchDebuginfod(req('http://127.0.0.1:1', cache(), { artifact: { kind: 'section', name: '../../x' } }))).toMatchObject({
      reason: 'invalid-request',
    });
    expect(await fetchDebuginfod(req('http://127.0.0.1:1', cache(), { artifact: { kind: 'source', name: 'relative.c' } }))).toMatchObject({
      reason: 'invalid-request',
    });
  });
});
