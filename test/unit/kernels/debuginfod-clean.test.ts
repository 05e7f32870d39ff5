/**
 * debuginfod cache cleaning (elfutils' cache_clean_interval_s / max_unused_age_s in the
 * cache root, shared with gdb, perf and drgn): a temp cache root, times set with utimes.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanDue, cleanSettingsFrom, unusedTooLong } from '../../../server/src/core/kernels/debuginfod';
import { fetchDebuginfod } from '../../../server/src/core/kernels/storeDebuginfod';
import { cleanDebuginfodCache } from '../../../server/src/core/kernels/storeDebuginfodClean';

const DAY = 86400_000;
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const at = (p: string, ms: number) => utimesSync(p, new Date(ms), new Date(ms));

const tmp = mkdtempSync(join(tmpdir(), 'ksym-clean-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A cache root: one old and one recent debuginfo, an old negative-cache entry, a symlink out of the cache. */
function cacheWith(name: string): { root: string; old: string; recent: string; negative: string; outside: string; link: string } {
  const root = join(tmp, name);
  const oldDir = join(root, 'aa'.repeat(20));
  const newDir = join(root, 'bb'.repeat(20));
  mkdirSync(oldDir, { recursive: true });
  mkdirSync(newDir, { recursive: true });
  const old = join(oldDir, 'debuginfo');
  const recent = join(newDir, 'debuginfo');
  const negative = join(newDir, 'section-.BTF');
  writeFileSync(old, 'old');
  writeFileSync(recent, 'new');
  writeFileSync(negative, '');
  const outside = join(tmp, `${name}-outside`);
  writeFileSync(outside, 'not the cache');
  const link = join(newDir, 'executable');
  symlinkSync(outside, link);
  at(old, NOW - 8 * DAY);
  at(recent, NOW - 6 * DAY);
  at(negative, NOW - 30 * DAY);
  at(outside, NOW - 30 * DAY);
  return { root, old, recent, negative, outside, link };
}

describe('cache cleaning settings', () => {
  it('defaults 86400 / 604800 s, the files override, junk falls back', () => {
    expect(cleanSettingsFrom()).toEqual({ intervalMs: 86400_000, maxUnusedMs: 604800_000 });
    expect(cleanSettingsFrom('3600\n', '60')).toEqual({ intervalMs: 3600_000, maxUnusedMs: 60_000 });
    expect(cleanSettingsFrom('soon', '-1')).toEqual({ intervalMs: 86400_000, maxUnusedMs: 604800_000 });
    expect(cleanDue(NOW - DAY, NOW, { intervalMs: DAY })).toBe(true);
    expect(cleanDue(NOW - DAY + 1, NOW, { intervalMs: DAY })).toBe(false);
    expect(unusedTooLong(NOW - 7 * DAY - 1, NOW, { maxUnusedMs: 7 * DAY })).toBe(true);
    expect(unusedTooLong(NOW - 7 * DAY, NOW, { maxUnusedMs: 7 * DAY })).toBe(false);
  });
});

describe('cleanDebuginfodCache', () => {
  it('no interval file: creates both with the defaults, cleans nothing (the interval starts now)', () => {
    const c = cacheWith('fresh');
    const r = cleanDebuginfodCache(c.root, NOW);
    expect(r.cleaned).toBe(false);
    expect(readFileSync(join(c.root, 'cache_clean_interval_s'), 'utf8')).toBe('86400\n');
    expect(readFileSync(join(c.root, 'max_unused_age_s'), 'utf8')).toBe('604800\n');
    expect(existsSync(c.old)).toBe(true);
  });

  it('interval not yet passed: nothing removed, the interval file untouched', () => {
    const c = cacheWith('notdue');
    writeFileSync(join(c.root, 'cache_clean_interval_s'), '86400\n');
    at(join(c.root, 'cache_clean_interval_s'), NOW - DAY + 60_000);
    const r = cleanDebuginfodCache(c.root, NOW);
    expect(r.cleaned).toBe(false);
    expect(existsSync(c.old)).toBe(true);
    expect(statSync(join(c.root, 'cache_clean_interval_s')).mtimeMs).toBe(NOW - DAY + 60_000);
  });

  it('interval passed: files unused for longer than max_unused_age_s go (and emptied build-id directories), the rest stays, the interval file is touched', () => {
    const c = cacheWith('due');
    writeFileSync(join(c.root, 'cache_clean_interval_s'), '86400\n');
    writeFileSync(join(c.root, 'max_unused_age_s'), '604800\n');
    at(join(c.root, 'cache_clean_interval_s'), NOW - 2 * DAY);
    const r = cleanDebuginfodCache(c.root, NOW);
    expect(r.cleaned).toBe(true);
    expect(r.removed.sort()).toEqual([c.old, c.negative].sort());
    expect(existsSync(c.old)).toBe(false);
    expect(existsSync(join(c.root, 'aa'.repeat(20)))).toBe(false);
    expect(existsSync(c.recent)).toBe(true);
    expect(existsSync(c.negative)).toBe(false);
    // A symlink is never followed: neither it nor what it points at is removed.
    expect(existsSync(c.link)).toBe(true);
    expect(existsSync(c.outside)).toBe(true);
    // The setting files stay, and the interval starts again now.
    expect(existsSync(join(c.root, 'max_unused_age_s'))).toBe(true);
    expect(statSync(join(c.root, 'cache_clean_interval_s')).mtimeMs).toBe(NOW);
    expect(cleanDebuginfodCache(c.root, NOW + 1000).cleaned).toBe(false);
  });

  it('max_unused_age_s from the cache root is honoured', () => {
    const c = cacheWith('short');
    writeFileSync(join(c.root, 'cache_clean_interval_s'), '60\n');
    writeFileSync(join(c.root, 'max_unused_age_s'), String(5 * 86400));
    at(join(c.root, 'cache_clean_interval_s'), NOW - 61_000);
    const r = cleanDebuginfodCache(c.root, NOW);
    expect(r.removed).toContain(c.recent);
    expect(r.removed).toContain(c.old);
  });

  it('a missing cache root is left alone (nothing created)', () => {
    const root = join(tmp, 'absent');
    expect(cleanDebuginfodCache(root, NOW)).toMatchObject({ cleaned: false, removed: [] });
    expect(existsSync(root)).toBe(false);
  });

  it('runs at the start of a fetch (offline: file:// server, cache only) when due', async () => {
    const c = cacheWith('fetch');
    writeFileSync(join(c.root, 'cache_clean_interval_s'), '86400\n');
    at(join(c.root, 'cache_clean_interval_s'), NOW - 2 * DAY);
    const r = await fetchDebuginfod({
      buildId: 'cc'.repeat(20),
      artifact: { kind: 'debuginfo' },
      allowNetwork: false,
      env: { DEBUGINFOD_URLS: `file://${join(tmp, 'nothing-served')}`, DEBUGINFOD_CACHE_PATH: c.root },
      home: tmp,
      now: () => NOW,
    });
    expect(r.ok).toBe(false);
    expect(existsSync(c.old)).toBe(false);
    expect(existsSync(c.recent)).toBe(true);
    expect(statSync(join(c.root, 'cache_clean_interval_s')).mtimeMs).toBe(NOW);
  });
});
