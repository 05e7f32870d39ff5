/**
 * Source lines for log answers (issue 15 §4): the JSON `source` array and the text lines
 * that `ksym lookup` and `ksym decode` print. Pure: the debug files are behind a
 * `SourceLines` interface (core/dwarf/loadDebug.ts implements it over real files).
 */
import type { SourceResult } from '../dwarf/reader';

/** One frame of the chain, innermost first, outermost last. */
export interface SourceJson {
  function: string;
  /** The normalised path as recorded in DWARF. */
  file: string;
  line: number;
  /** null where the line table has none. */
  column: number | null;
  /** Relative to the kernel source tree (fs/read_write.c), null when it cannot be placed. */
  path: string | null;
}

export interface SourceAnswer {
  source: SourceJson[];
  /** Why `source` is empty: no debug file, refused, no DWARF function there, malformed DWARF. */
  sourceProblem?: string;
}

/** What the answers need from the debug files. */
export interface SourceLines {
  /** A vmlinux address of the index (%pB: `returnAddress`, looked up at addr - 1). */
  vmlinux(address: bigint, opts: { returnAddress: boolean; symbol?: string }): SourceAnswer;
  /** A module symbol's (section, offset) in the .ko the symbols came from. */
  module(
    m: { module: string; file: string; section: string; offset: number; buildId?: string },
    opts: { returnAddress: boolean; symbol?: string },
  ): SourceAnswer;
}

/** A reader result as an answer: frames, or [] with the reason. */
export function answerOf(r: SourceResult, what: string): SourceAnswer {
  if (r.kind === 'found')
    return { source: r.frames.map((f) => ({ function: f.function, file: f.file, line: f.line, column: f.column, path: f.path })) };
  if (r.kind === 'no-function') {
    const at = r.line ? ` (the line table says ${r.line.path ?? r.line.file}:${r.line.line})` : '';
    return { source: [], sourceProblem: `no DWARF function covers ${what} in ${r.unit}${at}: not borrowing the next function's` };
  }
  return { source: [], sourceProblem: r.reason };
}

const loc = (f: SourceJson): string => `${f.path ?? f.file}:${f.line}`;

/**
 * Text form: the innermost location (the line of the instruction) for after the kernel
 * form, then one line per inlined frame, outermost last:
 *   `include/linux/refcount.h:123`
 *   `__refcount_add inlined into refcount_inc at include/linux/refcount.h:240`
 *   `refcount_inc inlined into vfs_read at fs/read_write.c:451`
 */
export function sourceText(s: readonly SourceJson[]): { at: string; inlined: string[] } | undefined {
  if (!s.length) return undefined;
  const inlined: string[] = [];
  for (let i = 0; i + 1 < s.length; i++) inlined.push(`${s[i].function} inlined into ${s[i + 1].function} at ${loc(s[i + 1])}`);
  return { at: loc(s[0]), inlined };
}
