/**
 * debuginfod client: network and cache (the conventions are in debuginfod.ts).
 *
 * - No servers configured (DEBUGINFOD_URLS unset or empty): no network and no cache
 *   access, ever.
 * - `allowNetwork` is required: whether a server may be contacted for this caller (the
 *   LSP passes false for an untrusted workspace). A cache hit serves without the network.
 * - All servers are asked at once; the first 200 wins, the others are aborted.
 * - Files are written to a temporary name in the cache directory (0700), made 0400 and
 *   renamed; a 404 from every server leaves an empty file (negative cache) honoured for
 *   cache_miss_s. Timeouts and refused connections are not negative-cached.
 * - Verified: a debuginfo/executable must be an ELF carrying the requested build id;
 *   /section/ and /source/ answers are not ELF (a section answer is the section's raw
 *   bytes) and carry no build id: checked by size only (said so), or by the caller's
 *   `verify` (the content against what it must be), before it enters the cache and when
 *   served from it.
 * - Limits: DEBUGINFOD_TIMEOUT (fewer than 100 KiB in that time: give up),
 *   DEBUGINFOD_MAXTIME, DEBUGINFOD_MAXSIZE (sent as X-DEBUGINFOD-MAXSIZE; 406 = too
 *   large), DEBUGINFOD_RETRY_LIMIT, plus the caller's hard byte and time caps.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { ElfView } from '../dwarf/elf';
import { fileSource } from '../dwarf/readFile';
import { cleanDebuginfodCache } from './storeDebuginfodClean';
import { readGuardedText } from '../common/readGuarded';
import {
  cacheRelPath,
  cacheRoot,
  checkArtifact,
  limitsFrom,
  negativeCacheFresh,
  parseServerUrls,
  requestPath,
  validBuildId,
  type Artifact,
  type DebuginfodEnv,
  type Limits,
} from './debuginfod';

export interface Progress {
  received: number;
  /** Content-Length when the server sent one. */
  total?: number;
  server: string;
}

export interface FetchRequest {
  buildId: string;
  artifact: Artifact;
  /** Whether a server may be contacted for this caller (workspace trust). Required on purpose. */
  allowNetwork: boolean;
  env: DebuginfodEnv;
  /** os.homedir(), for the cache root. */
  home: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Hard cap on the bytes accepted (default 4 GiB), whatever DEBUGINFOD_MAXSIZE says. */
  maxBytes?: number;
  /** Hard cap on the whole fetch in ms (default 30 min), whatever DEBUGINFOD_MAXTIME says. */
  maxTimeMs?: number;
  /** Clock (tests). */
  now?: () => number;
  /**
   * For a section or source answer: check the content (the downloaded file before it enters
   * the cache, a cached one before it is served). A refusal is a `mismatch`: the other
   * servers are asked; nothing refused is cached.
   */
  verify?: (path: string) => { message: string } | undefined;
}

export type FetchFailure =
  | 'no-servers'
  | 'network-not-allowed'
  | 'invalid-request'
  | 'not-found'
  | 'negative-cache'
  | 'too-large'
  | 'mismatch'
  | 'not-elf'
  | 'truncated'
  | 'timeout'
  | 'cancelled'
  | 'error';

export type FetchResult =
  | {
      ok: true;
      path: string;
      fromCache: boolean;
      server?: string;
      size: number;
      /** How the content was checked: its ELF build id, the caller's `verify`, or (sections, sources) only its size. */
      verified: 'build-id' | 'content' | 'size-only';
      note?: string;
    }
  | { ok: false; reason: FetchFailure; message: string; details: string[] };

const fail = (reason: FetchFailure, message: string, details: string[] = []): FetchResult => ({ ok: false, reason, message, details });

class Stop extends Error {
  constructor(
    readonly reason: FetchFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The build id of an ELF file, or a reason it has none. */
function elfBuildId(path: string, maxBytes: number): { id?: string; error?: string } {
  let src: ReturnType<typeof fileSource> | undefined;
  try {
    src = fileSource(path, maxBytes);
    return { id: new ElfView(src).buildId() };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    src?.close?.();
  }
}

/** `maxBytes`: the download limit (a cached file past it is refused unread). */
function verifyElf(path: string, buildId: string, maxBytes: number): { reason: FetchFailure; message: string } | undefined {
  const r = elfBuildId(path, maxBytes);
  if (r.error) return { reason: 'not-elf', message: `not an ELF file with a build id: ${r.error}` };
  if (!r.id) return { reason: 'mismatch', message: 'the ELF file carries no build id' };
  if (r.id !== buildId) return { reason: 'mismatch', message: `the file carries build id ${r.id}, not the requested ${buildId}` };
  return undefined;
}

interface Answer {
  server: string;
  status: number;
  total?: number;
  body: Readable;
  abort(): void;
}

/** One GET; resolves on the response headers. */
function get(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (url.startsWith('file://')) {
      try {
        const p = fileURLToPath(url);
        if (!existsSync(p) || !statSync(p).isFile()) {
          const body = createReadStream('/dev/null');
          resolve({ server: url, status: 404, body, abort: () => body.destroy() });
          return;
        }
        const body = createReadStream(p);
        resolve({ server: url, status: 200, total: statSync(p).size, body, abort: () => body.destroy() });
      } catch (e) {
        reject(e);
      }
      return;
    }
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { headers, signal }, (res) => {
      const len = res.headers['content-length'];
      const total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
      resolve({ server: url, status: res.statusCode ?? 0, total, body: res, abort: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/** Fetch an artifact by build id: from the cache, else from the servers. Never throws. */
export async function fetchDebuginfod(r: FetchRequest): Promise<FetchResult> {
  const now = r.now ?? Date.now;
  const buildId = validBuildId(r.buildId);
  if (!buildId) return fail('invalid-request', `${JSON.stringify(r.buildId.slice(0, 80))} is not a build id (even-length hex)`);
  const bad = checkArtifact(r.artifact);
  if (bad) return fail('invalid-request', bad);
  const { servers, skipped } = parseServerUrls(r.env.DEBUGINFOD_URLS);
  // No servers: no network and no cache access at all (elfutils behaves the same).
  if (servers.length === 0)
    return fail(
      'no-servers',
      'no debuginfod server is configured (DEBUGINFOD_URLS is empty)',
      skipped.map((s) => `${s.token}: ${s.why}`),
    );

  const root = cacheRoot({ env: r.env, home: r.home, exists: (p) => existsSync(p) });
  // elfutils cleans at the start of every query when cache_clean_interval_s has passed.
  cleanDebuginfodCache(root, now());
  let cacheMiss: string | undefined;
  try {
    cacheMiss = readGuardedText(join(root, 'cache_miss_s'), { maxBytes: 4096, what: 'cache_miss_s file' });
  } catch {
    /* default */
  }
  const limits = limitsFrom(r.env, cacheMiss);
  const maxBytes = Math.min(limits.maxSize, r.maxBytes ?? 4 * 1024 ** 3);
  const rel = cacheRelPath(buildId, r.artifact);
  const target = join(root, rel);
  const what = `${buildId}/${r.artifact.kind}${r.artifact.name ? ` ${r.artifact.name}` : ''}`;
  const isElfKind = r.artifact.kind === 'debuginfo' || r.artifact.kind === 'executable';
  const verifyContent = !isElfKind ? r.verify : undefined;
  const verifiedBy = isElfKind ? 'build-id' : verifyContent ? 'content' : 'size-only';

  // The cache.
  try {
    const st = statSync(target);
    if (st.isFile() && st.size > 0) {
      if (isElfKind) {
        const v = verifyElf(target, buildId, maxBytes);
        if (v) return fail(v.reason, `${target} (cached): ${v.message}`);
      }
      if (verifyContent) {
        if (st.size > maxBytes) return fail('too-large', `${target} (cached) is ${st.size} bytes, more than the ${maxBytes} accepted`);
        const v = verifyContent(target);
        if (v) return fail('mismatch', `${target} (cached): ${v.message}`);
      }
      return {
        ok: true,
        path: target,
        fromCache: true,
        size: st.size,
        verified: verifiedBy,
        note: isElfKind
          ? undefined
          : verifyContent
            ? 'from the cache'
            : 'from the cache; section and source files are not ELF and carry no build id',
      };
    }
    if (st.isFile() && st.size === 0) {
      if (negativeCacheFresh(st.mtimeMs, now(), limits))
        return fail('negative-cache', `${what}: not found on any server (cached answer, ${Math.round(limits.cacheMissMs / 1000)} s)`);
      try {
        unlinkSync(target);
      } catch {
        /* someone else cleaned it */
      }
    }
  } catch {
    /* not cached */
  }
  if (!r.allowNetwork)
    return fail(
      'network-not-allowed',
      `${what} is not in the debuginfod cache and contacting a server is not allowed here (untrusted workspace)`,
    );

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  r.signal?.addEventListener('abort', onAbort, { once: true });
  if (r.signal?.aborted) controller.abort();
  const maxTime = Math.min(limits.maxTimeMs, r.maxTimeMs ?? 30 * 60_000);
  const headers: Record<string, string> = { 'User-Agent': 'ksym debuginfod client' };
  if (Number.isFinite(limits.maxSize)) headers['X-DEBUGINFOD-MAXSIZE'] = String(limits.maxSize);
  const path = requestPath(buildId, r.artifact);
  const started = now();
  let overall: NodeJS.Timeout | undefined;
  const timedOut = { why: '' };
  if (Number.isFinite(maxTime))
    overall = setTimeout(() => {
      timedOut.why = `no complete answer within ${Math.round(maxTime / 1000)} s (DEBUGINFOD_MAXTIME)`;
      controller.abort();
    }, maxTime);

  const details: string[] = [];
  try {
    // A winner whose answer fails verification is dropped and the other servers are asked again.
    let urls = servers.map((s) => s + path);
    let refused: FetchResult | undefined;
    for (;;) {
      const winner = await firstOk(urls, headers, controller.signal, limits, details);
      if (controller.signal.aborted && !winner) {
        if (timedOut.why) return fail('timeout', `${what}: ${timedOut.why}`, details);
        return fail('cancelled', `${what}: cancelled`, details);
      }
      if (!winner && refused) return refused;
      if (!winner) {
        const all404 = details.length > 0 && details.every((d) => / 404\b/.test(d));
        const any406 = details.some((d) => / 406\b/.test(d));
        if (any406) return fail('too-large', `${what} is larger than DEBUGINFOD_MAXSIZE (${limits.maxSize} bytes)`, details);
        if (all404) {
          writeNegative(target);
          return fail('not-found', `${what}: no server has it`, details);
        }
        if (timedOut.why || details.some((d) => /timeout/i.test(d)))
          return fail('timeout', `${what}: ${timedOut.why || 'the servers were too slow'}`, details);
        return fail('error', `${what}: no server answered`, details);
      }
      if (winner.total !== undefined && winner.total > maxBytes) {
        winner.abort();
        return fail('too-large', `${what} is ${winner.total} bytes, more than the ${maxBytes} accepted`, details);
      }
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      const tmp = join(dirname(target), `.ksym-${randomBytes(6).toString('hex')}.tmp`);
      let received = 0;
      try {
        received = await download(
          winner,
          tmp,
          maxBytes,
          limits,
          controller.signal,
          (n) => r.onProgress?.({ received: n, total: winner.total, server: winner.server }),
          timedOut,
        );
        if (winner.total !== undefined && received !== winner.total)
          throw new Stop('truncated', `${winner.server}: the answer ended after ${received} of ${winner.total} bytes`);
        if (received === 0) throw new Stop('truncated', `${winner.server}: empty answer`);
        if (isElfKind) {
          const v = verifyElf(tmp, buildId, maxBytes);
          if (v) throw new Stop(v.reason, `${winner.server}: ${v.message}; refused`);
        }
        if (verifyContent) {
          const v = verifyContent(tmp);
          if (v) throw new Stop('mismatch', `${winner.server}: ${v.message}; refused`);
        }
        chmodSync(tmp, 0o400);
        renameSync(tmp, target);
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          /* not written */
        }
        if (e instanceof Stop) {
          const f = fail(e.reason, `${what}: ${e.message}`, details);
          const rest = urls.filter((u) => u !== winner.server);
          if (
            (e.reason === 'mismatch' || e.reason === 'not-elf' || e.reason === 'truncated') &&
            rest.length &&
            !controller.signal.aborted
          ) {
            details.push(`${winner.server}: ${e.message}; trying the other servers`);
            urls = rest;
            refused = f;
            continue;
          }
          return f;
        }
        if (controller.signal.aborted)
          return timedOut.why
            ? fail('timeout', `${what}: ${timedOut.why}`, details)
            : fail('cancelled', `${what}: cancelled after ${received} bytes`, details);
        return fail('error', `${what}: ${(e as Error).message}`, details);
      }
      void started;
      return {
        ok: true,
        path: target,
        fromCache: false,
        server: winner.server,
        size: received,
        verified: verifiedBy,
        note: isElfKind || verifyContent ? undefined : 'section and source answers are not ELF: checked by size only',
      };
    }
  } finally {
    if (overall) clearTimeout(overall);
    r.signal?.removeEventListener('abort', onAbort);
  }
}

function writeNegative(target: string): void {
  try {
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    const tmp = join(dirname(target), `.ksym-${randomBytes(6).toString('hex')}.tmp`);
    closeSync(openSync(tmp, 'w', 0o400));
    renameSync(tmp, target);
  } catch {
    /* the negative cache is best effort */
  }
}

/**
 * Ask every server; resolve with the first 200 (others aborted), or undefined when none
 * answered 200 (`details` says what each did). Errors other than 404 are retried.
 */
function firstOk(
  urls: string[],
  headers: Record<string, string>,
  signal: AbortSignal,
  l: Limits,
  details: string[],
): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    let pending = urls.length;
    let done = false;
    const inFlight = new Set<AbortController>();
    const finish = (a?: Answer, keep?: AbortController) => {
      if (done) return;
      done = true;
      // First 200 wins: every other request is aborted.
      for (const c of inFlight) if (c !== keep) c.abort();
      resolve(a);
    };
    signal.addEventListener('abort', () => finish(undefined), { once: true });
    for (const url of urls) {
      const attempt = (n: number) => {
        if (done) return;
        const sub = new AbortController();
        inFlight.add(sub);
        const onAbort = () => sub.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        // The headers must arrive within DEBUGINFOD_TIMEOUT.
        let headerTimeout = false;
        const t = setTimeout(() => {
          headerTimeout = true;
          sub.abort();
        }, l.timeoutMs);
        get(url, headers, sub.signal).then(
          (a) => {
            clearTimeout(t);
            if (done) {
              a.abort();
              return;
            }
            if (a.status === 200) {
              finish(a, sub);
              return;
            }
            inFlight.delete(sub);
            signal.removeEventListener('abort', onAbort);
            a.body.resume();
            a.abort();
            details.push(`${url}: HTTP ${a.status}`);
            if (a.status !== 404 && a.status !== 406 && n < l.retryLimit) return attempt(n + 1);
            if (--pending === 0) finish(undefined);
          },
          (e: Error) => {
            clearTimeout(t);
            inFlight.delete(sub);
            signal.removeEventListener('abort', onAbort);
            if (done) return;
            details.push(`${url}: ${headerTimeout ? `timeout: no answer within ${Math.round(l.timeoutMs / 1000)} s` : e.message}`);
            if (!signal.aborted && n < l.retryLimit) return attempt(n + 1);
            if (--pending === 0) finish(undefined);
          },
        );
      };
      attempt(0);
    }
  });
}

/** Stream a body to `tmp` with the byte cap, the low-speed rule and progress. Returns bytes written. */
function download(
  a: Answer,
  tmp: string,
  maxBytes: number,
  l: Limits,
  signal: AbortSignal,
  progress: (n: number) => void,
  timedOut: { why: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const fd = openSync(tmp, 'wx', 0o600);
    let received = 0;
    let windowStart = received;
    let finished = false;
    const end = (e?: Error) => {
      if (finished) return;
      finished = true;
      clearInterval(speed);
      signal.removeEventListener('abort', onAbort);
      try {
        fstatSync(fd);
        closeSync(fd);
      } catch {
        /* closed */
      }
      if (e) {
        a.abort();
        reject(e);
      } else resolve(received);
    };
    const onAbort = () => end(new Stop(timedOut.why ? 'timeout' : 'cancelled', timedOut.why || `cancelled after ${received} bytes`));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return onAbort();
    // DEBUGINFOD_TIMEOUT: fewer than 100 KiB in a window of that length is too slow.
    const speed = setInterval(() => {
      if (received - windowStart < l.lowSpeedBytes)
        end(
          new Stop(
            'timeout',
            `${a.server}: fewer than ${l.lowSpeedBytes} bytes in ${Math.round(l.timeoutMs / 1000)} s (DEBUGINFOD_TIMEOUT)`,
          ),
        );
      windowStart = received;
    }, l.timeoutMs);
    a.body.on('data', (chunk: Buffer) => {
      if (finished) return;
      received += chunk.length;
      if (received > maxBytes) return end(new Stop('too-large', `${a.server}: more than ${maxBytes} bytes; stopped`));
      try {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      } catch (e) {
        return end(e as Error);
      }
      progress(received);
    });
    a.body.on('end', () => end());
    a.body.on('aborted', () => end(new Stop('truncated', `${a.server}: the connection closed after ${received} bytes`)));
    a.body.on('close', () => end(new Stop('truncated', `${a.server}: the connection closed after ${received} bytes`)));
    a.body.on('error', (e: Error) =>
      end(finished ? undefined : new Stop('truncated', `${a.server}: ${e.message} after ${received} bytes`)),
    );
  });
}
