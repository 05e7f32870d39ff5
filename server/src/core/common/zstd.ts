/**
 * zstd decoding for compressed modules (`.ko.zst`) and SHF_COMPRESSED debug sections:
 * Node's own decoder (zlib.zstdDecompressSync, Node >= 22.15 / 23.8: the editors' extension
 * hosts) when the runtime has it, else fzstd (pure JavaScript). Measured on xfs.ko
 * (43.7 MB, zstd -19): native 60 ms, fzstd 250–490 ms.
 *
 * fzstd's one-shot decoder compares its output-buffer argument with `== 1` (rzfh), which
 * turns a typed array into a string of all its elements: 64 MiB took 1.2 s instead of 0.3 s,
 * and a buffer of more than ~256 MiB cannot be joined at all. The buffer handed to it gets a
 * Symbol.toPrimitive of its own, so the comparison is a number's (`fzstdInto`).
 */
import { decompress as fzstdDecompress } from 'fzstd';

type NativeZstd = (b: Uint8Array, o: { maxOutputLength: number }) => Buffer;
let native: NativeZstd | null | undefined;

/** Node's zstd decoder, or null when this runtime has none. */
export function nativeZstd(): NativeZstd | null {
  if (native === undefined) {
    const zlib = require('node:zlib') as { zstdDecompressSync?: NativeZstd };
    native = typeof zlib.zstdDecompressSync === 'function' ? zlib.zstdDecompressSync : null;
  }
  return native;
}

/** Thrown when the output would pass its limit (the caller words the error). */
export class ZstdTooLarge extends Error {}

/**
 * Decode `body` (one or more frames) into at most `max` bytes with Node's decoder.
 * ZstdTooLarge past `max`; the decoder's own error otherwise.
 */
export function nativeZstdDecode(fn: NativeZstd, body: Uint8Array, max: number): Uint8Array {
  try {
    const out = fn(body, { maxOutputLength: Math.max(1, max) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw new ZstdTooLarge();
    throw e;
  }
}

/** fzstd's one-shot decoder writing into `out` (see the header: the buffer compares as a number). */
export function fzstdInto(body: Uint8Array, out: Uint8Array): Uint8Array {
  Object.defineProperty(out, Symbol.toPrimitive, { value: () => 0, configurable: true });
  try {
    return fzstdDecompress(body, out);
  } finally {
    delete (out as unknown as Record<symbol, unknown>)[Symbol.toPrimitive];
  }
}

/**
 * Decode a section whose container declares its decompressed `size` (an ELF Chdr): exactly
 * `size` bytes, or an Error saying what came out. `useNative: false` forces fzstd (tests).
 */
export function zstdExact(body: Uint8Array, size: number, useNative = true): Uint8Array {
  const fn = useNative ? nativeZstd() : null;
  if (fn) {
    let out: Uint8Array;
    try {
      out = nativeZstdDecode(fn, body, size);
    } catch (e) {
      if (e instanceof ZstdTooLarge) throw new Error(`decompresses to more than the ${size} bytes its header declares`);
      throw e;
    }
    if (out.length !== size) throw new Error(`decompressed to ${out.length} bytes, header says ${size}`);
    return out;
  }
  return fzstdInto(body, new Uint8Array(size));
}
