/** BTF kinds (include/uapi/linux/btf.h) and their record layout. */

export const enum Kind {
  UNKN = 0,
  INT = 1,
  PTR = 2,
  ARRAY = 3,
  STRUCT = 4,
  UNION = 5,
  ENUM = 6,
  FWD = 7,
  TYPEDEF = 8,
  VOLATILE = 9,
  CONST = 10,
  RESTRICT = 11,
  FUNC = 12,
  FUNC_PROTO = 13,
  VAR = 14,
  DATASEC = 15,
  FLOAT = 16,
  DECL_TAG = 17,
  TYPE_TAG = 18,
  ENUM64 = 19,
}

export const MAX_KIND = 19;

/** Kind names exactly as bpftool prints them. Index = kind number. */
export const KIND_NAMES = [
  'UNKN',
  'INT',
  'PTR',
  'ARRAY',
  'STRUCT',
  'UNION',
  'ENUM',
  'FWD',
  'TYPEDEF',
  'VOLATILE',
  'CONST',
  'RESTRICT',
  'FUNC',
  'FUNC_PROTO',
  'VAR',
  'DATASEC',
  'FLOAT',
  'DECL_TAG',
  'TYPE_TAG',
  'ENUM64',
] as const;

export type BtfKindName = Exclude<(typeof KIND_NAMES)[number], 'UNKN'>;

/** Size of struct btf_type (name_off, info, size/type). */
export const TYPE_HDR = 12;

/** Bytes of trailing data after the 12-byte btf_type, given kind and vlen; -1 for unknown kind. */
export function trailingSize(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.INT:
      return 4; // u32 encoding/offset/bits
    case Kind.PTR:
    case Kind.FWD:
    case Kind.TYPEDEF:
    case Kind.VOLATILE:
    case Kind.CONST:
    case Kind.RESTRICT:
    case Kind.FUNC:
    case Kind.FLOAT:
    case Kind.TYPE_TAG:
      return 0;
    case Kind.ARRAY:
      return 12; // struct btf_array
    case Kind.STRUCT:
    case Kind.UNION:
      return vlen * 12; // struct btf_member
    case Kind.ENUM:
      return vlen * 8; // struct btf_enum
    case Kind.FUNC_PROTO:
      return vlen * 8; // struct btf_param
    case Kind.VAR:
      return 4; // struct btf_var
    case Kind.DATASEC:
      return vlen * 12; // struct btf_var_secinfo
    case Kind.DECL_TAG:
      return 4; // struct btf_decl_tag
    case Kind.ENUM64:
      return vlen * 12; // struct btf_enum64
    default:
      return -1;
  }
}

/** Kinds whose third word is a type id (rather than a size). */
export function hasTypeRef(kind: number): boolean {
  switch (kind) {
    case Kind.PTR:
    case Kind.TYPEDEF:
    case Kind.VOLATILE:
    case Kind.CONST:
    case Kind.RESTRICT:
    case Kind.FUNC:
    case Kind.FUNC_PROTO:
    case Kind.VAR:
    case Kind.DECL_TAG:
    case Kind.TYPE_TAG:
      return true;
    default:
      return false;
  }
}
