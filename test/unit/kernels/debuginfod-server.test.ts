/**
 * The debuginfod client against a real debuginfod (Debian's 0.188), in a network
 * namespace of the test's own: `unshare --net` with loopback up, the server and the
 * client (netns/runner.ts, bundled with esbuild) both inside it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelData } from '../../helpers/kernelData';
import { buildFixture, canNetns, haveToolchain } from './fixtures';

const ok = haveToolchain() && canNetns();
// The fetched kernel's debug loop.ko (npm run fetch-data), whatever ABI the archive serves.
const kd = kernelData();
const REAL_LOOP = kd?.modules.get('loop');
const REAL_MODULES = REAL_LOOP ? dirname(REAL_LOOP) : '';
const haveReal = !!REAL_LOOP;
if (!haveReal) console.warn(`real-data part skipped: no fetched loop.ko${kd ? ` in ${kd.dir}/modules` : ''} (run \`npm run fetch-data\`)`);

describe.skipIf(!ok)('a real debuginfod 0.188 in a network namespace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-netns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fetch by build id, cancelled mid-way, another build id refused, from the cache with the server stopped, 404 negative-cached, sections', () => {
    const fixture = buildFixture(join(dir, 'srv'), 'fixture', 'int fixture_fn(int x) { return x * 5; }\nint fixture_data = 3;\n');
    const runner = join(dir, 'runner.cjs');
    buildSync({
      entryPoints: [join(__dirname, 'netns/runner.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: runner,
      logLevel: 'error',
    });
    // The real Debian debug module: readelf -n is the oracle for its build id.
    const real = haveReal
      ? {
          path: REAL_LOOP!,
          buildId: /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', REAL_LOOP!], { encoding: 'utf8' }))![1],
        }
      : undefined;
    const cfg = {
      port: 8002,
      db: join(dir, 'db.sqlite'),
      dirs: [join(dir, 'srv'), ...(haveReal ? [REAL_MODULES] : [])],
      cache: join(dir, 'cache'),
      home: join(dir, 'home'),
      fixture,
      real,
      unknownId: '0123456789abcdef0123456789abcdef01234567',
      // 48 MiB of .data: large enough that the first progress report comes long before the end.
      big: buildFixture(join(dir, 'srv'), 'big', 'char big_blob[48 << 20] = { 1 };\nint big_fn(void) { return big_blob[5]; }\n'),
      wrong: (() => {
        const victim = buildFixture(join(dir, 'srv'), 'victim', 'int victim_fn(int x) { return x + 7; }\n');
        const other = buildFixture(join(dir, 'other'), 'other', 'int other_fn(int x) { return x - 9; }\n');
        return { path: victim.path, buildId: victim.buildId, replacement: other.path, otherBuildId: other.buildId };
      })(),
    };
    const r = spawnSync(
      'unshare',
      ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$1" "$2"', process.execPath, runner, JSON.stringify(cfg)],
      { encoding: 'utf8', timeout: 240000, maxBuffer: 16 << 20 },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.error, out.stderr).toBeUndefined();
    // Served, verified against the build id, byte for byte the file debuginfod indexed.
    expect(out.fixture).toMatchObject({ ok: true, fromCache: false, verified: 'build-id' });
    expect(out.fixtureSame).toBe(true);
    expect(out.fixtureProgress).toBe(out.fixture.size);
    // A section: not ELF, size only (and said so).
    expect(out.section).toMatchObject({ ok: true, verified: 'size-only' });
    const symtabSize = parseInt(
      /\.symtab\s+SYMTAB\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(
        execFileSync('readelf', ['-SW', fixture.path], { encoding: 'utf8' }),
      )![1],
      16,
    );
    expect(out.section.size).toBe(symtabSize);
    // .ko files are relocatable: /executable is always 404 for them.
    expect(out.executable).toMatchObject({ ok: false, reason: 'not-found' });
    if (real) {
      expect(out.real).toMatchObject({ ok: true, verified: 'build-id' });
      expect(out.realSame).toBe(true);
      expect(out.realCached).toMatchObject({ ok: true, fromCache: true });
    }
    // Cancelled mid-way by the client (the real server streams 48 MiB): 'cancelled', nothing
    // left in the cache (no partial file, no negative-cache entry), and the next fetch is whole.
    const bigSize = statSync(cfg.big.path).size;
    expect(out.bigCancelled).toMatchObject({ ok: false, reason: 'cancelled' });
    expect(out.bigCancelAt).toBeGreaterThan(0);
    expect(out.bigCancelAt).toBeLessThan(bigSize);
    expect(out.bigTotal).toBe(bigSize);
    expect(out.bigLeft).toEqual([]);
    expect(out.bigAfter).toMatchObject({ ok: true, fromCache: false, verified: 'build-id', size: bigSize });
    expect(out.bigSame).toBe(true);
    // A real 0.188 answering with another ELF than the one asked for (readelf -n of both):
    // refused as a mismatch, nothing cached, not negative-cached.
    expect(cfg.wrong.otherBuildId).not.toBe(cfg.wrong.buildId);
    expect(out.wrongRequests).toBeGreaterThanOrEqual(1);
    expect(out.wrong).toMatchObject({ ok: false, reason: 'mismatch' });
    expect((out.wrong as { message: string }).message).toContain(cfg.wrong.otherBuildId);
    expect(out.wrongLeft).toEqual([]);
    // 404: one request, then the negative cache answers without one.
    expect(out.unknown1).toMatchObject({ ok: false, reason: 'not-found' });
    expect(out.unknown2).toMatchObject({ ok: false, reason: 'negative-cache' });
    expect(out.unknownRequests[0]).toBeGreaterThanOrEqual(1);
    expect(out.unknownRequests[1]).toBe(0);
    expect(out.upper).toMatchObject({ ok: true, verified: 'build-id' });
    // Server stopped: the cache serves.
    expect(out.stopped).toBe(true);
    expect(out.cached).toMatchObject({ ok: true, fromCache: true, verified: 'build-id' });
    // Refused connection: an error, never a negative-cache entry.
    expect(out.refused).toMatchObject({ ok: false, reason: 'error' });
    expect(out.refusedLeftFile).toBeNull();
  });
});
