/**
 * Running the built CLI or server as a separate process under a time budget, with its
 * peak RSS (VmHWM, polled): what the hostile tests assert their generous bounds on.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, SERVER, assertBuilt } from '../helpers/lspclient';

export { CLI, SERVER };

/** The safety nets of every hostile case: generous, not benchmarks. */
export const MAX_MS = 5000;
export const MAX_MIB = 400;

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  peakMiB: number;
  /** Killed at the budget. */
  timedOut: boolean;
}

function peakOf(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string | Buffer;
  budgetMs?: number;
  /** Drives a long-running process (the server); the run ends when the process exits or `drive` resolves (then SIGTERM). */
  drive?: (p: ChildProcessWithoutNullStreams, out: () => string) => Promise<void>;
}

export function runNode(argv: string[], opts: RunOptions = {}): Promise<Outcome> {
  assertBuilt();
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, argv, { stdio: 'pipe', env: { ...process.env, KSYM_NO_CODE_CACHE: '1', ...opts.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout.length < 1 << 22 ? (stdout += d) : null));
    p.stderr.on('data', (d) => (stderr.length < 1 << 22 ? (stderr += d) : null));
    p.stdin.on('error', () => undefined);
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, peakOf(p.pid))), 10);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        p.kill('SIGKILL');
      },
      opts.budgetMs ?? MAX_MS * 3,
    );
    if (opts.input !== undefined) p.stdin.end(opts.input);
    if (opts.drive)
      void opts
        .drive(p, () => stdout)
        .then(
          () => p.kill('SIGTERM'),
          () => p.kill('SIGKILL'),
        );
    p.on('exit', (code, signal) => {
      peak = Math.max(peak, peakOf(p.pid));
      clearInterval(poll);
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, ms: performance.now() - t0, peakMiB: peak, timedOut });
    });
  });
}

export const cli = (args: string[], opts?: RunOptions) => runNode([CLI, ...args], opts);

/** An LSP frame. */
export function frame(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

export const initialize = (initializationOptions: unknown = {}, rootUri: string | null = null) =>
  frame({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri, capabilities: {}, initializationOptions } });

/** Resolves when `out()` (from `from` on) matches `re`; rejects after `ms`. */
export function waitFor(out: () => string, re: RegExp, ms = 20000, from = 0): Promise<RegExpExecArray> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const iv = setInterval(() => {
      const m = re.exec(out().slice(from));
      if (m) {
        clearInterval(iv);
        res(m);
      } else if (Date.now() - t0 > ms) {
        clearInterval(iv);
        rej(new Error(`timed out waiting for ${re}; output: ${out().slice(-2000)}`));
      }
    }, 10);
  });
}

/** Asserts the safety nets. */
export function bounded(o: Outcome, maxMs = MAX_MS, maxMiB = MAX_MIB): void {
  if (o.timedOut) throw new Error(`killed at the budget; stderr: ${o.stderr.slice(0, 500)}`);
  if (o.ms > maxMs) throw new Error(`took ${Math.round(o.ms)} ms (bound ${maxMs}); stderr: ${o.stderr.slice(0, 300)}`);
  if (o.peakMiB > maxMiB) throw new Error(`peak RSS ${Math.round(o.peakMiB)} MiB (bound ${maxMiB})`);
}
