// Symbol search benchmark: p50/p95 latency of 1,000 realistic queries against the live
// kernel's /proc/kallsyms + /sys/kernel/btf/vmlinux, through
//   1. ksym's search engine (server/src/core/search/) in process,
//   2. BASELINE: a plain linear scan over one JS string per name (String.includes on
//      lower-cased names, then sort by prefix/length, take the cap),
//   3. fuzzysort v3 (a general fuzzy-search package) over the same names, prepared once,
//   4. workspace/symbol over stdio (dist/server.js, default settings).
// Queries (bench/search-lib.mjs, seeded): exact names sampled from the index, prefixes,
// word-start abbreviations (`tvr`), misspellings (one character dropped/swapped/replaced).
// `npm run bench` reports the same figures in its table (section 6).
//
//   node bench/search.mjs [--cap N] [--queries N]
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fuzzysortEngine, makeQueries, measureAsync, measureSync, namesOf } from './search-lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.cache/bench');
const arg = (n, d) => {
  const i = process.argv.indexOf(n);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const CAP = arg('--cap', 200);
const N = arg('--queries', 1000);
mkdirSync(CACHE, { recursive: true });

const entry = join(CACHE, 'search-core.mjs');
await build({
  stdin: {
    contents: [
      "export { buildIndex } from './server/src/core/kallsyms/symbolIndex';",
      "export { parseBtf } from './server/src/core/btf';",
      "export { search } from './server/src/core/search/ranking';",
      "export { prepare } from './server/src/core/search/corpus';",
      "export { searchSources } from './server/src/core/search/sources';",
      "export { workspaceSymbols } from './server/src/lsp/workspaceSymbols';",
    ].join('\n'),
    resolveDir: ROOT,
    loader: 'ts',
    sourcefile: 'bench-search-entry.ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: entry,
  logLevel: 'warning',
});
const core = await import(pathToFileURL(entry).href);

let kallsyms;
try {
  kallsyms = readFileSync('/proc/kallsyms');
} catch {
  console.error('bench/search: /proc/kallsyms is not readable');
  process.exit(0);
}
let t0 = performance.now();
const index = core.buildIndex([{ file: '/proc/kallsyms', kind: 'kallsyms', bytes: kallsyms }]);
let btf;
try {
  btf = core.parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')), '/sys/kernel/btf/vmlinux');
} catch {
  console.warn('bench/search: no BTF (/sys/kernel/btf/vmlinux unreadable); kallsyms only');
}
const loadMs = performance.now() - t0;
t0 = performance.now();
const sources = core.searchSources({ index, btf });
core.prepare(sources);
const prepMs = performance.now() - t0;
const total = sources.reduce((s, x) => s + x.count, 0);

// ---- queries --------------------------------------------------------------------------------
const allNames = namesOf(sources);
const queries = makeQueries(allNames, N);

// ---- baseline: one JS string per name, linear scan ------------------------------------------
const lowerNames = allNames.map((n) => n.toLowerCase());
function baseline(q) {
  const lq = q.toLowerCase();
  const hits = [];
  for (let i = 0; i < lowerNames.length; i++) if (lowerNames[i].includes(lq)) hits.push(i);
  hits.sort(
    (a, b) =>
      (lowerNames[a] === lq ? 0 : lowerNames[a].startsWith(lq) ? 1 : 2) -
        (lowerNames[b] === lq ? 0 : lowerNames[b].startsWith(lq) ? 1 : 2) || lowerNames[a].length - lowerNames[b].length,
  );
  return hits.slice(0, CAP);
}

const measure = (fn) => measureSync(fn, queries);
const ours = measure((q) => core.search(sources, q, { cap: CAP }));
const base = measure(baseline);
const fz = fuzzysortEngine(allNames, CAP);
const fuzzy = measure(fz.run);
// Quality: rank of the sampled name for exact queries, and of the source name for word-start.
let exactFirst = 0;
let exactN = 0;
for (const { kind, q } of queries) {
  if (kind !== 'exact') continue;
  exactN++;
  if (core.search(sources, q, { cap: CAP })[0]?.name === q) exactFirst++;
}

const f = (x) => x.toFixed(2).padStart(8);
console.log(
  `symbol search: ${total} entries (${index.count} ` +
    `kallsyms${btf ? ` + ${total - index.count} BTF` : ''}); load ${loadMs.toFixed(0)} ms, search ` +
    `structures ${prepMs.toFixed(0)} ms; ${N} queries, cap ${CAP}`,
);
console.log(`${'engine'.padEnd(44)}${'p50 ms'.padStart(8)}${'p95 ms'.padStart(8)}${'max ms'.padStart(8)}  found  p95 by kind`);
const row = (name, r) =>
  console.log(
    `${name.padEnd(44)}${f(r.p50)}${f(r.p95)}${f(r.max)}  ${String(r.found).padStart(5)}  ${Object.entries(r.byKind)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
  );
row('ksym core/search (in process)', ours);
row('BASELINE: linear String.includes + sort', base);
row(`fuzzysort v3 go(limit ${CAP}), prepared once (${fz.prepareMs.toFixed(0)} ms)`, fuzzy);
console.log(
  `exact queries ranked first: ${exactFirst}/${exactN}; p95 target 20 ms: ` +
    `${ours.p95 < 20 ? 'met' : 'MISSED'}; ratio p95 baseline/ksym ${(base.p95 / ours.p95).toFixed(1)}x, ` +
    `fuzzysort/ksym ${(fuzzy.p95 / ours.p95).toFixed(1)}x`,
);

// ---- over stdio, when the server is wired ----------------------------------------------------
const SERVER = join(ROOT, 'dist/server.js');
if (existsSync(SERVER)) {
  const { startServer } = await import(pathToFileURL(join(ROOT, 'bench/lsp.mjs')).href);
  const s = await startServer(SERVER, {});
  try {
    const { status } = await s.ready;
    if (status.state !== 'ready') console.log(`workspace/symbol over stdio: server state ${status.state} (skipped)`);
    else
      row(
        'workspace/symbol over stdio (dist/server.js)',
        await measureAsync((q) => s.conn.sendRequest('workspace/symbol', { query: q }), queries),
      );
  } finally {
    await s.close();
  }
} else {
  console.log('workspace/symbol over stdio: dist/server.js not built (skipped)');
}
