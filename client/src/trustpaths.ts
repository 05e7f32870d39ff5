/**
 * Workspace trust, the pure part: which of the paths a workspace's settings name may be read
 * while the workspace is untrusted (Restricted Mode). Only paths inside a workspace folder,
 * with symlinks resolved (a link inside the folder that points outside does not count).
 * No vscode import: unit-tested directly.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';

function real(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return resolve(p); // not there (yet): judged by its name; the server will say it is missing
  }
}

export function isInside(p: string, folders: readonly string[]): boolean {
  const rp = real(p);
  return folders.some((f) => {
    const rel = relative(real(f), rp);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
}

export interface Partition {
  kept: string[];
  dropped: string[];
}

export function partitionPaths(paths: readonly string[], folders: readonly string[]): Partition {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const p of paths) (isInside(p, folders) ? kept : dropped).push(p);
  return { kept, dropped };
}

export function restrictedMessage(setting: string, dropped: readonly string[]): string {
  return `Restricted Mode: ${setting} names ${dropped.join(', ')}, outside the workspace; it is not read until you trust this workspace`;
}
