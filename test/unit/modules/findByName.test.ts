/**
 * ModuleSymbols.findByName answers its first lookups by scanning the string table, later
 * ones from the sorted name index: both must give the same symbols in the same (symtab)
 * order with the same positions (the livepatch sympos), for every name of every corpus
 * module, in both views (kept after init, and the full symtab).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DEBIAN, have, koFiles } from '../../helpers/corpus';
import { parseModule } from '../../../server/src/core/modules/symtab';
import { writeElf } from '../../helpers/elfwriter';

const MODS = `${DEBIAN}/modules`;
const HAVE = have(MODS, 'findByName scan vs index on the corpus modules');

describe('findByName: string-table scan and name index agree', () => {
  it.skipIf(!HAVE)('every name of every corpus module, both views', () => {
    const files = koFiles(MODS).filter((f) => f.endsWith('.ko'));
    expect(files.length).toBeGreaterThan(5);
    let compared = 0,
      duplicates = 0;
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(f));
      const indexed = parseModule(bytes, f);
      indexed.duplicateNames('kept'); // builds both name indexes: later findByName calls use them
      indexed.duplicateNames('init');
      const names = new Set<string>();
      for (let i = 1; i < indexed.count; i++) names.add(indexed.symbolName(i));
      let scanned = parseModule(bytes, f),
        used = 0;
      for (const name of [...names, 'no_such_symbol_anywhere', '']) {
        for (const view of ['kept', 'init'] as const) {
          // a fresh module every 16 lookups: each of its lookups is answered by the scan
          if (used++ === 16) {
            scanned = parseModule(bytes, f);
            used = 1;
          }
          const a = scanned.findByName(name, view);
          const b = indexed.findByName(name, view);
          expect(a, `${f}: ${name} (${view})`).toEqual(b);
          compared++;
          if (b.length > 1) duplicates++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
    expect(duplicates).toBeGreaterThan(0); // the corpus has names defined more than once (static functions)
  });

  it('after the scans the index answers, with the same results', () => {
    const w = writeElf({
      sections: [{ name: '.text', flags: 6, data: new Uint8Array(64), addralign: 16 }],
      modinfo: { name: 'x' },
      symbols: [
        { name: 'foo', type: 2, shndx: 1, value: 0, size: 4 },
        { name: 'bar', bind: 1, type: 2, shndx: 1, value: 8, size: 4 },
        { name: 'foo', type: 2, shndx: 1, value: 16, size: 4 },
        { name: 'ext', bind: 1, shndx: 0 },
      ],
    });
    const m = parseModule(w.bytes, 'x.ko');
    const first = m.findByName('foo', 'init');
    expect(first.map((x) => x.position)).toEqual([1, 2]);
    for (let k = 0; k < 40; k++) expect(m.findByName('foo', 'init')).toEqual(first);
    expect(m.findByName('ext', 'init')).toEqual([]); // undefined symbols are never matches
    expect(m.findByName('fo', 'init')).toEqual([]);
  });
});
