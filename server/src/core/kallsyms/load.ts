/**
 * Reads the configured sources from disk and builds an index. Shared by the CLI and
 * the language server. A source that cannot be used fails the whole build, so the
 * caller keeps serving its previous index.
 */
import { describeError } from '../common/errors';
import { SourceKind } from './parse';
import { buildIndex, SourceInput, SymbolIndex } from './symbolIndex';
import { takePrefetched } from './readEarly';
import { MAX_SOURCE_BYTES, readWholeSync } from './read';

export interface SourceSpec {
  file: string;
  kind: SourceKind;
}

/** The running kernel's symbol table: the default source of the CLI and the language server. */
export const DEFAULT_KALLSYMS = '/proc/kallsyms';

export interface IndexLoadResult {
  /** Undefined when any source was unusable: keep the previous index. */
  index?: SymbolIndex;
  errors: string[];
  warnings: string[];
  millis: number;
}

export async function readSource(spec: SourceSpec): Promise<SourceInput> {
  const bytes = takePrefetched(spec.file) ?? readWholeSync(spec.file);
  if (bytes.length > MAX_SOURCE_BYTES) throw new Error(`${spec.file}: ${bytes.length} bytes is too large for a symbol table`);
  return { file: spec.file, kind: spec.kind, bytes };
}

export async function loadIndex(specs: SourceSpec[]): Promise<IndexLoadResult> {
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
    const result: IndexLoadResult = {
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
