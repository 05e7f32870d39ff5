/**
 * The language server under abuse, over stdio (dist/server.js): a 100 MB log, a binary
 * file opened as a log, a kallsyms file rewritten while it is indexed, a settings change
 * every few milliseconds, hovers cancelled mid-flight, and the client disconnecting.
 * The server stays up, keeps answering, and settles on the last input. Only functional
 * things are asserted (plus very generous sanity bounds on time and memory); latencies
 * are printed, not asserted.
 */
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type { StatusParams } from '../../server/src/protocol';
import { Client, ready, SERVER, startClient, assertBuilt } from '../helpers/lspclient';
import { have, OOPS, SYSTEM_MAP } from '../helpers/corpus';

const dir = mkdtempSync(join(tmpdir(), 'ksym-abuse-'));
const HAVE = have(SYSTEM_MAP, 'abuse tests') && have(OOPS, 'abuse tests');
/** Sources only: no module scan, no BTF (they are not what is abused here). */
const base = { modules: [], btf: '' };

/** Resident set size of a process in bytes (from /proc/PID/status). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function percentile(a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** The first `n` symbol lines of the corpus System.map as a kallsyms text, and their count. */
function mapSlice(lines: string[], n: number): { text: string; count: number } {
  const take = lines.slice(0, n);
  return { text: take.join('\n') + '\n', count: take.length };
}

/** No status for `quietMs`: the server has settled. Returns the last status. */
async function settle(c: Client, quietMs = 1500, maxMs = 45000): Promise<StatusParams> {
  const t0 = Date.now();
  let seen = c.statuses.length;
  let since = Date.now();
  while (Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 100));
    if (c.statuses.length !== seen) {
      seen = c.statuses.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs && c.statuses.length && c.statuses[c.statuses.length - 1].state !== 'indexing') break;
  }
  return c.statuses[c.statuses.length - 1];
}

/** A request that must still be answered: the server is alive and serving. */
async function alive(c: Client, uri: string, line: number, ch: number): Promise<string | undefined> {
  return c.hover(uri, line, ch);
}

const mapLines = HAVE
  ? readFileSync(SYSTEM_MAP, 'latin1')
      .split('\n')
      .filter((l) => /^[0-9a-f]+ [A-Za-z] \S+$/.test(l))
  : [];

describe.skipIf(!HAVE)('server under abuse: huge and binary documents, cancellation', () => {
  let c: Client;
  const uri = 'file:///abuse/huge.oops';
  // Real frames from the corpus logs: template lines with a frame, and the column of its name.
  const template: { text: string; col: number }[] = [];
  let lineCount = 0;

  beforeAll(async () => {
    assertBuilt();
    c = await startClient({ ...base, kallsyms: [], systemMap: [SYSTEM_MAP] });
    await c.waitStatus(ready, 'first index');
    for (const f of readdirSync(OOPS)
      .filter((x) => x.endsWith('.txt'))
      .sort()) {
      for (const l of readFileSync(join(OOPS, f), 'latin1').split('\n')) {
        const m = /(?:\?\s+)?([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(l);
        template.push({ text: l, col: m ? m.index + m[0].indexOf(m[1]) + 1 : -1 });
      }
    }
  });
  afterAll(() => c?.close());

  it('a 100 MB log: hover answers every time, p99 is printed, memory stays bounded', { timeout: 240000 }, async () => {
    const one = template.map((t) => t.text).join('\n') + '\n';
    const copies = Math.ceil((100 * 1024 * 1024) / one.length);
    const text = one.repeat(copies);
    lineCount = copies * template.length;
    expect(text.length).toBeGreaterThanOrEqual(100 * 1024 * 1024);
    const rssBefore = rss(c.proc.pid!);
    // didOpen is a notification: the first request after it waits for the server to take in 100 MB of JSON
    const o0 = performance.now();
    await c.open(uri, 'kernel-log', text);
    const first = template.findIndex((t) => t.col >= 0);
    expect(await c.hover(uri, first, template[first].col)).toBeTruthy();
    const ingest = performance.now() - o0;
    expect(ingest).toBeLessThan(60000);
    const framed = template.map((t, i) => ({ ...t, i })).filter((t) => t.col >= 0);
    expect(framed.length).toBeGreaterThan(20);
    const times: number[] = [];
    let answered = 0;
    let seed = 12345;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    for (let k = 0; k < 200; k++) {
      const t = framed[rnd(framed.length)];
      const line = rnd(copies) * template.length + t.i;
      const t0 = performance.now();
      const h = await c.hover(uri, line, t.col);
      const ms = performance.now() - t0;
      times.push(ms);
      if (h && h.length > 0) answered++;
      expect(ms, `hover ${k} on line ${line}`).toBeLessThan(2000);
    }
    const rssAfter = rss(c.proc.pid!);
    console.log(
      `100 MB log (${lineCount} lines): taken in and first hover ${ingest.toFixed(0)} ms; 200 hovers p50 ` +
        `${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms, max ` +
        `${Math.max(...times).toFixed(1)} ms (first ${times[0].toFixed(1)} ms); ` +
        `server RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before open, ${(rssAfter / 2 ** 20).toFixed(0)} MB after`,
    );
    // every hover on a real frame says something (a resolution or why not)
    expect(answered).toBe(200);
    expect(rssAfter).toBeLessThan(2.5 * 2 ** 30);
  });

  it('an edit at the end of the 100 MB log is served without re-sending the document', { timeout: 60000 }, async () => {
    const addr = mapLines.find((l) => / T /.test(l))!.split(' ')[0];
    await c.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [
        {
          range: { start: { line: lineCount, character: 0 }, end: { line: lineCount, character: 0 } },
          text: `[    9.999999] RIP: 0010:[<${addr}>]\n`,
        },
      ],
    });
    const h = await c.hover(uri, lineCount, 27);
    expect(h).toBeTruthy();
    expect(rss(c.proc.pid!)).toBeLessThan(2.5 * 2 ** 30);
  });

  it('requests cancelled mid-flight: every request settles, the server keeps answering', { timeout: 60000 }, async () => {
    const framed = template.map((t, i) => ({ ...t, i })).filter((t) => t.col >= 0);
    const pending: Promise<string>[] = [];
    for (let k = 0; k < 100; k++) {
      const t = framed[k % framed.length];
      const src = new CancellationTokenSource();
      // hovers on the 100 MB log, and some heavier workspace symbol searches
      const p = (
        k % 4 === 3
          ? c.conn.sendRequest('workspace/symbol', { query: ['a', '_', 'ext4', ''][k % 4] + (k % 7 === 0 ? '' : 'x') }, src.token)
          : c.conn.sendRequest(
              'textDocument/hover',
              { textDocument: { uri }, position: { line: ((k * 7919) % 1000) * template.length + t.i, character: t.col } },
              src.token,
            )
      ).then(
        () => 'answered',
        (e: { code?: number }) => (e?.code === -32800 ? 'cancelled' : `error ${JSON.stringify(e)}`),
      );
      // cancel right away, after a microtask, or after the next tick: mid-flight at various points
      if (k % 3 === 0) src.cancel();
      else if (k % 3 === 1) queueMicrotask(() => src.cancel());
      else setImmediate(() => src.cancel());
      pending.push(p);
    }
    const outcomes = await Promise.all(pending);
    const counts = outcomes.reduce<Record<string, number>>((m, o) => ((m[o] = (m[o] ?? 0) + 1), m), {});
    console.log(`100 cancelled requests (75 hovers, 25 workspace/symbol): ${JSON.stringify(counts)}`);
    expect(outcomes.filter((o) => o !== 'answered' && o !== 'cancelled')).toEqual([]);
    const t = framed[0];
    expect(await alive(c, uri, t.i, t.col)).toBeTruthy();
  });

  it('a binary file opened as a log (random bytes with NULs): hovers answer, the server stays up', { timeout: 60000 }, async () => {
    let s = 99;
    const bytes = new Uint8Array(2 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bytes[i] = (s >>> 16) & 0xff;
      if (i % 97 === 0) bytes[i] = 0;
    }
    const bin = 'file:///abuse/binary.oops';
    const text = Buffer.from(bytes).toString('latin1');
    await c.open(bin, 'kernel-log', text);
    const lines = text.split(/\r\n|\n|\r/);
    for (let k = 0; k < 50; k++) {
      const line = (k * 131) % lines.length;
      const r = await c.conn.sendRequest('textDocument/hover', {
        textDocument: { uri: bin },
        position: { line, character: (k * 17) % Math.max(1, lines[line].length) },
      });
      expect(r === null || typeof r === 'object').toBe(true);
    }
    // out-of-range positions too
    await c.conn.sendRequest('textDocument/hover', { textDocument: { uri: bin }, position: { line: lines.length + 10, character: 5 } });
    await c.conn.sendRequest('textDocument/hover', { textDocument: { uri: bin }, position: { line: 0, character: 1e9 } });
    await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri: bin } });
    const t = template.findIndex((x) => x.col >= 0);
    expect(await alive(c, uri, t, template[t].col)).toBeTruthy();
    expect(c.proc.exitCode).toBeNull();
  });
});

describe.skipIf(!HAVE)('server under abuse: sources changing under it', () => {
  it('a kallsyms file rewritten in a loop while it is indexed: the final index is the final file', { timeout: 90000 }, async () => {
    const file = join(dir, 'churn.kallsyms');
    const big = mapSlice(mapLines, 60000);
    const mid = mapSlice(mapLines, 20000);
    const small = mapSlice(mapLines, 3001);
    writeFileSync(file, big.text);
    const c = await startClient({ ...base, kallsyms: [file] });
    try {
      const first = await c.waitStatus(ready, 'first index');
      expect(first.symbols).toBe(big.count);
      const uri = 'file:///abuse/churn.oops';
      const probe = mapLines[10].split(' ');
      await c.open(uri, 'kernel-log', `[    1.000000] RIP: 0010:[<${probe[0]}>]\n`);
      const variants = [big, mid, small];
      const t0 = Date.now();
      let writes = 0;
      let hovers = 0;
      while (Date.now() - t0 < 1000) {
        writeFileSync(file, variants[writes % variants.length].text);
        writes++;
        if (writes % 5 === 0) {
          expect(await alive(c, uri, 0, 30)).toBeTruthy();
          hovers++;
        } else await new Promise((r) => setTimeout(r, 2));
      }
      writeFileSync(file, small.text);
      const last = await settle(c);
      console.log(
        `rewrote the file ${writes} times in 1 s (${hovers} hovers meanwhile); ${c.statuses.length} ` +
          `statuses; final: ${JSON.stringify({ state: last.state, symbols: last.symbols, generation: last.generation })}`,
      );
      expect(c.proc.exitCode).toBeNull();
      expect(last.state).toBe('ready');
      expect(last.symbols).toBe(small.count);
      // the served index agrees: a symbol past the end of the small file is not there any more
      const gone = mapLines[small.count + 100].split(' ');
      await c.open('file:///abuse/gone.oops', 'kernel-log', `[    1.000000]  ${gone[2]}+0x0/0x10\n`);
      const h = await c.hover('file:///abuse/gone.oops', 0, 17);
      expect(h ?? '').not.toContain(gone[0]);
      expect(await alive(c, uri, 0, 30)).toBeTruthy();
    } finally {
      await c.close();
    }
  });

  it('200 settings changes a few milliseconds apart: the status settles on the last settings', { timeout: 90000 }, async () => {
    const a = join(dir, 'a.kallsyms');
    const b = join(dir, 'b.kallsyms');
    const A = mapSlice(mapLines, 50000);
    const B = mapSlice(mapLines.slice(50000), 1234);
    writeFileSync(a, A.text);
    writeFileSync(b, B.text);
    const c = await startClient({ ...base, kallsyms: [a] });
    try {
      await c.waitStatus(ready, 'first index');
      const uri = 'file:///abuse/settings.oops';
      const probe = mapLines[10].split(' ');
      await c.open(uri, 'kernel-log', `[    1.000000] RIP: 0010:[<${probe[0]}>]\n`);
      for (let k = 0; k < 200; k++) {
        await c.setSettings({ ...base, kallsyms: [k % 2 === 0 ? a : b] });
        if (k % 20 === 0) expect(await alive(c, uri, 0, 30)).toBeTruthy();
        await new Promise((r) => setTimeout(r, 3));
      }
      // the last change (k = 199) set [b]
      const last = await settle(c);
      console.log(
        `200 settings changes: ${c.statuses.length} statuses, final ` +
          JSON.stringify({ state: last.state, symbols: last.symbols, sources: last.sources, generation: last.generation }),
      );
      expect(c.proc.exitCode).toBeNull();
      expect(last.state).toBe('ready');
      expect(last.sources).toEqual([b]);
      expect(last.symbols).toBe(B.count);
      expect(await alive(c, uri, 0, 30)).toBeDefined();
    } finally {
      await c.close();
    }
  });
});

describe('server under abuse: the client goes away', () => {
  it('stdin closed abruptly (no shutdown/exit): the server exits within a few seconds', { timeout: 30000 }, async () => {
    assertBuilt();
    const c = await startClient({ ...base, kallsyms: HAVE ? [] : ['/proc/kallsyms'], systemMap: HAVE ? [SYSTEM_MAP] : [] });
    await c.waitStatus(ready, 'first index');
    // a request in flight when the pipe closes (written raw, so the client library has nothing left to write)
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 9999,
      method: 'textDocument/hover',
      params: { textDocument: { uri: 'file:///nope.oops' }, position: { line: 0, character: 0 } },
    });
    await new Promise((r) => c.proc.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, r));
    const exited = new Promise<number>((res) => c.proc.on('exit', (code, sig) => res(code ?? (sig ? 128 : -1))));
    const t0 = Date.now();
    c.conn.dispose();
    c.proc.stdin.destroy();
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
    const ms = Date.now() - t0;
    if (code === 'still running') c.proc.kill('SIGKILL');
    console.log(`server exit after stdin closed: ${code} in ${ms} ms`);
    expect(code).not.toBe('still running');
  });

  it('the client process dies while the server is indexing: the server exits too', { timeout: 30000 }, async () => {
    assertBuilt();
    // a raw server with stdin closed right after initialize, while the first index is being built
    const proc = spawn(process.execPath, [SERVER, '--stdio'], { stdio: 'pipe' });
    const msg = (o: unknown) => {
      const s = JSON.stringify(o);
      return `Content-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`;
    };
    proc.stdin.write(
      msg({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          processId: null,
          rootUri: null,
          capabilities: {},
          initializationOptions: { kallsyms: HAVE ? [SYSTEM_MAP] : ['/proc/kallsyms'] },
        },
      }),
    );
    proc.stdin.write(msg({ jsonrpc: '2.0', method: 'initialized', params: {} }));
    await new Promise((r) => proc.stdout.once('data', r));
    const exited = new Promise<number | string>((res) => proc.on('exit', (code, sig) => res(code ?? String(sig))));
    proc.stdin.end();
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
    if (code === 'still running') proc.kill('SIGKILL');
    expect(code).not.toBe('still running');
  });
});
