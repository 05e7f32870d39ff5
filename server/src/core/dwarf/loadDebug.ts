/**
 * The debug files behind source lines (issue 15 §2, §4): finds the vmlinux (locate.ts
 * candidates, probed here), opens it once, verifies it against the symbols being served
 * (verify.ts) and refuses it with the reason when it does not belong; modules through
 * their own .ko when it carries DWARF, else their debug file by build id, debuglink or
 * the distribution debug tree, verified by build id. Implements core/log/source.ts
 * SourceLines. Readers are opened lazily and kept (one per file).
 */
import { basename, dirname } from 'node:path';
import { FormatError } from '../common/errors';
import { answerOf, type SourceAnswer, type SourceLines } from '../log/source';
import { buildIdFromNotes, ElfView } from './elf';
import { moduleCandidates, vmlinuxCandidates, type Candidate } from './locate';
import { fileSource, findByName, firstExisting, readDwarfFile } from './readFile';
import type { DwarfReader } from './reader';
import { verifyModule, verifyVmlinux, type SymbolCheck } from './verify';

export interface DebugSetOptions {
  /** --vmlinux FILE|DIR / ksym.vmlinux. */
  readonly vmlinux?: string;
  /** Search the conventional places (the index is the running kernel, or a release is known). */
  readonly autoLocate?: boolean;
  /** Release of the served kernel (uname -r for the running one). */
  readonly release?: string;
  /** /sys/kernel/notes bytes when the index is the running kernel. */
  readonly kernelNotes?: Uint8Array;
  /** A build id known for the served kernel. */
  readonly buildId?: string;
  /** The index, for the symbol check and the KASLR shift. */
  readonly symbols?: SymbolCheck;
  readonly workspaceRoots?: readonly string[];
  /** Build id of a loaded module (/sys/module/NAME/notes/.note.gnu.build-id) when the index is the running kernel. */
  readonly moduleBuildId?: (name: string) => string | undefined;
  /** Absolute build prefixes for tree-relative paths. */
  readonly buildPrefixes?: readonly string[];
}

export interface Opened {
  reader?: DwarfReader;
  shift: bigint;
  problem?: string;
  file?: string;
  how?: string;
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const triedList = (t: readonly Candidate[]): string => t.map((c) => c.path).join(', ');

export class DebugSet implements SourceLines {
  private vm?: Opened;
  private readonly mods = new Map<string, Opened>();

  constructor(private readonly opts: DebugSetOptions) {}

  /** Whether a vmlinux is configured or searched for at all. */
  get wantsVmlinux(): boolean {
    return !!this.opts.vmlinux || !!this.opts.autoLocate;
  }

  /** The vmlinux in use (file, how it was verified) or why none is. */
  vmlinuxStatus(): Opened {
    return this.openVmlinux();
  }

  private openVmlinux(): Opened {
    if (this.vm) return this.vm;
    const o = this.opts;
    if (!this.wantsVmlinux) return (this.vm = { shift: 0n, problem: 'no vmlinux with debug info given (--vmlinux FILE|DIR)' });
    const notesId = o.kernelNotes ? buildIdFromNotes(o.kernelNotes) : undefined;
    const cands = vmlinuxCandidates({
      explicit: o.vmlinux,
      release: o.release,
      buildId: notesId ?? o.buildId,
      workspaceRoots: o.workspaceRoots,
    });
    const { found, tried } = firstExisting(cands);
    if (!found)
      return (this.vm = {
        shift: 0n,
        problem: `no vmlinux with debug info found (tried ${triedList(tried)})${o.vmlinux ? '' : '; give one with --vmlinux FILE|DIR'}`,
      });
    let reader: DwarfReader;
    try {
      reader = readDwarfFile(found.path, { buildPrefixes: o.buildPrefixes });
    } catch (e) {
      return (this.vm = { shift: 0n, file: found.path, problem: why(e) });
    }
    const v = verifyVmlinux({ file: found.path, elf: reader.elf, kernelNotes: o.kernelNotes, buildId: o.buildId, symbols: o.symbols });
    if (!v.ok) {
      reader.close();
      return (this.vm = { shift: 0n, file: found.path, problem: v.reason });
    }
    return (this.vm = { reader, shift: v.shift, file: found.path, how: v.detail });
  }

  vmlinux(address: bigint, opts: { returnAddress: boolean; symbol?: string }): SourceAnswer {
    const vm = this.openVmlinux();
    if (!vm.reader) return { source: [], sourceProblem: vm.problem };
    const a = address - vm.shift;
    const r = opts.returnAddress ? vm.reader.lookupReturn(a, { symbol: opts.symbol }) : vm.reader.lookup(a, { symbol: opts.symbol });
    return answerOf(
      r,
      `0x${BigInt.asUintN(64, opts.returnAddress ? a - 1n : a).toString(16)}${opts.returnAddress ? ' (return address - 1)' : ''}`,
    );
  }

  private openModule(name: string, file: string, logBuildId?: string): Opened {
    const key = `${file}\0${logBuildId ?? ''}`;
    const hit = this.mods.get(key);
    if (hit) return hit;
    const o = this.opts;
    // What the module must be: the build id printed in the log, or the loaded module's.
    const loaded = logBuildId ? undefined : o.moduleBuildId?.(name);
    const expected = logBuildId
      ? { buildId: logBuildId, what: `the build id ${name} has in the log` }
      : loaded
        ? { buildId: loaded, what: `the loaded ${name} (/sys/module/${name}/notes)` }
        : undefined;
    const x = openModuleDebug({ name, file, release: o.release, expected, buildPrefixes: o.buildPrefixes });
    this.mods.set(key, x);
    return x;
  }

  module(
    m: { module: string; file: string; section: string; offset: number; buildId?: string },
    opts: { returnAddress: boolean; symbol?: string },
  ): SourceAnswer {
    const mo = this.openModule(m.module, m.file, m.buildId);
    if (!mo.reader) return { source: [], sourceProblem: mo.problem };
    const r = opts.returnAddress
      ? mo.reader.lookupReturnInSection(m.section, m.offset, { symbol: opts.symbol })
      : mo.reader.lookupInSection(m.section, m.offset, { symbol: opts.symbol });
    return answerOf(
      r,
      `${m.section}+0x${(opts.returnAddress ? m.offset - 1 : m.offset).toString(16)}${opts.returnAddress ? ' (return address - 1)' : ''} of ${m.module}`,
    );
  }

  close(): void {
    this.vm?.reader?.close();
    for (const x of this.mods.values()) x.reader?.close();
    this.mods.clear();
  }
}

export interface ModuleDebugQuery {
  /** Module name as printed ([xfs]). */
  readonly name: string;
  /** The module file the symbols came from (.ko, maybe stripped, maybe compressed). */
  readonly file: string;
  /** Release of the served kernel: the distribution debug tree /usr/lib/debug/lib/modules/<release>. */
  readonly release?: string;
  /** What the module must be: a build id (the log's [mod BUILDID], /sys/module/NAME/notes) and where it came from. */
  readonly expected?: { readonly buildId?: string; readonly what: string };
  /** The module file's own build id when it is already known (a compressed .ko the module store decompressed). */
  readonly fileBuildId?: string;
  readonly buildPrefixes?: readonly string[];
}

const COMPRESSED = /\.(?:xz|gz|zst)$/;

/**
 * A module's DWARF (issue 15 §2): the module file itself when it carries DWARF (an in-tree
 * build), else its debug file by build id, .gnu_debuglink, or the distribution debug tree.
 * The debug file is used only when its build id is the module's (or the expected one);
 * otherwise the answer says why it was refused. Synchronous: opening reads only the section
 * headers, notes and the small DWARF sections.
 */
export function openModuleDebug(q: ModuleDebugQuery): Opened {
  const { name, file, expected } = q;
  const opts = { buildPrefixes: q.buildPrefixes };
  let reader: DwarfReader | undefined;
  const compressed = COMPRESSED.test(file);
  if (!compressed) {
    try {
      reader = readDwarfFile(file, opts);
    } catch (e) {
      if (!(e instanceof FormatError) || !/no DWARF/.test(e.message)) return { shift: 0n, file, problem: why(e) };
    }
  }
  if (reader) {
    if (expected) {
      const v = verifyModule(file, reader.elf, expected);
      if (!v.ok) {
        reader.close();
        return { shift: 0n, file, problem: v.reason };
      }
    }
    return { reader, shift: 0n, file, how: 'the module file carries DWARF' };
  }
  // A stripped (or compressed) .ko: its debug file by build id, debuglink, or the debug tree.
  let id = q.fileBuildId,
    link: { file: string } | undefined;
  if (!compressed) {
    try {
      const src = fileSource(file);
      const elf = new ElfView(src);
      id = elf.buildId();
      link = elf.debugLink();
      src.close?.();
    } catch (e) {
      return { shift: 0n, file, problem: why(e) };
    }
  }
  const c = moduleCandidates({
    name,
    release: q.release,
    buildId: id,
    debugLink: link ? { dir: dirname(file), file: link.file } : undefined,
  });
  let dbg = firstExisting(c.files).found?.path;
  for (const d of c.searchDirs) dbg ??= findByName(d.path, c.names);
  const what = compressed ? `${basename(file)} is compressed (its DWARF is not read in place)` : `${basename(file)} has no DWARF`;
  if (!dbg)
    return {
      shift: 0n,
      file,
      problem: `${what} and no debug file was found for it (tried ${triedList(c.files)}${c.searchDirs.length ? `, and ${c.searchDirs.map((d) => d.path).join(', ')} by name` : ''})`,
    };
  try {
    reader = readDwarfFile(dbg, opts);
  } catch (e) {
    return { shift: 0n, file: dbg, problem: why(e) };
  }
  const v = verifyModule(dbg, reader.elf, { buildId: expected?.buildId ?? id, what: expected?.what ?? file });
  if (!v.ok || (!id && !expected?.buildId)) {
    reader.close();
    return {
      shift: 0n,
      file: dbg,
      problem: v.ok ? `${dbg} cannot be verified against ${file} (neither has a build id), so it is not used` : v.reason,
    };
  }
  return { reader, shift: 0n, file: dbg, how: v.detail };
}
