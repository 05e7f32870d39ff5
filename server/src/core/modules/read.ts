/**
 * Reading module files: a file's bytes, decompressed (decompress.ts is pure), and the
 * one directory walker that finds module files under a tree (the module store, the
 * workspace's livepatch modules, `ksym check --module DIR`).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { reasonOf } from '../common/errors';
import type * as FsPromises from 'node:fs/promises';
import { readGuardedSync } from '../common/readGuarded';
import { decompressModule } from './decompress';
import { isModuleFile } from './names';

/**
 * readdir and stat of node:fs/promises, loaded when a directory is first listed: the module
 * loads ~20 of Node's own (streams, readline, watchers), which a one-shot command without
 * modules never needs (bench section 9).
 */
export function fsDir(): Pick<typeof FsPromises, 'readdir' | 'stat'> {
  // require, not import(): the server bundle runs in a vm.Script (codeCache.ts), which has no dynamic import
  const { readdir, stat } = require('node:fs/promises') as typeof FsPromises;
  return { readdir, stat };
}

/** Largest module file read (compressed or not; the decompressed image has its own cap, decompress.ts). */
export const MAX_MODULE_FILE = 512 << 20;

/**
 * Read a module file (`.ko`, `.ko.gz`, `.ko.xz`, `.ko.zst`) through the guarded reader
 * (regular files only, at most MAX_MODULE_FILE) and decompress it under the output cap.
 */
export async function readModuleBytes(path: string): Promise<Uint8Array> {
  const bytes = readGuardedSync(path, { maxBytes: MAX_MODULE_FILE, what: 'module file (.ko, .ko.gz, .ko.xz, .ko.zst)' });
  return decompressModule(bytes, path);
}

export interface WalkOptions {
  /** Directory depth below the root (deeper directories are reported in `skipped`). */
  maxDepth: number;
  /** Directory entries visited in all (the walk stops there, `truncated`). */
  maxEntries: number;
  /** Directory names not entered (e.g. node_modules). */
  skipDir?: (name: string) => boolean;
  /**
   * Module files smaller than this are not listed (`small`), from a stat, never opened:
   * MIN_MODULE_BYTES for module stores. Unset: no stat (the workspace scan reports every file).
   */
  minBytes?: number;
}

/** An ELF64 header: no module file (compressed or not) is smaller. */
export const MIN_MODULE_BYTES = 64;
/** Files stat'ed between two event-loop turns. */
const STAT_BATCH = 4096;

export interface TreeWalk {
  /** Module files found (symlinked files too), in walk order. */
  files: string[];
  directories: number;
  /** Entries visited so far (shared by the walks of several roots). */
  entries: number;
  /** Symlinked directories not followed, and capped walks. */
  skipped: string[];
  /** Unreadable directories. */
  errors: string[];
  /** The entry or depth cap was hit. */
  truncated: boolean;
  /** Module files under `minBytes` (empty or truncated: no ELF header), not listed in `files`. */
  small: string[];
}

export function newTreeWalk(): TreeWalk {
  return { files: [], directories: 0, entries: 0, skipped: [], errors: [], truncated: false, small: [] };
}

/** One line for a walk's `small` files (undefined when there are none). */
export function smallFilesSummary(w: Pick<TreeWalk, 'small'>): string | undefined {
  const n = w.small.length;
  if (n === 0) return undefined;
  const some = `${w.small.slice(0, 3).join(', ')}${n > 3 ? ', ...' : ''}`;
  return `${n} module file${n === 1 ? '' : 's'} smaller than an ELF header (${MIN_MODULE_BYTES} bytes) skipped unread: ${some}`;
}

/**
 * `files` without those under `min` bytes (moved to `small`); unstattable files are kept
 * (the read reports them). One stat(2) each, synchronous like the module reads that
 * follow (an async stat costs ~10 times more per file), the event loop given a turn
 * every STAT_BATCH files.
 */
async function dropSmall(files: string[], min: number, small: string[]): Promise<string[]> {
  const kept: string[] = [];
  for (let i = 0; i < files.length; i++) {
    if (i > 0 && i % STAT_BATCH === 0) await new Promise((r) => setImmediate(r));
    const st = statSync(files[i], { throwIfNoEntry: false });
    (st && st.isFile() && st.size < min ? small : kept).push(files[i]);
  }
  return kept;
}

/**
 * Walk `root` for module files (sorted by name per directory). Directory symlinks are
 * not followed (`build` and `source` under /lib/modules/VERSION silently). Never throws:
 * unreadable directories are `errors`. Pass the same `into` to walk several roots
 * under one entry budget.
 */
export async function walkModuleTree(root: string, opts: WalkOptions, into: TreeWalk = newTreeWalk()): Promise<TreeWalk> {
  let stopped = into.truncated && into.entries > opts.maxEntries;
  const visit = async (dir: string, depth: number): Promise<void> => {
    if (depth > opts.maxDepth) {
      into.truncated = true;
      into.skipped.push(`${dir}: deeper than ${opts.maxDepth} levels`);
      return;
    }
    let list;
    try {
      list = await fsDir().readdir(dir, { withFileTypes: true });
    } catch (e) {
      into.errors.push(`${dir}: ${reasonOf(e)}`);
      return;
    }
    into.directories++;
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    const here: string[] = [];
    for (const d of list) {
      if (++into.entries > opts.maxEntries) {
        if (!stopped) into.skipped.push(`${dir}: stopped after ${opts.maxEntries} directory entries`);
        into.truncated = stopped = true;
        break;
      }
      const p = join(dir, d.name);
      if (isModuleFile(d.name) && (d.isFile() || d.isSymbolicLink())) here.push(p);
      else if (d.isDirectory()) {
        if (!opts.skipDir?.(d.name)) subdirs.push(p);
      } else if (d.isSymbolicLink() && depth === 0 && (d.name === 'build' || d.name === 'source')) continue;
      else if (d.isSymbolicLink() && !/\.\w+$/.test(d.name)) into.skipped.push(`${p}: symlink not followed`);
    }
    into.files.push(...(opts.minBytes ? await dropSmall(here, opts.minBytes, into.small) : here));
    for (const s of subdirs) {
      if (stopped) return;
      await visit(s, depth + 1);
    }
  };
  if (!stopped) await visit(root, 0);
  return into;
}
