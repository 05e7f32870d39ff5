/**
 * debuginfod cache cleaning, elfutils' way (the cache is shared with gdb, perf and drgn):
 * at the start of a fetch, when `<root>/cache_clean_interval_s` (86400) was last touched at
 * least that many seconds ago, every file under `<root>/<BUILDID>/` not used (atime or
 * mtime) for longer than `<root>/max_unused_age_s` (604800) seconds is removed, emptied
 * build-id directories too, and the interval file is touched. Missing setting files are
 * created with the defaults (and no clean happens then: the interval starts now).
 * Symlinks are never followed; the walk is bounded. Never throws.
 */
import { lstatSync, readdirSync, rmdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGuardedText } from '../common/readGuarded';
import { cleanDue, cleanSettingsFrom, DEFAULT_CLEAN_INTERVAL_S, DEFAULT_MAX_UNUSED_AGE_S, unusedTooLong } from './debuginfod';

export interface CleanReport {
  /** Whether the cache was walked. */
  cleaned: boolean;
  removed: string[];
  kept: number;
  /** Unremovable entries, one short line each. */
  errors: string[];
}

const MAX_ENTRIES = 200_000;

function settingText(root: string, name: string, dflt: number): string | undefined {
  const p = join(root, name);
  try {
    return readGuardedText(p, { maxBytes: 4096, what: `${name} file` });
  } catch {
    try {
      statSync(p);
      return undefined; // there but unreadable: the default, left as it is
    } catch {
      try {
        writeFileSync(p, `${dflt}\n`, { mode: 0o644, flag: 'wx' });
      } catch {
        /* a read-only cache: the default */
      }
      return undefined;
    }
  }
}

/** Clean the cache at `root` if due. `now` is for tests. */
export function cleanDebuginfodCache(root: string, now: number = Date.now()): CleanReport {
  const report: CleanReport = { cleaned: false, removed: [], kept: 0, errors: [] };
  try {
    if (!statSync(root).isDirectory()) return report;
  } catch {
    return report;
  }
  const intervalPath = join(root, 'cache_clean_interval_s');
  let intervalMtime: number;
  try {
    intervalMtime = statSync(intervalPath).mtimeMs;
  } catch {
    settingText(root, 'cache_clean_interval_s', DEFAULT_CLEAN_INTERVAL_S);
    settingText(root, 'max_unused_age_s', DEFAULT_MAX_UNUSED_AGE_S);
    return report;
  }
  const s = cleanSettingsFrom(
    settingText(root, 'cache_clean_interval_s', DEFAULT_CLEAN_INTERVAL_S),
    settingText(root, 'max_unused_age_s', DEFAULT_MAX_UNUSED_AGE_S),
  );
  if (!cleanDue(intervalMtime, now, s)) return report;
  report.cleaned = true;
  let seen = 0;
  let top: string[];
  try {
    top = readdirSync(root);
  } catch (e) {
    report.errors.push(`${root}: ${(e as Error).message}`);
    return report;
  }
  for (const id of top) {
    const dir = join(root, id);
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (!st.isDirectory()) continue; // the setting files, anything else at the top: left alone
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      report.errors.push(`${dir}: ${(e as Error).message}`);
      continue;
    }
    let left = names.length;
    for (const n of names) {
      if (++seen > MAX_ENTRIES) break;
      const p = join(dir, n);
      try {
        const f = lstatSync(p);
        if (!f.isFile() || !unusedTooLong(Math.max(f.atimeMs, f.mtimeMs), now, s)) {
          report.kept++;
          continue;
        }
        unlinkSync(p);
        report.removed.push(p);
        left--;
      } catch (e) {
        report.errors.push(`${p}: ${(e as Error).message}`);
      }
    }
    if (left === 0) {
      try {
        rmdirSync(dir);
      } catch {
        /* someone wrote into it meanwhile */
      }
    }
    if (seen > MAX_ENTRIES) break;
  }
  try {
    const t = new Date(now);
    utimesSync(intervalPath, t, t);
  } catch (e) {
    report.errors.push(`${intervalPath}: ${(e as Error).message}`);
  }
  return report;
}
