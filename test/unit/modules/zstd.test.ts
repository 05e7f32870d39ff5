/**
 * zstd for `.ko.zst` modules and SHF_COMPRESSED sections (core/common/zstd.ts). Oracle: the
 * `zstd` CLI (compresses the inputs; `zstd -d` gives the bytes or refuses them). Both decoders
 * are checked: fzstd always, Node's own where this runtime has it (Node >= 22.15; skipped
 * with a message on older ones).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkZstdFrames, nativeZstd, zstdExact } from '../../../server/src/core/common/zstd';
import { decompressModuleSync, zstdCapped } from '../../../server/src/core/modules/decompress';
import { needs } from '../../helpers/skip';

const haveZstd = needs(spawnSync('zstd', ['--version']).status === 0, 'zstd tests: the zstd CLI (the oracle) is not installed');
const haveNative = needs(nativeZstd() !== null, `Node's own zstd decoder: this Node (${process.version}) has none (Node >= 22.15 has)`);

/** Some module-like bytes: text, zeros, a pseudo-random run. */
function sample(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 4096 < 1024 ? 0 : i % 7 === 0 ? ((i + seed) * 2654435761) >>> 24 : 0x41 + ((i + seed) % 26);
  return b;
}
const zstd = (input: Uint8Array, args: string[] = []) =>
  new Uint8Array(execFileSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 28 }));
/** `zstd -d`: the bytes, or undefined when it refuses the input. */
const unzstd = (input: Uint8Array) => {
  const r = spawnSync('zstd', ['-q', '-d', '-c'], { input, maxBuffer: 1 << 28 });
  return r.status === 0 ? new Uint8Array(r.stdout) : undefined;
};
const same = (a: Uint8Array, b: Uint8Array | undefined) => b !== undefined && Buffer.from(a).equals(Buffer.from(b));

describe.skipIf(!haveZstd)('zstd decoding', () => {
  const plain = sample(3 << 20);
  // from a pipe zstd declares no content size unless told (a file's it declares, as kbuild's modules do)
  const packed = zstd(plain, ['-19', `--stream-size=${plain.length}`]);
  const noSize = zstd(plain, ['--no-content-size']);
  const second = sample(1 << 20, 7);
  const twoFrames = new Uint8Array([...packed, ...zstd(second, [`--stream-size=${second.length}`])]);
  const both = new Uint8Array([...plain, ...second]);
  const truncated = packed.subarray(0, packed.length - 200);
  // a second frame whose header declares a 1 GiB window (fzstd would allocate it up front)
  const bomb = new Uint8Array([...packed, 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa0, 0x01, 0x00, 0x00]);

  it('the oracle: zstd -d decodes the good inputs and refuses the bad ones', () => {
    expect(same(plain, unzstd(packed))).toBe(true);
    expect(same(both, unzstd(twoFrames))).toBe(true);
    expect(unzstd(truncated)).toBeUndefined();
    expect(unzstd(bomb)).toBeUndefined(); // "Frame requires too much memory"
    expect(unzstd(new Uint8Array([...packed, 1, 2, 3, 4, 5]))).toBeUndefined();
  });

  it('frame headers: every frame checked before decoding, sizes summed', () => {
    expect(checkZstdFrames(packed, 16 << 20, 256 << 20)).toBe(plain.length);
    expect(checkZstdFrames(twoFrames, 16 << 20, 256 << 20)).toBe(both.length);
    expect(checkZstdFrames(noSize, 16 << 20, 256 << 20)).toBeUndefined();
    expect(() => checkZstdFrames(bomb, 16 << 20, 256 << 20)).toThrow(/zstd window of \d+ bytes is larger than/);
    expect(() => checkZstdFrames(truncated, 16 << 20, 256 << 20)).toThrow(/truncated zstd block/);
    expect(() => checkZstdFrames(new Uint8Array([...packed, 1, 2, 3, 4, 5]), 16 << 20, 256 << 20)).toThrow(/not a zstd frame/);
    expect(() => checkZstdFrames(packed, 16 << 20, plain.length - 1)).toThrow(/declares \d+ bytes of content, more than/);
  });

  const cases = (useNative: boolean) => {
    // sections: exactly the declared size
    expect(same(zstdExact(packed, plain.length, useNative), plain)).toBe(true);
    expect(() => zstdExact(packed, plain.length - 1, useNative)).toThrow(/more than \d+/);
    expect(() => zstdExact(packed, plain.length + 1, useNative)).toThrow(
      `decompressed to ${plain.length} bytes, header says ${plain.length + 1}`,
    );
    expect(() => zstdExact(truncated, plain.length, useNative)).toThrow();
    // modules: capped, with and without declared sizes, several frames
    for (const [z, want] of [
      [packed, plain],
      [noSize, plain],
      [twoFrames, both],
    ] as const) {
      expect(same(zstdCapped(z, 'm.ko.zst', want.length, useNative), want)).toBe(true);
      expect(() => zstdCapped(z, 'm.ko.zst', want.length - 1, useNative)).toThrow(/zstd data decompresses to more than/);
    }
    // never a short image from a truncated file, never a huge window allocated
    expect(() => zstdCapped(truncated, 'm.ko.zst', 16 << 20, useNative)).toThrow(/m\.ko\.zst.*truncated zstd block/);
    expect(() => zstdCapped(bomb, 'm.ko.zst', 16 << 20, useNative)).toThrow(/m\.ko\.zst.*zstd window of/);
  };

  it('through fzstd: the zstd -d bytes, the limits, the refusals', () => cases(false));

  it.skipIf(!haveNative)("through Node's own decoder: the same bytes, limits and refusals", () => cases(true));

  it('the public entry point (Node where present): a zero bomb refused at the cap', () => {
    expect(same(decompressModuleSync(noSize, 'm.ko.zst'), plain)).toBe(true);
    const zeros = zstd(new Uint8Array(64 << 20), ['--no-content-size']);
    expect(() => decompressModuleSync(zeros, 'bomb.ko.zst')).toThrow(/bomb\.ko\.zst.*zstd data decompresses to more than 16 MiB/);
  });
});
