/**
 * .BTF_ids parsing of small written ELFs: a well-formed set, and hostile ones (a count running
 * past the section, a symbol outside it, random corruption) end in a FormatError naming the
 * file, the offset and the reason — never another exception, in bounded time.
 */
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../server/src/core/common/errors';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { bytesSource } from '../../../server/src/core/dwarf/source';
import { readKfuncSets } from '../../../server/src/core/trace/btfIds';
import { writeElf } from '../../helpers/elfwriter';

function set8(cnt: number, pairs: [number, number][], pad = 0): Uint8Array {
  const b = new Uint8Array(8 + 8 * pairs.length + pad);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, cnt, true);
  pairs.forEach(([id, f], i) => (dv.setUint32(8 + 8 * i, id, true), dv.setUint32(12 + 8 * i, f, true)));
  return b;
}

function elf(data: Uint8Array, symValue = 0, name = '__BTF_ID__set8__test_kfunc_ids') {
  return writeElf({
    sections: [
      { name: '.text', data: new Uint8Array(16) },
      { name: '.BTF_ids', data },
    ],
    symbols: [
      { name, value: symValue, size: data.length, shndx: 2 },
      { name: '__BTF_ID__func__x__1', value: 0, shndx: 2 },
    ],
  }).bytes;
}

const view = (b: Uint8Array) => new ElfView(bytesSource(b, 'hostile.o'));

describe('readKfuncSets on written ELFs', () => {
  it('reads a set: name, ids and per-entry flags; other __BTF_ID__ symbols are not sets', () => {
    const s = readKfuncSets(
      view(
        elf(
          set8(2, [
            [7, 0x20],
            [9, 0x3],
          ]),
        ),
      ),
    );
    expect(s.sets).toHaveLength(1);
    expect(s.sets[0].name).toBe('test_kfunc_ids');
    expect([...s.sets[0].ids]).toEqual([7, 9]);
    expect(s.byId(9)).toEqual([{ set: 'test_kfunc_ids', flags: 3 }]);
    expect(s.byId(8)).toEqual([]);
  });

  it('a count past the section and a symbol outside it are FormatErrors with the file and the offset', () => {
    for (const b of [elf(set8(1000, [[1, 0]])), elf(set8(0xffffffff, [])), elf(set8(1, [[1, 0]]), 4096)]) {
      let err: unknown;
      try {
        readKfuncSets(view(b));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).file).toBe('hostile.o');
      expect((err as Error).message).toMatch(/__BTF_ID__set8__test_kfunc_ids/);
    }
  });

  it('random corruption gives a result or a FormatError', () => {
    const good = elf(
      set8(3, [
        [1, 1],
        [2, 2],
        [3, 4],
      ]),
    );
    let seed = 17;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 3000; i++) {
      const b = Uint8Array.from(good);
      for (let k = 0, n = 1 + Math.floor(rnd() * 8); k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        readKfuncSets(view(b));
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(FormatError);
      }
    }
  });
});
