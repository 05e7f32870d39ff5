/** Inflated (decoded) BTF types, produced on demand from the raw records. */
import type { BtfKindName } from './kinds';

export type Linkage = 'static' | 'global' | 'extern';

interface Base<K extends BtfKindName> {
  id: number;
  kind: K;
  /** '' for anonymous types. */
  name: string;
  /** Absolute byte offset of the record in its blob. */
  offset: number;
}

export interface BtfInt extends Base<'INT'> {
  size: number;
  signed: boolean;
  char: boolean;
  bool: boolean;
  bitsOffset: number;
  bits: number;
}
export interface BtfPtr extends Base<'PTR'> {
  type: number;
}
export interface BtfArray extends Base<'ARRAY'> {
  type: number;
  indexType: number;
  nelems: number;
}
export interface BtfMember {
  name: string;
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** Bitfield width in bits; 0 for a normal member. */
  bitfieldSize: number;
}
export interface BtfStruct extends Base<'STRUCT'> {
  size: number;
  members: BtfMember[];
}
export interface BtfUnion extends Base<'UNION'> {
  size: number;
  members: BtfMember[];
}
export interface BtfEnumValue {
  name: string;
  value: number;
}
export interface BtfEnum extends Base<'ENUM'> {
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}
export interface BtfEnum64Value {
  name: string;
  value: bigint;
}
export interface BtfEnum64 extends Base<'ENUM64'> {
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}
export interface BtfFwd extends Base<'FWD'> {
  union: boolean;
}
export interface BtfTypedef extends Base<'TYPEDEF'> {
  type: number;
}
export interface BtfVolatile extends Base<'VOLATILE'> {
  type: number;
}
export interface BtfConst extends Base<'CONST'> {
  type: number;
}
export interface BtfRestrict extends Base<'RESTRICT'> {
  type: number;
}
export interface BtfFunc extends Base<'FUNC'> {
  type: number;
  linkage: Linkage;
}
export interface BtfParam {
  name: string;
  type: number;
}
export interface BtfFuncProto extends Base<'FUNC_PROTO'> {
  returnType: number;
  params: BtfParam[];
  variadic: boolean;
}
export interface BtfVar extends Base<'VAR'> {
  type: number;
  linkage: Linkage;
}
export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}
export interface BtfDatasec extends Base<'DATASEC'> {
  size: number;
  vars: BtfVarSecinfo[];
}
export interface BtfFloat extends Base<'FLOAT'> {
  size: number;
}
export interface BtfDeclTag extends Base<'DECL_TAG'> {
  type: number;
  componentIdx: number;
}
export interface BtfTypeTag extends Base<'TYPE_TAG'> {
  type: number;
}

export type BtfType =
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

export interface BtfStats {
  /** Number of types in this blob (split BTF: its own types only), void excluded. */
  types: number;
  /** Per-kind counts, keys as bpftool prints kind names. */
  kinds: Record<BtfKindName, number>;
  /** FUNC records with a name. */
  namedFuncs: number;
  /** FUNCs tagged with DECL_TAG "bpf_kfunc". */
  kfuncs: number;
  firstId: number;
  lastId: number;
}
