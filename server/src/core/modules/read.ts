/**
 * Reading module files: a file's bytes, decompressed (decompress.ts is pure), and the
 * one directory walker that finds module files under a tree (the module store, the
 * workspace's livepatch modules, `ksym check --module DIR`).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { reasonOf } from '../common/errors';
import { readGuardedSync } from '../common/readGuarded';
import { decompressModule } from './decompress';
import { isModuleFile } from './names';

/** Largest module file read (compressed or not; the decompressed image has its own cap, decompress.ts). */
const MAX_MODULE_FILE = 512 << 20;

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
}

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
}

export function newTreeWalk(): TreeWalk {
  return { files: [], directories: 0, entries: 0, skipped: [], errors: [], truncated: false };
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
      list = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      into.errors.push(`${dir}: ${reasonOf(e)}`);
      return;
    }
    into.directories++;
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const d of list) {
      if (++into.entries > opts.maxEntries) {
        if (!stopped) into.skipped.push(`${dir}: stopped after ${opts.maxEntries} directory entries`);
        into.truncated = stopped = true;
        return;
      }
      const p = join(dir, d.name);
      if (isModuleFile(d.name) && (d.isFile() || d.isSymbolicLink())) into.files.push(p);
      else if (d.isDirectory()) {
        if (!opts.skipDir?.(d.name)) subdirs.push(p);
      } else if (d.isSymbolicLink() && depth === 0 && (d.name === 'build' || d.name === 'source')) continue;
      else if (d.isSymbolicLink() && !/\.\w+$/.test(d.name)) into.skipped.push(`${p}: symlink not followed`);
    }
    for (const s of subdirs) {
      if (stopped) return;
      await visit(s, depth + 1);
    }
  };
  if (!stopped) await visit(root, 0);
  return into;
}
