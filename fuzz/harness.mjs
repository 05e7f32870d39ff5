// The fuzz loop, shared by `npm run fuzz` (fuzz/run.mjs, one worker per parser)
// and the unit test (test/unit/fuzz-harness.test.ts, in process).
//
// Every input is a pure function of (seed, parser, iteration): failures print those
// three numbers, and `npm run fuzz -- --parser P --seed S --only I --dump FILE`
// regenerates that one input.
import { mixSeed, rng } from './mutate.mjs';
import { PARSERS } from './targets.mjs';

/** Time limits: an input is "slow" when it takes more than SLOW_MS and more than SLOW_FACTOR x the median per-byte time. */
export const SLOW_MS = 100;
export const SLOW_FACTOR = 50;
/** Per-byte time is normalised with at least this many bytes (tiny inputs are dominated by fixed costs). */
const MIN_BYTES = 256;

export function parserIndex(name) {
  const i = PARSERS.indexOf(name);
  if (i < 0) throw new Error(`unknown parser '${name}' (one of: ${PARSERS.join(', ')})`);
  return i;
}

/** The input of one iteration, and the PRNG its run uses. */
export function inputOf(target, seed, iter) {
  const s = mixSeed(seed, parserIndex(target.name), iter);
  const bytes = target.gen(rng(s));
  return { bytes, runRng: rng(s ^ 0x5bd1e995) };
}

const isMasked = (e) => / internal error /.test(String(e?.message ?? ''));

/**
 * Run one iteration. outcome: 'result' | 'format' (FormatError) | 'masked'
 * (a FormatError that wraps an internal error: reported, not a failure) | 'failure'.
 */
export function fuzzOne(target, core, seed, iter) {
  const { bytes, runRng } = inputOf(target, seed, iter);
  const t0 = performance.now();
  let outcome = 'result';
  let error;
  try {
    target.run(bytes, runRng);
  } catch (e) {
    error = e;
    if (e instanceof core.FormatError) outcome = isMasked(e) ? 'masked' : 'format';
    else outcome = 'failure';
  }
  const ms = performance.now() - t0;
  return { outcome, error, ms, size: bytes.length, bytes };
}

export function describeError(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 8).join('\n')}`;
  return `non-Error thrown: ${String(e)}`;
}

/**
 * Counters live in a Float64Array (a SharedArrayBuffer in workers) so that the
 * parent can read them after terminating a hung worker.
 */
export const C = { iter: 0, startedAt: 1, results: 2, format: 3, masked: 4, failures: 5, maxMs: 6, runMs: 7, done: 8, maxMsIter: 9 };
export const C_LEN = 10;

/**
 * Run iterations [from, to) of one parser. Reports failures, masked errors and slow
 * candidates through `report(kind, info)`; returns the per-byte timing sample.
 */
export function runSegment({ target, core, seed, from, to, counters = new Float64Array(C_LEN), report = () => {} }) {
  const sample = [];
  const slowCandidates = [];
  let maskedReported = 0;
  for (let it = from; it < to; it++) {
    counters[C.iter] = it;
    counters[C.startedAt] = Date.now();
    const r = fuzzOne(target, core, seed, it);
    counters[C.runMs] += r.ms;
    if (r.ms > counters[C.maxMs]) {
      counters[C.maxMs] = r.ms;
      counters[C.maxMsIter] = it;
    }
    if (r.outcome === 'result') counters[C.results]++;
    else if (r.outcome === 'format') counters[C.format]++;
    else if (r.outcome === 'masked') {
      counters[C.masked]++;
      if (maskedReported++ < 5) report('masked', { parser: target.name, seed, iter: it, size: r.size, error: describeError(r.error) });
    } else {
      counters[C.failures]++;
      report('failure', { parser: target.name, seed, iter: it, size: r.size, error: describeError(r.error) });
    }
    // The median per-byte time is taken over inputs that parsed (early rejects would make it meaningless).
    if (r.outcome === 'result') {
      const perByte = r.ms / Math.max(r.size, MIN_BYTES);
      if (sample.length < 20000) sample.push(perByte);
      else if ((it & 7) === 0) sample[it % 20000] = perByte;
    }
    if (r.ms > SLOW_MS) slowCandidates.push({ iter: it, ms: r.ms, size: r.size });
  }
  counters[C.iter] = to;
  counters[C.done] = 1;
  return { sample, slowCandidates };
}

export function median(a) {
  if (!a.length) return 0;
  const s = Float64Array.from(a).sort();
  return s[s.length >> 1];
}

/**
 * Slow inputs among the candidates: over SLOW_MS and SLOW_FACTOR x the median per-byte
 * time, confirmed by re-running (the best of three, so GC pauses and JIT warm-up do
 * not count).
 */
export function confirmSlow({ target, core, seed, candidates, medianPerByte }) {
  const out = [];
  for (const c of candidates) {
    // A target whose cost is not its input's size (a decompressor: its output, under a cap) says how many bytes an input stands for at least.
    const minBytes = target.minBytes ?? MIN_BYTES;
    const limit = SLOW_FACTOR * medianPerByte * Math.max(c.size, minBytes);
    if (!(c.ms > limit)) continue;
    let best = c.ms;
    for (let k = 0; k < 2 && best > SLOW_MS && best > limit; k++) best = Math.min(best, fuzzOne(target, core, seed, c.iter).ms);
    if (best > SLOW_MS && best > limit)
      out.push({
        parser: target.name,
        seed,
        iter: c.iter,
        size: c.size,
        ms: best,
        factor: best / (medianPerByte * Math.max(c.size, minBytes)),
      });
  }
  return out;
}

/** In-process pass over several parsers (the unit test uses this). */
export function runInProcess({ targets, core, seed, iterations }) {
  const rows = [];
  for (const name of Object.keys(targets)) {
    const target = targets[name];
    const counters = new Float64Array(C_LEN);
    const failures = [];
    const masked = [];
    const t0 = performance.now();
    const { sample, slowCandidates } = runSegment({
      target,
      core,
      seed,
      from: 0,
      to: iterations,
      counters,
      report: (kind, info) => (kind === 'failure' ? failures : masked).push(info),
    });
    const wall = performance.now() - t0;
    const medianPerByte = median(sample);
    const slow = confirmSlow({ target, core, seed, candidates: slowCandidates, medianPerByte });
    rows.push(rowOf(name, counters, iterations, wall, failures, masked, slow, medianPerByte));
  }
  return rows;
}

export function rowOf(name, counters, iterations, wallMs, failures, masked, slow, medianPerByte) {
  return {
    parser: name,
    iterations,
    results: counters[C.results],
    formatErrors: counters[C.format],
    masked: counters[C.masked],
    failures: counters[C.failures] + slow.length + failures.filter((f) => f.kind === 'hang' || f.kind === 'crash').length,
    slow: slow.length,
    maxMs: counters[C.maxMs],
    maxMsIter: counters[C.maxMsIter],
    inputsPerSec: iterations / (wallMs / 1000),
    medianNsPerByte: medianPerByte * 1e6,
    failureList: failures,
    maskedList: masked,
    slowList: slow,
  };
}

export function formatTable(rows) {
  const head = ['parser', 'iterations', 'results', 'FormatErrors', 'masked', 'failures', 'slow', 'max ms', 'inputs/s', 'median ns/B'];
  const body = rows.map((r) =>
    [
      r.parser,
      r.iterations,
      r.results,
      r.formatErrors,
      r.masked,
      r.failures,
      r.slow,
      r.maxMs.toFixed(1),
      Math.round(r.inputsPerSec),
      r.medianNsPerByte.toFixed(1),
    ].map(String),
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}
