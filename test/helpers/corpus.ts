/** Locations of the shared real-data corpus and of this machine's kernel data. */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const CORPUS = process.env.KSYM_CORPUS ?? resolve(ROOT, '../shared/corpus');
export const DEBIAN = resolve(CORPUS, 'debian-6.1.0-56-amd64');
export const SYSTEM_MAP = resolve(DEBIAN, 'System.map-6.1.0-56-amd64');
export const SYSTEM_MAP_STUB = resolve(DEBIAN, 'System.map-6.1.0-56-amd64.stub');
export const OOPS = resolve(CORPUS, 'oops');

export function have(path: string, why: string): boolean {
  if (existsSync(path)) return true;
  console.warn(`skipping ${why}: ${path} is absent`);
  return false;
}

/** /proc/kallsyms with real addresses (root or kptr_restrict=0), else undefined with a message. */
export function liveKallsyms(): Buffer | undefined {
  try {
    accessSync('/proc/kallsyms', constants.R_OK);
    const b = readFileSync('/proc/kallsyms');
    if (/^0+ /.test(b.subarray(0, 40).toString('latin1'))) {
      console.warn('skipping live kallsyms tests: addresses are hidden (not root, or kptr_restrict)');
      return undefined;
    }
    return b;
  } catch {
    console.warn('skipping live kallsyms tests: /proc/kallsyms is not readable');
    return undefined;
  }
}

/** Every module file (.ko, .ko.gz/.xz/.zst) below `root`, sorted; none when it is absent. */
export function koFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.(gz|xz|zst))?$/.test(e.name)) out.push(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort();
}
