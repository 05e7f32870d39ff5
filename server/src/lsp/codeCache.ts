/**
 * Loading a bundle with V8's code cache: compiling the 380 KB server bundle and running its
 * module initialisation take ~65 ms of a cold start, ~30 ms with the cache.
 *
 * Node >= 22.1 has this built in (module.enableCompileCache), which is used when present.
 * On older runtimes (Node 20, the Node inside some VS Code builds) the bundle is compiled
 * through vm.Script with the cached data, and the cache is written a few seconds after
 * start, when the functions used to start up have been compiled (so they are cached too).
 * V8 checks the cached data against the source and its own version and flags, and rejects
 * a mismatch (then the bundle compiles as usual and the cache is rewritten).
 *
 * The cache lives in the user's own cache directory ($XDG_CACHE_HOME or ~/.cache, then
 * ksym/, mode 0700): it is code, so never in a shared directory. Any failure to read or
 * write it only means no cache.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

const WRITE_AFTER_MS = 4000;

function cacheDir(): string | undefined {
  try {
    const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const dir = join(base, 'ksym');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    // Ours and private, or not used at all.
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return undefined;
    if ((st.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** require() `file` (a CommonJS bundle), with a code cache when one can be kept. */
export function requireWithCodeCache(file: string): unknown {
  const plain = Module.createRequire(file);
  if (process.env.KSYM_NO_CODE_CACHE) return plain(file);
  const dir = cacheDir();
  const builtin = (Module as unknown as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (!dir) return plain(file);
  if (typeof builtin === 'function') {
    try {
      builtin(join(dir, 'node-compile-cache'));
    } catch {
      /* no cache */
    }
    return plain(file);
  }
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return plain(file);
  }
  // One file per runtime; V8 rejects it when the bundle changed, and it is rewritten.
  const cacheFile = join(dir, `${basename(file)}-${process.version}-${process.arch}.v8cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    /* first start */
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(dirname(file));
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  fn.call(mod.exports, mod.exports, plain, mod, file, dirname(file));
  mod.loaded = true;
  if (!cachedData || script.cachedDataRejected) {
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      try {
        const data = script.createCachedData();
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeSync(fd, data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, cacheFile);
      } catch {
        /* no cache */
      }
    };
    // Once start-up code has run (it is then in the cache too), or at exit for short runs.
    setTimeout(write, WRITE_AFTER_MS).unref();
    process.once('exit', write);
  }
  return mod.exports;
}
