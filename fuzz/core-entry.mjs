// esbuild entry: the parser API the fuzz targets drive (bundled into .cache/fuzz/core.mjs).
export { FormatError } from '../server/src/core/common/errors';
export { buildIndex } from '../server/src/core/kallsyms/symbolIndex';
export { parseElf } from '../server/src/core/modules/elf';
export { ModuleSymbols, parseModule } from '../server/src/core/modules/symtab';
export { scanLivepatchKo } from '../server/src/core/livepatch/koScan';
export { decompressModuleSync, decompressCap } from '../server/src/core/modules/decompress';
export { readGuardedSync, openGuarded, readAllGuarded, GuardedReadError } from '../server/src/core/common/readGuarded';
export { parseBtf } from '../server/src/core/btf/index';
export { scanLine, scanWrapped, findKaslrOffset, tokenAt } from '../server/src/core/log/scan';
export { resolveFrame, resolveAddressToken } from '../server/src/core/log/resolve';
export { identifyLog } from '../server/src/core/kernels/identity';
export { logShift } from '../server/src/core/kernels/logShift';
export { findKlpRefs, lineStarts } from '../server/src/core/livepatch/textRefs';
export { extractKlpC } from '../server/src/core/livepatch/cInitializers';
export { DwarfReader } from '../server/src/core/dwarf/reader';
export { bytesSource } from '../server/src/core/dwarf/source';
