/**
 * A short pass of the fuzz harness (fuzz/*.mjs, the same code as `npm run fuzz`) over
 * every parser, in process, against the TypeScript sources: mutated corpus files and
 * random bytes only ever give a result or a FormatError.
 *
 * Wall times are not asserted (noisy machines): inputs the harness finds super-linearly
 * slow are printed, and `npm run fuzz` fails on them.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helpers without type declarations
import { runInProcess, formatTable } from '../../../fuzz/harness.mjs';
// @ts-expect-error: plain ESM helpers without type declarations
import { makeTargets, PARSERS } from '../../../fuzz/targets.mjs';
// @ts-expect-error: plain ESM helpers without type declarations
import { mixSeed, rng } from '../../../fuzz/mutate.mjs';
import { FormatError } from '../../../server/src/core/common/errors';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { parseElf } from '../../../server/src/core/modules/elf';
import { ModuleSymbols, parseModule } from '../../../server/src/core/modules/symtab';
import { scanLivepatchKo } from '../../../server/src/core/livepatch/koScan';
import { decompressCap, decompressModuleSync } from '../../../server/src/core/modules/decompress';
import { GuardedReadError, openGuarded, readAllGuarded, readGuardedSync } from '../../../server/src/core/common/readGuarded';
import { parseBtf } from '../../../server/src/core/btf/index';
import { findKaslrOffset, scanLine, scanWrapped, tokenAt } from '../../../server/src/core/log/scan';
import { resolveAddressToken, resolveFrame } from '../../../server/src/core/log/resolve';
import { identifyLog } from '../../../server/src/core/kernels/identity';
import { logShift } from '../../../server/src/core/kernels/logShift';
import { kernelForLog } from '../../../server/src/core/kernels/forLog';
import { discoverKernels } from '../../../server/src/core/kernels/storeKernels';
import {
  buildIdInNotes,
  findBanner,
  parseProcVersion,
  parseVermagic,
  releaseFromPath,
  walkNotes,
} from '../../../server/src/core/kernels/source';
import { findKlpRefs, lineStarts } from '../../../server/src/core/livepatch/textRefs';
import { extractKlpC } from '../../../server/src/core/livepatch/cInitializers';
import { DwarfReader } from '../../../server/src/core/dwarf/reader';
import { bytesSource } from '../../../server/src/core/dwarf/source';
import { inlinedInto } from '../../../server/src/core/dwarf/inlinedInto';
import { jsReadAbbrevTable, readAbbrevTable } from '../../../server/src/core/dwarf/abbrev';
import { readKfuncSets } from '../../../server/src/core/trace/btfIds';
import { checkFrames, parseSymtabSections, symtabIndex } from '../../../server/src/core/kernels/symtabSection';
import { ROOT } from '../../helpers/corpus';

const core = {
  FormatError,
  parseSymtabSections,
  symtabIndex,
  checkFrames,
  buildIndex,
  parseElf,
  ModuleSymbols,
  parseModule,
  scanLivepatchKo,
  decompressModuleSync,
  decompressCap,
  readGuardedSync,
  openGuarded,
  readAllGuarded,
  GuardedReadError,
  parseBtf,
  scanLine,
  scanWrapped,
  findKaslrOffset,
  tokenAt,
  resolveFrame,
  resolveAddressToken,
  identifyLog,
  logShift,
  kernelForLog,
  discoverKernels,
  walkNotes,
  buildIdInNotes,
  findBanner,
  parseProcVersion,
  parseVermagic,
  releaseFromPath,
  findKlpRefs,
  lineStarts,
  extractKlpC,
  DwarfReader,
  bytesSource,
  inlinedInto,
  readAbbrevTable,
  jsReadAbbrevTable,
  readKfuncSets,
};

interface Row {
  parser: string;
  iterations: number;
  results: number;
  formatErrors: number;
  masked: number;
  failures: number;
  slow: number;
  failureList: { iter: number; error: string }[];
  maskedList: { iter: number; error: string }[];
  slowList: { iter: number; ms: number; size: number }[];
}

const ITERATIONS = Number(process.env.KSYM_FUZZ_ITERATIONS ?? 300);
const SEED = 20240601;

describe('fuzz harness (short pass)', () => {
  it('generates the same input for the same (seed, parser, iteration)', () => {
    const targets = makeTargets(core, { root: resolve(ROOT), only: ['kallsyms', 'klpc'] });
    for (const name of ['kallsyms', 'klpc']) {
      const a = targets[name].gen(rng(mixSeed(7, PARSERS.indexOf(name), 42)));
      const b = targets[name].gen(rng(mixSeed(7, PARSERS.indexOf(name), 42)));
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
  });

  it.each(PARSERS as string[])(`%s: ${ITERATIONS} seeded inputs end with a result or a FormatError`, (name) => {
    const targets = makeTargets(core, { root: resolve(ROOT), only: name });
    const [row] = runInProcess({ targets, core, seed: SEED, iterations: ITERATIONS }) as Row[];
    console.log(formatTable([row]));
    for (const s of row.slowList)
      console.warn(
        `slow ${name} seed=${SEED} iter=${s.iter}: ${s.ms.toFixed(1)} ms for ${s.size} bytes (npm run fuzz ` +
          `-- --parser ${name} --seed ${SEED} --only ${s.iter})`,
      );
    for (const m of row.maskedList) console.warn(`masked internal error ${name} seed=${SEED} iter=${m.iter}: ${m.error.split('\n')[0]}`);
    const failures = row.failureList.map((f) => `${name} seed=${SEED} iter=${f.iter}: ${f.error}`);
    expect(failures).toEqual([]);
    expect(row.results + row.formatErrors + row.masked).toBe(ITERATIONS);
    // the mutations are not all rejected up front: some inputs get through the parser
    expect(row.results).toBeGreaterThan(0);
  });
});
