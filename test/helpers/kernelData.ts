/**
 * Real kernel debug data fetched by `npm run fetch-data` (scripts/fetch-kernel-data.mjs)
 * into .cache/kernel-data/<ABI>/. Tests skip with a message when it is absent.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const KERNEL_DATA = process.env.KSYM_KERNEL_DATA ?? resolve(__dirname, '../../.cache/kernel-data');

export interface KernelData {
  readonly abi: string;
  readonly dir: string;
  readonly vmlinux: string;
  readonly systemMap: string;
  /** name (without .ko) → path of the -dbg module. */
  readonly modules: ReadonlyMap<string, string>;
}

let cached: KernelData | null | undefined;

/** The fetched data, or undefined (with one console message saying how to get it). */
export function kernelData(): KernelData | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  let abi: string | undefined;
  try {
    abi = readFileSync(join(KERNEL_DATA, 'current'), 'utf8').trim();
  } catch {
    /* absent */
  }
  const dir = abi ? join(KERNEL_DATA, abi) : '';
  const vmlinux = join(dir, `vmlinux-${abi}`);
  if (!abi || !existsSync(vmlinux)) {
    console.warn(`skipping real-kernel DWARF tests: no data in ${KERNEL_DATA} (run \`npm run fetch-data\`)`);
    return undefined;
  }
  const modules = new Map<string, string>();
  const md = join(dir, 'modules');
  if (existsSync(md)) for (const f of readdirSync(md)) if (f.endsWith('.ko')) modules.set(f.slice(0, -3), join(md, f));
  cached = { abi, dir, vmlinux, systemMap: join(dir, `System.map-${abi}`), modules };
  return cached;
}

/** The Debian package version in a vmlinux's own banner (`Linux version … Debian 6.1.176-1 (…)`): the oracle. */
export function bannerDebianVersion(vmlinux: string): string {
  const fd = openSync(vmlinux, 'r');
  try {
    const buf = Buffer.alloc(1 << 24);
    for (let pos = 0; ; pos += buf.length - 1024) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      const m = /Linux version \d[^\n\0]{0,1000} Debian (\S+) \(/.exec(buf.toString('latin1', 0, n));
      if (m) return m[1];
      if (n < buf.length) throw new Error(`no "Linux version … Debian …" banner in ${vmlinux}`);
    }
  } finally {
    closeSync(fd);
  }
}
