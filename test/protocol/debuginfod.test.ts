/**
 * debuginfod in the server (issue 16 §3), over stdio against a fake debuginfod on
 * 127.0.0.1 (a node http server in the test, counting requests):
 * - an untrusted workspace never triggers a request (DEBUGINFOD_URLS in the server's
 *   environment and ksym.debuginfod.urls alike), and the hover says why;
 * - with trust, one request per build id, $/progress begin/report/end with bytes, the
 *   hover says "fetching debug info for drbd (… of …)…" while it runs, and the module
 *   frame is answered from the fetched file after (readelf -sW of the corpus drbd.ko is the
 *   oracle), a second hover makes no new request;
 * - the work-done progress is cancellable and cancelling aborts the download (the fake
 *   server sees the connection closed), the hover says it was cancelled.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, SYSTEM_MAP } from '../helpers/corpus';
import { DRBD, drbdOracle, h, MODS } from '../helpers/kernelLogs';
import { startClient, ready } from '../helpers/lspclient';

const XFS = join(MODS, 'fs/xfs/xfs.ko');
const haveAll =
  have(SYSTEM_MAP, 'debuginfod protocol tests') && have(DRBD, 'debuginfod protocol tests') && have(XFS, 'debuginfod protocol tests');
const buildIdOf = (f: string) => /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', f], { encoding: 'utf8' }))![1];

async function until<T>(f: () => T | undefined | Promise<T | undefined>, what: string, ms = 20000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Fake {
  url: string;
  requests: string[];
  closedEarly: string[];
  close(): Promise<void>;
}

/** A debuginfod that serves `files` (build id → path) slowly: `chunk` bytes every `everyMs`. */
async function fakeServer(files: Record<string, { path: string; chunk: number; everyMs: number }>): Promise<Fake> {
  const requests: string[] = [];
  const closedEarly: string[] = [];
  const srv = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/buildid\/([0-9a-f]+)\/debuginfo$/.exec(req.url ?? '');
    const f = m ? files[m[1]] : undefined;
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(f.path);
    res.writeHead(200, { 'Content-Length': body.length, 'X-DEBUGINFOD-SIZE': body.length });
    let off = 0;
    const timer = setInterval(() => {
      if (off >= body.length) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(body.subarray(off, off + f.chunk));
      off += f.chunk;
    }, f.everyMs);
    res.on('close', () => {
      clearInterval(timer);
      if (off < body.length) closedEarly.push(req.url ?? '');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    closedEarly,
    close: () => new Promise((r) => (srv.closeAllConnections(), srv.close(() => r()))),
  };
}

describe.skipIf(!haveAll)('debuginfod in the server (protocol, fake server on 127.0.0.1)', () => {
  const drbdId = haveAll ? buildIdOf(DRBD) : '';
  const xfsId = haveAll ? buildIdOf(XFS) : '';
  const attach = haveAll ? drbdOracle('drbd_adm_attach') : { value: 0n, size: 0n };
  const frame = `drbd_adm_attach+0x2f/0x${h(attach.size)} [drbd ${drbdId}]`;
  const log = (extra = '') =>
    ['CPU: 1 PID: 4242 Comm: drbdsetup Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2', 'Call Trace:', ` ${frame}`, extra].join('\n');
  let fake: Fake;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ksym-dbgd-proto-'));
    // drbd: 925 kB in 64 kB chunks every 120 ms (about 2 s); xfs: 4 kB every 200 ms (never finishes in the test).
    fake = await fakeServer({
      [drbdId]: { path: DRBD, chunk: 64 << 10, everyMs: 120 },
      [xfsId]: { path: XFS, chunk: 4096, everyMs: 200 },
    });
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const settings = (trusted: boolean, urls: string[] = []) => ({
    kallsyms: [],
    systemMap: [SYSTEM_MAP],
    modules: [],
    btf: '',
    debuginfod: { urls },
    workspaceTrusted: trusted,
  });
  const env = (name: string, urls = '') => ({
    DEBUGINFOD_URLS: urls,
    DEBUGINFOD_CACHE_PATH: join(dir, name, 'cache'),
    HOME: join(dir, name),
  });

  it('an untrusted workspace never triggers a request (ksym.debuginfod.urls or DEBUGINFOD_URLS); the hover says why', async () => {
    const c = await startClient(settings(false, [fake.url]), undefined, { env: env('untrusted', fake.url) });
    try {
      await c.waitStatus(ready, 'index');
      await c.open('file:///u.oops', 'kernel-log', log());
      const md = await until(async () => {
        const m = await c.hover('file:///u.oops', 2, 4);
        return m?.includes('untrusted workspace') ? m : undefined;
      }, 'the untrusted-workspace refusal in the hover');
      expect(md).toContain('no debuginfod server is contacted for an untrusted workspace');
      expect(md).not.toContain('matches the log');
      expect(fake.requests).toEqual([]);
      expect(c.progress.filter((p) => p.title?.includes('debug info'))).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('with trust: one request, progress with bytes, "fetching debug info for drbd (… of …)…" while it runs, the frame answered from the fetched file after', async () => {
    const before = fake.requests.length;
    const c = await startClient(settings(true, [fake.url]), undefined, { env: env('trusted') });
    const prog: { token: string | number; value: { kind: string; title?: string; message?: string; cancellable?: boolean } }[] = [];
    c.conn.onNotification('$/progress', (p: (typeof prog)[number]) => prog.push(p));
    try {
      await c.waitStatus(ready, 'index');
      await c.open('file:///t.oops', 'kernel-log', log());
      const during = await until(async () => {
        const m = await c.hover('file:///t.oops', 2, 4);
        return m && /fetching debug info for drbd \(\d+(\.\d)? (kB|MB) of 0\.9 MB\)…/.test(m) ? m : undefined;
      }, 'the fetching headline');
      expect(during).toContain('⏳');
      const after = await until(async () => {
        const m = await c.hover('file:///t.oops', 2, 4);
        return m && !m.includes('fetching debug info') && m.includes('drbd_adm_attach') ? m : undefined;
      }, 'the answer from the fetched module');
      // readelf -sW of drbd.ko: the frame's symbol and size; the kernel prints what the log printed.
      expect(after).toContain(`**\`drbd_adm_attach+0x2f/0x${h(attach.size)} [drbd ${drbdId}]\`** ✓ matches the log`);
      expect(after).toContain(`(build id \`${drbdId}\` ✓)`);
      await c.hover('file:///t.oops', 2, 4);
      expect(fake.requests.slice(before)).toEqual([`/buildid/${drbdId}/debuginfo`]);
      const begin = prog.find((p) => p.value.kind === 'begin' && p.value.title === 'ksym: debug info for drbd')!;
      expect(begin.value.cancellable).toBe(true);
      const reports = prog.filter((p) => p.token === begin.token && p.value.kind === 'report');
      expect(reports.length).toBeGreaterThan(0);
      expect(reports.at(-1)!.value.message).toMatch(/^fetching debug info for drbd \(.+ of 0\.9 MB\)…$/);
      expect(prog.some((p) => p.token === begin.token && p.value.kind === 'end')).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('cancel stops the fetch: the download is aborted and the hover says so', async () => {
    const c = await startClient(settings(true, [fake.url]), undefined, { env: env('cancel') });
    const prog: { token: string | number; value: { kind: string; title?: string } }[] = [];
    c.conn.onNotification('$/progress', (p: (typeof prog)[number]) => prog.push(p));
    try {
      await c.waitStatus(ready, 'index');
      const xfsLog = [
        'CPU: 0 PID: 1 Comm: mount Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2',
        'Call Trace:',
        ` xfs_fs_fill_super+0x10/0x20 [xfs ${xfsId}]`,
      ].join('\n');
      await c.open('file:///c.oops', 'kernel-log', xfsLog);
      await c.hover('file:///c.oops', 2, 4);
      const begin = await until(
        () => prog.find((p) => p.value.kind === 'begin' && p.value.title === 'ksym: debug info for xfs'),
        'progress begin',
      );
      await c.conn.sendNotification('window/workDoneProgress/cancel', { token: begin.token });
      await until(
        () => (fake.closedEarly.includes(`/buildid/${xfsId}/debuginfo`) ? true : undefined),
        'the server to see the download aborted',
      );
      const md = await until(async () => {
        const m = await c.hover('file:///c.oops', 2, 4);
        return m && /cancel/i.test(m) ? m : undefined;
      }, 'the cancellation in the hover');
      expect(md).not.toContain('fetching debug info');
      expect(fake.requests.filter((r) => r.includes(xfsId))).toHaveLength(1);
    } finally {
      await c.close();
    }
  });
});
