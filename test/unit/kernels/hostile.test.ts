/** Bad input never crashes: random and hostile bytes through every pure parser of core/kernels. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archFromSymbols } from '../../../server/src/core/kernels/arch';
import { identifyLog, parseBanner } from '../../../server/src/core/kernels/identity';
import { framePairs } from '../../../server/src/core/kernels/kaslr';
import {
  buildIdInNotes,
  findBanner,
  parseProcVersion,
  parseVermagic,
  releaseFromPath,
  walkNotes,
} from '../../../server/src/core/kernels/source';
import { parseServerUrls } from '../../../server/src/core/kernels/debuginfod';
import { checkFrames, parseSymtabSections, symtabIndex } from '../../../server/src/core/kernels/symtabSection';
import { FormatError } from '../../../server/src/core/common/errors';
import { have, SYSTEM_MAP } from '../../helpers/corpus';

/** xorshift32: reproducible random bytes. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
}

const PIECES = [
  'Linux version ',
  'CPU: 0 PID: 1 Comm: ',
  'Not tainted ',
  'Tainted: ',
  '6.1.0 ',
  '#1 ',
  '(',
  ')',
  '\n',
  ' [',
  ']',
  '+0x',
  '/0x',
  'Kernel Offset: 0x',
  ' from 0x',
  'ffffffff81000000',
  'Hardware name: ',
  'RIP: 0010:',
  'x29: ',
  '\0',
  '\r',
  'é',
  '[<',
  '>] ',
];

describe('hostile input', () => {
  it('random splices of kernel tokens: identifyLog, framePairs, parseBanner never throw and stay bounded', () => {
    const r = rng(16);
    for (let k = 0; k < 2000; k++) {
      let s = '';
      const n = r() % 60;
      for (let i = 0; i < n; i++) s += r() % 4 === 0 ? String.fromCharCode(r() % 0x3000) : PIECES[r() % PIECES.length];
      const id = identifyLog(s);
      if (id.release) expect(id.release.value.length).toBeLessThanOrEqual(512);
      expect(id.conflicts.length).toBeLessThanOrEqual(32);
      framePairs(s);
      parseBanner(s);
      parseProcVersion(s);
      parseVermagic(s);
      releaseFromPath(s);
      parseServerUrls(s);
    }
  });
  it('random bytes: notes and banner search never throw', () => {
    const r = rng(7);
    for (let k = 0; k < 2000; k++) {
      const b = new Uint8Array(r() % 300);
      for (let i = 0; i < b.length; i++) b[i] = r() & 0xff;
      // Plausible note headers now and then.
      if (b.length > 12 && k % 3 === 0) {
        b[0] = 4;
        b[1] = b[2] = b[3] = 0;
        b[4] = r() % 40;
        b[5] = b[6] = b[7] = 0;
      }
      walkNotes(b, k % 2 === 0);
      buildIdInNotes(b);
      findBanner(b);
    }
    // A note claiming a 4 GB descriptor is a malformed tail, not a crash.
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(4, 0xffffffff, true);
    expect(walkNotes(huge)).toEqual([]);
  });
  it('many module build ids: capped', () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(` f+0x1/0x2 [m${i} ${i.toString(16).padStart(40, '0')}]`);
    expect(identifyLog(lines.join('\n')).moduleBuildIds.size).toBe(4096);
  });
  it.skipIf(!have(SYSTEM_MAP, 'System.map architecture'))('the architecture of a real System.map from its entry symbols', () => {
    const t = readFileSync(SYSTEM_MAP, 'latin1');
    expect(archFromSymbols((n) => t.includes(` ${n}\n`))).toEqual({ arch: 'x86_64', symbol: 'entry_SYSCALL_64' });
  });
  it('raw .symtab/.strtab section answers: truncated, misaligned, st_name out of range, hostile fields: a result or a FormatError naming the section and the offset', () => {
    const r = rng(0x5e);
    const url = 'http://srv/buildid/ab/section/.symtab';
    let errors = 0;
    for (let k = 0; k < 3000; k++) {
      const n = 1 + (r() % 40);
      const symtab = new Uint8Array(24 * n + (k % 5 === 0 ? r() % 24 : 0));
      for (let i = 24; i < symtab.length; i++) symtab[i] = r() % 3 === 0 ? r() & 0xff : 0;
      const dv = new DataView(symtab.buffer);
      for (let e = 1; e < n; e++) if (24 * e + 24 <= symtab.length) dv.setUint32(24 * e, r() % (k % 7 === 0 ? 0xffffffff : 64), true);
      const strtab = new Uint8Array(r() % 80);
      for (let i = 0; i < strtab.length; i++) strtab[i] = r() % 4 === 0 ? 0 : 0x21 + (r() % 90);
      if (strtab.length && k % 2 === 0) strtab[0] = 0;
      const t0 = performance.now();
      try {
        const { index } = symtabIndex({ symtab, symtabName: url, strtab, strtabName: 'cache/section-.strtab' }, 'L');
        checkFrames(index, ' f+0x1/0x2\n');
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        expect((e as Error).message).toMatch(
          /^(http:\/\/srv\/buildid\/ab\/section\/\.symtab|cache\/section-\.strtab): offset 0x[0-9a-f]+: \S/,
        );
        errors++;
      }
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    expect(errors).toBeGreaterThan(100);
    // A huge claimed size is refused before anything is read.
    expect(() =>
      parseSymtabSections({ symtab: new Uint8Array(96), symtabName: url, strtab: new Uint8Array(1), strtabName: 's', maxBytes: 64 }),
    ).toThrow(/offset 0x0: .symtab is 96 bytes, more than the 64 accepted/);
  });
});
