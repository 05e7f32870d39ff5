/**
 * zstd for `.ko.zst` modules and SHF_COMPRESSED sections (core/common/zstd.ts). Oracle: the
 * `zstd` CLI (compresses the inputs; `zstd -d` gives the bytes). Both decoders are checked:
 * fzstd always, Node's own where this runtime has it (Node >= 22.15; skipped with a message
 * on older ones).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { decompress as fzstdRaw } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { fzstdInto, nativeZstd, zstdExact } from '../../../server/src/core/common/zstd';
import { decompressModuleSync, zstdCapped } from '../../../server/src/core/modules/decompress';
import { needs } from '../../helpers/skip';

const haveZstd = needs(spawnSync('zstd', ['--version']).status === 0, 'zstd tests: the zstd CLI (the oracle) is not installed');
const haveNative = needs(nativeZstd() !== null, `Node's own zstd decoder: this Node (${process.version}) has none (Node >= 22.15 has)`);

/** Some module-like bytes: text, zeros, a pseudo-random run. */
function sample(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 4096 < 1024 ? 0 : i % 7 === 0 ? (i * 2654435761) >>> 24 : 0x41 + (i % 26);
  return b;
}
const zstd = (input: Uint8Array, args: string[] = []) =>
  new Uint8Array(execFileSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 28 }));
const unzstd = (input: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-q', '-d', '-c'], { input, maxBuffer: 1 << 28 }));

describe.skipIf(!haveZstd)('zstd decoding', () => {
  const plain = sample(3 << 20);
  const packed = zstd(plain, ['-19']);
  const noSize = zstd(plain, ['--no-content-size']);

  it("fzstd into a buffer: the buffer is never turned into a string (fzstd's `== 1` on its argument)", () => {
    const proto = Uint8Array.prototype as unknown as { toString: () => string };
    let calls = 0;
    proto.toString = function () {
      calls++;
      return '';
    };
    try {
      // the oracle that the guard matters: fzstd as it is stringifies the buffer
      fzstdRaw(packed, new Uint8Array(plain.length));
      expect(calls).toBeGreaterThan(0);
      calls = 0;
      const out = fzstdInto(packed, new Uint8Array(plain.length));
      expect(calls).toBe(0);
      expect(Buffer.from(out).equals(Buffer.from(unzstd(packed)))).toBe(true);
    } finally {
      delete (proto as { toString?: unknown }).toString;
    }
    expect(Object.getOwnPropertySymbols(new Uint8Array(1))).toEqual([]);
  });

  it('an exact-size section through fzstd: the zstd -d bytes', () => {
    expect(Buffer.from(zstdExact(packed, plain.length, false)).equals(Buffer.from(plain))).toBe(true);
  });

  const capped = (useNative: boolean) => {
    for (const z of [packed, noSize]) {
      expect(Buffer.from(zstdCapped(z, 'm.ko.zst', plain.length, useNative)).equals(Buffer.from(plain))).toBe(true);
      expect(() => zstdCapped(z, 'm.ko.zst', plain.length - 1, useNative)).toThrow(/zstd data decompresses to more than/);
    }
  };

  it.skipIf(!haveNative)("Node's own decoder: the same bytes, and the same limits (exact size, module cap)", () => {
    expect(Buffer.from(zstdExact(packed, plain.length)).equals(Buffer.from(plain))).toBe(true);
    expect(() => zstdExact(packed, plain.length - 1)).toThrow(/more than the \d+ bytes its header declares/);
    expect(() => zstdExact(packed, plain.length + 1)).toThrow(`decompressed to ${plain.length} bytes, header says ${plain.length + 1}`);
    capped(true);
  });

  it('a module through fzstd: capped with and without a declared size', () => {
    capped(false);
    // the public entry point (Node's decoder where present)
    expect(Buffer.from(decompressModuleSync(noSize, 'm.ko.zst')).equals(Buffer.from(plain))).toBe(true);
    const bomb = zstd(new Uint8Array(64 << 20), ['--no-content-size']);
    expect(() => decompressModuleSync(bomb, 'bomb.ko.zst')).toThrow(/bomb\.ko\.zst.*zstd data decompresses to more than 16 MiB/);
  });
});
