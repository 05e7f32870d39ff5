// `node bench/dwarf.mjs [--quick] [--json FILE]`: the DWARF reader against llvm-symbolizer and
// addr2line, measured in the same run on the same addresses (issue 15 §5):
//   1. 5,000 vmlinux addresses in one process: ksym time and peak RSS vs llvm-symbolizer;
//   2. 1,000 xfs.ko .text addresses in one process: ksym time vs addr2line -j .text;
//   3. a warm reader (opened, some units read): first line of a never-read unit, later frames
//      of the same unit.
// Each process is timed whole (spawn to exit) by /usr/bin/time (elapsed, max RSS); figures are
// medians of several runs. Needs `npm run fetch-data` (.cache/kernel-data). Prints one row per
// target: value, baseline, ratio, target, met/missed. Exit code 0 (figures are information).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 3;
const DATA = process.env.KSYM_KERNEL_DATA ?? join(ROOT, '.cache/kernel-data');

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const hasCmd = (c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0;

/** Run a command under /usr/bin/time: { ms, rssMB, stdout }. */
function timed(cmd, args, input) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-500)}`);
  const m = /([\d.]+) (\d+)\s*$/.exec(r.stderr);
  return { ms: Number(m[1]) * 1000, rssMB: Number(m[2]) / 1024, stdout: r.stdout };
}

/** The bench's rows, printed as a table and returned (bench/run.mjs uses them). */
export async function runDwarfBench({ quick = QUICK, log = console.error } = {}) {
  const runs = quick ? 1 : RUNS;
  const rows = [];
  const row = (figure, value, unit, baseline, baselineWhat, target, ok) =>
    rows.push({ figure, value, unit, baseline, baselineWhat, ratio: baseline ? value / baseline : undefined, target, ok });
  let abi;
  try {
    abi = readFileSync(join(DATA, 'current'), 'utf8').trim();
  } catch {
    /* absent */
  }
  const dir = abi ? join(DATA, abi) : '';
  const vmlinux = join(dir, `vmlinux-${abi}`);
  if (!abi || !existsSync(vmlinux)) {
    log(`dwarf bench skipped: no kernel data in ${DATA} (npm run fetch-data)`);
    return rows;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ksym-dwarf-bench-'));
  try {
    const reader = join(tmp, 'reader.cjs');
    await build({
      entryPoints: [join(ROOT, 'server/src/core/dwarf/readFile.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: reader,
      logLevel: 'warning',
    });
    // The ksym side: one process, addresses from a file, every lookup's frames counted (so none is skipped).
    const driver = join(tmp, 'driver.cjs');
    writeFileSync(
      driver,
      `
const { readDwarfFile } = require(${JSON.stringify(reader)});
const [file, list, mode] = process.argv.slice(2);
const r = readDwarfFile(file);
const lines = require('node:fs').readFileSync(list, 'utf8').trim().split('\\n');
let frames = 0;
const t0 = performance.now();
if (mode === 'sections') {
  for (const l of lines) { const [s, o] = l.split(' '); const k = r.lookupInSection(s, parseInt(o, 16)); if (k.kind === 'found') frames += k.frames.length; }
} else if (mode === 'warm') {
  // warm reader: the first half of the units touched; then per never-read unit, its first lookup and the rest
  const addrs = lines.map((x) => BigInt(x));
  const firsts = [], laters = [];
  const seen = new Set();
  for (const a of addrs.slice(0, 200)) { r.lookup(a); seen.add(r.unitFor(Number(BigInt.asIntN(64, a)))); }
  for (const a of addrs.slice(200)) {
    const u = r.unitFor(Number(BigInt.asIntN(64, a)));
    const t = performance.now();
    r.lookup(a);
    const ms = performance.now() - t;
    if (seen.has(u)) laters.push(ms); else { firsts.push(ms); seen.add(u); }
  }
  const med = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const p90 = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length * 0.9)];
  process.stdout.write(JSON.stringify({ first: med(firsts), firstP90: p90(firsts), later: med(laters), laterP90: p90(laters), nFirst: firsts.length, nLater: laters.length }));
  process.exit(0);
} else {
  for (const l of lines) { const k = r.lookup(BigInt(l)); if (k.kind === 'found') frames += k.frames.length; }
}
process.stdout.write(JSON.stringify({ frames, ms: performance.now() - t0, units: r.unitsDecoded }));
`,
    );
    // 1. vmlinux: 5,000 random text addresses (System.map _stext.._etext)
    const map = readFileSync(join(dir, `System.map-${abi}`), 'latin1');
    const stext = BigInt('0x' + /^([0-9a-f]+) T _stext$/m.exec(map)[1]);
    const etext = BigInt('0x' + /^([0-9a-f]+) T _etext$/m.exec(map)[1]);
    const r = rng(5000);
    const span = Number(etext - stext);
    const addrs = Array.from({ length: 5000 }, () => '0x' + (stext + BigInt(Math.floor(r() * span))).toString(16));
    const list = join(tmp, 'vmlinux.txt');
    writeFileSync(list, addrs.join('\n') + '\n');
    if (hasCmd('llvm-symbolizer')) {
      log('dwarf bench: 5,000 vmlinux addresses, ksym vs llvm-symbolizer');
      const k = [],
        l = [];
      for (let i = 0; i < runs; i++) {
        k.push(timed(process.execPath, [driver, vmlinux, list]));
        l.push(timed('llvm-symbolizer', ['--inlining', '--output-style=JSON', `--obj=${vmlinux}`], addrs.join('\n') + '\n'));
      }
      const km = median(k.map((x) => x.ms)),
        lm = median(l.map((x) => x.ms));
      const kr = median(k.map((x) => x.rssMB)),
        lr = median(l.map((x) => x.rssMB));
      row('vmlinux, 5,000 addresses in one process: time', km, 'ms', lm, 'llvm-symbolizer --inlining', '≤ 0.5x', km <= 0.5 * lm);
      row('vmlinux, 5,000 addresses in one process: peak RSS', kr, 'MB', lr, 'llvm-symbolizer --inlining', '≤ 0.5x', kr <= 0.5 * lr);
      const inner = JSON.parse(k[0].stdout);
      log(`  ksym: ${inner.units} units decoded, ${inner.frames} frames, lookups ${inner.ms.toFixed(0)} ms inside the process`);
    } else log('dwarf bench: llvm-symbolizer missing, vmlinux rows skipped');

    // 2. xfs.ko: 1,000 .text offsets
    const xfs = join(dir, 'modules', 'xfs.ko');
    if (existsSync(xfs) && hasCmd('addr2line') && hasCmd('readelf')) {
      const sh = spawnSync('readelf', ['-SW', xfs], { encoding: 'utf8' }).stdout;
      const size = parseInt(/\]\s+\.text\s+PROGBITS\s+\S+\s+\S+\s+([0-9a-f]+)/.exec(sh)[1], 16);
      const r2 = rng(1000);
      const offs = Array.from({ length: 1000 }, () => Math.floor(r2() * size).toString(16));
      const l2 = join(tmp, 'xfs.txt');
      writeFileSync(l2, offs.map((o) => `.text ${o}`).join('\n') + '\n');
      log('dwarf bench: 1,000 xfs.ko .text addresses, ksym vs addr2line -j .text');
      const k = [],
        a = [];
      for (let i = 0; i < runs; i++) {
        k.push(timed(process.execPath, [driver, xfs, l2, 'sections']));
        a.push(timed('addr2line', ['-f', '-i', '-j', '.text', '-e', xfs], offs.map((o) => '0x' + o).join('\n') + '\n'));
      }
      const km = median(k.map((x) => x.ms)),
        am = median(a.map((x) => x.ms));
      row('xfs.ko, 1,000 .text addresses in one process: time', km, 'ms', am, 'addr2line -f -i -j .text', '≤ 0.5x', km <= 0.5 * am);
    } else log('dwarf bench: xfs.ko or addr2line missing, module row skipped');

    // 3. warm reader: first line of a never-read unit, later frames of the same unit
    {
      const r3 = rng(31);
      const wa = Array.from({ length: 1200 }, () => '0x' + (stext + BigInt(Math.floor(r3() * span))).toString(16));
      const l3 = join(tmp, 'warm.txt');
      writeFileSync(l3, wa.join('\n') + '\n');
      const res = [];
      for (let i = 0; i < runs; i++) res.push(JSON.parse(timed(process.execPath, [driver, vmlinux, l3, 'warm']).stdout));
      const first = median(res.map((x) => x.first)),
        later = median(res.map((x) => x.later));
      row(
        `warm reader: first line in a never-read unit (median of ${res[0].nFirst}; p90 ${median(res.map((x) => x.firstP90)).toFixed(1)} ms)`,
        first,
        'ms',
        undefined,
        '',
        '< 30 ms',
        first < 30,
      );
      row(
        `warm reader: later frames of the same unit (median of ${res[0].nLater}; p90 ${median(res.map((x) => x.laterP90)).toFixed(2)} ms)`,
        later,
        'ms',
        undefined,
        '',
        '< 2 ms',
        later < 2,
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}

function print(rows) {
  const fmt = (v) => (v === undefined ? '' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
  console.log('figure | ksym | baseline | ratio | target | met?');
  for (const x of rows)
    console.log(
      `${x.figure} | ${fmt(x.value)} ${x.unit} | ${x.baseline === undefined ? '—' : `${fmt(x.baseline)} ${x.unit} (${x.baselineWhat})`} | ${x.ratio === undefined ? '—' : x.ratio.toFixed(2) + 'x'} | ${x.target} | ${x.ok ? 'met' : 'missed'}`,
    );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await runDwarfBench();
  print(rows);
  const j = process.argv.indexOf('--json');
  if (j > 0) writeFileSync(process.argv[j + 1], JSON.stringify(rows, null, 2));
}
