/**
 * debuginfod client conventions (elfutils 0.188 debuginfod-client.c), pure: server list,
 * cache root and layout, negative cache, limits, build-id validation. The network and
 * cache I/O is in storeDebuginfod.ts. Shares its cache with gdb, perf and drgn.
 */

export type ArtifactKind = 'debuginfo' | 'executable' | 'source' | 'section';

export interface Artifact {
  kind: ArtifactKind;
  /** For `source`: the absolute source path; for `section`: the section name (`.BTF`). */
  name?: string;
}

export interface DebuginfodEnv {
  DEBUGINFOD_URLS?: string;
  DEBUGINFOD_CACHE_PATH?: string;
  DEBUGINFOD_TIMEOUT?: string;
  DEBUGINFOD_MAXTIME?: string;
  DEBUGINFOD_MAXSIZE?: string;
  DEBUGINFOD_RETRY_LIMIT?: string;
  XDG_CACHE_HOME?: string;
}

export interface ServerList {
  /** Base URLs ending in `/buildid/`, in order, without duplicates. */
  servers: string[];
  /** Tokens not used, with why (`ima:enforcing` policies, unknown schemes). */
  skipped: Array<{ token: string; why: string }>;
}

/**
 * `DEBUGINFOD_URLS`: space-separated; each gets `buildid/` appended (a `/` first when
 * missing); duplicates dropped; `ima:*` tokens skipped (newer elfutils puts the IMA policy
 * there); http, https and file:// accepted. Unset or empty: no servers (no network and no
 * cache access at all).
 */
export function parseServerUrls(urls: string | undefined): ServerList {
  const servers: string[] = [];
  const skipped: Array<{ token: string; why: string }> = [];
  if (!urls) return { servers, skipped };
  for (const token of urls.split(/[ \t\r\n]+/)) {
    if (!token) continue;
    if (/^ima:/i.test(token)) {
      skipped.push({ token, why: 'an IMA policy, not a server' });
      continue;
    }
    if (!/^(?:https?|file):\/\//i.test(token)) {
      skipped.push({ token, why: 'not an http://, https:// or file:// URL' });
      continue;
    }
    if (token.length > 2048) {
      skipped.push({ token: token.slice(0, 64) + '…', why: 'too long' });
      continue;
    }
    const base = (token.endsWith('/') ? token : token + '/') + 'buildid/';
    if (!servers.includes(base)) servers.push(base);
  }
  return { servers, skipped };
}

export interface CacheRootInput {
  env: DebuginfodEnv;
  /** The home directory (os.homedir()). */
  home: string;
  /** Whether a directory exists (the store passes an fs check). */
  exists(path: string): boolean;
}

/**
 * `$DEBUGINFOD_CACHE_PATH`, else `~/.debuginfod_client_cache` if it exists, else
 * `$XDG_CACHE_HOME/debuginfod_client`, else `~/.cache/debuginfod_client`.
 */
export function cacheRoot(i: CacheRootInput): string {
  const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  if (i.env.DEBUGINFOD_CACHE_PATH) return trim(i.env.DEBUGINFOD_CACHE_PATH);
  const legacy = `${trim(i.home)}/.debuginfod_client_cache`;
  if (i.exists(legacy)) return legacy;
  if (i.env.XDG_CACHE_HOME) return `${trim(i.env.XDG_CACHE_HOME)}/debuginfod_client`;
  return `${trim(i.home)}/.cache/debuginfod_client`;
}

/**
 * A build id as debuginfod wants it: lower-case hex, even length (2..128 digits). Upper
 * case is lowered here (0.188 answers 503 to upper case); anything else is refused.
 */
export function validBuildId(id: string): string | undefined {
  const s = id.trim().toLowerCase();
  return /^(?:[0-9a-f]{2}){1,64}$/.test(s) ? s : undefined;
}

/** elfutils path_escape: `/` → `##`, `#` → `#_` (one pass), so `/usr/a.c` → `##usr##a.c`. */
export function escapeSourcePath(p: string): string {
  return p.replace(/[/#]/g, (c) => (c === '/' ? '##' : '#_'));
}

/** The cache file of an artifact, relative to the cache root: `ID/debuginfo`, `ID/section-.BTF`, `ID/source##usr##src##a.c`. */
export function cacheRelPath(buildId: string, a: Artifact): string {
  switch (a.kind) {
    case 'debuginfo':
    case 'executable':
      return `${buildId}/${a.kind}`;
    case 'section':
      return `${buildId}/section-${a.name ?? ''}`;
    case 'source':
      return `${buildId}/source${escapeSourcePath(a.name ?? '')}`;
  }
}

/** The URL path after `buildid/`: `ID/debuginfo`, `ID/section/.BTF`, `ID/source/abs/path` (percent-encoded). */
export function requestPath(buildId: string, a: Artifact): string {
  switch (a.kind) {
    case 'debuginfo':
    case 'executable':
      return `${buildId}/${a.kind}`;
    case 'section':
      return `${buildId}/section/${encodeURIComponent(a.name ?? '')}`;
    case 'source':
      return `${buildId}/source${(a.name ?? '').split('/').map(encodeURIComponent).join('/')}`;
  }
}

/** Artifact names must not escape their cache directory. Returns a reason when refused. */
export function checkArtifact(a: Artifact): string | undefined {
  if (a.kind === 'section') {
    if (!a.name || !/^[.\w-]{1,128}$/.test(a.name)) return `section name ${JSON.stringify(a.name)} is not a plain section name`;
  }
  if (a.kind === 'source') {
    if (!a.name || !a.name.startsWith('/') || a.name.length > 4096 || /\0/.test(a.name))
      return `source path ${JSON.stringify(a.name)} is not an absolute path`;
  }
  return undefined;
}

export interface Limits {
  /** Give up when fewer than `lowSpeedBytes` arrived in this many ms (DEBUGINFOD_TIMEOUT, 90 s). */
  timeoutMs: number;
  lowSpeedBytes: number;
  /** Whole-transfer cap in ms (DEBUGINFOD_MAXTIME); Infinity when unset. */
  maxTimeMs: number;
  /** Largest file accepted (DEBUGINFOD_MAXSIZE): sent as X-DEBUGINFOD-MAXSIZE; Infinity when unset. */
  maxSize: number;
  /** Attempts per server after the first for errors other than 404 (DEBUGINFOD_RETRY_LIMIT, 2). */
  retryLimit: number;
  /** Negative-cache lifetime in ms (`cache_miss_s` in the cache root, 600 s). */
  cacheMissMs: number;
}

const posInt = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^\s*\d{1,15}\s*$/.test(v)) return undefined;
  return Number(v);
};

/** Limits from the environment and the cache root's `cache_miss_s` file text (when present). */
export function limitsFrom(env: DebuginfodEnv, cacheMissFile?: string): Limits {
  const t = posInt(env.DEBUGINFOD_TIMEOUT);
  const mt = posInt(env.DEBUGINFOD_MAXTIME);
  const ms = posInt(env.DEBUGINFOD_MAXSIZE);
  const rl = posInt(env.DEBUGINFOD_RETRY_LIMIT);
  const cm = posInt(cacheMissFile?.trim());
  return {
    timeoutMs: (t ?? 90) * 1000,
    lowSpeedBytes: 100 * 1024,
    maxTimeMs: mt !== undefined && mt > 0 ? mt * 1000 : Infinity,
    maxSize: ms !== undefined && ms > 0 ? ms : Infinity,
    retryLimit: rl ?? 2,
    cacheMissMs: (cm ?? 600) * 1000,
  };
}

/** Whether an empty (negative-cache) file written at `mtimeMs` still stands at `nowMs`. */
export function negativeCacheFresh(mtimeMs: number, nowMs: number, l: Pick<Limits, 'cacheMissMs'>): boolean {
  return nowMs - mtimeMs < l.cacheMissMs;
}

/** Cache cleaning, as elfutils does it: `cache_clean_interval_s` and `max_unused_age_s` in the cache root. */
export interface CleanSettings {
  /** Clean at most once per this many ms (`cache_clean_interval_s`, 86400 s). */
  intervalMs: number;
  /** Remove files not used for longer than this (`max_unused_age_s`, 604800 s). */
  maxUnusedMs: number;
}

export const DEFAULT_CLEAN_INTERVAL_S = 86400;
export const DEFAULT_MAX_UNUSED_AGE_S = 604800;

/** The settings from the two files' texts (undefined or unreadable: the default). */
export function cleanSettingsFrom(intervalText?: string, maxUnusedText?: string): CleanSettings {
  const i = posInt(intervalText?.trim());
  const m = posInt(maxUnusedText?.trim());
  return { intervalMs: (i ?? DEFAULT_CLEAN_INTERVAL_S) * 1000, maxUnusedMs: (m ?? DEFAULT_MAX_UNUSED_AGE_S) * 1000 };
}

/** Whether a clean is due: the interval file was last touched `intervalMs` or more ago. */
export function cleanDue(intervalFileMtimeMs: number, nowMs: number, s: Pick<CleanSettings, 'intervalMs'>): boolean {
  return nowMs - intervalFileMtimeMs >= s.intervalMs;
}

/** Whether a cached file last used (max of atime and mtime) at `usedMs` is past `maxUnusedMs` at `nowMs`. */
export function unusedTooLong(usedMs: number, nowMs: number, s: Pick<CleanSettings, 'maxUnusedMs'>): boolean {
  return nowMs - usedMs > s.maxUnusedMs;
}
