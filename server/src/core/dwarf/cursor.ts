/**
 * A bounds-checked little/big-endian cursor over one section's bytes. Every read is
 * checked before it happens; a failure is a FormatError naming the file, the section,
 * the offset within the file (section file offset + position) and the reason.
 */
import { FormatError } from '../common/errors';

export interface SectionBytes {
  readonly file: string;
  readonly section: string;
  /** File offset of byte 0 (for error messages; 0 for decompressed data). */
  readonly fileOffset: number;
  readonly bytes: Uint8Array;
  readonly le: boolean;
  /** True when `bytes` were decompressed: offsets in errors are section-relative. */
  readonly decompressed: boolean;
  /**
   * Set when `bytes` are a relocatable file's bytes as read, not yet relocated: relocates
   * bytes[pos, pos + len) in place (idempotent). Readers of relocatable values (addresses,
   * offsets into other sections) call it before reading one: plainNum, readStr.
   */
  readonly patch?: (pos: number, len: number) => void;
}

const TWO32 = 4294967296;

export function dwarfError(s: SectionBytes, pos: number, reason: string): FormatError {
  const where = s.decompressed ? `${s.section}+0x${pos.toString(16)} (decompressed)` : `${s.section}+0x${pos.toString(16)}`;
  return new FormatError(s.file, s.decompressed ? pos : s.fileOffset + pos, `${where}: ${reason}`);
}

export class Cursor {
  pos: number;
  readonly b: Uint8Array;
  readonly le: boolean;
  end: number;
  readonly s: SectionBytes;
  /** s.patch (see SectionBytes). */
  readonly patch: ((pos: number, len: number) => void) | undefined;

  constructor(s: SectionBytes, pos = 0, end = s.bytes.length) {
    this.s = s;
    this.patch = s.patch;
    this.b = s.bytes;
    this.le = s.le;
    this.pos = pos;
    this.end = Math.min(end, s.bytes.length);
  }

  fail(reason: string, at = this.pos): never {
    throw dwarfError(this.s, at, reason);
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail(`truncated: need ${n} byte(s), ${Math.max(0, this.end - this.pos)} left`);
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('truncated: need 1 byte');
    return this.b[this.pos++];
  }

  u16(): number {
    this.need(2);
    const b = this.b,
      p = this.pos;
    this.pos = p + 2;
    return this.le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
  }

  u24(): number {
    this.need(3);
    const b = this.b,
      p = this.pos;
    this.pos = p + 3;
    return this.le ? b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) : (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
  }

  u32(): number {
    this.need(4);
    const b = this.b,
      p = this.pos;
    this.pos = p + 4;
    return this.le
      ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
      : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** 64-bit value as an unsigned Number (exact below 2^53; used for offsets and sizes). */
  u64(): number {
    const a = this.u32(),
      c = this.u32();
    return this.le ? c * TWO32 + a : a * TWO32 + c;
  }

  /**
   * 64-bit address as a *signed* Number: kernel addresses (0xffffffff8xxxxxxx) become small
   * negatives and stay exact, as do all values below 2^53 in magnitude.
   */
  addr64(): number {
    const a = this.u32(),
      c = this.u32();
    const hi = this.le ? c : a,
      lo = this.le ? a : c;
    return (hi | 0) * TWO32 + lo;
  }

  /** Address of `size` bytes (1, 2, 4 or 8); 4-byte addresses are unsigned. */
  addr(size: number): number {
    switch (size) {
      case 8:
        return this.addr64();
      case 4:
        return this.u32();
      case 2:
        return this.u16();
      case 1:
        return this.u8();
      default:
        return this.fail(`unsupported address size ${size}`);
    }
  }

  /** Section offset of the unit's format: 4 bytes (32-bit DWARF) or 8 (64-bit DWARF). */
  offset(size: number): number {
    return size === 8 ? this.u64() : this.u32();
  }

  uleb(): number {
    let result = 0,
      mul = 1;
    const b = this.b,
      end = this.end;
    let p = this.pos;
    for (;;) {
      if (p >= end) this.fail('truncated LEB128');
      const byte = b[p++];
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) break;
      mul *= 128;
      if (mul > 2 ** 70) {
        // keep skipping (values this large are garbage, but the encoding may be padded)
        while (p < end && b[p] & 0x80) p++;
        if (p >= end) this.fail('truncated LEB128');
        p++;
        break;
      }
    }
    this.pos = p;
    return result;
  }

  sleb(): number {
    let result = 0,
      mul = 1,
      byte = 0;
    const b = this.b,
      end = this.end;
    let p = this.pos;
    for (;;) {
      if (p >= end) this.fail('truncated LEB128');
      byte = b[p++];
      result += (byte & 0x7f) * mul;
      mul *= 128;
      if ((byte & 0x80) === 0) break;
      if (mul > 2 ** 70) {
        while (p < end && b[p] & 0x80) p++;
        if (p >= end) this.fail('truncated LEB128');
        p++;
        break;
      }
    }
    if (byte & 0x40) result -= mul;
    this.pos = p;
    return result;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Skip a NUL-terminated string, returning its start. */
  skipCString(): number {
    const start = this.pos;
    const i = this.b.indexOf(0, start);
    if (i < 0 || i >= this.end) this.fail('unterminated string');
    this.pos = i + 1;
    return start;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** NUL-terminated string at `pos` of a section; a FormatError when out of range or unterminated. */
export function cstringAt(s: SectionBytes, pos: number): string {
  const b = s.bytes;
  if (pos < 0 || pos >= b.length)
    throw dwarfError(s, pos, `string offset 0x${pos.toString(16)} outside ${s.section} (size 0x${b.length.toString(16)})`);
  const i = b.indexOf(0, pos);
  if (i < 0) throw dwarfError(s, pos, 'unterminated string');
  let ascii = true;
  for (let k = pos; k < i; k++)
    if (b[k] >= 0x80) {
      ascii = false;
      break;
    }
  // one flat string (a += per character leaves a chain of cons strings behind: a cache of
  // a thousand units' names and paths kept 180k of them alive, copied by every scavenge)
  if (ascii && i - pos < 64) return String.fromCharCode.apply(null, b.subarray(pos, i) as unknown as number[]);
  return utf8.decode(b.subarray(pos, i));
}
