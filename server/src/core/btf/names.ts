/**
 * Name index: a Uint32Array of the local indices of all named types, sorted by name
 * bytes (unsigned bytewise, like strcmp), ties in ascending id order.
 *
 * Sorting is a stable MSD radix sort over the name bytes (no JS strings, no
 * comparator callbacks): each level distributes a range by the byte at `depth`,
 * strings that end there are complete, the other buckets recurse on the next byte;
 * small ranges use insertion sort on the bytes.
 */
import type { BtfStrings } from './strings';

const SMALL = 24;

export function buildNameIndex(locals: Uint32Array, nameOffs: Uint32Array, strings: BtfStrings): Uint32Array {
  const n = locals.length;
  // Resolve every name to (buffer, absolute position) once.
  const bufs: Uint8Array[] = [];
  const sel = new Uint8Array(n);
  const pos = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const off = nameOffs[i];
    const buf = strings.bufOf(off);
    let s = bufs.indexOf(buf);
    if (s < 0) {
      s = bufs.length;
      bufs.push(buf);
    }
    sel[i] = s;
    pos[i] = strings.posOf(off);
  }
  const entries = new Uint32Array(n);
  for (let i = 0; i < n; i++) entries[i] = i;
  const ctx: Ctx = { bufs, sel, pos, tmp: new Uint32Array(n), counts: [] };
  if (bufs.length <= 1) {
    const buf = bufs[0] ?? new Uint8Array(1);
    sortSingle(entries, pos, buf, ctx, 0, n, 0);
  } else {
    sortMulti(entries, ctx, 0, n, 0);
  }
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = locals[entries[i]];
  return out;
}

interface Ctx {
  bufs: Uint8Array[];
  sel: Uint8Array;
  pos: Uint32Array;
  tmp: Uint32Array;
  counts: Int32Array[];
}

function countsFor(ctx: Ctx, depth: number): Int32Array {
  // pooled per depth; invariant: all zero between uses
  let c = ctx.counts[depth];
  if (!c) {
    c = new Int32Array(256);
    ctx.counts[depth] = c;
  }
  return c;
}

/** All names in one buffer: the common case, kept monomorphic and tight. */
function sortSingle(e: Uint32Array, pos: Uint32Array, buf: Uint8Array, ctx: Ctx, lo: number, hi: number, depth: number): void {
  for (;;) {
    const n = hi - lo;
    if (n < 2) return;
    if (n <= SMALL) {
      for (let i = lo + 1; i < hi; i++) {
        const x = e[i];
        const px = pos[x] + depth;
        let j = i - 1;
        while (j >= lo) {
          const y = e[j];
          let a = pos[y] + depth;
          let b = px;
          let c = 0;
          for (;;) {
            const u = buf[a++];
            const v = buf[b++];
            if (u !== v) {
              c = u - v;
              break;
            }
            if (u === 0) break;
          }
          if (c < 0 || (c === 0 && y < x)) break;
          e[j + 1] = y;
          j--;
        }
        e[j + 1] = x;
      }
      return;
    }
    const counts = countsFor(ctx, depth);
    let mn = 255;
    let mx = 0;
    for (let i = lo; i < hi; i++) {
      const b = buf[pos[e[i]] + depth];
      counts[b]++;
      if (b < mn) mn = b;
      if (b > mx) mx = b;
    }
    if (mn === mx) {
      // one shared byte: nothing to distribute
      counts[mn] = 0;
      if (mn === 0) return; // all names equal and complete
      depth++;
      continue;
    }
    let acc = lo;
    for (let b = mn; b <= mx; b++) {
      const c = counts[b];
      counts[b] = acc;
      acc += c;
    }
    const tmp = ctx.tmp;
    for (let i = lo; i < hi; i++) {
      const x = e[i];
      tmp[counts[buf[pos[x] + depth]]++] = x;
    }
    for (let i = lo; i < hi; i++) e[i] = tmp[i];
    // counts[b] is now the end of bucket b; bucket 0 (names ending here) is complete
    let start = lo;
    for (let b = mn; b <= mx; b++) {
      const end = counts[b];
      counts[b] = 0;
      if (b !== 0 && end - start > 1) sortSingle(e, pos, buf, ctx, start, end, depth + 1);
      start = end;
    }
    return;
  }
}

/**
 * Names spread over several buffers (split BTF naming base strings). A deliberate copy of
 * sortSingle with each byte read through bufs[sel[x]]: one function for both would put that
 * indirection in the hot loops of the common one-buffer case (vmlinux BTF).
 */
function sortMulti(e: Uint32Array, ctx: Ctx, lo: number, hi: number, depth: number): void {
  const { bufs, sel, pos } = ctx;
  const byte = (x: number, d: number) => bufs[sel[x]][pos[x] + d];
  for (;;) {
    const n = hi - lo;
    if (n < 2) return;
    if (n <= SMALL) {
      for (let i = lo + 1; i < hi; i++) {
        const x = e[i];
        let j = i - 1;
        while (j >= lo) {
          const y = e[j];
          let c = 0;
          for (let d = depth; ; d++) {
            const u = byte(y, d);
            const v = byte(x, d);
            if (u !== v) {
              c = u - v;
              break;
            }
            if (u === 0) break;
          }
          if (c < 0 || (c === 0 && y < x)) break;
          e[j + 1] = y;
          j--;
        }
        e[j + 1] = x;
      }
      return;
    }
    const counts = countsFor(ctx, depth);
    let mn = 255;
    let mx = 0;
    for (let i = lo; i < hi; i++) {
      const b = byte(e[i], depth);
      counts[b]++;
      if (b < mn) mn = b;
      if (b > mx) mx = b;
    }
    if (mn === mx) {
      counts[mn] = 0;
      if (mn === 0) return;
      depth++;
      continue;
    }
    let acc = lo;
    for (let b = mn; b <= mx; b++) {
      const c = counts[b];
      counts[b] = acc;
      acc += c;
    }
    const tmp = ctx.tmp;
    for (let i = lo; i < hi; i++) {
      const x = e[i];
      tmp[counts[byte(x, depth)]++] = x;
    }
    for (let i = lo; i < hi; i++) e[i] = tmp[i];
    let start = lo;
    for (let b = mn; b <= mx; b++) {
      const end = counts[b];
      counts[b] = 0;
      if (b !== 0 && end - start > 1) sortMulti(e, ctx, start, end, depth + 1);
      start = end;
    }
    return;
  }
}

/** First position in the sorted index whose name is >= q. */
export function lowerBound(sorted: Uint32Array, nameOf: (local: number) => number, strings: BtfStrings, q: Uint8Array): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strings.compare(nameOf(sorted[mid]), q) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
