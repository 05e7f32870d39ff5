// `npm start`: build a demo kernel log from the running kernel's own stack traces
// (/proc/<pid>/stack, printed by the kernel with %pB) and decode it with `ksym decode`.
// Falls back to a corpus log and System.map when this machine's data is not readable.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const out = join(root, '.cache/demo');
mkdirSync(out, { recursive: true });

function liveKallsymsReadable() {
  try {
    const head = readFileSync('/proc/kallsyms', 'latin1').slice(0, 17);
    return /^[0-9a-f]{16} /.test(head) && !/^0{16}/.test(head);
  } catch {
    return false;
  }
}

function stacks() {
  const result = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const frames = [...readFileSync(`/proc/${pid}/stack`, 'latin1').matchAll(/^\[<[0-9a-f]+>\] (\S+)$/gm)].map((m) => m[1]);
      const comm = readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
      if (frames.length >= 3) result.push({ pid, comm, frames });
    } catch {
      /* gone or not permitted */
    }
  }
  return result;
}

let args;
const found = liveKallsymsReadable() ? stacks() : [];
if (found.length > 0) {
  // Pick a few distinct stacks and give every frame its real address (the return address).
  const seen = new Set();
  const chosen = found.filter((s) => {
    const k = s.frames.join('|');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }).slice(0, 4);
  const queries = [...new Set(chosen.flatMap((s) => s.frames))];
  const resolved = JSON.parse(execFileSync(process.execPath, [cli, 'lookup', '--json', ...queries], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).toString() || '[]');
  const addr = new Map(resolved.filter((e) => e.address).map((e) => [e.query, e.address]));
  const release = readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim();
  const lines = [`[    0.000000] Linux version ${release} (ksym demo: stack traces of the running kernel, from /proc/<pid>/stack)`];
  let t = 100;
  for (const s of chosen) {
    const ts = () => `[${(t++).toFixed(6).padStart(12)}]`;
    lines.push(`${ts()} task:${s.comm} state:S pid:${s.pid}`);
    lines.push(`${ts()} Call Trace:`);
    lines.push(`${ts()}  <TASK>`);
    for (const f of s.frames) {
      const a = addr.get(f);
      lines.push(a ? `${ts()}  [<${a}>] ${f}` : `${ts()}  ${f}`);
    }
    lines.push(`${ts()}  </TASK>`);
  }
  const log = join(out, 'demo.oops');
  writeFileSync(log, lines.join('\n') + '\n');
  console.log(`Demo log from this kernel (${release}): ${log}\n`);
  args = ['decode', log];
} else {
  const map = resolve(root, '../shared/corpus/debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64');
  const log = resolve(root, '../shared/corpus/oops/03-x86_64-4.4-oldfmt-gpf-qmark-rip-brackets.txt');
  if (!existsSync(map) || !existsSync(log)) {
    console.error('ksym demo: /proc/kallsyms is not readable with real addresses (run as root, or lower kernel.kptr_restrict),');
    console.error('and the shared corpus is not next to this checkout. Try: node dist/cli.js decode --kallsyms System.map YOUR.log');
    process.exit(1);
  }
  console.log('This kernel\'s symbols are not readable (run as root or lower kernel.kptr_restrict); decoding a corpus log against the corpus System.map instead.\n');
  args = ['decode', '--kallsyms', map, log];
}

console.log(`$ ksym ${args.map((a) => a.replace(root + '/', '')).join(' ')}\n`);
const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
console.log('\nTry: node dist/cli.js lookup do_syscall_64+0x71/0x280 · node dist/cli.js stats · node dist/cli.js --help');
process.exit(r.status ?? 1);
