#!/usr/bin/env node
// npm run fuzz -- [--iterations N] [--parser NAME]... [--seed S] [--jobs J] [--hang-ms MS]
//                 [--only ITER [--dump FILE]] [--json FILE] [--quiet]
//
// Bundles server/src/core with esbuild into .cache/fuzz/, then fuzzes each parser in
// its own worker thread (a watchdog terminates a worker stuck on one input and the
// pass goes on after it). Every input ends with a result or a FormatError; anything
// else, a hang, a crash of the worker (e.g. out of memory) or a super-linear slow
// input is a failure printed with parser, seed and iteration. Exit 1 on any failure.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { C, C_LEN, confirmSlow, describeError, formatTable, fuzzOne, median, rowOf, runSegment } from './harness.mjs';
import { makeTargets, PARSERS } from './targets.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = resolve(ROOT, '.cache/fuzz/core.cjs');

export async function bundleCore() {
  mkdirSync(dirname(BUNDLE), { recursive: true });
  await build({
    entryPoints: [resolve(ROOT, 'fuzz/core-entry.mjs')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    sourcemap: 'inline',
  });
  return BUNDLE;
}

function loadCore() {
  return createRequire(import.meta.url)(BUNDLE);
}

// ---------------------------------------------------------------- worker side
if (!isMainThread && workerData?.fuzzWorker) {
  const { parser, seed, from, to, shared } = workerData;
  const counters = new Float64Array(shared);
  const core = loadCore();
  const target = makeTargets(core, { root: ROOT, only: parser })[parser];
  const report = (kind, info) => parentPort.postMessage({ kind, info });
  const { sample, slowCandidates } = runSegment({ target, core, seed, from, to, counters, report });
  const medianPerByte = median(sample);
  parentPort.postMessage({
    kind: 'segment',
    sample: sample.length > 2000 ? sample.filter((_, i) => i % Math.ceil(sample.length / 2000) === 0) : sample,
    slowCandidates,
    medianPerByte,
  });
  // Slow candidates are confirmed against this segment's median (the parent merges segments).
  const slow = confirmSlow({ target, core, seed, candidates: slowCandidates, medianPerByte });
  parentPort.postMessage({ kind: 'slow', slow });
}

// ---------------------------------------------------------------- main side
function parseArgs(argv) {
  const o = {
    iterations: 10000,
    parsers: [],
    seed: 1,
    jobs: Math.max(1, Math.min(availableParallelism(), 6)),
    hangMs: 10000,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--iterations' || a === '-n') o.iterations = Number(v());
    else if (a === '--parser' || a === '-p') o.parsers.push(...v().split(','));
    else if (a === '--seed' || a === '-s') o.seed = Number(v()) >>> 0;
    else if (a === '--jobs' || a === '-j') o.jobs = Number(v());
    else if (a === '--hang-ms') o.hangMs = Number(v());
    else if (a === '--only') o.only = Number(v());
    else if (a === '--dump') o.dump = v();
    else if (a === '--json') o.json = v();
    else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        `usage: npm run fuzz -- [--iterations N] [--parser ${PARSERS.join('|')}]... [--seed S] [--jobs J] ` +
          `[--hang-ms MS] [--only ITER [--dump FILE]] [--json FILE]`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.parsers.length) o.parsers = [...PARSERS];
  for (const p of o.parsers) if (!PARSERS.includes(p)) throw new Error(`unknown parser '${p}' (one of: ${PARSERS.join(', ')})`);
  if (!(o.iterations >= 0)) throw new Error('--iterations must be a number');
  return o;
}

/** One parser, in workers, restarting after a hang or a crash. */
function fuzzParser(parser, o, log) {
  return new Promise((resolveParser) => {
    const shared = new SharedArrayBuffer(C_LEN * 8);
    const counters = new Float64Array(shared);
    const failures = [];
    const masked = [];
    const slow = [];
    const samples = [];
    const t0 = performance.now();
    let from = 0;
    let lastProgress = Date.now();
    const start = () => {
      counters[C.done] = 0;
      counters[C.iter] = from;
      counters[C.startedAt] = Date.now();
      const w = new Worker(fileURLToPath(import.meta.url), {
        workerData: { fuzzWorker: true, parser, seed: o.seed, from, to: o.iterations, shared },
        resourceLimits: { maxOldGenerationSizeMb: 4096, stackSizeMb: 4 },
      });
      let finished = false;
      let killedForHang = false;
      const timer = setInterval(() => {
        const stuck = Date.now() - counters[C.startedAt];
        if (!counters[C.done] && stuck > o.hangMs) {
          killedForHang = true;
          const it = counters[C.iter];
          const f = { kind: 'hang', parser, seed: o.seed, iter: it, error: `no result after ${stuck} ms (watchdog)` };
          failures.push(f);
          log(`FAIL ${parser} seed=${o.seed} iter=${it}: hang (${stuck} ms)`);
          w.terminate();
        }
        if (!o.quiet && Date.now() - lastProgress > 30000) {
          lastProgress = Date.now();
          const el = (performance.now() - t0) / 1000;
          log(
            `.. ${parser}: ${counters[C.iter]}/${o.iterations} (${Math.round(counters[C.iter] / el)}/s), failures ${counters[C.failures] + failures.length}`,
          );
        }
      }, 250);
      w.on('message', (m) => {
        if (m.kind === 'failure') {
          failures.push({ kind: 'exception', ...m.info });
          log(`FAIL ${parser} seed=${m.info.seed} iter=${m.info.iter} (${m.info.size} bytes): ${m.info.error}`);
        } else if (m.kind === 'masked') {
          masked.push(m.info);
          if (!o.quiet) log(`masked ${parser} seed=${m.info.seed} iter=${m.info.iter}: ${m.info.error.split('\n')[0]}`);
        } else if (m.kind === 'segment') {
          samples.push(...m.sample);
        } else if (m.kind === 'slow') {
          for (const s of m.slow) {
            slow.push(s);
            log(
              `FAIL ${parser} seed=${s.seed} iter=${s.iter} (${s.size} bytes): slow, ${s.ms.toFixed(1)} ms = ${s.factor.toFixed(0)}x the median per-byte time`,
            );
          }
          finished = true;
        }
      });
      w.on('error', (e) => {
        if (killedForHang) return;
        const it = counters[C.iter];
        failures.push({ kind: 'crash', parser, seed: o.seed, iter: it, error: describeError(e) });
        log(`FAIL ${parser} seed=${o.seed} iter=${it}: worker crashed: ${describeError(e)}`);
      });
      w.on('exit', () => {
        clearInterval(timer);
        if (!finished && counters[C.iter] + 1 < o.iterations + 1 && !counters[C.done]) {
          // Continue after the input that hung or crashed the worker.
          from = counters[C.iter] + 1;
          if (from < o.iterations) return start();
        } else if (!finished && counters[C.done] && !killedForHang) {
          // Worker ended during slow confirmation (crash): nothing more to do.
        }
        const wall = performance.now() - t0;
        resolveParser(rowOf(parser, counters, o.iterations, wall, failures, masked, slow, median(samples)));
      });
    };
    start();
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  await bundleCore();
  const log = (s) => process.stderr.write(s + '\n');

  if (o.only !== undefined) {
    // Reproduce one input in process.
    const core = loadCore();
    let bad = false;
    for (const p of o.parsers) {
      const target = makeTargets(core, { root: ROOT, only: p })[p];
      const r = fuzzOne(target, core, o.seed, o.only);
      console.log(
        `${p} seed=${o.seed} iter=${o.only}: ${r.size} bytes, ${r.ms.toFixed(2)} ms, ${r.outcome}${r.error ? `\n${describeError(r.error)}` : ''}`,
      );
      if (r.outcome === 'failure') bad = true;
      if (o.dump) {
        const file = o.parsers.length > 1 ? `${o.dump}.${p}` : o.dump;
        writeFileSync(file, r.bytes);
        if (r.bytes.base) console.log(`(${p}: the input is split BTF over ${r.bytes.base.file})`);
        console.log(`input written to ${file}`);
      }
    }
    process.exit(bad ? 1 : 0);
  }

  console.log(`fuzz: ${o.iterations} inputs per parser, seed ${o.seed}, parsers ${o.parsers.join(', ')}, ${o.jobs} job(s)`);
  const queue = [...o.parsers];
  const rows = new Map();
  const runNext = async () => {
    while (queue.length) {
      const p = queue.shift();
      const row = await fuzzParser(p, o, log);
      rows.set(p, row);
      if (!o.quiet) log(`done ${p}: ${row.iterations} inputs, ${row.failures} failure(s), ${Math.round(row.inputsPerSec)}/s`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, queue.length) }, runNext));
  const ordered = o.parsers.map((p) => rows.get(p));
  console.log(formatTable(ordered));
  const failures = ordered.flatMap((r) => [...r.failureList, ...r.slowList.map((s) => ({ kind: 'slow', ...s }))]);
  const masked = ordered.flatMap((r) => r.maskedList);
  if (masked.length) {
    console.log(`\n${ordered.reduce((s, r) => s + r.masked, 0)} FormatError(s) wrapping an internal error (first ones):`);
    for (const m of masked.slice(0, 10)) console.log(`  ${m.parser} seed=${m.seed} iter=${m.iter}: ${m.error.split('\n')[0]}`);
  }
  if (failures.length) {
    console.log(`\n${failures.length} failure(s); reproduce one with: npm run fuzz -- --parser P --seed S --only ITER --dump /tmp/input`);
    for (const f of failures.slice(0, 50))
      console.log(
        `  ${f.kind} ${f.parser} seed=${f.seed} iter=${f.iter}${f.ms ? ` ${f.ms.toFixed(1)} ms` : ''}: ${String(f.error ?? '').split('\n')[0]}`,
      );
  }
  if (o.json) writeFileSync(o.json, JSON.stringify({ seed: o.seed, iterations: o.iterations, rows: ordered }, null, 1));
  process.exit(failures.length ? 1 : 0);
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  });
}
