/** BTF reader: pure core library (no LSP / vscode imports). */
export { Btf, parseBtf } from './btf';
export { CRenderer, type RenderOptions } from './c';
export type { BtfHeader } from './header';
export { Kind, type BtfKindName } from './kinds';
export type * from './types';
