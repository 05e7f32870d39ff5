/**
 * Old x86 `RIP: 0010:[<A>]  [<A>] f+off/size` lines (corpus logs 03 and 10): both addresses
 * are checked against the frame the kernel printed after them, not only the second.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_SHIFT } from '../../../server/src/core/kernels/logShift';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { scanLine, type AddressToken, type FrameToken } from '../../../server/src/core/log/scan';
import { hover } from '../../../server/src/lsp/hover/kallsyms';
import { have, OOPS } from '../../helpers/corpus';

const HAVE = have(OOPS, 'old x86 RIP line hover tests');
const ripLines = (): string[] =>
  readdirSync(OOPS)
    .filter((f) => /^(03|10)-/.test(f))
    .flatMap((f) => readFileSync(join(OOPS, f), 'utf8').split('\n'))
    .filter((l) => /RIP:? ?[0-9a-f]{4}:\[<[0-9a-f]+>\]\s+\[<[0-9a-f]+>\]/.test(l));

/** An index in which the frame's name/offset/size is exactly what the kernel printed for `addr`. */
function indexFor(f: FrameToken, addr: bigint) {
  const start = addr - BigInt(f.offset!);
  const end = start + BigInt(f.size!);
  const text = `${start.toString(16)} T ${f.name}\n${end.toString(16)} T after_it\n`;
  return buildIndex([{ file: '/tmp/rip.kallsyms', kind: 'kallsyms', bytes: Buffer.from(text) }]);
}

describe.skipIf(!HAVE)('old x86 RIP lines', () => {
  it('the corpus has such lines (logs 03 and 10)', () => expect(ripLines().length).toBeGreaterThanOrEqual(2));

  it('hover on either address says whether it matches the frame printed after it', () => {
    for (const line of ripLines()) {
      const toks = scanLine(line);
      const f = toks.find((t): t is FrameToken => t.kind === 'frame')!;
      const [a, b] = toks.filter((t): t is AddressToken => t.kind === 'address');
      const index = indexFor(f, b.address);
      const doc = { lineCount: 1, line: () => line };
      for (const t of [a, b]) {
        const h = hover({ index, shift: NO_SHIFT, languageId: 'kernel-log' }, doc, 0, t.start + 2)!;
        expect(h.markdown).toContain('matches the frame in the log ✓');
      }
      // An index where the function is 0x10 bytes longer: both addresses are flagged, not only the second.
      const other = buildIndex([
        {
          file: '/tmp/rip2.kallsyms',
          kind: 'kallsyms',
          bytes: Buffer.from(
            `${(b.address - BigInt(f.offset!)).toString(16)} T ${f.name}\n${(b.address - BigInt(f.offset!) + BigInt(f.size! + 0x10)).toString(16)} T x\n`,
          ),
        },
      ]);
      for (const t of [a, b]) {
        const h = hover({ index: other, shift: NO_SHIFT, languageId: 'kernel-log' }, doc, 0, t.start + 2)!;
        expect(h.markdown).toContain(`⚠ the log printed \`${line.slice(f.start, f.end)}\``);
      }
    }
  });
});
