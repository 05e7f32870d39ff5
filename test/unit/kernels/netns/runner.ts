/**
 * Runs inside a network namespace of its own (`unshare --net`, loopback up): starts a real
 * debuginfod (0.188 binds *:PORT, hence the namespace), waits until it has indexed its
 * directories (polling /metrics, no sleeps as readiness), runs the client scenarios and
 * prints one JSON object with their results on stdout. Bundled and spawned by
 * debuginfod-server.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { fetchDebuginfod, type FetchResult } from '../../../../server/src/core/kernels/storeDebuginfod';

interface Config {
  port: number;
  db: string;
  dirs: string[];
  cache: string;
  home: string;
  fixture: { path: string; buildId: string };
  real?: { path: string; buildId: string };
  unknownId: string;
  /** A large served file: its fetch is cancelled after the first bytes, then fetched whole. */
  big?: { path: string; buildId: string };
  /** A served file overwritten after indexing by another ELF (mtime kept): the server answers with another build id. */
  wrong?: { path: string; buildId: string; replacement: string };
  /** CLI scenario instead of the client one: argv lists run with node while the server runs, then after it stopped. */
  cli?: { before: string[][]; after: string[][] };
}

const cfg = JSON.parse(process.argv[2]) as Config;
const base = `http://127.0.0.1:${cfg.port}`;

function httpGet(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function metric(text: string, name: string, label: string): number | undefined {
  const m = new RegExp(`^${name}\\{${label}\\} (\\d+(?:\\.\\d+)?)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function waitReady(): Promise<{ polls: number }> {
  const deadline = Date.now() + 120_000;
  let polls = 0;
  for (;;) {
    polls++;
    try {
      const r = await httpGet(`${base}/metrics`);
      const t = r.body.toString();
      const traversed = metric(t, 'thread_work_total', 'role="traverse"') ?? 0;
      const pending = metric(t, 'thread_work_pending', 'role="scan"') ?? 1;
      const busy = metric(t, 'thread_busy', 'role="scan"') ?? 1;
      if (r.status === 200 && traversed >= 1 && pending === 0 && busy === 0) {
        // A build id known to be there, with a plain HTTP client (debuginfod-find would leave negative-cache entries).
        const k = await httpGet(`${base}/buildid/${cfg.fixture.buildId}/debuginfo`);
        if (k.status === 200) return { polls };
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('debuginfod did not become ready within 120 s');
    // Poll interval (readiness itself is decided by /metrics, not by this delay).
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function requests(): Promise<number> {
  const t = (await httpGet(`${base}/metrics`)).body.toString();
  let sum = 0;
  for (const m of t.matchAll(/^http_responses_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

const brief = (r: FetchResult) =>
  r.ok
    ? { ok: true, fromCache: r.fromCache, verified: r.verified, size: r.size, path: r.path, note: r.note }
    : { ok: false, reason: r.reason, message: r.message };

async function main() {
  const out: Record<string, unknown> = {};
  const d = spawn('debuginfod', ['-p', String(cfg.port), '-d', cfg.db, '-F', '-t', '0', '-g', '0', '-v', ...cfg.dirs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  d.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 20000) stderr += c.toString();
  });
  const exited = new Promise<void>((r) => d.on('exit', () => r()));
  try {
    out.ready = await waitReady();
    if (cfg.cli) {
      await cliScenario(cfg.cli, out, () => {
        d.kill('SIGTERM');
        return exited;
      });
      return;
    }
    const env = { DEBUGINFOD_URLS: base, DEBUGINFOD_CACHE_PATH: cfg.cache };
    const req = (buildId: string, extra: object = {}) => ({
      buildId,
      artifact: { kind: 'debuginfo' as const },
      allowNetwork: true,
      env,
      home: cfg.home,
      ...extra,
    });

    let progress = 0;
    out.fixture = brief(
      await fetchDebuginfod(req(cfg.fixture.buildId, { onProgress: (p: { received: number }) => (progress = p.received) })),
    );
    out.fixtureProgress = progress;
    out.fixtureSame = readFileSync(`${cfg.cache}/${cfg.fixture.buildId}/debuginfo`).equals(readFileSync(cfg.fixture.path));
    out.section = brief(await fetchDebuginfod(req(cfg.fixture.buildId, { artifact: { kind: 'section', name: '.symtab' } })));
    out.executable = brief(await fetchDebuginfod(req(cfg.fixture.buildId, { artifact: { kind: 'executable' } })));
    if (cfg.real) {
      out.real = brief(await fetchDebuginfod(req(cfg.real.buildId)));
      out.realSame = readFileSync(`${cfg.cache}/${cfg.real.buildId}/debuginfo`).equals(readFileSync(cfg.real.path));
    }
    if (cfg.big) {
      const ac = new AbortController();
      let at = 0;
      let total: number | undefined;
      const t0 = Date.now();
      out.bigCancelled = brief(
        await fetchDebuginfod(
          req(cfg.big.buildId, {
            signal: ac.signal,
            onProgress: (p: { received: number; total?: number }) => {
              if (at === 0) {
                at = p.received;
                total = p.total;
                ac.abort();
              }
            },
          }),
        ),
      );
      out.bigCancelMillis = Date.now() - t0;
      out.bigCancelAt = at;
      out.bigTotal = total;
      const d = `${cfg.cache}/${cfg.big.buildId}`;
      out.bigLeft = existsSync(d) ? readdirSync(d) : [];
      out.bigAfter = brief(await fetchDebuginfod(req(cfg.big.buildId)));
      out.bigSame = readFileSync(`${d}/debuginfo`).equals(readFileSync(cfg.big.path));
    }
    if (cfg.wrong) {
      // debuginfod -F records (path, mtime) when it scans; it serves whatever the path holds
      // when its mtime still matches. Another ELF with the same mtime is a real server's answer
      // carrying another build id than the one asked for.
      const st = statSync(cfg.wrong.path);
      writeFileSync(cfg.wrong.path, readFileSync(cfg.wrong.replacement));
      utimesSync(cfg.wrong.path, st.atime, st.mtime);
      const r0 = await requests();
      out.wrong = brief(await fetchDebuginfod(req(cfg.wrong.buildId)));
      out.wrongRequests = (await requests()) - r0;
      const d = `${cfg.cache}/${cfg.wrong.buildId}`;
      out.wrongLeft = existsSync(d) ? readdirSync(d) : [];
    }
    const before = await requests();
    out.unknown1 = brief(await fetchDebuginfod(req(cfg.unknownId)));
    const mid = await requests();
    out.unknown2 = brief(await fetchDebuginfod(req(cfg.unknownId)));
    const after = await requests();
    out.unknownRequests = [mid - before, after - mid];
    // Upper-case ids are lowered (0.188 answers 503 to them).
    rmSync(`${cfg.cache}/${cfg.fixture.buildId}`, { recursive: true, force: true });
    out.upper = brief(await fetchDebuginfod(req(cfg.fixture.buildId.toUpperCase())));

    d.kill('SIGTERM');
    await exited;
    out.stopped = true;
    out.cached = brief(await fetchDebuginfod(req(cfg.fixture.buildId)));
    if (cfg.real) out.realCached = brief(await fetchDebuginfod(req(cfg.real.buildId)));
    // Server gone and not cached: an error, not a negative-cache entry.
    const gone = 'cd'.repeat(20);
    out.refused = brief(await fetchDebuginfod(req(gone, { env: { ...env, DEBUGINFOD_RETRY_LIMIT: '0' } })));
    try {
      out.refusedLeftFile = readFileSync(`${cfg.cache}/${gone}/debuginfo`).length;
    } catch {
      out.refusedLeftFile = null;
    }
  } catch (e) {
    out.error = (e as Error).message;
    out.stderr = stderr;
  } finally {
    d.kill('SIGKILL');
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

/** `ksym` commands against the server (DEBUGINFOD_CACHE_PATH = cfg.cache), then with it stopped. */
async function cliScenario(cli: NonNullable<Config['cli']>, out: Record<string, unknown>, stop: () => Promise<void>): Promise<void> {
  const run = (argv: string[]) => {
    const r = spawnSync(process.execPath, argv, {
      encoding: 'utf8',
      env: { ...process.env, DEBUGINFOD_CACHE_PATH: cfg.cache, HOME: cfg.home },
      maxBuffer: 64 << 20,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const before: unknown[] = [];
  const counts: number[] = [];
  for (const a of cli.before) {
    const r0 = await requests();
    before.push(run(a));
    counts.push((await requests()) - r0);
  }
  out.cliBefore = before;
  out.cliRequests = counts;
  await stop();
  out.stopped = true;
  out.cliAfter = cli.after.map(run);
}

void main();
