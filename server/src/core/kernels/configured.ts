/**
 * The kernel of the symbol sources a user named (ksym.kallsyms / ksym.systemMap in the editor,
 * --kallsyms in the CLI), and keeping those sources to one kernel (never mix kernels):
 *
 * - `/proc/kallsyms` is the running kernel's (its release from /proc/version);
 * - any other file is the kernel a version file next to it says (a kallsyms snapshot
 *   folder, a build tree: storeKernels discoverKernels), else the release its name says
 *   (`System.map-6.1.0-56-amd64`, `…/lib/modules/REL/…`), else of unknown release;
 * - a System.map replaces `/proc/kallsyms` unless it is known to be the running kernel's
 *   (same release, and same build string when both are known): an index holding two
 *   kernels' symbols answers from whichever came first, which is a wrong answer for the other;
 * - of the other sources, one whose release is known and differs from the first's is not
 *   indexed (one short line each).
 * Same rule for the language server and the CLI (one implementation).
 */
import { dirname } from 'node:path';
import { DEFAULT_KALLSYMS } from '../kallsyms/read';
import type { SourceKind } from '../kallsyms/parse';
import { versionsCompatible } from './identity';
import type { Kernel } from './kernels';
import { releaseFromPath } from './source';
import { discoverKernels } from './storeKernels';

/** One symbol source as configured (kallsyms text or System.map). */
export interface SymbolSource {
  file: string;
  kind: SourceKind;
}

/** The kernel of a path: the running kernel's for /proc and /sys, else the release its path names. */
export function releaseOfSourcePath(p: string, running: Kernel): string | undefined {
  if (p === DEFAULT_KALLSYMS || p.startsWith('/sys/kernel/btf') || p.startsWith('/proc/')) return running.release;
  return releaseFromPath(p)?.release;
}

/** The kernel of one symbol file other than /proc/kallsyms (a version file next to it, else its name). */
export function kernelOfSymbolFile(file: string, kind: SourceKind): Kernel {
  const known = discoverKernels(dirname(file)).kernels.find((k) => k.symbols?.path === file);
  if (known) return known;
  const release = releaseFromPath(file)?.release;
  return { label: release ?? file, kind: 'snapshot', dir: dirname(file), release, symbols: { kind, path: file }, problems: [] };
}

/**
 * The kernel the sources are of: the running kernel when /proc/kallsyms is one, else the
 * first System.map's, else the first kallsyms file's; undefined when there is no source.
 */
export function kernelOfSources(sources: readonly SymbolSource[], running: Kernel | (() => Kernel)): Kernel | undefined {
  if (sources.some((s) => s.file === DEFAULT_KALLSYMS)) return typeof running === 'function' ? running() : running;
  const first = sources.find((s) => s.kind === 'system.map') ?? sources[0];
  return first ? kernelOfSymbolFile(first.file, first.kind) : undefined;
}

/**
 * Said when module files cannot be checked against the kernel of the symbols (vermagic
 * needs a release): `what` is the setting or option naming them.
 */
export function modulesNotChecked(what: string, k: Kernel): string {
  return `${what} is not checked against the kernel: the release of ${k.symbols?.path ?? k.label} is unknown (neither its name nor a version file next to it says which)`;
}

/** What oneKernelSources keeps, and one short line per source it does not index. */
export interface OneKernel {
  kallsyms: string[];
  systemMap: string[];
  warnings: string[];
}

const base = (f: string) => f.slice(f.lastIndexOf('/') + 1) || f;

/**
 * The configured sources kept to one kernel (see the header): /proc/kallsyms dropped for a
 * System.map not known to be the running kernel's, and sources of another known release
 * than the first kept source's dropped. Both lists keep their order.
 */
export function oneKernelSources(kallsyms: readonly string[], systemMap: readonly string[], running: Kernel): OneKernel {
  const out: OneKernel = { kallsyms: [...kallsyms], systemMap: [...systemMap], warnings: [] };
  const maps = systemMap.map((f) => kernelOfSymbolFile(f, 'system.map'));
  if (maps.length && out.kallsyms.includes(DEFAULT_KALLSYMS)) {
    const m = maps[0];
    const sameRelease = !!m.release && !!running.release && m.release === running.release;
    const sameBuild = !m.version || !running.version || versionsCompatible(m.version, running.version);
    if (!sameRelease || !sameBuild) {
      out.kallsyms = out.kallsyms.filter((p) => p !== DEFAULT_KALLSYMS);
      const run = `the running ${running.release ?? 'kernel'}`;
      out.warnings.push(
        !m.release
          ? `ksym.systemMap ${base(systemMap[0])} names no release, so nothing says it is the running kernel's (${running.release ?? 'release unknown'}): it replaces /proc/kallsyms, which is not indexed (kernels are never mixed)`
          : sameRelease
            ? `ksym.systemMap is ${m.release} ${m.version}, /proc/kallsyms is ${run} ${running.version}: kernels are never mixed, /proc/kallsyms is not indexed`
            : `ksym.systemMap is ${m.release}, /proc/kallsyms is ${run}: kernels are never mixed, /proc/kallsyms is not indexed`,
      );
    }
  }
  // The first kept source (kallsyms first, as they are indexed) names the kernel; others of another known release are dropped.
  const rel = (file: string, kind: SourceKind) =>
    file === DEFAULT_KALLSYMS
      ? running.release
      : kind === 'system.map'
        ? maps[systemMap.indexOf(file)]?.release
        : kernelOfSymbolFile(file, kind).release;
  const all = [
    ...out.kallsyms.map((f) => ({ f, kind: 'kallsyms' as const })),
    ...out.systemMap.map((f) => ({ f, kind: 'system.map' as const })),
  ];
  let first: { f: string; release: string } | undefined;
  const drop = new Set<string>();
  for (const s of all) {
    const r = rel(s.f, s.kind);
    if (!r) continue;
    if (!first) first = { f: s.f, release: r };
    else if (r !== first.release) {
      drop.add(`${s.kind}\0${s.f}`);
      const setting = s.kind === 'kallsyms' ? 'ksym.kallsyms' : 'ksym.systemMap';
      out.warnings.push(
        `${setting} ${base(s.f)} is ${r}, the symbols are ${first.release} (${base(first.f)}): kernels are never mixed, ${base(s.f)} is not indexed`,
      );
    }
  }
  out.kallsyms = out.kallsyms.filter((f) => !drop.has(`kallsyms\0${f}`));
  out.systemMap = out.systemMap.filter((f) => !drop.has(`system.map\0${f}`));
  return out;
}
