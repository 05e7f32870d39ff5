/**
 * Reads the configured sources from disk and builds an index. Shared by the CLI and
 * the language server. A source that cannot be used fails the whole build, so the
 * caller keeps serving its previous index.
 */
import { describeError } from '../common/errors';
import { SourceKind } from './parse';
import { buildIndexSteps, SourceInput, SymbolIndex } from './symbolIndex';
import { takePrefetched } from './readEarly';
import { readWholeSync } from './read';
import { realPathOf } from '../common/readGuarded';

export interface SourceSpec {
  file: string;
  kind: SourceKind;
}

export interface IndexLoadResult {
  /** Undefined when any source was unusable: keep the previous index. */
  index?: SymbolIndex;
  errors: string[];
  warnings: string[];
  millis: number;
  /** The build stopped between two steps because `stop` asked it to (nothing else is set). */
  stopped?: boolean;
}

/**
 * Asked between the steps of a build (after each source is read, after each is parsed,
 * before the index is sorted): a cancelled or superseded reindex stops there. With one,
 * loadIndex yields to the event loop between steps, so a cancellation can arrive.
 */
export interface BuildStop {
  readonly stopped: boolean;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

export async function readSource(spec: SourceSpec): Promise<SourceInput> {
  const bytes = takePrefetched(spec.file) ?? readWholeSync(spec.file);
  return { file: spec.file, kind: spec.kind, bytes };
}

/**
 * The specs with each file once, by real path (a symlink, `./K` and `K` are one source):
 * the first spec of a file wins; `repeats` says which files were named more than once.
 */
function dedupeSources(specs: SourceSpec[]): { specs: SourceSpec[]; repeats: string[] } {
  const seen = new Map<string, { spec: SourceSpec; times: number }>();
  for (const spec of specs) {
    const key = realPathOf(spec.file);
    const s = seen.get(key);
    if (s) s.times++;
    else seen.set(key, { spec, times: 1 });
  }
  const repeats = [...seen.values()].filter((s) => s.times > 1).map((s) => `${s.spec.file}: named ${s.times} times as a source, read once`);
  return { specs: [...seen.values()].map((s) => s.spec), repeats };
}

export async function loadIndex(given: SourceSpec[], stop?: BuildStop): Promise<IndexLoadResult> {
  const t0 = Date.now();
  const errors: string[] = [];
  const inputs: SourceInput[] = [];
  const stopped = async () => {
    if (!stop) return false;
    await nextTurn();
    return stop.stopped;
  };
  const stoppedResult = (): IndexLoadResult => ({ errors: [], warnings: [], millis: Date.now() - t0, stopped: true });
  const { specs, repeats } = dedupeSources(given);
  for (const spec of specs) {
    if (await stopped()) return stoppedResult();
    try {
      inputs.push(await readSource(spec));
    } catch (e) {
      errors.push(describeError(spec.file, e));
    }
  }
  if (errors.length > 0) return { errors, warnings: repeats, millis: Date.now() - t0 };
  try {
    const steps = buildIndexSteps(inputs);
    let step = steps.next();
    while (!step.done) {
      if (await stopped()) return stoppedResult();
      step = steps.next();
    }
    const index = step.value;
    const fatal = index.sources.filter((s) => s.report.symbols === 0);
    const result: IndexLoadResult = {
      index: fatal.length > 0 ? undefined : index,
      errors: index.messages.errors,
      warnings: [...repeats, ...index.messages.warnings],
      millis: Date.now() - t0,
    };
    return result;
  } catch (e) {
    return { errors: [describeError(specs.map((s) => s.file).join(', '), e)], warnings: [], millis: Date.now() - t0 };
  }
}
