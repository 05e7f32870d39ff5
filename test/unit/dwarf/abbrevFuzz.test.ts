/**
 * The fuzz harness's `abbrev` target (fuzz/targets.mjs) in its differential mode: with a
 * core that has both parsers, every mutated .debug_abbrev is parsed at several offsets by
 * readAbbrevTable (WebAssembly + JavaScript fallback) and by the JavaScript reference, and
 * any difference (table or error message) is a failure. (test/unit/fuzz/harness.test.ts
 * runs the same target through the reader only.)
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helpers without type declarations
import { runInProcess, formatTable } from '../../../fuzz/harness.mjs';
// @ts-expect-error: plain ESM helpers without type declarations
import { makeTargets } from '../../../fuzz/targets.mjs';
import { FormatError } from '../../../server/src/core/common/errors';
import { jsReadAbbrevTable, readAbbrevTable } from '../../../server/src/core/dwarf/abbrev';
import { DwarfReader } from '../../../server/src/core/dwarf/reader';
import { bytesSource } from '../../../server/src/core/dwarf/source';
import { ROOT } from '../../helpers/corpus';

interface Row {
  iterations: number;
  results: number;
  formatErrors: number;
  masked: number;
  failureList: { iter: number; error: string }[];
}

describe('abbrev fuzz target, differential', () => {
  it('mutated .debug_abbrev sections: readAbbrevTable = jsReadAbbrevTable (tables and errors)', () => {
    const core = { FormatError, DwarfReader, bytesSource, readAbbrevTable, jsReadAbbrevTable };
    const targets = makeTargets(core, { root: resolve(ROOT), only: 'abbrev' });
    const iterations = Number(process.env.KSYM_FUZZ_ITERATIONS ?? 400);
    const [row] = runInProcess({ targets, core, seed: 20240602, iterations }) as Row[];
    console.log(formatTable([row]));
    expect(row.failureList.map((f) => `iter ${f.iter}: ${f.error}`)).toEqual([]);
    expect(row.results + row.formatErrors + row.masked).toBe(iterations);
    expect(row.results).toBeGreaterThan(0);
  }, 120_000);
});
