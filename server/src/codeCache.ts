/**
 * Loading a bundle with V8's code cache: compiling the 380 KB server bundle and running its
 * module initialisation take ~65 ms of a cold start, ~30 ms with the cache. Shared by the
 * server (lsp/boot.ts) and the CLI (cli/cli.ts: the command bundles, for one-shot commands).
 *
 * Node >= 22.1 has this built in (module.enableCompileCache), which is used when present.
 * On older runtimes (Node 20, the Node inside some VS Code builds) the bundle is compiled
 * through vm.Script with the cached data, and the cache is written a few seconds after
 * start, when the functions used to start up have been compiled (so they are cached too).
 * V8 checks cached data against little more than the source length, so the cache file holds
 * the bundle's own bytes ahead of the data, and is used only when they equal the bundle's
 * (a memcmp: a hash would need node:crypto, whose loading alone took 3.5 ms of a one-shot
 * command). One file per bundle name and runtime; V8 rejects data of another version or
 * flags (then the bundle compiles as usual and the cache is rewritten). Node's built-in
 * compile cache keys its entries by a hash of the source content itself.
 *
 * The cache lives in the user's own cache directory ($XDG_CACHE_HOME or ~/.cache, then
 * ksym/, mode 0700): it is code, so never in a shared directory. Any failure to read or
 * write it only means no cache.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

const WRITE_AFTER_MS = 4000;
/** The cache file's first bytes (a file of another layout is a miss). */
const MAGIC = Buffer.from('ksym-v8cache-1\n');

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
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return plain(file);
  }
  const source = bytes.toString('utf8');
  // One file per bundle name and runtime: MAGIC, the bundle's byte length (u32), its bytes,
  // then V8's data. V8's own check of cached data against the source is little more than
  // its length: another build of the same size (another checkout, an update) would run this
  // build's code. Comparing the bytes makes a changed bundle miss. Older caches of this
  // bundle (other names) are removed when this one is written.
  const prefix = `${basename(file)}-`;
  const cacheFile = join(dir, `${prefix}${process.version}-${process.arch}.v8cache`);
  let cachedData: Buffer | undefined;
  try {
    const c = readFileSync(cacheFile);
    const head = MAGIC.length + 4;
    if (c.length > head && c.subarray(0, MAGIC.length).equals(MAGIC) && c.readUInt32LE(MAGIC.length) === bytes.length) {
      const end = head + bytes.length;
      if (c.length > end && c.subarray(head, end).equals(bytes)) cachedData = c.subarray(end);
    }
  } catch {
    /* first start */
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(dirname(file));
  const fn = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: Module,
    filename: string,
    dirname: string,
  ) => void;
  fn.call(mod.exports, mod.exports, plain, mod, file, dirname(file));
  mod.loaded = true;
  if (!cachedData || script.cachedDataRejected) {
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        const len = Buffer.alloc(4);
        len.writeUInt32LE(bytes.length);
        const data = Buffer.concat([MAGIC, len, bytes, script.createCachedData()]);
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeSync(fd, data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, cacheFile);
        for (const f of readdirSync(dir)) {
          if (!f.startsWith(prefix)) continue;
          if (f.endsWith('.v8cache') && join(dir, f) !== cacheFile) rmSync(join(dir, f), { force: true });
          // a write cut short (its process killed between open and rename): `<cache>.<pid>.tmp`
          else if (f.endsWith('.tmp') && !alive(Number(/\.(\d+)\.tmp$/.exec(f)?.[1]))) rmSync(join(dir, f), { force: true });
        }
      } catch {
        rmSync(tmp, { force: true }); // no cache, and no partial file left behind
      }
    };
    // Once start-up code has run (it is then in the cache too), or at exit for short runs.
    setTimeout(write, WRITE_AFTER_MS).unref();
    process.once('exit', write);
  }
  return mod.exports;
}

/** Whether a process with this pid exists (a pid that is not a positive integer: no). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
