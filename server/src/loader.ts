/**
 * Reads the configured sources from disk and builds an index. Shared by the CLI and
 * the language server. A source that cannot be used fails the whole build, so the
 * caller keeps serving its previous index.
 */
import { homedir } from 'node:os';
import { isFormatError } from './core/errors';
import { SourceKind } from './core/kallsyms';
import { buildIndex, SourceInput, SymbolIndex } from './core/symindex';
import { takePrefetched } from './prefetch';
import { MAX_SOURCE_BYTES, readWholeSync } from './readfile';

export interface SourceSpec {
  file: string;
  kind: SourceKind;
}

export interface LoadResult {
  /** Undefined when any source was unusable: keep the previous index. */
  index?: SymbolIndex;
  errors: string[];
  warnings: string[];
  millis: number;
}


export function expandPath(p: string, workspaceFolder?: string): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/')) s = homedir() + s.slice(1);
  if (workspaceFolder) s = s.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  return s;
}

/** Guess the kind from the file name (System.map*), else kallsyms. */
export function sourceKind(file: string): SourceKind {
  return /(^|\/)System\.map[^/]*$/.test(file) ? 'system.map' : 'kallsyms';
}

export async function readSource(spec: SourceSpec): Promise<SourceInput> {
  const bytes = takePrefetched(spec.file) ?? readWholeSync(spec.file);
  if (bytes.length > MAX_SOURCE_BYTES) throw new Error(`${spec.file}: ${bytes.length} bytes is too large for a symbol table`);
  return { file: spec.file, kind: spec.kind, bytes };
}

/** A one-line error naming the file: FormatErrors as they are, I/O errors in words. */
export function describeError(file: string, e: unknown, expected = 'a kallsyms or System.map file'): string {
  if (isFormatError(e)) return e.message;
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return `${file}: no such file`;
    case 'EACCES':
    case 'EPERM':
      return `${file}: permission denied`;
    case 'EISDIR':
      return `${file}: is a directory, expected ${expected}`;
    case 'ENOTREG':
      return `${file}: not a regular file (a device or a pipe), expected ${expected}`;
    case 'ENOTDIR':
      return `${file}: a path component is not a directory`;
    default:
      return `${file}: ${err?.message ?? String(e)}`;
  }
}

export async function loadIndex(specs: SourceSpec[]): Promise<LoadResult> {
  const t0 = performance.now();
  const errors: string[] = [];
  const inputs: SourceInput[] = [];
  for (const spec of specs) {
    try {
      inputs.push(await readSource(spec));
    } catch (e) {
      errors.push(describeError(spec.file, e));
    }
  }
  if (errors.length > 0) return { errors, warnings: [], millis: performance.now() - t0 };
  try {
    const index = buildIndex(inputs);
    const fatal = index.sources.filter((s) => s.report.symbols === 0);
    const result: LoadResult = {
      index: fatal.length > 0 ? undefined : index,
      errors: index.messages.errors,
      warnings: index.messages.warnings,
      millis: performance.now() - t0,
    };
    return result;
  } catch (e) {
    return { errors: [describeError(specs.map((s) => s.file).join(', '), e)], warnings: [], millis: performance.now() - t0 };
  }
}
