/** BTF reader: pure core library (no LSP / vscode imports). */
export { Btf, parseBtf } from './btf';
export { CRenderer, declaration, renderWithDependencies, type RenderOptions } from './c';
export { parseHeader, BTF_MAGIC, type BtfHeader } from './header';
export { Kind, KIND_NAMES, type BtfKindName } from './kinds';
export type * from './types';
