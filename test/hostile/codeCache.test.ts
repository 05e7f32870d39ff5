// The V8 code cache (lsp/codeCache.ts, the Node 20 path through vm.Script) holds the bundle's
// own bytes and is used only when they equal the bundle's: a changed bundle of the same size
// never runs the old code (V8's own check of cached data is little more than the source length).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/corpus';

const dir = mkdtempSync(join(tmpdir(), 'ksym-codecache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('V8 code cache keyed by content', () => {
  it('a changed bundle of the same size runs its own code; one cache file per bundle name', () => {
    const cc = join(dir, 'cc.js');
    execFileSync(join(ROOT, 'node_modules/esbuild/bin/esbuild'), [
      join(ROOT, 'server/src/lsp/codeCache.ts'),
      '--bundle',
      '--platform=node',
      '--format=cjs',
      `--outfile=${cc}`,
      '--log-level=error',
    ]);
    const bundle = join(dir, 'bundle.js');
    const body = (tag: string) => `function which() { return ${JSON.stringify(tag)}; }\nprocess.stdout.write(which() + '\\n');\n`;
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg') };
    delete env.KSYM_NO_CODE_CACHE;
    const start = () =>
      execFileSync(process.execPath, ['-e', `require(${JSON.stringify(cc)}).requireWithCodeCache(${JSON.stringify(bundle)})`], {
        env,
      }).toString();
    writeFileSync(bundle, body('AAAA'));
    expect(start()).toBe('AAAA\n'); // writes the cache at exit
    expect(start()).toBe('AAAA\n'); // runs from it
    const caches = () => readdirSync(join(dir, 'xdg', 'ksym')).filter((f) => f.endsWith('.v8cache'));
    expect(caches()).toHaveLength(1);
    expect(caches()[0]).toMatch(/^bundle\.js-v\d+\.\d+\.\d+-\w+\.v8cache$/);
    writeFileSync(bundle, body('BBBB')); // same size, other code
    expect(body('AAAA').length).toBe(body('BBBB').length);
    expect(start()).toBe('BBBB\n');
    expect(start()).toBe('BBBB\n');
    expect(caches()).toHaveLength(1); // the old build's cache was removed
    // a cache file cut short, or of another layout, is a miss: the bundle runs and the cache is rewritten
    const cf = join(dir, 'xdg', 'ksym', caches()[0]);
    const whole = readFileSync(cf);
    for (const bad of [whole.subarray(0, 40), Buffer.from('not a cache'), whole.subarray(0, whole.length - 1)]) {
      writeFileSync(cf, bad);
      expect(start()).toBe('BBBB\n');
      expect(readFileSync(cf).length).toBeGreaterThan(bad.length);
    }
    // a write cut short by a kill leaves `<cache>.<pid>.tmp`: the next write removes it when
    // that process is gone, and leaves a live process's one alone
    const k = join(dir, 'xdg', 'ksym');
    const dead = `${caches()[0]}.2147483646.tmp`;
    const live = `${caches()[0]}.${process.pid}.tmp`;
    writeFileSync(join(k, dead), 'partial');
    writeFileSync(join(k, live), 'partial');
    writeFileSync(bundle, body('CCCC'));
    expect(start()).toBe('CCCC\n'); // a miss: writes its cache, then cleans up
    const left = readdirSync(k);
    expect(left).not.toContain(dead);
    expect(left).toContain(live);
    expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([live]);
  });
});

describe('bundles loaded through the code cache', () => {
  // A vm.Script has no dynamic-import callback: an import() left in a bundle it runs throws
  // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING at that call (the module store's directory listing
  // once did, over stdio only). esbuild turns import() of bundled code and built-ins into
  // require; this checks that none is left.
  for (const name of ['server-main.js', 'cli-cmds.js', 'cli-btf.js', 'cli-btfdecl.js']) {
    const file = join(ROOT, 'dist', name);
    it.skipIf(!existsSync(file))(`${name} has no dynamic import()`, () => {
      const src = readFileSync(file, 'utf8');
      expect(src.match(/(^|[^\w$.])import\s*\(/)?.[0]).toBeUndefined();
    });
  }
});
