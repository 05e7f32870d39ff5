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

const RESTRICTED_PATHS =
  /^Restricted Mode: (ksym\.[\w.]+) names (.*), outside the workspace; it is not read until you trust this workspace$/;
const RESTRICTED_SETTING = /^Restricted Mode: (ksym\.[\w.]+) from the workspace is not used until you trust this workspace$/;

function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

/**
 * The short notification for Restricted Mode: one sentence naming the settings (and the
 * file names they give) that are not read until the workspace is trusted. Undefined when
 * any message is about something else (those are shown in full).
 */
export function restrictedSummary(messages: readonly string[]): string | undefined {
  if (messages.length === 0) return undefined;
  const items: string[] = [];
  for (const m of messages) {
    const p = RESTRICTED_PATHS.exec(m);
    if (p) {
      const files = p[2].split(', ').map(baseName);
      const shown = files.length > 2 ? `${files.slice(0, 2).join(', ')} +${files.length - 2} more` : files.join(', ');
      items.push(`${p[1]} (${shown})`);
      continue;
    }
    const s = RESTRICTED_SETTING.exec(m);
    if (!s) return undefined;
    items.push(s[1]);
  }
  const list = items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  return `Restricted Mode: ${list} from this workspace ${items.length === 1 ? 'is' : 'are'} not read until you trust it.`;
}
