#!/usr/bin/env node
// Fetch real kernel debug data from Debian's archive into .cache/kernel-data/:
// the vmlinux with DWARF, its System.map and a handful of modules (.ko with DWARF)
// of the version that `linux-image-amd64-dbg` depends on today (never a pinned ABI).
//
//   npm run fetch-data            # fetch (idempotent: skips what is present)
//   npm run fetch-data -- --force # re-extract
//
// Layout produced:
//   .cache/kernel-data/<ABI>/vmlinux-<ABI>
//   .cache/kernel-data/<ABI>/System.map-<ABI>
//   .cache/kernel-data/<ABI>/modules/<name>.ko
//   .cache/kernel-data/<ABI>/modules-stripped/<name>.ko   (from the unsigned image, when fetched)
//   .cache/kernel-data/current            (a text file naming the ABI)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, '.cache', 'kernel-data');
const force = process.argv.includes('--force');

/** Modules extracted (path under kernel/ without the .ko): big, medium and small ones. */
const MODULES = [
  'fs/xfs/xfs',
  'drivers/block/drbd/drbd',
  'fs/f2fs/f2fs',
  'drivers/block/loop',
  'fs/fat/vfat',
  'net/ipv4/tcp_bbr',
  'drivers/char/hw_random/virtio-rng',
];

function die(msg) {
  console.error(`fetch-kernel-data: ${msg}`);
  process.exit(1);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) die(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout ?? '';
}

for (const c of ['apt-cache', 'apt-get', 'dpkg-deb', 'tar']) {
  if (!have(c)) die(`${c} is not available: this script needs a Debian-like system with apt (the data comes from Debian's archive).`);
}

function dependsOf(pkg) {
  const r = spawnSync('apt-cache', ['depends', pkg], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const m = /Depends:\s*(linux-image-\S+-dbg)/.exec(r.stdout);
  return m?.[1];
}

let dbgPkg = dependsOf('linux-image-amd64-dbg');
if (!dbgPkg) {
  console.log('fetch-kernel-data: apt-cache knows no linux-image-amd64-dbg; running apt-get update');
  run('apt-get', ['update', '-qq']);
  dbgPkg = dependsOf('linux-image-amd64-dbg');
}
if (!dbgPkg)
  die('apt-cache depends linux-image-amd64-dbg gives no linux-image-*-dbg dependency (is the Debian archive configured and reachable?)');
const abi = dbgPkg.replace(/^linux-image-/, '').replace(/-dbg$/, '');
console.log(`fetch-kernel-data: linux-image-amd64-dbg depends on ${dbgPkg} today (ABI ${abi})`);

const outDir = join(cacheDir, abi);
const debDir = join(cacheDir, 'debs');
mkdirSync(outDir, { recursive: true });
mkdirSync(debDir, { recursive: true });
mkdirSync(join(outDir, 'modules'), { recursive: true });

function findDeb(prefix) {
  return readdirSync(debDir).find((f) => f.startsWith(prefix + '_') && f.endsWith('.deb'));
}

function download(pkg) {
  let deb = findDeb(pkg);
  if (deb && !force) {
    console.log(`fetch-kernel-data: ${deb} already downloaded`);
    return join(debDir, deb);
  }
  console.log(`fetch-kernel-data: apt-get download ${pkg}`);
  const t = Date.now();
  run('apt-get', ['download', '-q', pkg], { cwd: debDir, stdio: ['ignore', 'pipe', 'pipe'] });
  deb = findDeb(pkg);
  if (!deb) die(`apt-get download ${pkg} produced no .deb in ${debDir}`);
  console.log(
    `fetch-kernel-data: downloaded ${deb} (${(statSync(join(debDir, deb)).size / 1e6).toFixed(0)} MB, ${((Date.now() - t) / 1000).toFixed(1)} s)`,
  );
  return join(debDir, deb);
}

/** Extract members (paths as listed by dpkg-deb, "./usr/...") into a temp dir, then move them to their targets. */
function extract(deb, pairs) {
  const todo = pairs.filter(([, dest]) => force || !existsSync(dest));
  for (const [, dest] of pairs.filter((p) => !todo.includes(p)))
    console.log(`fetch-kernel-data: ${dest.slice(root.length + 1)} present, skipped`);
  if (!todo.length) return;
  const tmp = join(cacheDir, `.extract-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const t = Date.now();
  console.log(`fetch-kernel-data: extracting ${todo.length} member(s) from ${deb.slice(root.length + 1)}`);
  const r = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" "$@"', deb, tmp, ...todo.map(([m]) => m)], {
    encoding: 'utf8',
  });
  for (const [member, dest] of todo) {
    const src = join(tmp, member);
    if (!existsSync(src)) {
      rmSync(tmp, { recursive: true, force: true });
      die(`member ${member} not found in ${deb} (${(r.stderr || '').trim()})`);
    }
    mkdirSync(dirname(dest), { recursive: true });
    renameSync(src, dest);
    console.log(`fetch-kernel-data: wrote ${dest.slice(root.length + 1)} (${(statSync(dest).size / 1e6).toFixed(1)} MB)`);
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(`fetch-kernel-data: extraction took ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

const dbgDeb = download(dbgPkg);
const modBase = `./usr/lib/debug/lib/modules/${abi}/kernel/`;
extract(dbgDeb, [
  [`./usr/lib/debug/boot/vmlinux-${abi}`, join(outDir, `vmlinux-${abi}`)],
  [`./usr/lib/debug/boot/System.map-${abi}`, join(outDir, `System.map-${abi}`)],
  ...MODULES.map((m) => [`${modBase}${m}.ko`, join(outDir, 'modules', `${m.split('/').pop()}.ko`)]),
]);

// The unsigned image package carries the stripped modules (same build ids as the -dbg ones).
// (Its System.map is a stub pointing at the -dbg package.)
const imgPkg = `linux-image-${abi}-unsigned`;
const imgOk = spawnSync('apt-cache', ['show', imgPkg], { stdio: 'ignore' }).status === 0;
if (imgOk) {
  const imgDeb = download(imgPkg);
  const listing = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -t', imgDeb], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }).split('\n');
  const pairs = [];
  for (const m of MODULES) {
    const hit = listing.find((l) => l.startsWith(`./lib/modules/${abi}/kernel/${m}.ko`));
    if (hit) pairs.push([hit, join(outDir, 'modules-stripped', hit.split('/').pop())]);
  }
  extract(imgDeb, pairs);
} else {
  console.log(`fetch-kernel-data: ${imgPkg} unknown to apt; stripped modules not fetched`);
}

// The vmlinux BTF, as the kernel exposes it in /sys/kernel/btf/vmlinux: the raw .BTF section
// of the -dbg vmlinux (the BTF tests use it where the corpus's 6.1.0-56 BTF is absent).
const btfOut = join(outDir, `vmlinux-${abi}.btf`);
if (force || !existsSync(btfOut)) {
  if (have('objcopy')) {
    run('objcopy', ['--dump-section', `.BTF=${btfOut}`, join(outDir, `vmlinux-${abi}`), '/dev/null']);
    console.log(
      `fetch-kernel-data: wrote ${btfOut.slice(root.length + 1)} (${(statSync(btfOut).size / 1e6).toFixed(1)} MB, objcopy --dump-section .BTF)`,
    );
  } else console.log('fetch-kernel-data: objcopy (binutils) is not installed: the vmlinux BTF was not extracted');
}

writeFileSync(join(cacheDir, 'current'), abi + '\n');
console.log(`fetch-kernel-data: done: ${outDir.slice(root.length + 1)} (ABI ${abi}); tests find it through test/helpers/kernelData.ts`);
