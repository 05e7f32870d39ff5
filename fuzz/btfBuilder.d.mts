/** Types for fuzz/btfBuilder.mjs (used by test/unit/btf and test/cli/btf-cli.test.ts). */
type Kinds = 'INT' | 'PTR' | 'ARRAY' | 'STRUCT' | 'UNION' | 'ENUM' | 'FWD' | 'TYPEDEF' | 'VOLATILE' | 'CONST' | 'RESTRICT';
type MoreKinds = 'FUNC' | 'FUNC_PROTO' | 'VAR' | 'DATASEC' | 'FLOAT' | 'DECL_TAG' | 'TYPE_TAG' | 'ENUM64';
export declare const K: Readonly<Record<Kinds | MoreKinds, number>>;
export declare const KIND_NAMES: string[];
export declare class BtfBuilder {
  strs: number[];
  types: number[][];
  strOff: Map<string, number>;
  str(s: string): number;
  add(kind: number, name: string, vlen: number, sizeOrType: number, extra?: number[], kflag?: boolean): number;
  build(littleEndian?: boolean, hdrExtra?: number): Uint8Array;
}
