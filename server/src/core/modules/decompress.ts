/**
 * Module file decompression by magic number: gzip (node:zlib), xz
 * (xz-decompress, WebAssembly, stream based → async) and zstd (Node's own decoder where the
 * runtime has one, else fzstd: common/zstd.ts).
 * Uncompressed input is returned as is. Errors are FormatErrors naming the file.
 * Pure: bytes in, bytes out (read.ts reads the files).
 *
 * node:zlib and xz-decompress (which loads Node's web streams) are loaded on first
 * use: most inputs are not compressed, and loading them costs a short-lived process
 * such as `ksym btf --stats` several milliseconds.
 */
import { Decompress as ZstdStream } from 'fzstd';
import { FormatError, reasonOf } from '../common/errors';
import { formatBytes } from '../common/readGuarded';
import { checkZstdFrames, nativeWhenExact, ZstdHeaderError, ZstdTooLarge } from '../common/zstd';

/**
 * The output cap of every decompression: 16 times a large module (the biggest in-tree
 * modules, amdgpu and friends, are 10-20 MiB uncompressed)...
 */
export const MAX_DECOMPRESSED = 256 << 20;
/** ... and never more than this many times the compressed size (real modules compress 3-6x; a zero bomb 1000x). */
const MAX_RATIO = 64;
/** Small inputs may always grow to this (a ratio on a 1 KiB file means nothing). */
const MIN_CAP = 16 << 20;

/** The output cap for `inLength` compressed bytes: min(MAX_DECOMPRESSED, max(MIN_CAP, MAX_RATIO x input)). */
export function decompressCap(inLength: number, max = MAX_DECOMPRESSED): number {
  return Math.min(max, Math.max(MIN_CAP, MAX_RATIO * inLength));
}

function capError(file: string, kind: string, cap: number, inLength: number): FormatError {
  const f = formatBytes;
  return new FormatError(
    file,
    0,
    `${kind} data decompresses to more than ${f(cap)} (the cap: ${MAX_RATIO} times the ${f(inLength)} ` +
      `compressed, at least ${f(MIN_CAP)}, at most ${f(MAX_DECOMPRESSED)}): a decompression bomb, or not a module`,
  );
}

let zlib: typeof import('node:zlib') | undefined;
function gunzipSync(b: Uint8Array, cap: number): Buffer {
  zlib ??= require('node:zlib') as typeof import('node:zlib');
  return zlib.gunzipSync(b, { maxOutputLength: cap });
}

/** Thrown from the zstd stream's data handler when the cap is passed (stops the decoder). */
class OverCap extends Error {}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/**
 * zstd stopped at `cap` bytes whether or not the frames declare their size: every frame header
 * checked first (common/zstd.ts checkZstdFrames: windows and declared sizes bounded); then
 * Node's decoder where it has one and the frames declare their size (its output only when it
 * is that size), else fzstd's streaming decoder, block by block. `useNative: false` forces
 * fzstd (tests).
 */
export function zstdCapped(bytes: Uint8Array, file: string, cap: number, useNative = true): Uint8Array {
  let declared: number | undefined;
  try {
    declared = checkZstdFrames(bytes, cap, MAX_DECOMPRESSED);
  } catch (e) {
    if (e instanceof ZstdHeaderError) throw new FormatError(file, e.offset, e.message);
    throw e;
  }
  if (declared !== undefined && declared > cap) throw capError(file, 'zstd', cap, bytes.length);
  try {
    const fast = nativeWhenExact(bytes, declared, cap, useNative);
    if (fast) return fast;
  } catch (e) {
    if (e instanceof ZstdTooLarge) throw capError(file, 'zstd', cap, bytes.length);
    throw e;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const z = new ZstdStream((chunk, final) => {
    if (final) ended = true;
    if (chunk.length === 0) return;
    total += chunk.length;
    if (total > cap) throw new OverCap();
    chunks.push(chunk.slice()); // the decoder's window is reused
  });
  try {
    z.push(bytes, true);
  } catch (e) {
    if (e instanceof OverCap) throw capError(file, 'zstd', cap, bytes.length);
    throw e;
  }
  if (!ended && total === 0) throw new Error('no data');
  return concat(chunks, total);
}

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(b: Uint8Array, magic: number[]): boolean {
  if (b.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[i] !== magic[i]) return false;
  return true;
}

/** Detect the compression format from the leading magic bytes. */
export function detectCompression(bytes: Uint8Array): Compression {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (startsWith(bytes, XZ_MAGIC)) return 'xz';
  if (startsWith(bytes, ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/**
 * Synchronous decompression for gzip and zstd (and pass-through for
 * uncompressed data), capped at decompressCap(bytes.length, max). xz needs the async `decompressModule`.
 */
export function decompressModuleSync(bytes: Uint8Array, file: string, max = MAX_DECOMPRESSED): Uint8Array {
  const kind = detectCompression(bytes);
  const cap = decompressCap(bytes.length, max);
  switch (kind) {
    case 'none':
      return bytes;
    case 'gzip':
      try {
        const out = gunzipSync(bytes, cap);
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
          throw capError(file, 'gzip', cap, bytes.length);
        throw new FormatError(file, 0, `gzip decompression failed: ${reasonOf(e)}`);
      }
    case 'zstd':
      try {
        return zstdCapped(bytes, file, cap);
      } catch (e) {
        if (e instanceof FormatError) throw e;
        throw new FormatError(file, 0, `zstd decompression failed: ${reasonOf(e)}`);
      }
    case 'xz':
      throw new FormatError(file, 0, 'xz data needs the asynchronous decompressModule()');
  }
}

/** xz through xz-decompress's stream, stopped (and the stream cancelled) at `cap` bytes. */
async function xzDecompress(bytes: Uint8Array, file: string, cap: number): Promise<Uint8Array> {
  try {
    const input = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    const { XzReadableStream } = await import('xz-decompress');
    const reader = new XzReadableStream(input).getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value) {
        total += value.length;
        if (total > cap) {
          void reader.cancel().catch(() => undefined);
          throw capError(file, 'xz', cap, bytes.length);
        }
        // Copy: the decoder may reuse its output buffer.
        chunks.push(value.slice());
      }
    }
    if (total === 0) throw new Error('empty output');
    return concat(chunks, total);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, 0, `xz decompression failed: ${reasonOf(e)}`);
  }
}

/** Decompress a module image of any supported format (or return it as is), capped at decompressCap(bytes.length, max). */
export async function decompressModule(bytes: Uint8Array, file: string, max = MAX_DECOMPRESSED): Promise<Uint8Array> {
  if (detectCompression(bytes) === 'xz') return xzDecompress(bytes, file, decompressCap(bytes.length, max));
  return decompressModuleSync(bytes, file, max);
}
