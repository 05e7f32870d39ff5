/**
 * The one pass over the raw type records that every BTF load starts with: record
 * offsets, counts per kind, named types, named FUNCs, DECL_TAG offsets and the
 * largest header-level type reference. It runs once per process over ~100k records,
 * so it is always cold: in V8's interpreter a JavaScript loop costs ~0.3 µs per
 * record until the optimizing compiler has finished (several ms on a slow machine,
 * and every branch first taken after that deoptimizes it again: 15-30 ms for the
 * vmlinux BTF on a slow machine). The loop is therefore a small WebAssembly function
 * (walk.wat; the baseline compiler has it ready in well under a millisecond and it
 * runs at full speed from the first record: 1-3 ms), with a JavaScript loop doing the
 * same for big-endian blobs and for runtimes without WebAssembly.
 *
 * walkTypes() walks records in memory; scanTypes() walks them while a file is read in
 * chunks through one small buffer (`ksym btf --stats`). Both only answer "everything
 * is well-formed, here are the facts" or undefined; callers then run raw.ts's
 * indexTypes, which reports the problem with file, offset and reason. Nothing here
 * throws on bad input.
 */
import { hasTypeRef, Kind, MAX_KIND, trailingSize, TYPE_HDR } from './kinds';
import { BTF_WALK_WASM } from './walkwasm';

export interface TypeWalk {
  /** Byte offset (in the blob) of every record, in id order. */
  offsets: Uint32Array;
  /** Records per kind number (index 0 unused), length MAX_KIND + 1. */
  kindCounts: Uint32Array;
  /** Records with a nonzero name offset. */
  namedCount: number;
  /** FUNC records with a nonzero name offset. */
  namedFuncs: number;
  /** Byte offsets of the DECL_TAG records. */
  declTags: Uint32Array;
  /** Largest type id referenced by a record's header (ARRAY: element and index type). */
  maxRef: number;
}

// Record layout per kind, from the reader's own table: trailing bytes = FIXED[k] + PER_VLEN[k] * vlen;
// REF_A/REF_B: byte offsets in the record of the type ids it references (0 = none).
const FIXED = new Int32Array(32).fill(-1);
const PER_VLEN = new Int32Array(32);
const REF_A = new Int32Array(32);
const REF_B = new Int32Array(32);
for (let k = 1; k <= MAX_KIND; k++) {
  FIXED[k] = trailingSize(k, 0);
  PER_VLEN[k] = trailingSize(k, 1) - FIXED[k];
  if (hasTypeRef(k)) REF_A[k] = 8;
}
REF_A[Kind.ARRAY] = 12; // struct btf_array: type, index_type, nelems
REF_B[Kind.ARRAY] = 16;

/**
 * The walk over records in [start, end) of `bytes`, or undefined when a record has an
 * unknown kind, a name offset >= strTotal, or runs past `end`.
 */
export function walkTypes(bytes: Uint8Array, start: number, end: number, strTotal: number, littleEndian: boolean): TypeWalk | undefined {
  if (littleEndian) {
    const w = wasmWalk(bytes, start, end, strTotal);
    if (w !== null) return w;
  }
  return jsWalk(bytes, start, end, strTotal, littleEndian);
}

/** The same walk in JavaScript (big-endian blobs, no WebAssembly); also the reference the tests compare with. */
export function jsWalk(bytes: Uint8Array, start: number, end: number, strTotal: number, le: boolean): TypeWalk | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cap = Math.floor((end - start) / TYPE_HDR) + 1;
  const offsets = new Uint32Array(cap);
  const tags = new Uint32Array(cap);
  const kindCounts = new Uint32Array(MAX_KIND + 1);
  let n = 0;
  let nt = 0;
  let named = 0;
  let namedFuncs = 0;
  let maxRef = 0;
  let off = start;
  while (off < end) {
    if (off + TYPE_HDR > end) return undefined;
    const nameOff = dv.getUint32(off, le);
    const info = dv.getUint32(off + 4, le);
    const k = (info >>> 24) & 0x1f;
    const fixed = FIXED[k];
    if (fixed < 0 || nameOff >= strTotal) return undefined;
    const next = off + TYPE_HDR + fixed + PER_VLEN[k] * (info & 0xffff);
    if (next > end) return undefined;
    if (nameOff !== 0) {
      named++;
      if (k === Kind.FUNC) namedFuncs++;
    }
    if (k === Kind.DECL_TAG) tags[nt++] = off;
    if (REF_A[k] !== 0) maxRef = Math.max(maxRef, dv.getUint32(off + REF_A[k], le));
    if (REF_B[k] !== 0) maxRef = Math.max(maxRef, dv.getUint32(off + REF_B[k], le));
    kindCounts[k]++;
    offsets[n++] = off;
    off = next;
  }
  return { offsets: offsets.slice(0, n), kindCounts, namedCount: named, namedFuncs, declTags: tags.slice(0, nt), maxRef };
}

// ---- WebAssembly --------------------------------------------------------------------------

// Memory layout (walk.wat): the kind table at 0, counts at 1024, results at 1152; then
// at DATA the records (walk) or one chunk of them (scan) with 64 bytes of slack (a
// truncated last record is read before it is rejected), then the outputs.
const TABLE = 0;
const COUNTS = 1024;
const RESULTS = 1152;
const DATA = 2048;
const SLACK = 64;
const PAGE = 65536;
/** Larger inputs (vmlinux BTF is ~6 MiB) take the JavaScript walk. */
const MAX_WASM_BYTES = 1 << 30;
/** Bytes of a file read per scan call. */
const CHUNK = 64 << 10;

type Fn = (...args: number[]) => number;

interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { walk: Fn; scan: Fn } };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}

interface Arena {
  buffer: ArrayBuffer;
  walk: Fn;
  scan: Fn;
  /** Bytes available at DATA. */
  room: number;
  /** Addresses of the per-record and per-DECL_TAG outputs. */
  out: number;
  tags: number;
}

let wasmModule: object | null | undefined;
/** Reused for walks of up to SCRATCH_ROOM bytes of records (module BTF, small files). */
let scratch: Arena | undefined;
const SCRATCH_ROOM = 256 << 10;

function api(): Wasm | undefined {
  return (globalThis as unknown as { WebAssembly?: Wasm }).WebAssembly;
}

function compiled(): object | null {
  if (wasmModule === undefined) {
    try {
      const W = api();
      wasmModule = W ? new W.Module(Buffer.from(BTF_WALK_WASM, 'base64')) : null;
    } catch {
      wasmModule = null; // e.g. node --jitless
    }
  }
  return wasmModule;
}

/** A memory with `room` bytes at DATA, then `outBytes` and `tagBytes` of outputs. */
function newArena(room: number, outBytes: number, tagBytes: number): Arena | null {
  if (room + outBytes + tagBytes > MAX_WASM_BYTES) return null;
  const mod = compiled();
  const W = api();
  if (!mod || !W) return null;
  try {
    const out = DATA + ((room + SLACK + 7) & ~7);
    const tags = out + ((outBytes + 7) & ~7);
    const memory = new W.Memory({ initial: Math.ceil((tags + tagBytes) / PAGE) });
    const { walk, scan } = new W.Instance(mod, { e: { m: memory } }).exports;
    const t = new Int32Array(memory.buffer, TABLE, 256);
    for (let k = 0; k < 32; k++) {
      const row = t.subarray(8 * k, 8 * k + 8);
      row[0] = FIXED[k];
      row[1] = PER_VLEN[k];
      row[2] = REF_A[k];
      row[3] = REF_A[k] ? -1 : 0;
      row[4] = REF_B[k];
      row[5] = REF_B[k] ? -1 : 0;
      row[6] = k === Kind.FUNC ? -1 : 0;
      row[7] = k === Kind.DECL_TAG ? 1 : 0;
    }
    return { buffer: memory.buffer, walk, scan, room, out, tags };
  } catch {
    return null;
  }
}

/** Records that fit in `bytes` bytes, + 1 (a record is at least 12 bytes). */
function capOf(bytes: number): number {
  return Math.floor(bytes / TYPE_HDR) + 1;
}

function resetCounts(a: Arena): void {
  new Uint32Array(a.buffer, COUNTS, 32 + 6).fill(0); // counts and RESULTS
}

/** null: WebAssembly is not usable here (the caller walks in JavaScript). */
function wasmWalk(bytes: Uint8Array, start: number, end: number, strTotal: number): TypeWalk | undefined | null {
  if (!(start >= 0 && start <= end && end <= bytes.length)) return undefined;
  // The records are copied into a memory of the walk (small inputs: one kept for reuse; large: dropped after).
  const room = end - start;
  const cap = capOf(room);
  const a =
    room <= SCRATCH_ROOM
      ? (scratch ??= newArena(SCRATCH_ROOM, 4 * capOf(SCRATCH_ROOM), 4 * capOf(SCRATCH_ROOM)) ?? undefined)
      : newArena(room, 4 * cap, 4 * cap);
  if (!a) return null;
  new Uint8Array(a.buffer, DATA, room).set(bytes.subarray(start, end));
  resetCounts(a);
  let status: number;
  try {
    status = a.walk(DATA, DATA + room, strTotal | 0, a.out, a.tags, start - DATA);
  } catch {
    return null;
  }
  if (status !== 0) return undefined;
  const res = new Uint32Array(a.buffer, RESULTS, 5);
  return {
    offsets: new Uint32Array(a.buffer, a.out, res[0]).slice(),
    kindCounts: new Uint32Array(a.buffer, COUNTS, MAX_KIND + 1).slice(),
    namedCount: res[2],
    namedFuncs: res[3],
    declTags: new Uint32Array(a.buffer, a.tags, res[1]).slice(),
    maxRef: res[4],
  };
}

/** What scanTypes gives: the walk's facts with kinds and DECL_TAG fields instead of record offsets. */
export interface TypeScan {
  /** Records. */
  count: number;
  /** Kind of every record, in id order. */
  kinds: Uint8Array;
  kindCounts: Uint32Array;
  namedCount: number;
  namedFuncs: number;
  /** Per DECL_TAG, 4 words: record offset, name_off, type, component_idx. */
  declTags: Uint32Array;
  maxRef: number;
}

/**
 * The walk over the records in [start, end) of a file, read in chunks of 64 KiB into
 * one buffer by `read(buf, pos, len)` (which fills buf[0, len) with the file's bytes
 * at pos, or throws): nothing as large as the records is allocated, which for a
 * short-lived process saves the page faults of megabytes of fresh memory. Undefined
 * when the records are not well-formed (see walkTypes); null without WebAssembly.
 * Little-endian BTF only.
 */
export function scanTypes(
  read: (buf: Uint8Array, pos: number, len: number) => void,
  start: number,
  end: number,
  strTotal: number,
): TypeScan | undefined | null {
  if (!(start >= 0 && start <= end)) return undefined;
  const cap = capOf(end - start);
  const a = newArena(CHUNK, cap, 16 * cap);
  if (!a) return null;
  resetCounts(a);
  const chunk = new Uint8Array(a.buffer, DATA, CHUNK);
  const res = new Uint32Array(a.buffer, RESULTS, 6);
  for (let pos = start; ;) {
    if (pos > end) return undefined; // a record runs past the end
    const len = Math.min(CHUNK, end - pos);
    read(chunk, pos, len);
    const final = pos + len === end;
    let status: number;
    try {
      status = a.scan(DATA, DATA + len, final ? 1 : 0, strTotal | 0, a.out, a.tags, pos - DATA);
    } catch {
      return null;
    }
    if (status === 0) break;
    if (status !== 1) return undefined;
    pos += res[5] - DATA; // the first record not taken
  }
  return {
    count: res[0],
    kinds: new Uint8Array(a.buffer, a.out, res[0]),
    kindCounts: new Uint32Array(a.buffer, COUNTS, MAX_KIND + 1).slice(),
    namedCount: res[2],
    namedFuncs: res[3],
    declTags: new Uint32Array(a.buffer, a.tags, 4 * res[1]),
    maxRef: res[4],
  };
}
