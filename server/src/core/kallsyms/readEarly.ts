/**
 * The first read of the server, done as the process starts.
 *
 * dist/server.js (boot.ts) reads the kallsyms source the client is expected to ask for
 * before it loads the language server bundle, and keeps the bytes here; the first index
 * build takes them (readSource → takePrefetched) instead of reading the file again, if it
 * asks for the same file within PREFETCH_TTL_MS. A failed read keeps nothing: the normal
 * read then runs and reports the error.
 *
 * (A worker thread that read while the bundle loads was measured and dropped: a worker
 * needs ~80 ms to boot here, more than the bundle takes to load with the code cache.)
 */
import { readWholeSync } from './read';

interface Early {
  at: number;
  bytes: Uint8Array;
}

/**
 * Shared through the global object: dist/server.js (boot.ts) reads and dist/server-main.js,
 * a separate bundle with its own copy of this module, takes.
 */
const REGISTRY = Symbol.for('ksym.prefetch');
const early: Map<string, Early> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, Early> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<string, Early>());

/** How long the early bytes are good for (the server asks for them within a second of starting). */
const PREFETCH_TTL_MS = 10_000;

/** Read `file` now and keep its bytes for takePrefetched(). */
export function prefetch(file: string): void {
  if (!file || early.has(file)) return;
  let bytes: Uint8Array;
  try {
    bytes = readWholeSync(file);
  } catch {
    return;
  }
  early.set(file, { at: Date.now(), bytes });
  // Not asked for in time (the settings named other files): let the bytes go.
  setTimeout(() => {
    if (early.get(file)?.bytes === bytes) early.delete(file);
  }, PREFETCH_TTL_MS).unref();
}

/** The early bytes of `file` if they were read less than PREFETCH_TTL_MS ago; each is used once. */
export function takePrefetched(file: string): Uint8Array | undefined {
  const e = early.get(file);
  if (!e) return undefined;
  early.delete(file);
  return Date.now() - e.at <= PREFETCH_TTL_MS ? e.bytes : undefined;
}
