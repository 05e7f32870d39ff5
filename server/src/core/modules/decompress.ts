/**
 * Module file decompression by magic number: gzip (node:zlib), xz
 * (xz-decompress, WebAssembly, stream based → async) and zstd (fzstd).
 * Uncompressed input is returned as is. Errors are FormatErrors naming the file.
 * Pure: bytes in, bytes out (read.ts reads the files).
 *
 * node:zlib and xz-decompress (which loads Node's web streams) are loaded on first
 * use: most inputs are not compressed, and loading them costs a short-lived process
 * such as `ksym btf --stats` several milliseconds.
 */
import { decompress as zstdDecompress } from 'fzstd';
import { FormatError, reasonOf } from '../common/errors';

let zlib: typeof import('node:zlib') | undefined;
function gunzipSync(b: Uint8Array): Buffer {
  zlib ??= require('node:zlib') as typeof import('node:zlib');
  return zlib.gunzipSync(b);
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


/** Largest zstd window and declared content size accepted (zstd's own default window cap is 128 MiB). */
const ZSTD_MAX_WINDOW = 1 << 27;
const ZSTD_MAX_CONTENT = 1 << 30;

/**
 * Check the first zstd frame header before decompressing: a hostile header can declare
 * a window or content size of gigabytes, which the decoder would allocate up front.
 */
function checkZstdFrame(b: Uint8Array, file: string): void {
  if (b.length < 6) throw new FormatError(file, b.length, 'truncated zstd frame header');
  const fhd = b[4];
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const didSize = [0, 1, 2, 4][fhd & 3];
  let p = 5;
  if (!single) {
    const wd = b[p++];
    const base = 2 ** (10 + (wd >> 3));
    const window = base + (base / 8) * (wd & 7);
    if (window > ZSTD_MAX_WINDOW) throw new FormatError(file, 5, `zstd window of ${window} bytes is larger than ${ZSTD_MAX_WINDOW} (corrupt or hostile frame)`);
  }
  p += didSize;
  const fcsSize = fcsFlag === 0 ? (single ? 1 : 0) : fcsFlag === 1 ? 2 : fcsFlag === 2 ? 4 : 8;
  if (p + fcsSize > b.length) throw new FormatError(file, p, 'truncated zstd frame header');
  let size = 0;
  for (let k = fcsSize - 1; k >= 0; k--) size = size * 256 + b[p + k];
  if (fcsSize === 2) size += 256;
  if (size > ZSTD_MAX_CONTENT) throw new FormatError(file, p, `zstd frame declares ${size} bytes of content, more than ${ZSTD_MAX_CONTENT} (corrupt or hostile frame)`);
}

/**
 * Synchronous decompression for gzip and zstd (and pass-through for
 * uncompressed data). xz needs the async `decompressModule`.
 */
export function decompressModuleSync(bytes: Uint8Array, file: string): Uint8Array {
  const kind = detectCompression(bytes);
  switch (kind) {
    case 'none':
      return bytes;
    case 'gzip':
      try {
        const out = gunzipSync(bytes);
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (e) {
        throw new FormatError(file, 0, `gzip decompression failed: ${reasonOf(e)}`);
      }
    case 'zstd':
      checkZstdFrame(bytes, file);
      try {
        return zstdDecompress(bytes);
      } catch (e) {
        throw new FormatError(file, 0, `zstd decompression failed: ${reasonOf(e)}`);
      }
    case 'xz':
      throw new FormatError(file, 0, 'xz data needs the asynchronous decompressModule()');
  }
}

async function xzDecompress(bytes: Uint8Array, file: string): Promise<Uint8Array> {
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
        // Copy: the decoder may reuse its output buffer.
        chunks.push(value.slice());
        total += value.length;
      }
    }
    if (total === 0) throw new Error('empty output');
    const out = new Uint8Array(total);
    let p = 0;
    for (const c of chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, 0, `xz decompression failed: ${reasonOf(e)}`);
  }
}

/** Decompress a module image of any supported format (or return it as is). */
export async function decompressModule(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (detectCompression(bytes) === 'xz') return xzDecompress(bytes, file);
  return decompressModuleSync(bytes, file);
}
