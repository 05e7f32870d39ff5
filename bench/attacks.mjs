#!/usr/bin/env node
// Hostile-environment attacks (issue 14): each one run against the built CLI or server as a
// separate process with a time budget; prints elapsed time, peak RSS (VmHWM, polled) and the
// outcome. `node bench/attacks.mjs [--only SUBSTR] [--budget-ms N] [--json]`.
// It measures; the assertions live in test/hostile/. Needs `npm run build` first.
import { spawn, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
  unlinkSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostileFiles, SMALL_KALLSYMS } from './hostileFiles.mjs';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/cli.js');
const SERVER = join(ROOT, 'dist/server.js');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
const budget = args.includes('--budget-ms') ? Number(args[args.indexOf('--budget-ms') + 1]) : 15000;
const asJson = args.includes('--json');
if (!existsSync(CLI)) {
  console.error(`attacks: ${CLI} missing; run npm run build`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'ksym-attacks-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const { kallsyms, fifo, sparse, bomb } = hostileFiles(dir);
// A small, valid kallsyms text.
const K = kallsyms('kallsyms', [...SMALL_KALLSYMS, 'ffffffff82000000 D _end']);

function peakOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs a process; optional `drive(proc)` writes to stdin. Resolves {ms, peak, code, signal, out, err, timedOut}. */
function run(argv, { drive, env, input } = {}) {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, argv, { stdio: 'pipe', env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out.length < 1 << 20 ? (out += d) : null));
    p.stderr.on('data', (d) => (err.length < 1 << 20 ? (err += d) : null));
    p.stdin.on('error', () => undefined);
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, peakOf(p.pid))), 20);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, budget);
    if (input !== undefined) p.stdin.end(input);
    if (drive) drive(p, () => out);
    p.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      res({ ms: performance.now() - t0, peak, code, signal, out, err, timedOut });
    });
  });
}

const cli = (...a) => run([CLI, ...a]);
function lspFrame(obj) {
  const body = Buffer.from(JSON.stringify(obj));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}
const init = (opts = {}) =>
  lspFrame({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: opts },
  });
/** Server attack: send `frames` after initialize; succeed when stdout contains `want` (regex) before the budget. */
function server(opts, frames, want, env) {
  return run([SERVER, '--stdio'], {
    env,
    drive(p, out) {
      p.stdin.write(init(opts));
      p.stdin.write(lspFrame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
      for (const f of frames) p.stdin.write(f);
      const iv = setInterval(() => {
        if (want.test(out())) {
          clearInterval(iv);
          p.kill('SIGTERM');
        }
      }, 20);
      p.on('exit', () => clearInterval(iv));
    },
  });
}

/**
 * Server attack driven by a script: `script({ send, wait })` runs after initialize; wait(re)
 * resolves when stdout (from the last wait on) matches. The run ends when the script returns.
 */
function serverScript(opts, script, { env, rootUri = null } = {}) {
  return run([SERVER, '--stdio'], {
    env,
    drive(p, out) {
      let from = 0;
      const send = (o) => p.stdin.write(Buffer.isBuffer(o) ? o : lspFrame(o));
      const wait = (re) =>
        new Promise((res) => {
          const iv = setInterval(() => {
            const m = re.exec(out().slice(from));
            if (m) {
              from += m.index + m[0].length;
              clearInterval(iv);
              res(m);
            }
          }, 10);
          p.on('exit', () => clearInterval(iv));
        });
      send(
        lspFrame({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { processId: null, rootUri, capabilities: {}, initializationOptions: opts },
        }),
      );
      send({ jsonrpc: '2.0', method: 'initialized', params: {} });
      script({ send, wait }).then(() => p.kill('SIGTERM'));
    },
  });
}
const kallsymsText = (n) =>
  [
    'ffffffff81000000 T _stext',
    'ffffffff81000000 T _text',
    ...Array.from({ length: n }, (_, i) => `ffffffff81${(0x1000 + i * 16).toString(16).padStart(6, '0')} T f${i}`),
    'ffffffff82000000 T _etext',
  ].join('\n') + '\n';

const attacks = [
  ['fifo: stats --kallsyms FIFO', () => cli('stats', '--kallsyms', fifo('k.fifo'))],
  ['fifo: btf --stats --btf FIFO', () => cli('btf', '--stats', '--btf', fifo('b.fifo'))],
  ['fifo: symbols --module FIFO.ko', () => cli('symbols', '--module', fifo('m.ko'))],
  ['fifo: server, initializationOptions kallsyms FIFO', () => server({ kallsyms: [fifo('s.fifo')] }, [], /"id":1,"result"/)],
  ['fifo: server, KSYM_PREFETCH=FIFO', () => server({ kallsyms: [K] }, [], /"id":1,"result"/, { KSYM_PREFETCH: fifo('p.fifo') })],
  ['device: btf --stats --btf /dev/zero', () => cli('btf', '--stats', '--btf', '/dev/zero')],
  ['device: symbols --module /dev/zero', () => cli('symbols', '--module', '/dev/zero')],
  ['device: decode --kallsyms K /dev/zero', () => cli('decode', '--kallsyms', K, '/dev/zero')],
  ['huge: btf --stats on a 4 GiB sparse file', () => cli('btf', '--stats', '--btf', sparse('huge.btf', 4 * 2 ** 30))],
  ['huge: symbols --module 2 GiB sparse .ko', () => cli('symbols', '--module', sparse('huge.ko', 2 * 2 ** 30))],
  ['huge: stats --kallsyms 2 GiB sparse', () => cli('stats', '--kallsyms', sparse('huge.kallsyms', 2 * 2 ** 30))],
  ['bomb: symbols --module 1 GiB .ko.gz', () => cli('symbols', '--module', bomb('b.ko.gz', 'gzip -1', 1024))],
  [
    'bomb: symbols --module 1 GiB .ko.zst (no content size)',
    () => cli('symbols', '--module', bomb('b.ko.zst', 'zstd -q -19 --no-content-size', 1024)),
  ],
  ['bomb: symbols --module 1 GiB .ko.xz', () => cli('symbols', '--module', bomb('b.ko.xz', 'xz -1 -T1', 1024))],
  [
    'protocol: didChangeConfiguration params null',
    () =>
      server(
        { kallsyms: [K] },
        [
          lspFrame({ jsonrpc: '2.0', method: 'workspace/didChangeConfiguration', params: null }),
          lspFrame({ jsonrpc: '2.0', id: 7, method: 'shutdown', params: null }),
        ],
        /"id":7/,
      ),
  ],
  [
    'protocol: ksym/symbolPage params null',
    () => server({ kallsyms: [K] }, [lspFrame({ jsonrpc: '2.0', id: 7, method: 'ksym/symbolPage', params: null })], /"id":7/),
  ],
  [
    'framing: Content-Length: abc, then a request',
    () =>
      server(
        { kallsyms: [K] },
        [Buffer.from('Content-Length: abc\r\n\r\n{}'), lspFrame({ jsonrpc: '2.0', id: 7, method: 'shutdown', params: null })],
        /"id":7|never/,
      ),
  ],
  [
    'framing: Content-Length longer than the body, then end of input',
    () =>
      run([SERVER, '--stdio'], {
        drive(p) {
          p.stdin.write(init({ kallsyms: [K] }));
          p.stdin.write('Content-Length: 99999\r\n\r\n{"jsonrpc":"2.0"}');
        },
      }),
  ],
  [
    'storm: 200 concurrent ksym/reindex (/proc/kallsyms)',
    () =>
      server(
        { kallsyms: ['/proc/kallsyms'] },
        Array.from({ length: 200 }, (_, i) => lspFrame({ jsonrpc: '2.0', id: 100 + i, method: 'ksym/reindex', params: {} })),
        /"id":299,/,
      ),
  ],
  ['offset: lookup schedule+0x<300 f>', () => cli('lookup', '--kallsyms', K, 'schedule+0x' + 'f'.repeat(300))],
  ['offset: lookup schedule+0x1fffffffffffffffff', () => cli('lookup', '--kallsyms', K, 'schedule+0x1fffffffffffffffff')],
  ['repeat: stats --kallsyms K x1000', () => cli('stats', ...Array.from({ length: 1000 }, () => ['--kallsyms', K]).flat())],
  [
    'scale: search --module over 100,000 empty .ko',
    () => {
      const d = join(dir, 'mods');
      mkdirSync(d);
      for (let i = 0; i < 100000; i++) writeFileSync(join(d, `m${i}.ko`), '');
      return cli('search', '--kallsyms', K, '--module', d, 'schedule');
    },
  ],
  [
    'small: symbols --module DIR',
    () => {
      const d = join(dir, 'moddir');
      mkdirSync(d, { recursive: true });
      return cli('symbols', '--module', d);
    },
  ],
  [
    'append: stats --kallsyms on a file appended to while read',
    async () => {
      const f = join(dir, 'growing.kallsyms');
      writeFileSync(f, kallsymsText(200000));
      // A writer appending 1 MiB every 2 ms (at most 400 MiB) while the command reads.
      const line = Buffer.from('ffffffff81800000 T appended\n'.repeat(40000));
      const fd = openSync(f, 'a');
      let written = 0;
      const iv = setInterval(() => {
        if (written < 400 << 20) written += writeSync(fd, line);
      }, 2);
      const r = await cli('stats', '--kallsyms', f);
      clearInterval(iv);
      closeSync(fd);
      rmSync(f, { force: true });
      return r;
    },
  ],
  [
    'framing: Content-Length missing, then a request',
    () =>
      server(
        { kallsyms: [K] },
        [
          Buffer.from('Content-Type: application/vscode-jsonrpc\r\n\r\n{}'),
          lspFrame({ jsonrpc: '2.0', id: 7, method: 'shutdown', params: null }),
        ],
        /"id":7|never/,
      ),
  ],
  [
    'protocol: textDocument/hover params null',
    () => server({ kallsyms: [K] }, [lspFrame({ jsonrpc: '2.0', id: 7, method: 'textDocument/hover', params: null })], /"id":7/),
  ],
  [
    'watch: source deleted and re-created while watched',
    () => {
      const f = join(dir, 'watched.kallsyms');
      writeFileSync(f, kallsymsText(4));
      return serverScript({ kallsyms: [f] }, async ({ wait }) => {
        await wait(/"state":"ready"[^}]*"symbols":7|"symbols":7[^}]*"state":"ready"/);
        unlinkSync(f);
        await wait(/no such file/);
        writeFileSync(f, kallsymsText(9));
        await wait(/"symbols":12/); // picked up without a reindex request
      });
    },
  ],
  [
    'fifo: FIFO renamed over a watched source, then a request',
    () => {
      const f = join(dir, 'watched2.kallsyms');
      writeFileSync(f, kallsymsText(4));
      return serverScript({ kallsyms: [f] }, async ({ send, wait }) => {
        await wait(/"symbols":7/);
        const ff = fifo('over.fifo');
        renameSync(ff, f);
        await new Promise((r) => setTimeout(r, 600)); // the watch's debounce is 200 ms
        send({ jsonrpc: '2.0', id: 7, method: 'ksym/stats', params: null });
        await wait(/"id":7/);
      });
    },
  ],
  [
    'workspace: a workspace holding evil.ko.gz (1 GiB of zeros)',
    () => {
      const ws = join(dir, 'ws');
      mkdirSync(ws, { recursive: true });
      execFileSync('sh', ['-c', `head -c 1024M /dev/zero | gzip -1 > '${join(ws, 'evil.ko.gz')}'`]);
      return serverScript(
        { kallsyms: [K] },
        async ({ wait }) => void (await wait(/publishDiagnostics[^\n]*evil\.ko\.gz|evil\.ko\.gz[^\n]*publishDiagnostics/)),
        { rootUri: `file://${ws}` },
      );
    },
  ],
  [
    'codecache: a changed bundle of the same size',
    () => {
      // Two bundles of one size; the first run writes a code cache; the second bundle must not run the first's code.
      const cc = join(dir, 'cc.js');
      const src = ['server/src/lsp/codeCache.ts', 'server/src/codecache.ts'].map((p) => join(ROOT, p)).find(existsSync); // (the pre-issue-12 layout: codecache.ts)
      execFileSync(join(ROOT, 'node_modules/esbuild/bin/esbuild'), [
        src,
        '--bundle',
        '--platform=node',
        '--format=cjs',
        `--outfile=${cc}`,
        '--log-level=error',
      ]);
      const b = join(dir, 'bundle.js');
      const body = (tag) =>
        `module.exports = function which() { return ${JSON.stringify(tag)}; }; process.stdout.write(module.exports() + '\\n');\n`;
      const env = { XDG_CACHE_HOME: join(dir, 'xdg') };
      writeFileSync(b, body('AAAA'));
      execFileSync(process.execPath, ['-e', `require(${JSON.stringify(cc)}).requireWithCodeCache(${JSON.stringify(b)})`], {
        env: { ...process.env, ...env },
      });
      writeFileSync(b, body('BBBB'));
      return run(['-e', `require(${JSON.stringify(cc)}).requireWithCodeCache(${JSON.stringify(b)})`], { env });
    },
  ],
  ...[true, false].map((cancel) => [
    cancel
      ? 'cancel: ksym/reindex of 6 × 400,000 symbols, cancelled as it starts'
      : 'cancel: the same ksym/reindex, not cancelled (baseline)',
    () => {
      // Six sources: each one read and parsed is a step of the cooperative build.
      const big = join(dir, 'big0.kallsyms');
      if (!existsSync(big))
        writeFileSync(big, execFileSync(process.execPath, [join(ROOT, 'bench/gen-kallsyms.mjs'), '400000'], { maxBuffer: 1 << 30 }));
      const files = [big, ...[1, 2, 3, 4, 5].map((i) => join(dir, `big${i}.kallsyms`))];
      for (const f of files.slice(1)) if (!existsSync(f)) copyFileSync(big, f);
      let note = '';
      const script = async ({ send, wait }) => {
        await wait(/"state":"ready"/);
        send({ jsonrpc: '2.0', id: 6, method: 'ksym/stats', params: null }); // the first index's deferred work has run
        await wait(/"id":6,/);
        const t0 = performance.now();
        send({ jsonrpc: '2.0', id: 7, method: 'ksym/reindex', params: {} });
        await wait(/"state":"indexing"/);
        if (cancel) send({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 7 } });
        const m = await wait(/"id":7,[^\n]*?"generation":(\d+)/); // generation 1 when the build stopped, 2 when it ran
        note = `reindex answered in ${Math.round(performance.now() - t0)} ms, generation ${m[1]}${m[1] === '1' ? ' (build stopped, previous index kept)' : ''}`;
      };
      return serverScript({ kallsyms: files, modules: [], btf: '' }, script).then((r) => ({ ...r, note }));
    },
  ]),
  [
    'c1: lookup prints a name with ESC/CSI bytes',
    () => {
      const f = join(dir, 'evil.kallsyms');
      writeFileSync(
        f,
        Buffer.concat([
          Buffer.from('ffffffff81000000 T _stext\nffffffff81001000 T evil\x1b[31m\x9b2J\nffffffff81002000 T _etext\n', 'latin1'),
        ]),
      );
      return cli('lookup', '--kallsyms', f, 'ffffffff81001004');
    },
  ],
];

const rows = [];
for (const [name, fn] of attacks) {
  if (only && !name.includes(only)) continue;
  const r = await fn();
  const outcome = r.timedOut ? `HANG (killed at ${budget} ms)` : r.signal ? `signal ${r.signal}` : `exit ${r.code}`;
  const answer = /"id":7,[^\n]{0,140}/.exec(r.out)?.[0];
  const msg = r.note || answer || ((r.err || r.out).split('\n').find((l) => l.trim()) ?? '');
  rows.push({
    name,
    ms: Math.round(r.ms),
    peakMiB: +(r.peak / 2 ** 20).toFixed(1),
    outcome,
    message: msg.slice(0, 160).replace(/[\x00-\x1f\x7f-\x9f]/g, '?'),
  });
  if (!asJson)
    console.log(
      `${name.padEnd(58)} ${String(Math.round(r.ms)).padStart(6)} ms ${(r.peak / 2 ** 20).toFixed(0).padStart(6)} MiB  ${outcome}  ${rows.at(-1).message}`,
    );
}
if (asJson) console.log(JSON.stringify(rows, null, 1));
