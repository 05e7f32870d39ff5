/**
 * zstd decoding for compressed modules (`.ko.zst`) and SHF_COMPRESSED debug sections:
 * Node's own decoder (zlib.zstdDecompressSync, Node >= 22.15 / 23.8: the editors' extension
 * hosts) when the runtime has it, else fzstd (pure JavaScript). Measured on xfs.ko
 * (43.7 MB, zstd -19): native 60 ms, fzstd 250–490 ms.
 *
 * - Node's decoder returns what it decoded of a truncated stream without an error: its
 *   output counts only when the frame declares its content size and the output is that
 *   size; anything else goes to fzstd, which says what is wrong.
 * - fzstd is never handed an output buffer: its one-shot decoder compares that argument
 *   with `== 1`, which turns a typed array into a string of all its elements (64 MiB took
 *   1.2 s instead of 0.3 s; past ~256 MiB it cannot be done), and returns the whole buffer
 *   however much it filled. Without one it allocates the frame's declared content size, or
 *   its window, up front: `checkZstdFrames` bounds both, for every frame, before.
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

/** A bad frame header: `offset` into the compressed bytes (the caller places it). */
export class ZstdHeaderError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Largest zstd window accepted (zstd's own default window cap is 128 MiB). */
const ZSTD_MAX_WINDOW = 1 << 27;

/**
 * One frame header at `at`: its window must be at most max(cap, 8 MiB: zstd -19's), its
 * declared content at most `maxContent`. Returns the header's length, whether blocks end
 * with a checksum, and the declared content size (undefined: none). ZstdHeaderError.
 */
function frameHeader(b: Uint8Array, at: number, cap: number, maxContent: number): { len: number; checksum: boolean; size?: number } {
  const maxWindow = Math.min(ZSTD_MAX_WINDOW, Math.max(cap, 1 << 23));
  if (b.length < at + 6) throw new ZstdHeaderError(b.length, 'truncated zstd frame header');
  const fhd = b[at + 4];
  if (fhd & 8) throw new ZstdHeaderError(at + 4, 'zstd frame header with the reserved bit set');
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const didSize = [0, 1, 2, 4][fhd & 3];
  let p = at + 5;
  if (!single) {
    const wd = b[p++];
    const base = 2 ** (10 + (wd >> 3));
    const window = base + (base / 8) * (wd & 7);
    if (window > maxWindow)
      throw new ZstdHeaderError(at + 5, `zstd window of ${window} bytes is larger than ${maxWindow} (corrupt or hostile frame)`);
  }
  p += didSize;
  const fcsSize = fcsFlag === 0 ? (single ? 1 : 0) : fcsFlag === 1 ? 2 : fcsFlag === 2 ? 4 : 8;
  if (p + fcsSize > b.length) throw new ZstdHeaderError(p, 'truncated zstd frame header');
  let size: number | undefined;
  if (fcsSize > 0) {
    size = 0;
    for (let k = fcsSize - 1; k >= 0; k--) size = size * 256 + b[p + k];
    if (fcsSize === 2) size += 256;
    if (size > maxContent)
      throw new ZstdHeaderError(p, `zstd frame declares ${size} bytes of content, more than ${maxContent} (corrupt or hostile frame)`);
    // a single-segment frame's window is its content, allocated up front as well
    if (single && size > maxWindow)
      throw new ZstdHeaderError(p, `zstd frame of ${size} bytes in one segment is larger than ${maxWindow} (corrupt or hostile frame)`);
  }
  return { len: p + fcsSize - at, checksum: (fhd & 4) !== 0, size };
}

/**
 * Walk every frame of `b` by its headers, without decoding (block headers give each block's
 * length): each frame header is checked as `frameHeader` says, skippable frames are stepped
 * over, a reserved block type, a block or a frame cut short and bytes that are no frame are
 * errors. A hostile second frame could otherwise declare a window of gigabytes, which fzstd
 * allocates (and copies per block) up front. Returns the declared content of all frames, or
 * undefined when a frame declares none; more than `maxContent` in all is an error.
 */
export function checkZstdFrames(b: Uint8Array, cap: number, maxContent: number): number | undefined {
  let at = 0,
    total: number | undefined = 0;
  // each frame or block consumes at least 3 bytes: the walk is bounded by the input size
  while (at < b.length) {
    if (b.length - at < 4) throw new ZstdHeaderError(at, `${b.length - at} bytes after the last zstd frame`);
    const magic = (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (b.length - at < 8) throw new ZstdHeaderError(at, 'truncated skippable zstd frame');
      const n = (b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) | (b[at + 7] << 24)) >>> 0;
      if (at + 8 + n > b.length) throw new ZstdHeaderError(at, 'truncated skippable zstd frame');
      at += 8 + n;
      continue;
    }
    if (magic !== 0xfd2fb528) throw new ZstdHeaderError(at, 'not a zstd frame');
    const h = frameHeader(b, at, cap, maxContent);
    if (total !== undefined) total = h.size === undefined ? undefined : total + h.size;
    if (total !== undefined && total > maxContent)
      throw new ZstdHeaderError(at, `zstd frames declare ${total} bytes of content, more than ${maxContent} (corrupt or hostile data)`);
    at += h.len;
    for (let last = false; !last;) {
      if (b.length - at < 3) throw new ZstdHeaderError(at, 'truncated zstd block header');
      const bh = b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
      last = (bh & 1) === 1;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw new ZstdHeaderError(at, 'zstd block of the reserved type');
      const body = type === 1 ? 1 : size;
      if (at + 3 + body > b.length) throw new ZstdHeaderError(at, 'truncated zstd block');
      at += 3 + body;
    }
    if (h.checksum) {
      if (b.length - at < 4) throw new ZstdHeaderError(at, 'truncated zstd frame checksum');
      at += 4;
    }
  }
  return total;
}

/**
 * Node's decoder, when this runtime has one and the frames declare `declared` bytes in all
 * (checkZstdFrames): its output when it is exactly that, else undefined (truncated, no
 * size, an error: the caller decodes with fzstd, which says what is wrong). ZstdTooLarge
 * past `max`.
 */
export function nativeWhenExact(body: Uint8Array, declared: number | undefined, max: number, useNative = true): Uint8Array | undefined {
  const fn = useNative ? nativeZstd() : null;
  if (!fn || declared === undefined || declared > max) return undefined;
  let out: Buffer;
  try {
    out = fn(body, { maxOutputLength: Math.max(1, max) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw new ZstdTooLarge();
    return undefined; // fzstd gives its own reason
  }
  return out.length === declared ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : undefined;
}

/**
 * Decode a section whose container declares its decompressed `size` (an ELF Chdr): exactly
 * `size` bytes, or an Error saying what came out. `useNative: false` forces fzstd (tests).
 */
export function zstdExact(body: Uint8Array, size: number, useNative = true): Uint8Array {
  let declared: number | undefined;
  try {
    declared = checkZstdFrames(body, size, size);
  } catch (e) {
    if (e instanceof ZstdHeaderError) throw new Error(`${e.message} at byte ${e.offset} of the compressed data`);
    throw e;
  }
  try {
    // only a stream declaring the section's size can be right: anything else goes to fzstd's check
    const fast = nativeWhenExact(body, declared === size ? size : undefined, size, useNative);
    if (fast) return fast;
  } catch (e) {
    if (e instanceof ZstdTooLarge) throw new Error(`decompresses to more than the ${size} bytes its header declares`);
    throw e;
  }
  const out = fzstdDecompress(body);
  if (out.length !== size) throw new Error(`decompressed to ${out.length} bytes, header says ${size}`);
  return out;
}
