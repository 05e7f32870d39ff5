// `node bench/decode.mjs [--quick]`: decoding a 1,000-frame log from another kernel (issue 16 §5):
// the Debian 6.1 -dbg vmlinux, System.map and modules of .cache/kernel-data (npm run fetch-data),
// not the running kernel's. The log is built here from that data, never committed: 50 oopses of
// 20 frames each (`[<addr>] name+0xoff/0xsize` with a `CPU: … <release> #1 <build>` header),
// return addresses of real call sites found with objdump (the instruction after a `call`) in
// vmlinux and in xfs.ko (`[xfs]` frames, the module placed at a made-up load address), drawn
// from a pool as real logs repeat the same paths. Timed whole, spawn to answer, on the same log
// with the same debug files:
//   - ksym CLI: `node dist/cli.js decode --kernel DIR --vmlinux F --module DIR --json LOG`;
//   - ksym server: dist/server.js over stdio, the log opened, `ksym/decodeLog` answered (the
//     request resolves every frame's source line before it answers: the answer is complete);
//   - peer: the kernel's own scripts/decode_stacktrace.sh of Debian's linux-source-6.1, run from
//     .cache/peer (GPL kernel code: downloaded there, never part of this tree).
// Prints the three medians, the ratios ksym/peer and how many frames each gave a file:line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from './lsp.mjs';
import { median, rng } from './util.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.KSYM_KERNEL_DATA ?? join(ROOT, '.cache/kernel-data');
const PEER_DIR = join(ROOT, '.cache/peer');
const CLI = join(ROOT, 'dist/cli.js');
const SERVER = join(ROOT, 'dist/server.js');
const TRACES = 50;
const DEPTH = 20; // TRACES * DEPTH = 1,000 frames
const POOL_VMLINUX = 60;
const POOL_XFS = 15;

const hex = (n) => n.toString(16);

/** decode_stacktrace.sh under .cache/peer (see the header for how it gets there), or undefined. */
export function findPeer() {
  if (!existsSync(PEER_DIR)) return undefined;
  for (const d of readdirSync(PEER_DIR)) {
    const f = join(PEER_DIR, d, 'scripts/decode_stacktrace.sh');
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** The kernel data: { abi, dir, vmlinux, systemMap, modules, xfs }, or a reason string. */
export function findData() {
  let abi;
  try {
    abi = readFileSync(join(DATA, 'current'), 'utf8').trim();
  } catch {
    return `no kernel data in ${DATA} (npm run fetch-data)`;
  }
  const dir = join(DATA, abi);
  const d = { abi, dir, vmlinux: join(dir, `vmlinux-${abi}`), systemMap: join(dir, `System.map-${abi}`), modules: join(dir, 'modules') };
  d.xfs = join(d.modules, 'xfs.ko');
  for (const f of [d.vmlinux, d.systemMap, d.xfs]) if (!existsSync(f)) return `${f} absent (npm run fetch-data)`;
  return d;
}

/** Return addresses after `call` instructions in [start, stop) of an ELF file (objdump -d). */
function callSites(file, args) {
  const r = spawnSync('objdump', ['-d', '--no-show-raw-insn', ...args, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`objdump ${file}: ${r.stderr.slice(-300)}`);
  const ins = [];
  for (const l of r.stdout.split('\n')) {
    const m = /^\s*([0-9a-f]+):\s+(\S+)/.exec(l);
    if (m) ins.push({ at: BigInt('0x' + m[1]), op: m[2] });
  }
  const out = [];
  for (let i = 0; i + 1 < ins.length; i++) if (ins[i].op.startsWith('call')) out.push(ins[i + 1].at);
  return out;
}

/** Sorted text symbols of a System.map, sized as kallsyms sizes them (to the next address). */
function mapSymbols(map) {
  const syms = [];
  for (const l of map.split('\n')) {
    const m = /^([0-9a-f]{16}) ([tTwW]) (\S+)$/.exec(l);
    if (m) syms.push({ addr: BigInt('0x' + m[1]), name: m[3] });
  }
  syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  return syms;
}
function containing(syms, a) {
  let lo = 0,
    hi = syms.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (syms[mid].addr <= a) lo = mid;
    else hi = mid - 1;
  }
  let k = lo;
  while (k + 1 < syms.length && syms[k + 1].addr === syms[k].addr) k++;
  let next = k + 1;
  while (next < syms.length && syms[next].addr === syms[k].addr) next++;
  if (syms[lo].addr > a || next >= syms.length) return undefined;
  return { name: syms[lo].name, addr: syms[lo].addr, size: syms[next].addr - syms[lo].addr };
}

/**
 * The 1,000-frame log of the data's kernel (see the header). `distinct`: every frame a different
 * call site, spread over the whole text (the worst case for the server's memory: as many units
 * read as the frames reach), instead of frames drawn from a small pool as real logs repeat them.
 */
export function buildLog(d, { distinct = false } = {}) {
  const r = rng(distinct ? 17 : 16);
  const windows = distinct ? 160 : 8,
    windowSize = distinct ? 0x2000n : 0x10000n;
  const poolVmlinux = distinct ? DEPTH * TRACES : POOL_VMLINUX,
    poolXfs = distinct ? (TRACES / 2) * 6 : POOL_XFS;
  const banner = /Linux version (\S+) .*?#\S* \S+ ?\S* (Debian \S+)/.exec(
    spawnSync('grep', ['-a', '-o', '-m1', `Linux version ${d.abi} [^%]*`, d.vmlinux], { encoding: 'latin1' }).stdout,
  );
  const build = banner ? banner[2] : 'Debian';
  const syms = mapSymbols(readFileSync(d.systemMap, 'latin1'));
  const at = (n) => syms.find((s) => s.name === n).addr;
  const stext = at('_stext'),
    etext = at('_etext');
  // vmlinux call sites: a few 64 KiB windows of .text, disassembled, then a pool of frames.
  const sites = [];
  for (let w = 0; w < windows; w++) {
    const start = stext + BigInt(Math.floor(r() * Number(etext - stext - windowSize)));
    for (const ret of callSites(d.vmlinux, [`--start-address=0x${hex(start)}`, `--stop-address=0x${hex(start + windowSize)}`])) {
      const s = containing(syms, ret);
      if (s && ret > s.addr && ret - s.addr < s.size && !s.name.startsWith('__pfx_')) sites.push({ ret, s });
    }
  }
  const pool = [];
  while (pool.length < poolVmlinux && sites.length) pool.push(sites.splice(Math.floor(r() * sites.length), 1)[0]);
  // xfs.ko call sites in .text, its FUNC symbols (readelf) for name and size.
  const secs = spawnSync('readelf', ['-SW', d.xfs], { encoding: 'utf8' }).stdout;
  const textIdx = /\[\s*(\d+)\]\s+\.text\s/.exec(secs)[1];
  const fsyms = [];
  for (const l of spawnSync('readelf', ['-sW', d.xfs], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout.split('\n')) {
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+FUNC\s+\S+\s+\S+\s+(\d+)\s+(\S+)/.exec(l);
    if (m && m[3] === textIdx && Number(m[2]) > 0) fsyms.push({ addr: BigInt('0x' + m[1]), size: BigInt(m[2]), name: m[4] });
  }
  // The size the kernel prints is kallsyms' (to the next symbol), not st_size.
  fsyms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  for (let i = 0; i + 1 < fsyms.length; i++) if (fsyms[i + 1].addr > fsyms[i].addr) fsyms[i].size = fsyms[i + 1].addr - fsyms[i].addr;
  const xsites = [];
  for (const ret of callSites(d.xfs, ['-j', '.text'])) {
    const s = fsyms.find((f) => ret > f.addr && ret < f.addr + f.size);
    if (s) xsites.push({ ret, s });
  }
  const xpool = [];
  while (xpool.length < poolXfs && xsites.length) xpool.push(xsites.splice(Math.floor(r() * xsites.length), 1)[0]);
  const xbase = 0xffffffffc0a00000n; // xfs .text load address in this made-up boot
  const lines = [`[    0.000000] Linux version ${d.abi} (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC ${build}`];
  let t = 100,
    vi = 0,
    xi = 0;
  for (let k = 0; k < TRACES; k++) {
    const ts = () => `[${(t++ + 0.123456).toFixed(6).padStart(12)}]`;
    lines.push(`${ts()} BUG: kernel NULL pointer dereference, address: 0000000000000008`);
    lines.push(`${ts()} CPU: ${k % 4} PID: ${1000 + k} Comm: bench${k} Not tainted ${d.abi} #1 ${build}`);
    lines.push(`${ts()} Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014`);
    lines.push(`${ts()} Call Trace:`);
    lines.push(`${ts()}  <TASK>`);
    const nx = k % 2 === 0 ? 6 : 0; // every other trace starts in xfs
    for (let i = 0; i < DEPTH; i++) {
      if (i < nx) {
        const f = distinct ? xpool[xi++ % xpool.length] : xpool[Math.floor(r() * xpool.length)];
        lines.push(`${ts()}  [<${hex(xbase + f.ret)}>] ${f.s.name}+0x${hex(f.ret - f.s.addr)}/0x${hex(f.s.size)} [xfs]`);
      } else {
        const f = distinct ? pool[vi++ % pool.length] : pool[Math.floor(r() * pool.length)];
        lines.push(`${ts()}  [<${hex(f.ret)}>] ${f.s.name}+0x${hex(f.ret - f.s.addr)}/0x${hex(f.s.size)}`);
      }
    }
    lines.push(`${ts()}  </TASK>`);
  }
  return { text: lines.join('\n') + '\n', frames: TRACES * DEPTH, xfsFrames: (TRACES / 2) * 6 };
}

/** Wall time and CPU time (user + system, with the children it waited for: /usr/bin/time) of a process. */
function timedSpawn(cmd, args, opts = {}) {
  const cpuFile = join(mkdtempSync(join(tmpdir(), 'ksym-decode-cpu-')), 'cpu');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  const [u, sy] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  rmSync(dirname(cpuFile), { recursive: true, force: true });
  return { ms, cpu: (u + sy) * 1000, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** CPU time (user + system) a live process has used so far, from /proc/PID/stat. */
function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const tck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  return ((Number(x[11]) + Number(x[12])) * 1000) / tck; // fields 14, 15: utime, stime
}

/** Resident set size now and its peak (VmRSS, VmHWM of /proc/PID/status), in MB. */
function memOf(pid) {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? NaN);
  return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
}

function ksymCli(d, log) {
  const r = timedSpawn(process.execPath, [CLI, 'decode', '--kernel', d.dir, '--vmlinux', d.vmlinux, '--module', d.modules, '--json', log]);
  const j = JSON.parse(r.stdout);
  const frames = j.tokens.filter((t) => t.kind === 'frame');
  return {
    ms: r.ms,
    cpu: r.cpu,
    lines: frames.filter((t) => Array.isArray(t.source) && t.source.length > 0).length,
    frames: frames.length,
    kernel: j.kernel,
  };
}

async function ksymServer(d, text) {
  const t0 = performance.now();
  const s = await startServer(SERVER, {
    kallsyms: [],
    systemMap: [d.systemMap],
    modules: [d.modules],
    btf: '',
    vmlinux: d.vmlinux,
    kernels: [],
  });
  try {
    await s.ready;
    const uri = pathToFileURL(join(tmpdir(), 'ksym-bench-decode.log')).href;
    await s.open(uri, 'kernel-log', text);
    const r = await s.conn.sendRequest('ksym/decodeLog', { uri });
    const ms = performance.now() - t0;
    const cpu = cpuOf(s.proc.pid);
    const mem = memOf(s.proc.pid);
    const m = /^(\d+) of (\d+) frames with a source line/m.exec(r?.content ?? '');
    return { ms, cpu, ...mem, lines: m ? Number(m[1]) : 0, frames: m ? Number(m[2]) : 0 };
  } finally {
    await s.close();
  }
}

function peer(script, d, text) {
  // BASEPATH: the build's source prefix, stripped from addr2line's paths (the script's own 'auto').
  const r = timedSpawn('bash', [script, d.vmlinux, 'auto', d.modules], { input: text });
  if (r.status !== 0) throw new Error(`decode_stacktrace.sh: ${r.stderr.slice(-300)}`);
  // A resolved frame becomes `name (file:line[ file:line…]) [mod]`; an unresolved one keeps its +0xoff/0xsize.
  const out = r.stdout.split('\n');
  const lines = out.filter((l) => /\] \S+ \([^)]*:\d+/.test(l)).length;
  return { ms: r.ms, cpu: r.cpu, lines, frames: lines + out.filter((l) => /\+0x[0-9a-f]+\/0x[0-9a-f]+/.test(l)).length };
}

/** { res: { frames, kernel, cli, server, peer: { ms, cpu, lines, frames } } } (medians; bench/run.mjs), or { skipped: reason }. */
export async function runDecodeBench({ quick = process.argv.includes('--quick'), log = console.error } = {}) {
  const d = findData();
  if (typeof d === 'string') return { skipped: d };
  const script = findPeer();
  if (!script)
    return {
      skipped: `decode_stacktrace.sh absent: apt-get download linux-source-6.1 into .cache/peer and extract its scripts/decode_stacktrace.sh there`,
    };
  if (!existsSync(CLI) || !existsSync(SERVER)) return { skipped: 'dist/ not built (npm run build)' };
  const runs = quick ? 1 : 3;
  const tmp = mkdtempSync(join(tmpdir(), 'ksym-decode-bench-'));
  try {
    const { text, frames } = buildLog(d);
    const file = join(tmp, 'oops.log');
    writeFileSync(file, text);
    log(`decode bench: ${frames} frames of ${d.abi} (${text.length} bytes), ${runs} run(s) each`);
    const c = [],
      s = [],
      p = [];
    for (let i = 0; i < runs; i++) {
      c.push(ksymCli(d, file));
      s.push(await ksymServer(d, text));
      p.push(peer(script, d, text));
      const f = (x) => `${x.ms.toFixed(0)} ms (cpu ${x.cpu.toFixed(0)})`;
      log(`  run ${i + 1}: cli ${f(c[i])}, server ${f(s[i])}, decode_stacktrace.sh ${f(p[i])}`);
    }
    // The server's memory after every frame of a log of 1,000 distinct call sites (issue 15 §5).
    const wide = buildLog(d, { distinct: true });
    const w = await ksymServer(d, wide.text);
    log(
      `  server, ${wide.frames} distinct frames: RSS ${w.rssMB.toFixed(0)} MB (peak ${w.peakMB.toFixed(0)} MB), file:line for ${w.lines}`,
    );
    const res = {
      wide: { frames: wide.frames, ...w },
      frames,
      kernel: c[0].kernel,
      cli: { ms: median(c.map((x) => x.ms)), cpu: median(c.map((x) => x.cpu)), lines: c[0].lines, frames: c[0].frames },
      server: {
        ms: median(s.map((x) => x.ms)),
        cpu: median(s.map((x) => x.cpu)),
        rssMB: median(s.map((x) => x.rssMB)),
        peakMB: median(s.map((x) => x.peakMB)),
        lines: s[0].lines,
        frames: s[0].frames,
      },
      peer: { ms: median(p.map((x) => x.ms)), cpu: median(p.map((x) => x.cpu)), lines: p[0].lines, frames: p[0].frames },
    };
    return { res };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await runDecodeBench();
  if (r.skipped) {
    console.log(`decode bench skipped: ${r.skipped}`);
  } else {
    const { res } = r;
    console.log(
      `kernel chosen by ksym: ${res.kernel?.release} ${res.kernel?.version ?? ''} (selected: ${JSON.stringify(res.kernel?.selected)})`,
    );
    for (const [k, what] of [
      ['cli', 'ksym decode (CLI)'],
      ['server', 'ksym server (ksym/decodeLog)'],
      ['peer', 'decode_stacktrace.sh'],
    ])
      console.log(
        `${what.padEnd(30)} ${res[k].ms.toFixed(0).padStart(8)} ms wall ${res[k].cpu.toFixed(0).padStart(8)} ms cpu   ` +
          `file:line for ${res[k].lines}/${res.frames} frames`,
      );
    const ratio = (a, b) => `${(a.ms / b.ms).toFixed(3)}x wall, ${(a.cpu / b.cpu).toFixed(3)}x cpu`;
    console.log(`ratio ksym-CLI/peer:    ${ratio(res.cli, res.peer)}`);
    console.log(`ratio ksym-server/peer: ${ratio(res.server, res.peer)}`);
    console.log(`server RSS after the log: ${res.server.rssMB.toFixed(0)} MB (peak ${res.server.peakMB.toFixed(0)} MB)`);
    console.log(
      `server RSS after ${res.wide.frames} distinct frames: ${res.wide.rssMB.toFixed(0)} MB (peak ${res.wide.peakMB.toFixed(0)} MB), file:line for ${res.wide.lines}`,
    );
  }
}
