// Shared by bench/run.mjs (section 6) and bench/search.mjs: the realistic query set, the
// general-purpose fuzzy matcher baseline (fuzzysort v3) and the latency measurement.
//
// Queries (seeded, deterministic for a given name list): a quarter each of
//   exact        names sampled from the index,
//   prefix       the first 3.. characters of a sampled name,
//   word-start   the first letter of each `_`-separated word (`tvr` for tcp_v4_rcv),
//   misspelling  a sampled name with one character dropped, swapped or replaced.
import fuzzysort from 'fuzzysort';

export function makeQueries(allNames, n = 1000, seed0 = 0x5eed) {
  let seed = seed0;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const plain = allNames.filter((x) => !x.startsWith('__pfx_') && /^[a-z_][a-z0-9_]{3,}$/.test(x));
  const multi = plain.filter((x) => x.split('_').filter(Boolean).length >= 3);
  const queries = [];
  for (let k = 0; k < n; k++) {
    const r = k % 4;
    const name = pick(r === 2 ? multi : plain);
    if (r === 0) queries.push({ kind: 'exact', q: name });
    else if (r === 1) queries.push({ kind: 'prefix', q: name.slice(0, 3 + Math.floor(rnd() * Math.max(1, name.length - 3))) });
    else if (r === 2)
      queries.push({
        kind: 'word-start',
        q: name
          .split('_')
          .filter(Boolean)
          .map((w) => w[0])
          .join(''),
      });
    else {
      const p = 1 + Math.floor(rnd() * (name.length - 2));
      const m = Math.floor(rnd() * 3);
      const q =
        m === 0
          ? name.slice(0, p) + name.slice(p + 1)
          : m === 1
            ? name.slice(0, p - 1) + name[p] + name[p - 1] + name.slice(p + 1)
            : name.slice(0, p) + 'x' + name.slice(p + 1);
      queries.push({ kind: 'misspelling', q });
    }
  }
  return queries;
}

/** Every name of the search sources, in source order (what ksym searches). */
export function namesOf(sources) {
  const all = [];
  for (const s of sources) for (let i = 0; i < s.count; i++) all.push(s.nameOf(i));
  return all;
}

/** fuzzysort over `names`, prepared once; returns { prepareMs, run(q) → results }. */
export function fuzzysortEngine(names, limit = 200) {
  const t = performance.now();
  const targets = names.map((n) => fuzzysort.prepare(n));
  const prepareMs = performance.now() - t;
  return { prepareMs, run: (q) => fuzzysort.go(q, targets, { limit }) };
}

export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function summarize(times, byKind, found) {
  return {
    p50: pct(times, 50),
    p95: pct(times, 95),
    max: Math.max(...times),
    found,
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, pct(v, 95)])),
  };
}

/** Latency of a synchronous engine over the queries (50 warm-up queries first). */
export function measureSync(fn, queries) {
  for (let k = 0; k < Math.min(50, queries.length); k++) fn(queries[k].q);
  const times = [];
  const byKind = {};
  let found = 0;
  for (const { kind, q } of queries) {
    const t = performance.now();
    const r = fn(q);
    const ms = performance.now() - t;
    times.push(ms);
    (byKind[kind] ??= []).push(ms);
    if (r.length) found++;
  }
  return summarize(times, byKind, found);
}

/** Latency of an async engine (a request over stdio) over the queries. */
export async function measureAsync(fn, queries) {
  for (let k = 0; k < Math.min(50, queries.length); k++) await fn(queries[k].q);
  const times = [];
  const byKind = {};
  let found = 0;
  for (const { kind, q } of queries) {
    const t = performance.now();
    const r = await fn(q);
    const ms = performance.now() - t;
    times.push(ms);
    (byKind[kind] ??= []).push(ms);
    if (r?.length) found++;
  }
  return summarize(times, byKind, found);
}
