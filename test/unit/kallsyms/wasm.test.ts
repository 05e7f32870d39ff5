// The embedded WebAssembly of the kallsyms fast path is the compiled kallsyms.wat.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/corpus';

describe('kallsymswasm.ts', () => {
  it('is what scripts/gen-wasm.mjs makes of kallsyms.wat (run it after editing the .wat)', async () => {
    const { generate } = await import('../../../scripts/gen-wasm.mjs');
    const want = await generate({
      wat: 'server/src/core/kallsyms/parse.wat',
      out: 'server/src/core/kallsyms/parseWasm.ts',
      name: 'KALLSYMS_WASM',
    });
    expect(readFileSync(join(ROOT, 'server/src/core/kallsyms/parseWasm.ts'), 'utf8')).toBe(want);
  });
});
