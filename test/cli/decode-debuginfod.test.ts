/**
 * `ksym decode --debuginfod URL` against a real debuginfod 0.188 (Debian's), in a network
 * namespace of the test's own (the harness of test/unit/kernels/netns/runner.ts): the
 * modules a log names by build id (`[mod BUILDID]`) are fetched and resolved; a second run
 * works with the server stopped (the cache); a build id no server has is a 404, negative-
 * cached (no second request). Oracles: readelf -n (build id) and readelf -sW (symbol
 * values and sizes to the next symbol) of the real Debian debug module.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/corpus';
import { bannerDebianVersion, kernelData } from '../helpers/kernelData';
import { CLI } from '../helpers/lspclient';
import { readelfSymbols } from '../helpers/readelf';
import { canNetns } from '../unit/kernels/fixtures';
import { sectionBytes } from '../unit/kernels/sections';

// The fetched kernel (npm run fetch-data), whatever ABI the archive serves.
const kd = kernelData();
const LOOP = kd?.modules.get('loop') ?? '';
const MAP = kd?.systemMap ?? '';
const haveData = !!kd && LOOP !== '' && existsSync(MAP);
if (kd && !haveData) console.warn(`skipping decode --debuginfod: no loop.ko or System.map in ${kd.dir} (npm run fetch-data)`);
const ok = haveData && canNetns();

/**
 * debuginfod on 127.0.0.1:`port` serving `srv` (its database, the client cache under
 * `dir`/cache and HOME under `dir`), `argv` run twice, the server stopped, `argv` run again:
 * in a network namespace of its own (loopback up) by the runner of
 * test/unit/kernels/netns/runner.ts, bundled into `dir`. Returns its last stdout line, parsed.
 */
interface NetnsRun {
  error?: string;
  stderr?: string;
  /** The CLI runs before and after the server stopped: { status, stdout, stderr }. */
  cliBefore: unknown[];
  cliAfter: unknown[];
  /** Requests the server saw during each run before it stopped. */
  cliRequests: number[];
  stopped: boolean;
}

function runInNetns(
  dir: string,
  s: { port: number; srv: string; fixture: { path: string; buildId: string }; unknownId: string; argv: string[] },
): NetnsRun {
  const cfg = {
    port: s.port,
    db: join(dir, 'db.sqlite'),
    dirs: [s.srv],
    cache: join(dir, 'cache'),
    home: join(dir, 'home'),
    fixture: s.fixture,
    unknownId: s.unknownId,
    cli: { before: [s.argv, s.argv], after: [s.argv] },
  };
  const runner = join(dir, 'runner.cjs');
  buildSync({
    entryPoints: [join(ROOT, 'test/unit/kernels/netns/runner.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: runner,
    logLevel: 'error',
  });
  const r = spawnSync(
    'unshare',
    ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$1" "$2"', process.execPath, runner, JSON.stringify(cfg)],
    { encoding: 'utf8', timeout: 240000, maxBuffer: 64 << 20 },
  );
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as NetnsRun;
  expect(out.error, out.stderr).toBeUndefined();
  return out;
}

describe.skipIf(!ok)('ksym decode --debuginfod with a real debuginfod', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-decode-dbgd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fetches the module a log names by build id, resolves it, then works from the cache with the server stopped; 404 negative-cached', () => {
    const buildId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', LOOP], { encoding: 'utf8' }))![1];
    const syms = readelfSymbols(LOOP);
    const s = syms.find((r) => r.name === 'loop_set_status_from_info' && r.type === 'FUNC')!;
    const next = syms
      .filter((r) => r.ndx === s.ndx && r.value > s.value && r.name !== '' && r.type !== 'SECTION')
      .reduce((m, r) => Math.min(m, r.value), Infinity);
    const size = next - s.value;
    // A kernel directory with the System.map only: the module has to come from debuginfod.
    const kdir = join(dir, 'kernel');
    mkdirSync(kdir);
    symlinkSync(MAP, join(kdir, basename(MAP)));
    const unknown = '0123456789abcdef0123456789abcdef01234567';
    const log = join(dir, 'loop.oops');
    writeFileSync(
      log,
      [
        `CPU: 2 PID: 77 Comm: losetup Not tainted ${kd!.abi} #1 Debian ${bannerDebianVersion(kd!.vmlinux)}`,
        'Call Trace:',
        ` loop_set_status_from_info+0x10/0x${size.toString(16)} [loop ${buildId}]`,
        ` ghost_fn+0x1/0x2 [ghost ${unknown}]`,
      ].join('\n'),
    );
    const srv = join(dir, 'srv');
    mkdirSync(srv);
    copyFileSync(LOOP, join(srv, 'loop.ko')); // debuginfod -F does not follow symlinks
    const port = 8003;
    const argv = [CLI, 'decode', '--kernel', kdir, '--debuginfod', `http://127.0.0.1:${port}`, '--json', log];
    const out = runInNetns(dir, { port, srv, fixture: { path: LOOP, buildId }, unknownId: unknown, argv });
    type Run = { status: number; stdout: string; stderr: string };
    const check = (run: Run) => {
      expect(run.status, run.stderr).toBe(0);
      const j = JSON.parse(run.stdout) as {
        kernel: { problems: string[] };
        tokens: { name: string | null; offset: number; size: number; module: string; matchesLog: boolean; text: string }[];
      };
      const t = j.tokens.find((x) => x.text.startsWith('loop_set_status_from_info'))!;
      expect(t).toMatchObject({ name: 'loop_set_status_from_info', offset: 0x10, size, module: 'loop', matchesLog: true });
      expect(j.kernel.problems.some((p) => p.includes(`ghost ${unknown}`))).toBe(true);
      return j;
    };
    const [first, second] = out.cliBefore as Run[];
    check(first);
    const j2 = check(second);
    // 404 negative-cached: the second run asked nothing (the module is cached, the unknown id negative-cached).
    expect(out.cliRequests[0]).toBeGreaterThanOrEqual(2);
    expect(out.cliRequests[1]).toBe(0);
    expect(j2.kernel.problems.find((p) => p.includes('ghost'))).toMatch(/not found on any server \(cached answer/);
    // Server stopped: the cache answers.
    expect(out.stopped).toBe(true);
    check((out.cliAfter as Run[])[0]);
  });
});

const VML = kd?.vmlinux ?? '';
const haveVml = haveData && existsSync(VML);
if (haveData && !haveVml) console.warn(`skipping decode --debuginfod .symtab: ${VML} is absent (npm run fetch-data)`);

describe.skipIf(!(haveVml && ok))('ksym decode --debuginfod: the vmlinux symbols by build id from /section/.symtab', () => {
  // Under .cache: the served vmlinux is a hard link (debuginfod -F does not follow symlinks; a copy is 633 MB).
  const dir = mkdtempSync(join(ROOT, '.cache/ksym-decode-symtab-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a log with a vmlinux build id and no local kernel: frames resolved from .symtab + .strtab, then from the cache with the server stopped', () => {
    const buildId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', VML], { encoding: 'utf8' }))![1];
    const loopId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', LOOP], { encoding: 'utf8' }))![1];
    // Oracle: the System.map of the same kernel (address of each symbol, size to the next address).
    const map = readFileSync(MAP, 'latin1');
    const sym = (name: string) => {
      const m = new RegExp(`^([0-9a-f]{16}) [tT] ${name}\\n(?:\\1 .*\\n)*([0-9a-f]{16}) `, 'm').exec(map)!;
      return { at: BigInt('0x' + m[1]), size: Number(BigInt('0x' + m[2]) - BigInt('0x' + m[1])) };
    };
    const vr = sym('vfs_read');
    const kr = sym('ksys_read');
    expect(vr.size).toBeGreaterThan(0x20);
    expect(kr.size).toBeGreaterThan(0x6f);
    const log = join(dir, 'read.oops');
    writeFileSync(
      log,
      [
        `CPU: 0 PID: 1 Comm: cat Not tainted ${kd!.abi} #1 Debian ${bannerDebianVersion(VML)} ${buildId}`,
        `RIP: 0010:vfs_read+0x20/0x${vr.size.toString(16)}`,
        'Call Trace:',
        ' <TASK>',
        ` ksys_read+0x6f/0x${kr.size.toString(16)}`,
        ' </TASK>',
      ].join('\n'),
    );
    const srv = join(dir, 'srv');
    mkdirSync(srv);
    copyFileSync(LOOP, join(srv, 'loop.ko'));
    linkSync(VML, join(srv, basename(VML)));
    const port = 8004;
    // No --kernel: the running kernel is the only candidate, and it is not the log's.
    const argv = [CLI, 'decode', '--debuginfod', `http://127.0.0.1:${port}`, '--json', log];
    const cache = join(dir, 'cache');
    const out = runInNetns(dir, {
      port,
      srv,
      fixture: { path: LOOP, buildId: loopId },
      unknownId: '0123456789abcdef0123456789abcdef01234567',
      argv,
    });
    type Run = { status: number; stdout: string; stderr: string };
    const check = (run: Run) => {
      expect(run.status, run.stderr).toBe(0);
      const j = JSON.parse(run.stdout) as {
        kernel: { selected: string | null; buildId: string; problems: string[] };
        tokens: { text: string; address: string | null; name: string | null; offset: number; size: number; matchesLog: boolean }[];
      };
      expect(j.kernel.selected).toBe(`debuginfod:${buildId}/section/.symtab`);
      expect(j.kernel.problems.join('\n')).not.toMatch(/this log is from/);
      const rip = j.tokens.find((t) => t.text.startsWith('vfs_read'))!;
      expect(rip).toMatchObject({ name: 'vfs_read', offset: 0x20, size: vr.size, matchesLog: true });
      expect(BigInt('0x' + rip.address)).toBe(vr.at + 0x20n);
      expect(j.tokens.find((t) => t.text.startsWith('ksys_read'))).toMatchObject({
        name: 'ksys_read',
        offset: 0x6f,
        size: kr.size,
        matchesLog: true,
      });
    };
    const [first, second] = out.cliBefore as Run[];
    check(first);
    check(second);
    // The first run asked for the two sections; the second asked nothing (the cache).
    expect(out.cliRequests[0]).toBeGreaterThanOrEqual(2);
    expect(out.cliRequests[1]).toBe(0);
    expect(out.stopped).toBe(true);
    check((out.cliAfter as Run[])[0]);
    // What the real 0.188 server answered is the raw section bytes (readelf -SW offsets and sizes), cached 0400.
    for (const name of ['.symtab', '.strtab']) {
      const p = join(cache, buildId, `section-${name}`);
      expect(readFileSync(p).equals(Buffer.from(sectionBytes(VML, name))), name).toBe(true);
      expect(statSync(p).mode & 0o777).toBe(0o400);
    }
  });
});
