// Seeded PRNG and byte-level mutators shared by every fuzz target.
// Everything is deterministic in (seed, parser, iteration): an input can be
// regenerated alone from those three numbers, without replaying the run.

/** mulberry32: small, fast, good enough for fuzzing. Returns floats in [0, 1). */
export function prng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return next;
}

/** Helpers bound to one PRNG. */
export function rng(seed) {
  const f = prng(seed);
  const r = {
    float: f,
    /** Integer in [0, n). */
    int: (n) => Math.floor(f() * n),
    /** True with probability p. */
    chance: (p) => f() < p,
    pick: (a) => a[Math.floor(f() * a.length)],
    u32: () => (Math.floor(f() * 0x10000) * 0x10000 + Math.floor(f() * 0x10000)) >>> 0,
    /** Mostly small numbers, sometimes huge: sizes and counts. */
    size: (max) => (f() < 0.7 ? Math.floor(f() * Math.min(max, 256)) : Math.floor(f() * max)),
  };
  return r;
}

/** Mix (seed, parser, iteration) into one 32-bit PRNG seed. */
export function mixSeed(seed, parserIndex, iteration) {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const v of [parserIndex, iteration, Math.floor(iteration / 0x100000000)]) {
    h = Math.imul(h ^ (v & 0xffff), 0x01000193);
    h = Math.imul(h ^ (v >>> 16), 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

export const INTERESTING8 = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x0a, 0x0d, 0x09, 0x40, 0x10];
export const INTERESTING32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x7ffffffe, 0x40000000, 0x00100000,
  0x000fffff,
];

/** Replace bytes [at, at+len) with `ins` (a new array). */
function splice(b, at, len, ins) {
  const out = new Uint8Array(b.length - len + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at + len), at + ins.length);
  return out;
}

/**
 * One generic byte mutation on a private copy `b` (may return a new array).
 * `dict` is a list of Uint8Array tokens of the format (inserted or overwritten).
 * `other` returns bytes of another seed for splicing.
 */
export function mutateOnce(b, r, dict, other) {
  const n = b.length;
  const op = r.int(12);
  switch (op) {
    case 0: // bit flip
      if (n) b[r.int(n)] ^= 1 << r.int(8);
      return b;
    case 1: // interesting byte
      if (n) b[r.int(n)] = r.pick(INTERESTING8);
      return b;
    case 2: // random byte
      if (n) b[r.int(n)] = r.int(256);
      return b;
    case 3: {
      // interesting 16/32-bit value, either endianness
      if (n < 4) return b;
      const at = r.int(n - 3);
      const v = r.pick(INTERESTING32);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (r.chance(0.3)) dv.setUint16(at, v & 0xffff, r.chance(0.8));
      else dv.setUint32(at, v >>> 0, r.chance(0.8));
      return b;
    }
    case 4: // truncation
      return b.subarray(0, r.int(n + 1));
    case 5: {
      // duplicate a chunk in place (grows the input)
      if (!n) return b;
      const s = r.int(n);
      const len = 1 + r.int(Math.min(n - s, r.chance(0.8) ? 64 : 4096));
      const times = r.chance(0.9) ? 1 : 1 + r.int(r.chance(0.5) ? 16 : 512);
      const chunk = new Uint8Array(len * times);
      for (let k = 0; k < times; k++) chunk.set(b.subarray(s, s + len), k * len);
      return splice(b, r.int(n + 1), 0, chunk);
    }
    case 6: {
      // delete a chunk
      if (!n) return b;
      const s = r.int(n);
      return splice(b, s, 1 + r.int(Math.min(n - s, 256)), new Uint8Array(0));
    }
    case 7: {
      // copy a chunk over another place
      if (!n) return b;
      const s = r.int(n);
      const len = 1 + r.int(Math.min(n - s, 512));
      b.copyWithin(r.int(n), s, s + len);
      return b;
    }
    case 8: {
      // splice with another seed
      const o = other ? other() : undefined;
      if (!o || !o.length) return b;
      const s = r.int(o.length);
      const ins = o.subarray(s, s + 1 + r.int(Math.min(o.length - s, 2048)));
      const at = r.int(n + 1);
      return r.chance(0.5) ? splice(b, at, 0, ins) : splice(b, at, Math.min(ins.length, n - at), ins);
    }
    case 9: // dictionary insert
    case 10: {
      // dictionary overwrite
      if (!dict || !dict.length) return b;
      const tok = r.pick(dict);
      const at = r.int(n + 1);
      return op === 9 ? splice(b, at, 0, tok) : splice(b, at, Math.min(tok.length, n - at), tok);
    }
    default: {
      // a run of one byte value
      if (!n) return b;
      const at = r.int(n);
      b.fill(r.pick(INTERESTING8), at, Math.min(n, at + 1 + r.int(64)));
      return b;
    }
  }
}

/** A copy of `src` with 1..k random generic mutations. */
export function mutate(src, r, dict, other, k = 8) {
  let b = Uint8Array.from(src);
  const m = 1 + r.int(r.chance(0.7) ? 3 : k);
  for (let i = 0; i < m; i++) b = mutateOnce(b, r, dict, other);
  return b;
}

/** Purely random bytes, optionally behind a magic prefix. */
export function randomBytes(r, max = 4096, prefix) {
  const len = r.size(max);
  const b = new Uint8Array(len + (prefix ? prefix.length : 0));
  let o = 0;
  if (prefix) {
    b.set(prefix);
    o = prefix.length;
  }
  const printable = r.chance(0.4);
  for (let i = o; i < b.length; i++) b[i] = printable ? (r.chance(0.9) ? 0x20 + r.int(95) : r.pick([0, 9, 10, 13])) : r.int(256);
  return b;
}

/** A window of a large seed (so that a mutation does not copy megabytes). */
export function window(src, r, max) {
  if (src.length <= max) return src;
  const len = 1 + r.int(max);
  let s = r.int(src.length - len);
  if (r.chance(0.7)) {
    // start at a line start most of the time
    const nl = src.indexOf(10, s);
    if (nl >= 0 && nl + 1 < src.length) s = nl + 1;
  }
  return src.subarray(s, Math.min(src.length, s + len));
}

const enc = new TextEncoder();
export const bytesOf = (s) => enc.encode(s);
export const dictOf = (list) => list.map((s) => (typeof s === 'string' ? enc.encode(s) : s));

/** Bytes to a JS string: latin1 (lossless, what the server does for kallsyms) or UTF-8. */
const utf8 = new TextDecoder('utf-8');
export function textOf(b, r) {
  if (r && r.chance(0.3)) return utf8.decode(b);
  let out = '';
  for (let k = 0; k < b.length; k += 4096) out += String.fromCharCode.apply(null, b.subarray(k, Math.min(b.length, k + 4096)));
  return out;
}
