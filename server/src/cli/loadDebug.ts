/**
 * The debug files of a command (--vmlinux FILE|DIR, --module ...): a DebugSet over the
 * index being served. For the running kernel's /proc/kallsyms the conventional places are
 * searched (uname -r) and the vmlinux is checked against /sys/kernel/notes, modules against
 * /sys/module/NAME/notes; for any other index only against its symbols (`_text` and a
 * sample), and a System.map-RELEASE names the release searched for.
 */
import { release as osRelease } from 'node:os';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import { DebugSet } from '../core/dwarf/loadDebug';
import { buildIdFromNotes } from '../core/dwarf/elf';
import { nodeProbe } from '../core/dwarf/readFile';
import { releaseFromPath } from '../core/kernels/source';

export interface DebugCliOptions {
  readonly kallsyms?: readonly string[];
  readonly vmlinux?: string;
  /** Source lines wanted even without --vmlinux (a --module was given). */
  readonly modules?: readonly string[];
}

export function debugSetFor(index: SymbolIndex, o: DebugCliOptions): DebugSet {
  const files = o.kallsyms?.length ? o.kallsyms : [DEFAULT_KALLSYMS];
  const running = files.length === 1 && files[0] === DEFAULT_KALLSYMS;
  const release = running ? osRelease() : files.map((f) => releaseFromPath(f)?.release).find((r) => r !== undefined);
  const kernelNotes = running ? nodeProbe.readSmall('/sys/kernel/notes') : undefined;
  return new DebugSet({
    vmlinux: o.vmlinux,
    autoLocate: running || release !== undefined,
    release,
    kernelNotes,
    symbols: vmlinuxSymbols(index),
    moduleBuildId: running ? runningModuleBuildId : undefined,
  });
}

/** The index's vmlinux addresses of a name: what a debug file's `_text` and symbol sample are checked against. */
export function vmlinuxSymbols(index: SymbolIndex): { lookup(name: string): bigint[] } {
  return {
    lookup: (name) =>
      index
        .byNameAll(name)
        .filter((i) => index.mod[i] === 0)
        .map((i) => index.addressOf(i)),
  };
}

/** The build id of a module loaded in the running kernel (/sys/module/NAME/notes), if it can be read. */
export function runningModuleBuildId(name: string): string | undefined {
  const b = nodeProbe.readSmall(`/sys/module/${name.replace(/-/g, '_')}/notes/.note.gnu.build-id`);
  return b ? buildIdFromNotes(b) : undefined;
}
