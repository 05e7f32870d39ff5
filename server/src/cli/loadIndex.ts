/**
 * Loading the kallsyms/System.map index for a command, or exiting with the errors (status 2),
 * and the --module store checked against the kernel of those files (never mix kernels).
 */
import { machine } from 'node:os';
import { loadIndex, type SourceSpec } from '../core/kallsyms/load';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { sourceKind } from '../core/kallsyms/parse';
import { buildIndex, type SymbolIndex } from '../core/kallsyms/symbolIndex';
import { kernelOfSources, modulesNotChecked } from '../core/kernels/configured';
import type { Kernel } from '../core/kernels/kernels';
import { readRunningKernel } from '../core/kernels/storeKernels';
import { ModuleStore } from '../core/modules/store';
import { fail, readable } from './common';
import type { Btf } from '../core/btf/btf';
import { DEFAULT_BTF } from '../core/btf/read';
import { loadBtfFile } from '../core/btf/store';
import { btfRefusal, liveBtfOfLiveSymbols, textSymbolTest } from '../core/kernels/btfCheck';
import { describeKernel } from '../core/kernels/kernels';

/**
 * The index of `files` (default /proc/kallsyms). `optional`: with no files given, an
 * unreadable default is an empty index (e.g. `lookup` with --module only).
 */
export async function loadIndexOrExit(files: string[] | undefined, optional = false): Promise<SymbolIndex> {
  const specs: SourceSpec[] = (files && files.length ? files : [DEFAULT_KALLSYMS]).map((file) => ({ file, kind: sourceKind(file) }));
  const r = await loadIndex(specs);
  if (!r.index && optional && !(files && files.length)) return buildIndex([]);
  for (const w of r.warnings) process.stderr.write(`ksym: warning: ${w}\n`);
  if (!r.index) fail(2, r.errors.map((e) => `ksym: ${e}`).join('\n'));
  for (const e of r.errors) process.stderr.write(`ksym: ${e}\n`);
  return r.index;
}

/**
 * The kernel the --kallsyms files are of (default /proc/kallsyms: the running kernel, from
 * /proc/version): a version file next to a kallsyms snapshot, else the release a
 * System.map-REL name says (the language server's rule, core/kernels/configured.ts).
 */
export function kernelOfFiles(files: readonly string[] | undefined): Kernel | undefined {
  const specs = (files && files.length ? files : [DEFAULT_KALLSYMS]).map((file) => ({ file, kind: sourceKind(file) }));
  return kernelOfSources(specs, () => readRunningKernel({ machine: machine() }));
}

/**
 * The --module store: files whose `.modinfo` vermagic names another release than the
 * symbols' kernel are refused when used (reportModuleRefusals says each once). When that
 * release is unknown, nothing is checked, and that is said (standard error). `noSymbols`:
 * no symbols are served (no --kallsyms and an unreadable default): no kernel to mix with.
 */
export function moduleStoreFor(paths: readonly string[], kallsyms: readonly string[] | undefined, noSymbols = false): ModuleStore {
  if (noSymbols) return new ModuleStore(paths);
  const k = kernelOfFiles(kallsyms);
  if (k && !k.release) process.stderr.write(`ksym: ${modulesNotChecked('--module', k)}\n`);
  return new ModuleStore(paths, { release: k?.release });
}

/** One line per module file refused so far (built for another kernel): `ksym: --module refused: X is built for A (vermagic), not B`. */
export function reportModuleRefusals(store: ModuleStore): void {
  for (const x of store.refusals()) process.stderr.write(`ksym: --module refused: ${x.reason}\n`);
}

/**
 * The BTF a command over `index` uses (never another kernel's): `--btf FILE`, else the running
 * kernel's /sys/kernel/btf/vmlinux when the symbols are the running kernel's own
 * (/proc/kallsyms). A BTF beside other symbols is checked against them (core/kernels/btfCheck,
 * the language server's rule: a sample of its FUNC names must be text symbols). `none`: no
 * BTF. Returns the BTF, or why there is none (`problem`); `fatal` when an explicit --btf
 * cannot be used.
 */
export async function loadBtfFor(
  index: SymbolIndex,
  kallsyms: readonly string[] | undefined,
  btfArg: string | undefined,
): Promise<{ btf?: Btf; problem?: string; fatal?: string }> {
  if (btfArg === 'none') return { problem: '--btf none' };
  const liveSymbols = !kallsyms?.length || kallsyms.every((f) => f === DEFAULT_KALLSYMS);
  const file = btfArg ?? (liveSymbols ? DEFAULT_BTF : undefined);
  if (!file) return { problem: `no --btf given for the symbols of ${kallsyms!.join(', ')} (the running kernel's BTF is not theirs)` };
  if (!btfArg && !readable(file)) return { problem: `${file} is not readable` };
  const r = await loadBtfFile(file);
  if (!r.ok) return btfArg ? { fatal: r.error } : { problem: r.error };
  if (!liveBtfOfLiveSymbols(file, index) && index.count > 0) {
    const k = kernelOfFiles(kallsyms);
    const refusal = btfRefusal(file, r.btf, {
      label: k ? describeKernel(k) : 'the given symbols',
      release: k?.release,
      symbolCount: index.count,
      isText: textSymbolTest(index),
    });
    if (refusal) return btfArg ? { fatal: refusal } : { problem: refusal };
  }
  return { btf: r.btf };
}
