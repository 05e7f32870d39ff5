/** Loading the kallsyms/System.map index for a command, or exiting with the errors (status 2). */
import { loadIndex, type SourceSpec } from '../core/kallsyms/load';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { sourceKind } from '../core/kallsyms/parse';
import { buildIndex, type SymbolIndex } from '../core/kallsyms/symbolIndex';
import { fail } from './common';

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
