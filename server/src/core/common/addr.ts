/**
 * 64-bit kernel addresses without BigInt on the hot path: an address is a pair of
 * unsigned 32-bit halves (hi, lo). BigInt is used only at the API edge.
 */

/** Nibble value of an ASCII byte, -1 when the byte is not a hex digit. */
export const HEX = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

export function toBig(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function hiOf(a: bigint): number {
  return Number((a >> 32n) & 0xffffffffn);
}

export function loOf(a: bigint): number {
  return Number(a & 0xffffffffn);
}

/** Hex without 0x, zero-padded to `width` digits (16 for 64-bit, 8 for 32-bit). */
export function hexAddr(a: bigint, width = 16): string {
  return a.toString(16).padStart(width, '0');
}

/** Parse a hex address string ("0x" optional). Returns undefined when not hex or wider than 64 bits. */
export function parseHexAddr(s: string): bigint | undefined {
  let t = s.trim();
  if (t.startsWith('0x') || t.startsWith('0X')) t = t.slice(2);
  if (t.length === 0 || t.length > 16 || !/^[0-9a-fA-F]+$/.test(t)) return undefined;
  return BigInt('0x' + t);
}
