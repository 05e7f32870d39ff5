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

/** What `npm run fetch-data` fetched (.cache/kernel-data/<ABI>/), read without a message. */
function fetched(file: (abi: string) => string): string | undefined {
  const base = process.env.KSYM_KERNEL_DATA ?? resolve(ROOT, '.cache/kernel-data');
  try {
    const abi = readFileSync(join(base, 'current'), 'utf8').trim();
    const p = join(base, abi, file(abi));
    return abi && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Real data of one Debian kernel for the tests that need a kernel of that kind but not
 * that exact build: the corpus's file, else the equivalent one `npm run fetch-data` fetched
 * from Debian's archive (another version), else the corpus path (absent: `have()` says so).
 */
export const REAL_SYSTEM_MAP = existsSync(SYSTEM_MAP) ? SYSTEM_MAP : (fetched((abi) => `System.map-${abi}`) ?? SYSTEM_MAP);
/** The vmlinux BTF (raw .BTF: fetch-data dumps it from the -dbg vmlinux with objcopy). */
export const REAL_BTF = ((corpus) => (existsSync(corpus) ? corpus : (fetched((abi) => `vmlinux-${abi}.btf`) ?? corpus)))(
  resolve(DEBIAN, 'vmlinux-6.1.0-56-amd64.btf'),
);
/** A directory of real modules (.ko) of the same kernel as REAL_SYSTEM_MAP. */
export const REAL_MODULES = ((corpus) => (existsSync(corpus) ? corpus : (fetched(() => 'modules') ?? corpus)))(resolve(DEBIAN, 'modules'));
