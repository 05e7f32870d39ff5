/**
 * Livepatch candidates say what tells same-name copies apart: the nearest global symbol
 * before each copy and its section. Oracles: the System.map text itself (address order,
 * upper-case types are globals) and readelf -sW for module .ko files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadIndex } from '../../../server/src/core/kallsyms/load';
import { parseModule } from '../../../server/src/core/modules/symtab';
import { describeCandidate, moduleTarget, vmlinuxTarget } from '../../../server/src/core/livepatch/sympos';
import { diagnoseDocument } from '../../../server/src/core/livepatch/checks';
import { readelfSymbols } from '../../helpers/readelf';
import { DEBIAN, have, SYSTEM_MAP } from '../../helpers/corpus';

const DRBD = join(DEBIAN, 'modules/drivers/block/drbd/drbd.ko');

describe.skipIf(!have(SYSTEM_MAP, 'livepatch copy descriptions (System.map)'))('vmlinux copies (corpus System.map)', () => {
  it('each copy names the nearest global symbol before it, and .text', async () => {
    const r = await loadIndex([{ file: SYSTEM_MAP, kind: 'system.map' }]);
    const index = r.index!;
    index.buildNameIndex();
    // The oracle: System.map lines in file order (sorted by address), read independently.
    const lines = readFileSync(SYSTEM_MAP, 'latin1')
      .split('\n')
      .map((l) => /^([0-9a-f]+) (\w) (\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ addr: BigInt('0x' + m[1]), type: m[2], name: m[3] }));
    const counts = new Map<string, number>();
    for (const l of lines) if (l.type === 't') counts.set(l.name, (counts.get(l.name) ?? 0) + 1);
    const names = [...counts]
      .filter(([, n]) => n >= 3)
      .map(([n]) => n)
      .slice(0, 20);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const t = vmlinuxTarget(index, name)!;
      expect(t.kernel.length).toBe(counts.get(name));
      for (const c of t.kernel) {
        const at = lines.findIndex((l) => l.name === name && l.addr === BigInt('0x' + c.address));
        let j = at;
        while (j >= 0 && !(/[A-Z]/.test(lines[j].type) && !'AU'.includes(lines[j].type) && lines[j].name !== name)) j--;
        expect(c.after).toEqual({ name: lines[j].name, offset: Number(lines[at].addr - lines[j].addr) });
        expect(c.section).toMatch(/^\.(init\.)?text$/);
        expect(describeCandidate(c)).toBe(
          `#${c.position} ${c.address} t in ${c.section} after ${c.after!.name}+0x${c.after!.offset.toString(16)}`,
        );
      }
      // The copies are told apart: no two describe alike.
      expect(new Set(t.kernel.map((c) => describeCandidate(c))).size).toBe(t.kernel.length);
    }
  });

  it('the quick fixes of an ambiguous .klp.sym name carry the description', async () => {
    const r = await loadIndex([{ file: SYSTEM_MAP, kind: 'system.map' }]);
    const index = r.index!;
    index.buildNameIndex();
    const dup = 'type_show';
    const d = await diagnoseDocument(`.klp.sym.vmlinux.${dup},0\n`, 'plaintext', { index });
    const fixes = d.flatMap((x) => x.fixes).map((f) => f.title);
    expect(fixes.length).toBeGreaterThan(1);
    expect(fixes.every((f) => / in \.(init\.)?text after \S+\+0x[0-9a-f]+$/.test(f))).toBe(true);
  });
});

describe.skipIf(!have(DRBD, 'livepatch copy descriptions (drbd.ko)'))('module copies (drbd.ko put_ldev)', () => {
  it('each copy names the nearest GLOBAL symbol before it in its section (readelf -sW)', () => {
    const mod = parseModule(new Uint8Array(readFileSync(DRBD)), DRBD);
    const t = moduleTarget(mod, 'put_ldev', DRBD);
    expect(t.kernel.length).toBe(10);
    const syms = readelfSymbols(DRBD);
    for (const c of t.kernel) {
      const me = syms.find((x) => x.num === c.symtabIndex)!;
      const before = syms
        .filter((x) => x.ndx === me.ndx && x.bind === 'GLOBAL' && x.value <= me.value && x.name !== 'put_ldev' && x.name)
        .sort((a, b) => b.value - a.value)[0];
      if (!before) expect(c.after).toBeUndefined();
      else expect(c.after).toEqual({ name: before.name, offset: me.value - before.value });
    }
    expect(t.kernel.filter((c) => c.after).length).toBeGreaterThan(5);
  });
});
