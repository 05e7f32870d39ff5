// esbuild entry: the parser API the fuzz targets drive (bundled into .cache/fuzz/core.mjs).
export { FormatError } from '../server/src/core/errors';
export { buildIndex } from '../server/src/core/symindex';
export { parseElf } from '../server/src/core/elf';
export { ModuleSymbols, parseModule } from '../server/src/core/module';
export { scanLivepatchKo } from '../server/src/core/klpko';
export { decompressModuleSync } from '../server/src/core/decompress';
export { parseBtf } from '../server/src/core/btf/index';
export { scanLine, scanWrapped, findKaslrOffset, tokenAt } from '../server/src/core/logscan';
export { resolveFrame, resolveAddressToken, kaslrShift } from '../server/src/core/resolve';
export { findKlpRefs, lineStarts } from '../server/src/core/klpref';
export { extractKlpC } from '../server/src/core/klpc';
