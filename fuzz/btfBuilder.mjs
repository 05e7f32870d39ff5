// A builder of raw BTF from scratch (struct btf_header, btf_type records, the string
// section): the fuzz seed (btfseed.mjs) and the BTF unit tests (test/unit/btf) build their
// synthetic BTF with it. Plain ESM so that `node fuzz/run.mjs` loads it as it is.

/**
 * BTF_KIND_* as include/uapi/linux/btf.h numbers them. Deliberately not imported from
 * server/src/core/btf/kinds.ts: this table is the oracle the parser's own table is tested
 * against (a wrong number there must not also be a wrong number here).
 */
export const K = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
};

/** The kind names bpftool prints (btf_kind_str), in kind order. */
export const KIND_NAMES = Object.keys(K);

export class BtfBuilder {
  strs = [0];
  types = [];
  strOff = new Map();
  /** The offset of `s` in the string section (added once; '' is 0). */
  str(s) {
    if (s === '') return 0;
    const got = this.strOff.get(s);
    if (got !== undefined) return got;
    const off = this.strs.length;
    for (const c of Buffer.from(s)) this.strs.push(c);
    this.strs.push(0);
    this.strOff.set(s, off);
    return off;
  }
  /** Add a btf_type (name, info from kind/vlen/kflag, size or type) and its trailing words; returns its id. */
  add(kind, name, vlen, sizeOrType, extra = [], kflag = false) {
    this.types.push([this.str(name), ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra]);
    return this.types.length;
  }
  /** The raw BTF: header (24 bytes, plus `hdrExtra` bytes of a longer header), types, strings. */
  build(littleEndian = true, hdrExtra = 0) {
    const words = this.types.flat();
    const hdrLen = 24 + hdrExtra;
    const typeLen = words.length * 4;
    const buf = new Uint8Array(hdrLen + typeLen + this.strs.length);
    const dv = new DataView(buf.buffer);
    dv.setUint16(0, 0xeb9f, littleEndian);
    buf[2] = 1;
    dv.setUint32(4, hdrLen, littleEndian);
    dv.setUint32(8, 0, littleEndian);
    dv.setUint32(12, typeLen, littleEndian);
    dv.setUint32(16, typeLen, littleEndian);
    dv.setUint32(20, this.strs.length, littleEndian);
    words.forEach((w, i) => dv.setUint32(hdrLen + i * 4, w >>> 0, littleEndian));
    buf.set(this.strs, hdrLen + typeLen);
    return buf;
  }
}
