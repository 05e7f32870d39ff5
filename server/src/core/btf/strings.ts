/**
 * BTF string section. Offsets below `baseLen` refer to the base BTF's string
 * section (split BTF); offsets from `baseLen` on refer to this blob's section.
 * Strings are NUL-terminated; the section's last byte is checked to be NUL so any
 * valid offset yields a terminated string. Strings are compared as bytes and only
 * decoded when asked for.
 */
import { FormatError } from '../common/errors';

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

export function encodeName(name: string): Uint8Array {
  return encoder.encode(name);
}

export class BtfStrings {
  /** Total string space: base strings + own strings. */
  readonly total: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly length: number,
    readonly baseLen: number,
    readonly base: BtfStrings | undefined,
    file: string,
  ) {
    this.total = baseLen + length;
    if (length === 0) {
      if (!base) throw new FormatError(file, start, 'empty BTF string section (a base BTF needs at least the empty string)');
      return;
    }
    if (bytes[start + length - 1] !== 0) {
      throw new FormatError(file, start + length - 1, 'BTF string section is not NUL-terminated');
    }
    if (!base && bytes[start] !== 0) {
      throw new FormatError(
        file,
        start,
        'BTF string section does not start with the empty string: this looks like split (module) BTF loaded without its base (vmlinux) BTF',
      );
    }
  }

  /** Byte array holding string `off` (caller checked off < total). */
  bufOf(off: number): Uint8Array {
    return off < this.baseLen ? this.base!.bufOf(off) : this.bytes;
  }

  /** Absolute position of string `off` in bufOf(off). */
  posOf(off: number): number {
    return off < this.baseLen ? this.base!.posOf(off) : this.start + (off - this.baseLen);
  }

  valid(off: number): boolean {
    return off < this.total;
  }

  /** Decode string at offset; '' for an invalid offset (callers validate first). */
  get(off: number): string {
    if (off === 0 && this.baseLen === 0) return '';
    if (off >= this.total) return '';
    const buf = this.bufOf(off);
    const pos = this.posOf(off);
    let end = pos;
    while (buf[end] !== 0) end++;
    return decoder.decode(buf.subarray(pos, end));
  }

  /** Compare string at `off` (bytewise, unsigned) with `q`. */
  compare(off: number, q: Uint8Array): number {
    const buf = this.bufOf(off);
    let p = this.posOf(off);
    for (let i = 0; ; i++, p++) {
      const a = buf[p];
      const b = i < q.length ? q[i] : 0;
      if (a !== b) return a - b;
      if (a === 0) return 0;
    }
  }

  /** Compare two strings bytewise starting at byte `depth` (both known equal before). */
  compareOffs(a: number, b: number, depth: number): number {
    const ba = this.bufOf(a);
    const bb = this.bufOf(b);
    let pa = this.posOf(a) + depth;
    let pb = this.posOf(b) + depth;
    for (;;) {
      const x = ba[pa++];
      const y = bb[pb++];
      if (x !== y) return x - y;
      if (x === 0) return 0;
    }
  }

  /** 4 bytes starting at `depth` as a big-endian number, bytes after the NUL read as 0. */
  chunk(off: number, depth: number): number {
    const buf = this.bufOf(off);
    const p = this.posOf(off) + depth;
    const b0 = buf[p];
    if (b0 === 0) return 0;
    const b1 = buf[p + 1];
    if (b1 === 0) return b0 * 0x1000000;
    const b2 = buf[p + 2];
    if (b2 === 0) return b0 * 0x1000000 + b1 * 0x10000;
    return b0 * 0x1000000 + b1 * 0x10000 + b2 * 0x100 + buf[p + 3];
  }
}
