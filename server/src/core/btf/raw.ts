/**
 * One pass over the raw type records: validates each record's kind and extent,
 * its name offset and its header-level type reference, and records the byte
 * offset of every record in a Uint32Array (local index i -> id firstId + i).
 * Nothing is decoded or copied here. Valid input is answered by walk.ts.
 */
import { FormatError } from '../common/errors';
import type { BtfHeader } from './header';
import { hasTypeRef, Kind, KIND_NAMES, MAX_KIND, trailingSize, TYPE_HDR } from './kinds';
import type { BtfStrings } from './strings';
import { walkTypes } from './walk';

/** BTF_MAX_TYPE: type ids are limited to 20 bits by the format's users. */
export const BTF_MAX_TYPE = 0x000fffff;

export interface RawIndex {
  /** offsets[i] = absolute byte offset of the record with id firstId + i. */
  offsets: Uint32Array;
  /** count per kind number (index 0 unused). */
  kindCounts: Uint32Array;
  namedFuncs: number;
  namedCount: number;
}

export function indexTypes(
  bytes: Uint8Array,
  dv: DataView,
  hdr: BtfHeader,
  strings: BtfStrings,
  firstId: number,
  file: string,
  splitHint: string,
): RawIndex {
  // The walk (WebAssembly, fast from the first record) answers valid input; the loop
  // below finds and reports what is wrong with anything else.
  const w = walkTypes(bytes, hdr.typeStart, hdr.typeEnd, strings.total, hdr.littleEndian);
  if (w && w.maxRef <= firstId + w.offsets.length - 1 && firstId + w.offsets.length - 1 <= BTF_MAX_TYPE) {
    return { offsets: w.offsets, kindCounts: w.kindCounts, namedFuncs: w.namedFuncs, namedCount: w.namedCount };
  }
  const le = hdr.littleEndian;
  const end = hdr.typeEnd;
  const cap = Math.floor((end - hdr.typeStart) / TYPE_HDR);
  const tmp = new Uint32Array(cap);
  const kindCounts = new Uint32Array(MAX_KIND + 1);
  const strTotal = strings.total;
  let n = 0;
  let namedFuncs = 0;
  let namedCount = 0;
  let off = hdr.typeStart;
  while (off < end) {
    const id = firstId + n;
    if (off + TYPE_HDR > end) {
      throw new FormatError(
        file,
        off,
        `type [${id}]: record header (12 bytes) runs past the end of the type section at 0x${end.toString(16)}`,
      );
    }
    const nameOff = dv.getUint32(off, le);
    const info = dv.getUint32(off + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const extra = trailingSize(kind, vlen);
    if (extra < 0) throw new FormatError(file, off, `type [${id}]: unknown BTF kind ${kind}`);
    const next = off + TYPE_HDR + extra;
    if (next > end) {
      throw new FormatError(
        file,
        off,
        `type [${id}] ${KIND_NAMES[kind]}: record of ${TYPE_HDR + extra} bytes (vlen ${vlen}) runs past the end of the type section at 0x${end.toString(16)}`,
      );
    }
    if (nameOff >= strTotal) {
      throw new FormatError(
        file,
        off,
        `type [${id}] ${KIND_NAMES[kind]}: name offset ${nameOff} is past the string section (${strTotal} bytes)${splitHint}`,
      );
    }
    if (nameOff !== 0) {
      namedCount++;
      if (kind === Kind.FUNC) namedFuncs++;
    }
    if (n >= cap) throw new FormatError(file, off, `type [${id}]: too many types`);
    tmp[n++] = off;
    kindCounts[kind]++;
    off = next;
  }
  const lastId = firstId + n - 1;
  if (lastId > BTF_MAX_TYPE) throw new FormatError(file, hdr.typeStart, `too many BTF types: last id ${lastId} exceeds ${BTF_MAX_TYPE}`);
  const offsets = tmp.slice(0, n);
  // Header-level type references must point at existing ids (0 = void is fine).
  for (let i = 0; i < n; i++) {
    const o = offsets[i];
    const kind = (dv.getUint32(o + 4, le) >>> 24) & 0x1f;
    if (hasTypeRef(kind)) {
      const t = dv.getUint32(o + 8, le);
      if (t > lastId) {
        throw new FormatError(
          file,
          o,
          `type [${firstId + i}] ${KIND_NAMES[kind]}: references type id ${t} but the last type is [${lastId}]${splitHint}`,
        );
      }
    } else if (kind === Kind.ARRAY) {
      const t = dv.getUint32(o + 12, le);
      const it = dv.getUint32(o + 16, le);
      if (t > lastId || it > lastId) {
        throw new FormatError(
          file,
          o,
          `type [${firstId + i}] ARRAY: references type id ${Math.max(t, it)} but the last type is [${lastId}]${splitHint}`,
        );
      }
    }
  }
  return { offsets, kindCounts, namedFuncs, namedCount };
}
