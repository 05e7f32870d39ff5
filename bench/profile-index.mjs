// CPU profile of buildIndex: where the index build spends its time.
//
//   node bench/profile-index.mjs [KALLSYMS_FILE] [REPEATS]     (default /proc/kallsyms, 20)
//
// Re-runs itself under `node --cpu-prof`, builds the index REPEATS times, then prints the
// functions with the most self time (the .cpuprofile is kept under .cache/bench/).
// Needs the bundle that `npm run bench` writes (.cache/bench/core.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.cache/bench');
const file = process.argv[2] ?? '/proc/kallsyms';
const repeats = Number(process.argv[3] ?? 20);

if (process.env.KSYM_BENCH_PROFILE_CHILD) {
  const { buildIndex } = await import(pathToFileURL(join(CACHE, 'core.mjs')).href);
  const bytes = readFileSync(file);
  let n = 0;
  for (let i = 0; i < repeats; i++) n += buildIndex([{ file, bytes, kind: 'kallsyms' }]).count;
  console.log(`built ${repeats} x ${n / repeats} symbols`);
} else {
  if (!existsSync(join(CACHE, 'core.mjs'))) {
    console.error('bench: .cache/bench/core.mjs is missing: run npm run bench once first');
    process.exit(2);
  }
  const dir = join(CACHE, 'profiles');
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, fileURLToPath(import.meta.url), file, String(repeats)], {
    env: { ...process.env, KSYM_BENCH_PROFILE_CHILD: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const prof = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= t0 - 1000)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  const p = JSON.parse(readFileSync(prof, 'utf8'));
  // Self time per node = samples hitting it x sampling interval.
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const self = new Map();
  let total = 0;
  for (const node of p.nodes) {
    const t = dt.get(node.id) ?? 0;
    total += t;
    const cf = node.callFrame;
    const where = cf.url ? `${cf.url.replace(/^.*\//, '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + t);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`profile: ${prof}`);
  console.log('self ms   self %  function');
  for (const [k, t] of top) console.log(`${(t / 1000).toFixed(1).padStart(7)}  ${((100 * t) / total).toFixed(1).padStart(6)}%  ${k}`);
}
