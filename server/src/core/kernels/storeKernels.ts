/**
 * Kernel directories: recognise what a directory is and list the kernels in it, each one
 * set of matching files (kernels.ts `Kernel`).
 *
 * (a) a root with a distribution layout — `/`, or an extracted Debian -dbg package:
 *     `boot/System.map-REL`, `usr/lib/debug/boot/vmlinux-REL`, `usr/lib/debug/boot/System.map-REL`,
 *     `lib/modules/REL`, `usr/lib/debug/lib/modules/REL` (and Fedora's
 *     `usr/lib/debug/lib/modules/REL/vmlinux`); also a flat folder like /boot itself
 *     (`System.map-REL`, `vmlinux-REL`, `vmlinux-REL.btf`, `config-REL`, `modules/`);
 * (b) a kernel build tree: `vmlinux`, `System.map`, `include/config/kernel.release`, `*.ko`;
 * (c) a snapshot folder: `kallsyms` + `version` (copies of /proc/kallsyms and /proc/version),
 *     optionally `btf` / `vmlinux.btf`, `notes` (/sys/kernel/notes), `modules/`.
 * Several kernels per directory are possible (several releases in /boot).
 *
 * No `process` here: the running kernel's machine name is passed in by the caller.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openGuarded, readGuardedSync, readGuardedText } from '../common/readGuarded';
import { archFromMachine, archFromRelease, archFromSymbols, type Arch } from './arch';
import type { Kernel } from './kernels';
import { readNotesBuildId, readVmlinuxInfo, type VmlinuxInfo } from './readKernelFiles';
import { parseProcVersion } from './source';

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const list = (d: string): string[] => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};

/** Largest one-line text file read (/proc/version). */
const SMALL_TEXT = 64 << 10;

/**
 * The head of a one-line text file (kernel.release, a copy of /proc/version): at most its
 * first SMALL_TEXT bytes, read through the guarded reader; undefined with a problem when it
 * cannot be read.
 */
function headText(path: string, problems: string[]): string | undefined {
  try {
    const g = openGuarded(path, { maxBytes: Number.MAX_SAFE_INTEGER, what: 'text file' });
    try {
      const b = new Uint8Array(Math.min(g.size, SMALL_TEXT));
      const n = g.readAt(b, 0, 0, b.length);
      return Buffer.from(b.buffer, 0, n).toString('utf8');
    } finally {
      g.close();
    }
  } catch (e) {
    problems.push(`${path}: ${(e as Error).message}`);
    return undefined;
  }
}
const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** A System.map's first bytes: the one-line stub distributions ship (`ffffffffffffffff …`). */
function systemMapProblem(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (st.size < 200) {
      const t = latin1(readGuardedSync(path, { maxBytes: 200, what: 'System.map' }));
      if (/^f{8,16}\s/.test(t) && t.trim().split('\n').length <= 1)
        return `${path} is the one-line placeholder System.map of an image package; the real one is in the -dbg package`;
    }
  } catch (e) {
    return `${path}: ${(e as Error).message}`;
  }
  return undefined;
}

/** Architecture of a symbol file from arch-specific entry symbols (reads at most 64 MB). */
function archOfSymbolFile(path: string): Arch | undefined {
  try {
    if (statSync(path).size > 64 << 20) return undefined;
    const t = latin1(readGuardedSync(path, { maxBytes: 64 << 20, pseudo: true, what: 'kallsyms or System.map file' }));
    return archFromSymbols((n) => t.includes(` ${n}\n`) || t.includes(` ${n}\t`))?.arch;
  } catch {
    return undefined;
  }
}

function vmlinuxInfo(path: string, problems: string[]): VmlinuxInfo | undefined {
  try {
    return readVmlinuxInfo(path);
  } catch (e) {
    problems.push((e as Error).message);
    return undefined;
  }
}

function label(release: string | undefined, version: string | undefined, fallback: string): string {
  if (!release) return fallback;
  const distro = version ? /\b(Debian|Ubuntu) (\S+)/.exec(version) : null;
  return distro ? `${release} (${distro[1]} ${distro[2]})` : release;
}

function fillFromVmlinux(k: Kernel, info: VmlinuxInfo | undefined): void {
  if (!info) return;
  if (info.banner) {
    if (k.release && info.banner.release !== k.release)
      k.problems.push(`${info.path} says it is ${info.banner.release}, its name says ${k.release}`);
    k.release ??= info.banner.release;
    k.version ??= info.banner.version || undefined;
  }
  k.buildId ??= info.buildId;
  k.arch ??= info.arch;
  if (info.hasDebugInfo) k.vmlinuxDebug ??= info.path;
  if (info.hasBtf) k.btf ??= info.path;
}

/** Kernels of a root (`/`, an extracted -dbg package) or a flat boot-like folder. */
function distributionKernels(root: string): Kernel[] {
  const byRel = new Map<string, { maps: string[]; vmlinux: string[]; modules: string[]; btf: string[]; config?: string }>();
  const rel = (r: string) => {
    let e = byRel.get(r);
    if (!e) byRel.set(r, (e = { maps: [], vmlinux: [], modules: [], btf: [] }));
    return e;
  };
  const scanBootLike = (d: string) => {
    for (const f of list(d)) {
      if (/\.(?:stub|old|bak|orig|sig|dpkg-\w+)$/.test(f)) continue;
      const p = join(d, f);
      let m: RegExpExecArray | null;
      if ((m = /^System\.map-(\d\S*)$/.exec(f)) && isFile(p)) rel(m[1]).maps.push(p);
      else if ((m = /^vmlinux-(\d\S*?)\.btf$/.exec(f)) && isFile(p)) rel(m[1]).btf.push(p);
      else if ((m = /^vmlinux-(\d\S*)$/.exec(f)) && isFile(p)) rel(m[1]).vmlinux.push(p);
      else if ((m = /^config-(\d\S*)$/.exec(f)) && isFile(p)) rel(m[1]).config = p;
    }
  };
  const scanModules = (d: string, debug: boolean) => {
    for (const r of list(d)) {
      const p = join(d, r);
      if (!/^\d/.test(r) || !isDir(p)) continue;
      const e = rel(r);
      e.modules.push(p);
      if (debug && isFile(join(p, 'vmlinux'))) e.vmlinux.push(join(p, 'vmlinux'));
    }
  };
  // Debug files first: they carry the banner and build id.
  scanBootLike(join(root, 'usr/lib/debug/boot'));
  scanModules(join(root, 'usr/lib/debug/lib/modules'), true);
  scanBootLike(join(root, 'boot'));
  scanModules(join(root, 'lib/modules'), false);
  scanBootLike(root);
  const out: Kernel[] = [];
  for (const [release, e] of byRel) {
    const problems: string[] = [];
    const k: Kernel = { label: release, kind: 'distribution', dir: root, release, problems };
    const goodMap = e.maps.find((m) => !systemMapProblem(m));
    if (goodMap) k.symbols = { kind: 'system.map', path: goodMap };
    else if (e.maps.length) problems.push(systemMapProblem(e.maps[0])!);
    for (const v of e.vmlinux) fillFromVmlinux(k, vmlinuxInfo(v, problems));
    if (e.btf.length) k.btf ??= e.btf[0];
    // lib/modules/REL holds the loadable modules; the debug tree holds the same with DWARF.
    const plain = e.modules.find((m) => !m.includes('/usr/lib/debug/'));
    k.modulesDir = plain ?? e.modules[0];
    if (!k.modulesDir && byRel.size === 1 && isDir(join(root, 'modules'))) k.modulesDir = join(root, 'modules');
    if (plain && isDir(join(plain, 'build')) && isFile(join(plain, 'build', 'Makefile'))) k.sourceTree = join(plain, 'build');
    if (!k.symbols && !k.vmlinuxDebug && !k.btf) {
      // A bare lib/modules/REL (or config) without symbols is not a usable kernel.
      if (e.modules.length === 0) continue;
      problems.push(`no System.map or vmlinux for ${release}`);
    }
    k.arch ??= archFromRelease(release) ?? (k.symbols ? archOfSymbolFile(k.symbols.path) : undefined);
    if (!k.vmlinuxDebug) problems.push(`no debug vmlinux for ${release} (source lines need the -dbg package)`);
    k.label = label(k.release, k.version, release);
    out.push(k);
  }
  return out.sort((a, b) => (a.release ?? '').localeCompare(b.release ?? ''));
}

function buildTreeKernel(dir: string): Kernel | undefined {
  const vmlinux = join(dir, 'vmlinux');
  const relFile = join(dir, 'include/config/kernel.release');
  if (!isFile(vmlinux) && !isFile(relFile)) return undefined;
  const problems: string[] = [];
  const k: Kernel = { label: dir, kind: 'build-tree', dir, problems };
  if (isFile(relFile)) k.release = headText(relFile, problems)?.trim().split('\n')[0] || undefined;
  if (isFile(vmlinux)) fillFromVmlinux(k, vmlinuxInfo(vmlinux, problems));
  else problems.push(`${dir}: no vmlinux (not built yet?)`);
  if (isFile(join(dir, 'System.map'))) k.symbols = { kind: 'system.map', path: join(dir, 'System.map') };
  else problems.push(`${dir}: no System.map`);
  k.modulesDir = dir;
  if (isFile(join(dir, 'Makefile')) && isDir(join(dir, 'kernel'))) k.sourceTree = dir;
  k.arch ??= k.release ? archFromRelease(k.release) : undefined;
  k.label = label(k.release, k.version, dir);
  return k;
}

function snapshotKernel(dir: string): Kernel | undefined {
  const ks = join(dir, 'kallsyms');
  const ver = join(dir, 'version');
  if (!isFile(ks) || !isFile(ver)) return undefined;
  const problems: string[] = [];
  const k: Kernel = { label: dir, kind: 'snapshot', dir, problems, symbols: { kind: 'kallsyms', path: ks } };
  const b = parseProcVersion(headText(ver, problems) ?? '');
  if (b) {
    k.release = b.release;
    k.version = b.version || undefined;
  } else problems.push(`${ver} is not a copy of /proc/version (no "Linux version …" line)`);
  for (const n of ['btf', 'vmlinux.btf']) if (!k.btf && isFile(join(dir, n))) k.btf = join(dir, n);
  if (isDir(join(dir, 'modules'))) k.modulesDir = join(dir, 'modules');
  if (isFile(join(dir, 'notes'))) {
    try {
      k.buildId = readNotesBuildId(join(dir, 'notes'));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  k.arch = (k.release ? archFromRelease(k.release) : undefined) ?? archOfSymbolFile(ks);
  k.label = label(k.release, k.version, dir);
  return k;
}

/** Every kernel in a directory (a root, a build tree, a snapshot folder). Never throws. */
export function discoverKernels(dir: string): { kernels: Kernel[]; problems: string[] } {
  if (!isDir(dir)) return { kernels: [], problems: [`${dir}: not a directory`] };
  const snap = snapshotKernel(dir);
  if (snap) return { kernels: [snap], problems: [] };
  const tree = buildTreeKernel(dir);
  if (tree) return { kernels: [tree], problems: [] };
  const dist = distributionKernels(dir);
  if (dist.length) return { kernels: dist, problems: [] };
  return {
    kernels: [],
    problems: [
      `${dir}: no kernel found (expected kallsyms + version, a build tree with vmlinux, or System.map-REL / vmlinux-REL / lib/modules/REL)`,
    ],
  };
}

export interface RunningKernelInput {
  /** `os.machine()` / `uname -m`. */
  machine: string;
  /** Roots of /proc, /sys and the module tree (tests point them elsewhere). */
  proc?: string;
  sys?: string;
  root?: string;
}

/** The running kernel: /proc/version, /sys/kernel/notes, /proc/kallsyms, its BTF and modules. */
export function readRunningKernel(input: RunningKernelInput): Kernel {
  const proc = input.proc ?? '/proc';
  const sys = input.sys ?? '/sys';
  const root = input.root ?? '/';
  const problems: string[] = [];
  const k: Kernel = { label: 'running', kind: 'running', dir: 'running', problems, arch: archFromMachine(input.machine) };
  try {
    const b = parseProcVersion(readGuardedText(join(proc, 'version'), { maxBytes: SMALL_TEXT, pseudo: true, what: '/proc/version' }));
    if (b) {
      k.release = b.release;
      k.version = b.version || undefined;
    }
  } catch (e) {
    problems.push(`${join(proc, 'version')}: ${(e as Error).message}`);
  }
  try {
    k.buildId = readNotesBuildId(join(sys, 'kernel/notes'));
  } catch {
    /* no notes: no build id */
  }
  if (existsSync(join(proc, 'kallsyms'))) k.symbols = { kind: 'kallsyms', path: join(proc, 'kallsyms') };
  if (isFile(join(sys, 'kernel/btf/vmlinux'))) k.btf = join(sys, 'kernel/btf/vmlinux');
  if (k.release) {
    if (isDir(join(root, 'lib/modules', k.release))) k.modulesDir = join(root, 'lib/modules', k.release);
    for (const p of [
      `usr/lib/debug/boot/vmlinux-${k.release}`,
      `usr/lib/debug/lib/modules/${k.release}/vmlinux`,
      `boot/vmlinux-${k.release}`,
    ]) {
      if (!k.vmlinuxDebug && isFile(join(root, p))) {
        const info = vmlinuxInfo(join(root, p), problems);
        if (info && info.hasDebugInfo && (!k.buildId || !info.buildId || info.buildId === k.buildId)) k.vmlinuxDebug = info.path;
        else if (info?.buildId && k.buildId && info.buildId !== k.buildId)
          problems.push(`${info.path} has build id ${info.buildId}, the running kernel ${k.buildId}: not used`);
      }
    }
  }
  k.label = label(k.release, k.version, 'running');
  return k;
}
