/**
 * Never mix kernels: is a vmlinux BTF blob of the kernel whose symbols ksym serves?
 * A sample of the BTF's FUNC records, spread evenly over the type ids, must be text
 * symbols of that kernel (pahole emits a FUNC only for a function with a body in the
 * kernel image, so nearly all of them are in kallsyms / System.map as t/T/w/W). When the
 * BTF came out of an ELF that carries a build id, the build id decides. Pure.
 */
import type { Btf } from '../btf/btf';
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import { buildIdsMatch, releaseFromPath } from './source';
import { DEFAULT_BTF } from '../btf/read';
import { DEFAULT_KALLSYMS } from '../kallsyms/read';

/**
 * The running kernel's own BTF beside its own symbols: /sys/kernel/btf/vmlinux and an index
 * of /proc/kallsyms alone are one kernel by where both come from, so nothing is sampled (the
 * sample needs the name index, which would then be built before "ready").
 */
export function liveBtfOfLiveSymbols(btfFile: string, index: Pick<SymbolIndex, 'sources'>): boolean {
  return btfFile === DEFAULT_BTF && index.sources.length > 0 && index.sources.every((x) => x.file === DEFAULT_KALLSYMS);
}

export interface BtfSample {
  /** FUNC names looked at. */
  checked: number;
  /** Of those, not a text symbol of the kernel. */
  missing: number;
  /** A few of the missing names. */
  examples: string[];
}

/** Names of at most `max` FUNC records, evenly spread over the blob's own ids. */
export function sampleFuncNames(btf: Btf, max = 400): string[] {
  const first = btf.firstId;
  const last = btf.lastId;
  const funcs: number[] = [];
  for (let id = first; id <= last; id++) if (btf.kindName(id) === 'FUNC') funcs.push(id);
  const step = Math.max(1, funcs.length / max);
  const out: string[] = [];
  for (let i = 0; i < funcs.length && out.length < max; i += step) {
    const name = btf.nameOf(funcs[Math.floor(i)]);
    if (name) out.push(name);
  }
  return out;
}

/** Check a sample of FUNC names against `isText` (a name is a text symbol of the kernel). */
export function sampleAgainstSymbols(names: readonly string[], isText: (name: string) => boolean): BtfSample {
  let missing = 0;
  const examples: string[] = [];
  for (const n of names) {
    if (isText(n)) continue;
    missing++;
    if (examples.length < 3) examples.push(n);
  }
  return { checked: names.length, missing, examples };
}

/**
 * "Is NAME a vmlinux text symbol of this index": t/T/w/W without a module, or the base name
 * of a compiler clone (`foo.isra.0`, `foo.constprop.0`, `foo.cold`: BTF names the function
 * `foo`, kallsyms only the clone). The clone names are collected in one pass, on first use.
 */
export function textSymbolTest(index: SymbolIndex): (name: string) => boolean {
  let clones: Set<string> | undefined;
  return (name) => {
    if (index.byNameAll(name).some((i) => index.moduleOf(i) === undefined && 'tTwW'.includes(index.info(i).type))) return true;
    if (!clones) {
      // One pass over the name bytes: only names with a dot are decoded (a few thousand of
      // ~200k), not a string per symbol (that pass took ~150 ms before a server was ready).
      clones = new Set();
      const bytes = index.names,
        off = index.nameOff,
        len = index.nameLen;
      for (let i = 0; i < index.count; i++) {
        const o = off[i],
          e = o + len[i];
        let dot = -1;
        for (let p = o + 1; p < e; p++)
          if (bytes[p] === 0x2e) {
            dot = p;
            break;
          }
        if (dot > 0 && index.moduleOf(i) === undefined) clones.add(index.nameOf(i).slice(0, dot - o));
      }
    }
    return clones.has(name);
  };
}

/**
 * Share of the sampled FUNC names allowed to be missing. Measured on 400-name samples: the
 * running 6.18 kernel's /sys/kernel/btf/vmlinux against its /proc/kallsyms misses 3 (built-in
 * `__exit` functions, discarded from the image), Debian 6.1.0-56 and 6.1.0-57 BTF against
 * their own System.map miss none; 6.1.0-56 BTF against 6.18 misses 115, 6.18 BTF against
 * 6.1.0-57 misses 175. Kernels of one release line are told apart by release and build id.
 */
export const MAX_MISSING_SHARE = 0.1;

/**
 * One short refusal when the BTF is not of the kernel (undefined: it is, or nothing says
 * otherwise). `btfBuildId` is the build id of the ELF the BTF was read from, if any.
 */
export function btfRefusal(
  file: string,
  btf: Btf,
  kernel: { label: string; release?: string; buildId?: string; symbolCount: number; isText: (name: string) => boolean },
  btfBuildId?: string,
): string | undefined {
  const name = file.slice(file.lastIndexOf('/') + 1) || file;
  if (btfBuildId && kernel.buildId) {
    return buildIdsMatch(kernel.buildId, btfBuildId)
      ? undefined
      : `BTF ${name} has build id ${btfBuildId}, ${kernel.label} has ${kernel.buildId}: another kernel, refused`;
  }
  // Kernels of one release line share nearly every function name, so the sample below cannot
  // tell them apart: a path naming another release (vmlinux-6.1.0-50-amd64.btf beside
  // System.map-6.1.0-56-amd64) is refused by it, as a module is by its vermagic.
  const named = releaseFromPath(file)?.release;
  if (named && kernel.release && named !== kernel.release)
    return `BTF ${name} names release ${named}, the symbols are ${kernel.release}'s: another kernel, refused`;
  if (kernel.symbolCount === 0) return undefined;
  const s = sampleAgainstSymbols(sampleFuncNames(btf), kernel.isText);
  if (s.checked === 0 || s.missing <= s.checked * MAX_MISSING_SHARE) return undefined;
  return `BTF ${name} is not of ${kernel.label}: ${s.missing} of ${s.checked} sampled functions (e.g. ${s.examples.join(', ')}) are not in its symbols, refused`;
}
