/**
 * Kernels ksym knows (one set of matching files each) and the choice of the kernel for a
 * log. Pure: the directory reading is in storeKernels.ts.
 *
 * Choice: by build id, else by release plus build string, else by architecture alone.
 * Never mix: `belongsTo` says whether a file (BTF, module, debug file) is of a kernel.
 */
import type { Arch } from './arch';
import type { LogIdentity } from './identity';
import { versionsCompatible } from './identity';
import { buildIdsMatch } from './source';

export type KernelKind = 'running' | 'distribution' | 'build-tree' | 'snapshot';

export interface Kernel {
  /** Short label: `6.1.0-56-amd64 (Debian 6.1.192-2)`; `running` for the running kernel. */
  label: string;
  kind: KernelKind;
  /** The directory it was found in (or `/` / `running`). */
  dir: string;
  release?: string;
  /** Full `uname -v` when known (banner, /proc/version). */
  version?: string;
  arch?: Arch;
  /** vmlinux GNU build id (lower-case hex). */
  buildId?: string;
  symbols?: { kind: 'kallsyms' | 'system.map'; path: string };
  modulesDir?: string;
  btf?: string;
  /** A vmlinux with DWARF (the -dbg file or a build tree's vmlinux). */
  vmlinuxDebug?: string;
  sourceTree?: string;
  /** What is missing or odd, one short sentence each. */
  problems: string[];
}

export type MatchBasis = 'build-id' | 'release+version' | 'release' | 'arch';

export type Selection = { ok: true; kernel: Kernel; by: MatchBasis; notes: string[] } | { ok: false; message: string; notes: string[] };

/** "5.17.0-syzkaller (arm64)" / "an unknown kernel (arm64)" / "5.10.2". */
function describeLog(id: LogIdentity): string {
  const rel = id.release?.value;
  const arch = id.arch?.value;
  if (rel) return arch ? `${rel} (${arch})` : rel;
  return arch ? `an unknown kernel (${arch})` : 'an unknown kernel';
}

export function describeKernel(k: Kernel): string {
  const rel = k.release ?? k.label;
  return k.arch ? `${rel} (${k.arch})` : rel;
}

/**
 * "this log is from 5.17.0-syzkaller-13532-gb4a5ea09b293 (x86_64); ksym has 6.18.44-fc-v1045 (x86_64)".
 * A kernel of the log's own release is another build: both sides then say which (build id,
 * else build string), or the sentence would name one release twice.
 */
export function mismatchMessage(id: LogIdentity, kernels: readonly Kernel[]): string {
  const rel = id.release?.value;
  const sameRelease = rel !== undefined && kernels.some((k) => k.release === rel);
  const build = (buildId: string | undefined, version: string | undefined): string =>
    buildId ? `build id ${buildId}` : version ? version : 'no build string';
  const logSide = sameRelease ? `${describeLog(id)}, ${build(id.buildId?.value, id.version?.value)}` : describeLog(id);
  const kernelSide = (k: Kernel): string =>
    sameRelease && k.release === rel ? `${describeKernel(k)}, ${build(id.buildId ? k.buildId : undefined, k.version)}` : describeKernel(k);
  const have = kernels.length === 0 ? 'ksym has no kernel' : `ksym has ${kernels.map(kernelSide).join(sameRelease ? '; ' : ', ')}`;
  return `this log is from ${logSide}; ${have}`;
}

/**
 * Pick the kernel that wrote a log.
 * - build id (vmlinux, from the CPU: line): equal build ids only; a kernel with the same
 *   release and another known build id is a different build and never chosen;
 * - else release and build string (the CPU: form `#1 Debian 6.1.192-2` against the full
 *   uname -v); release alone when the log or the kernel has no build string (noted);
 * - else, when the log names no release, the only kernel of the log's architecture (noted:
 *   unverified).
 * Architectures must never differ.
 */
export function selectKernel(id: LogIdentity, kernels: readonly Kernel[]): Selection {
  const notes: string[] = [];
  const arch = id.arch?.value;
  const archOk = (k: Kernel) => !arch || !k.arch || k.arch === arch;
  if (id.buildId) {
    const b = id.buildId.value;
    const hit = kernels.find((k) => k.buildId && buildIdsMatch(b, k.buildId));
    if (hit) return { ok: true, kernel: hit, by: 'build-id', notes };
  }
  const rel = id.release?.value;
  if (rel) {
    const same = kernels.filter((k) => k.release === rel && archOk(k));
    // A known, different build id rules a kernel out.
    const usable = same.filter((k) => !(id.buildId && k.buildId && !buildIdsMatch(id.buildId.value, k.buildId)));
    if (same.length > usable.length)
      notes.push(`${same.length - usable.length} kernel(s) of release ${rel} have another build id than the log's ${id.buildId!.value}`);
    const ver = id.version?.value;
    const exact = usable.filter((k) => ver !== undefined && k.version !== undefined && versionsCompatible(ver, k.version));
    if (exact.length >= 1) {
      if (exact.length > 1) notes.push(`${exact.length} kernels match ${rel} ${ver}; using ${exact[0].label}`);
      return { ok: true, kernel: exact[0], by: 'release+version', notes };
    }
    const unknownVer = usable.filter((k) => ver === undefined || k.version === undefined);
    if (unknownVer.length >= 1) {
      const k = unknownVer[0];
      notes.push(
        ver === undefined
          ? `the log names release ${rel} but no build string: matched by release only`
          : `${k.label} has no build string to compare with the log's ${ver}: matched by release only`,
      );
      return { ok: true, kernel: k, by: 'release', notes };
    }
    if (usable.length > 0)
      notes.push(`ksym has ${rel} but as another build (${usable.map((k) => k.version).join('; ')}), the log has ${ver}`);
    return { ok: false, message: mismatchMessage(id, kernels), notes };
  }
  if (!id.buildId && arch) {
    const sameArch = kernels.filter((k) => k.arch === arch);
    if (sameArch.length === 1) {
      notes.push(`the log names no kernel release; ${sameArch[0].label} is the only ${arch} kernel ksym has: unverified`);
      return { ok: true, kernel: sameArch[0], by: 'arch', notes };
    }
    if (sameArch.length > 1) notes.push(`the log names no kernel release and ksym has ${sameArch.length} ${arch} kernels: pick one`);
  } else if (!id.buildId && !arch) {
    notes.push('the log names neither a kernel release nor an architecture');
  }
  return { ok: false, message: mismatchMessage(id, kernels), notes };
}

/** A file offered as part of a kernel, with what it says about its own kernel. */
export interface CandidateFile {
  kind: 'btf' | 'module' | 'debug' | 'symbols';
  path: string;
  buildId?: string;
  release?: string;
  /** A module's `vermagic=` release. */
  vermagicRelease?: string;
  /** For modules: the build id the log printed for it (`[mod BUILDID]`). */
  expectedBuildId?: string;
}

/**
 * Whether a file belongs to a kernel. Returns undefined when it does (or nothing
 * contradicts it), else one short refusal message naming both kernels.
 */
export function belongsTo(k: Kernel, f: CandidateFile): string | undefined {
  const name = f.path.slice(f.path.lastIndexOf('/') + 1) || f.path;
  const want = describeKernel(k);
  if (f.kind === 'module') {
    if (f.expectedBuildId && f.buildId && !buildIdsMatch(f.expectedBuildId, f.buildId))
      return `${name} has build id ${f.buildId}, the log's frame names ${f.expectedBuildId}: not the module that ran`;
    if (f.vermagicRelease && k.release && f.vermagicRelease !== k.release)
      return `${name} is built for ${f.vermagicRelease} (vermagic), not ${want}`;
    if (f.release && k.release && f.release !== k.release) return `${name} is from ${f.release}, not ${want}`;
    return undefined;
  }
  if (f.kind === 'debug' || f.kind === 'btf' || f.kind === 'symbols') {
    if (f.buildId && k.buildId && f.buildId !== k.buildId)
      return `${name} has build id ${f.buildId}, ${want} has ${k.buildId}: another kernel`;
    if (f.release && k.release && f.release !== k.release) return `${name} is from ${f.release}, not ${want}`;
    return undefined;
  }
  return undefined;
}
