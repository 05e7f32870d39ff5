// The built server (dist/server.js) against a hostile client and environment: FIFOs and
// devices named in settings or KSYM_PREFETCH, null and ill-typed params, broken framing,
// a storm of reindex requests, a source deleted and re-created or a FIFO renamed over it
// while watched, a workspace holding a decompression bomb and hundreds of broken modules.
// Readiness comes from the server's own messages (the initialize answer, ksym/status),
// never from a sleep; each case is bounded in time and peak RSS (run.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bounded, frame, initialize, runNode, SERVER, waitFor } from './run';

const dir = mkdtempSync(join(tmpdir(), 'ksym-hostile-lsp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kallsyms = (n: number) =>
  [
    'ffffffff81000000 T _stext',
    ...Array.from({ length: n }, (_, i) => `ffffffff81${(0x1000 + i * 16).toString(16).padStart(6, '0')} T f${i}`),
    'ffffffff82000000 T _etext',
  ].join('\n') + '\n';
const K = join(dir, 'kallsyms');
writeFileSync(K, kallsyms(3));
/** No module scan, no BTF: only what each case abuses. */
const base = { modules: [], btf: '' };

function fifo(name: string): string {
  const f = join(dir, name);
  execFileSync('mkfifo', [f]);
  return f;
}

/** Start the server with `opts` as initializationOptions, run `script`, end it. */
function server(
  opts: unknown,
  script: (send: (m: unknown) => void, out: () => string) => Promise<void>,
  env?: Record<string, string>,
  rootUri: string | null = null,
) {
  return runNode([SERVER, '--stdio'], {
    env,
    budgetMs: 30000,
    drive: async (p, out) => {
      const send = (m: unknown) => p.stdin.write(Buffer.isBuffer(m) ? m : frame(m));
      send(initialize(opts, rootUri));
      await waitFor(out, /"id":1,"result"/);
      send({ jsonrpc: '2.0', method: 'initialized', params: {} });
      await script(send, out);
    },
  });
}

describe('special files in settings never stall the event loop', () => {
  it.each([
    ['ksym.kallsyms set to a FIFO', () => ({ ...base, kallsyms: [fifo('k.fifo')] }), false],
    ['ksym.btf set to a FIFO', () => ({ ...base, kallsyms: [K], btf: fifo('b.fifo') }), false],
    ['ksym.kallsyms set to /dev/zero', () => ({ ...base, kallsyms: ['/dev/zero'] }), false],
    ['ksym.btf set to /dev/zero', () => ({ ...base, kallsyms: [K], btf: '/dev/zero' }), false],
    ['KSYM_PREFETCH names a FIFO', () => ({ ...base, kallsyms: [K] }), true],
  ])('%s: initialize is answered, the error is reported, requests are answered', async (_n, opts, prefetch) => {
    const e = prefetch ? { KSYM_PREFETCH: fifo('p.fifo') } : undefined;
    const o = await server(
      opts(),
      async (send, out) => {
        await waitFor(out, /"method":"ksym\/status","params":\{"state":"(ready|error)"/);
        send({ jsonrpc: '2.0', id: 7, method: 'ksym/stats', params: null });
        await waitFor(out, /"id":7,"result"/);
      },
      e,
    );
    bounded(o);
    if (!e) expect(o.stdout).toMatch(/not a regular file: expected a (kallsyms or System\.map file|BTF file)/);
  });
});

describe('params: validated, never thrown out of a handler', () => {
  it('null params for every request and notification: InvalidParams answers, the server goes on', async () => {
    const requests = [
      'textDocument/hover',
      'textDocument/definition',
      'textDocument/documentSymbol',
      'textDocument/codeAction',
      'workspace/symbol',
      'ksym/symbolPage',
    ];
    const notifications = [
      'workspace/didChangeConfiguration',
      'textDocument/didOpen',
      'textDocument/didChange',
      'textDocument/didClose',
      '$/cancelRequest',
    ];
    const o = await server({ ...base, kallsyms: [K] }, async (send, out) => {
      for (const m of notifications) send({ jsonrpc: '2.0', method: m, params: null });
      requests.forEach((m, i) => send({ jsonrpc: '2.0', id: 100 + i, method: m, params: null }));
      send({
        jsonrpc: '2.0',
        id: 200,
        method: 'textDocument/hover',
        params: { textDocument: { uri: 'file:///x' }, position: { line: 'a', character: 0 } },
      });
      send({ jsonrpc: '2.0', id: 201, method: 'ksym/symbolPage', params: { uri: 42 } });
      send({ jsonrpc: '2.0', id: 202, method: 'ksym/stats', params: null }); // still serving
      await waitFor(out, /"id":202,"result"/);
    });
    bounded(o);
    for (let i = 0; i < 6; i++)
      expect(o.stdout).toMatch(new RegExp(`"id":${100 + i},"error":\\{"code":-32602,"message":"ksym: [^"]+ needs params \\(an object\\)"`));
    expect(o.stdout).toContain(
      '"id":200,"error":{"code":-32602,"message":"ksym: textDocument/hover: params.position.line must be a non-negative integer"}',
    );
    expect(o.stdout).toContain('"id":201,"error":{"code":-32602');
    expect(o.stdout).not.toMatch(/Cannot read properties/);
    expect(o.stderr).toContain('dropped notification: workspace/didChangeConfiguration needs params (an object)');
    expect(o.signal).toBe('SIGTERM'); // alive until we ended it
  });
});

describe('broken framing: the server says so and exits (the client restarts it)', () => {
  it.each([
    ['Content-Length: abc', Buffer.from('Content-Length: abc\r\n\r\n{}'), /Content-Length value must be a number/],
    ['no Content-Length', Buffer.from('Content-Type: application/vscode-jsonrpc\r\n\r\n{}'), /Header must provide a Content-Length/],
  ])('%s', async (_n, bad, msg) => {
    const o = await runNode([SERVER, '--stdio'], {
      budgetMs: 20000,
      drive: async (p, out) => {
        p.stdin.write(initialize({ ...base, kallsyms: [K] }));
        await waitFor(out, /"id":1,"result"/);
        p.stdin.write(bad);
        p.stdin.write(frame({ jsonrpc: '2.0', id: 7, method: 'shutdown' }));
        await new Promise((r) => p.on('exit', r));
      },
    });
    bounded(o);
    expect(o.code).toBe(1);
    expect(o.stdout).toMatch(
      /"method":"window\/showMessage","params":\{"type":1,"message":"ksym: the language server's input stream is broken/,
    );
    expect(o.stderr).toMatch(msg);
  });

  it('a Content-Length longer than the body: exits once the body stops arriving (KSYM_PARTIAL_MESSAGE_MS)', async () => {
    const o = await runNode([SERVER, '--stdio'], {
      env: { KSYM_PARTIAL_MESSAGE_MS: '500' },
      budgetMs: 20000,
      drive: async (p, out) => {
        p.stdin.write(initialize({ ...base, kallsyms: [K] }));
        await waitFor(out, /"id":1,"result"/);
        p.stdin.write('Content-Length: 99999\r\n\r\n{"jsonrpc":"2.0"}');
        await new Promise((r) => p.on('exit', r));
      },
    });
    bounded(o);
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/a message stopped arriving/);
  });

  it('the end of input ends the process (status 1 without shutdown)', async () => {
    const o = await runNode([SERVER, '--stdio'], {
      budgetMs: 20000,
      drive: async (p, out) => {
        p.stdin.write(initialize({ ...base, kallsyms: [K] }));
        await waitFor(out, /"id":1,"result"/);
        p.stdin.end('Content-Length: 99999\r\n\r\n{"jsonrpc":"2.0"}');
        await new Promise((r) => p.on('exit', r));
      },
    });
    bounded(o);
    expect(o.code).toBe(1);
  });
});

describe('request storms', () => {
  it('200 concurrent ksym/reindex on the live /proc/kallsyms: all answered by one or two builds, memory bounded', async () => {
    const o = await server({ ...base, kallsyms: ['/proc/kallsyms'] }, async (send, out) => {
      await waitFor(out, /"method":"ksym\/status","params":\{"state":"ready"/);
      for (let i = 0; i < 200; i++) send({ jsonrpc: '2.0', id: 1000 + i, method: 'ksym/reindex', params: null });
      for (let i = 0; i < 200; i++) await waitFor(out, new RegExp(`"id":${1000 + i},"result"`));
    });
    bounded(o, 10000);
    const gens = [...o.stdout.matchAll(/"id":1\d\d\d,"result":\{[^}]*"generation":(\d+)/g)].map((m) => Number(m[1]));
    expect(gens.length).toBe(200);
    expect(Math.max(...gens)).toBeLessThanOrEqual(4); // the first build, then one or two for the storm
    expect(new Set(gens).size).toBeLessThanOrEqual(2);
  });
});

describe('watched sources', () => {
  it('a source deleted and re-created is picked up without a reindex request', async () => {
    const f = join(dir, 'watched.kallsyms');
    writeFileSync(f, kallsyms(3));
    const o = await server({ ...base, kallsyms: [f] }, async (_send, out) => {
      await waitFor(out, /"state":"ready","symbols":5,/);
      unlinkSync(f);
      await waitFor(out, /"state":"error"[^\n]*no such file/);
      writeFileSync(f, kallsyms(8));
      await waitFor(out, /"state":"ready","symbols":10,/);
    });
    bounded(o);
  });

  it('a FIFO renamed over a watched source: refused, the server keeps answering', async () => {
    const f = join(dir, 'watched2.kallsyms');
    writeFileSync(f, kallsyms(3));
    const o = await server({ ...base, kallsyms: [f] }, async (send, out) => {
      await waitFor(out, /"state":"ready","symbols":5,/);
      renameSync(fifo('over.fifo'), f);
      await waitFor(out, /"state":"error"[^\n]*a FIFO \(named pipe\), not a regular file/);
      send({ jsonrpc: '2.0', id: 7, method: 'ksym/stats', params: null });
      await waitFor(out, /"id":7,"result"/);
    });
    bounded(o);
    expect(o.stdout).toMatch(/"id":7,"result":\{"markdown":"[^"]*symbols \| 5 /); // the previous index still serves
  });
});

describe('workspace scans', () => {
  it('a workspace holding evil.ko.gz (256 MiB of zeros) and 300 broken .ko: capped, and summarised past 20 diagnostics', async () => {
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    execFileSync('sh', ['-c', `head -c 256M /dev/zero | gzip -1 > '${join(ws, 'evil.ko.gz')}'`]);
    for (let i = 0; i < 300; i++) writeFileSync(join(ws, `z${String(i).padStart(3, '0')}.ko`), 'not an ELF'); // after evil.ko.gz in walk order
    const o = await server(
      { ...base, kallsyms: [K] },
      async (send, out) => {
        await waitFor(out, /workspace \.ko scan: 301 module files could not be read; diagnostics on the first 20 only/);
        send({ jsonrpc: '2.0', id: 7, method: 'ksym/reindex', params: null }); // another index change: the scan again
        await waitFor(out, /"id":7,"result"/);
      },
      undefined,
      pathToFileURL(ws).toString(),
    );
    bounded(o);
    const published = [...o.stdout.matchAll(/"method":"textDocument\/publishDiagnostics","params":\{"uri":"[^"]+","diagnostics":\[\{/g)]
      .length;
    expect(published).toBeGreaterThan(0);
    expect(published).toBeLessThanOrEqual(40); // 20 per scan
    expect(o.stdout).toMatch(/evil\.ko\.gz: offset 0x0: gzip data decompresses to more than [\d.]+ MiB \(the cap: 64 times/);
  });
});
