import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIndex, type SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { lookupFromIndex } from '../../../server/src/core/kernels/indexLookup';
import { addressShift, AddressShift, framePairs, inferKaslr } from '../../../server/src/core/kernels/kaslr';
import { identifyLog } from '../../../server/src/core/kernels/identity';
import { have, OOPS, SYSTEM_MAP } from '../../helpers/corpus';

const haveMap = have(SYSTEM_MAP, 'KASLR inference against the Debian System.map');

/** The System.map text itself is the oracle: address of a name, size to the next higher address. */
function fromMap(map: string, name: string): { address: bigint; size: number } {
  const lines = map.split('\n');
  const i = lines.findIndex((l) => l.endsWith(` ${name}`));
  if (i < 0) throw new Error(`${name} not in System.map`);
  const a = BigInt('0x' + lines[i].slice(0, 16));
  let j = i + 1;
  while (BigInt('0x' + lines[j].slice(0, 16)) === a) j++;
  return { address: a, size: Number(BigInt('0x' + lines[j].slice(0, 16)) - a) };
}

const hex = (v: bigint) => v.toString(16).padStart(16, '0');

describe.skipIf(!haveMap)('KASLR shift inferred from [<addr>] frames against Debian 6.1 System.map', () => {
  let map: string;
  let index: SymbolIndex;
  beforeAll(() => {
    map = readFileSync(SYSTEM_MAP, 'latin1');
    index = buildIndex([{ file: SYSTEM_MAP, kind: 'system.map', bytes: Buffer.from(map, 'latin1') }]);
  });
  const SHIFT = 0x1e000000n;
  const frame = (name: string, off: number, shift = SHIFT, q = '') => {
    const s = fromMap(map, name);
    return ` [<${hex(s.address + shift + BigInt(off))}>] ${q}${name}+0x${off.toString(16)}/0x${s.size.toString(16)}`;
  };

  it('all vmlinux frames agree: one constant, confirmed, and it applies only inside the image', () => {
    const log = [
      'Call Trace:',
      frame('ksys_read', 0x6e),
      frame('vfs_read', 0x20, SHIFT, '? '),
      frame('__x64_sys_read', 0x1a),
      frame('do_syscall_64', 0x5c),
      frame('entry_SYSCALL_64_after_hwframe', 0x72),
      // A module frame: its own load address, never the vmlinux shift.
      ' [<ffffffffc0b2661f>] drbd_adm_attach+0x2f/0xee0 [drbd]',
    ].join('\n');
    const pairs = framePairs(log);
    expect(pairs).toHaveLength(6);
    expect(pairs[0]).toMatchObject({ line: 2, name: 'ksys_read', offset: 0x6e });
    const lookup = lookupFromIndex(index);
    const inf = inferKaslr(pairs, lookup);
    expect(inf.vmlinux.learned?.shift).toBe(SHIFT);
    expect(inf.vmlinux.learned?.basis).toBe('confirmed');
    expect(inf.vmlinux.learned?.symbols).toEqual([
      'ksys_read',
      'vfs_read',
      '__x64_sys_read',
      'do_syscall_64',
      'entry_SYSCALL_64_after_hwframe',
    ]);
    expect(inf.vmlinux.problems).toEqual([]);
    // drbd is not in a System.map: no module shift, and no problem either — the module is
    // placed from its .ko, so an index without it says nothing about the log's kernel
    // (a decode of a log with [mod] frames against System.map + --module reported it).
    expect(inf.modules.get('drbd')?.learned).toBeUndefined();
    expect(inf.modules.get('drbd')?.problems).toEqual([]);
    expect(addressShift(undefined, inf, lookup).problems).toEqual([]);

    const { shift } = addressShift(undefined, inf, lookup);
    const text = fromMap(map, '_text').address;
    const end = fromMap(map, '_end').address;
    expect(shift.imageRange).toEqual({ start: text, end });
    const ksys = fromMap(map, 'ksys_read').address;
    expect(shift.shiftApplies(ksys + SHIFT)).toBe(true);
    expect(shift.toIndex(ksys + SHIFT + 5n)).toEqual({ address: ksys + 5n, applied: 'vmlinux' });
    // The module address from the issue: outside the moved image, and named as a module.
    expect(shift.shiftApplies(0xffffffffc0b2661fn)).toBe(false);
    expect(shift.toIndex(0xffffffffc0b2661fn, 'drbd')).toMatchObject({ address: 0xffffffffc0b2661fn, applied: 'none' });
    expect(shift.toIndex(0xffffffffc0b2661fn).applied).toBe('none');
    expect(shift.toIndex(0xffffffffc0b2661fn).note).toMatch(/outside the kernel image/);
    // Image edges: [_text + shift, _end + shift).
    expect(shift.shiftApplies(text + SHIFT)).toBe(true);
    expect(shift.shiftApplies(text + SHIFT - 1n)).toBe(false);
    expect(shift.shiftApplies(end + SHIFT - 1n)).toBe(true);
    expect(shift.shiftApplies(end + SHIFT)).toBe(false);
  });

  it('one pair and nothing against it: the shift, basis single, said so', () => {
    const inf = inferKaslr(framePairs(frame('schedule', 0x5e)), lookupFromIndex(index));
    expect(inf.vmlinux.learned).toMatchObject({ shift: SHIFT, basis: 'single', symbols: ['schedule'] });
    expect(inf.vmlinux.problems.join()).toMatch(/rests on one symbol \(schedule\)/);
  });

  it('a frame that disagrees: no shift at all, and the disagreement is reported', () => {
    const log = [frame('ksys_read', 0x6e), frame('vfs_read', 0x20), frame('schedule', 0x5e, SHIFT + 0x200000n)].join('\n');
    const inf = inferKaslr(framePairs(log), lookupFromIndex(index));
    expect(inf.vmlinux.learned).toBeUndefined();
    expect(inf.vmlinux.problems[0]).toMatch(/disagree on the shift: 2 symbol\(s\) give 0x1e000000 .*line 3, schedule/);
  });

  it('the Kernel Offset line wins when the frames agree, and is refused when they do not', () => {
    const lookup = lookupFromIndex(index);
    const ok = [
      frame('ksys_read', 0x6e),
      frame('vfs_read', 0x20),
      'Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)',
    ].join('\n');
    const id = identifyLog(ok);
    const a = addressShift(id.kaslr?.value, inferKaslr(framePairs(ok), lookup), lookup);
    expect(a.shift.vmlinuxShift).toBe(SHIFT);
    expect(a.shift.basis).toBe('kernel-offset-line');
    expect(a.problems).toEqual([]);
    const bad = ok.replace('0x1e000000 from', '0x2a000000 from');
    const b = addressShift(identifyLog(bad).kaslr?.value, inferKaslr(framePairs(bad), lookup), lookup);
    expect(b.shift.vmlinuxShift).toBeUndefined();
    expect(b.problems[0]).toMatch(/Kernel Offset line gives a shift of 0x2a000000 but the frames give 0x1e000000/);
  });

  it.skipIf(!have(OOPS, 'corpus oops'))(
    'a real 4.4 log against the 6.1 System.map: the frames disagree, no shift (never a wrong one)',
    () => {
      const log = readFileSync(join(OOPS, '03-x86_64-4.4-oldfmt-gpf-qmark-rip-brackets.txt'), 'utf8');
      const pairs = framePairs(log);
      // `grep -c '\[<[0-9a-f]*>\].*+0x'`: 32 lines carry an address and a frame (the RIP: line, 30 trace lines, the last RIP line).
      expect(pairs.length).toBe(32);
      const inf = inferKaslr(pairs, lookupFromIndex(index));
      expect(inf.vmlinux.learned).toBeUndefined();
      expect(inf.vmlinux.problems.join('\n')).toMatch(/disagree|not page aligned/);
    },
  );
});

describe('module shifts from a kallsyms snapshot of another boot', () => {
  const kallsyms = [
    'ffffffff81000000 T _text',
    'ffffffff81100000 T ksys_read',
    'ffffffff81100100 T vfs_read',
    'ffffffff81200000 T _etext',
    'ffffffffc0100000 t foo_probe\t[foo]',
    'ffffffffc0100080 t foo_remove\t[foo]',
    'ffffffffc0100100 t foo_end\t[foo]',
    'ffffffffc0200000 t bar_fn\t[bar]',
    'ffffffffc0200040 t bar_end\t[bar]',
  ].join('\n');
  const index = buildIndex([{ file: 'k', kind: 'kallsyms', bytes: Buffer.from(kallsyms) }]);
  it('each module its own shift; the vmlinux shift is never used for them', () => {
    const log = [
      ' [<ffffffff81300010>] ksys_read+0x10/0x100',
      ' [<ffffffff81300120>] vfs_read+0x20/0xff00',
      ' [<ffffffffc0505010>] foo_probe+0x10/0x80 [foo]',
      ' [<ffffffffc0505090>] foo_remove+0x10/0x80 [foo]',
      ' [<ffffffffc0200010>] bar_fn+0x10/0x40 [bar]',
    ].join('\n');
    const lookup = lookupFromIndex(index);
    const inf = inferKaslr(framePairs(log), lookup);
    expect(inf.vmlinux.learned?.shift).toBe(0x200000n);
    expect(inf.modules.get('foo')?.learned).toMatchObject({ shift: 0x405000n, basis: 'confirmed' });
    expect(inf.modules.get('bar')?.learned).toMatchObject({ shift: 0n, basis: 'single' });
    const { shift } = addressShift(undefined, inf, lookup);
    expect(shift.toIndex(0xffffffffc0505010n, 'foo')).toEqual({ address: 0xffffffffc0100010n, applied: 'module' });
    expect(shift.toIndex(0xffffffffc0200010n, 'bar')).toEqual({ address: 0xffffffffc0200010n, applied: 'module' });
    // kallsyms has no _end: the image ends after its highest vmlinux symbol.
    expect(shift.imageRange).toEqual({ start: 0xffffffff81000000n, end: 0xffffffff81200001n });
    expect(shift.shiftApplies(0xffffffffc0505010n)).toBe(false);
    // A bare address (a register) inside foo's learned place gets foo's shift, one outside every module none.
    expect(shift.moduleAt(0xffffffffc0505010n)).toEqual({ module: 'foo', shift: 0x405000n });
    expect(shift.toIndex(0xffffffffc0505010n)).toEqual({ address: 0xffffffffc0100010n, applied: 'module' });
    expect(shift.toIndex(0xffffffffd0000000n)).toMatchObject({ address: 0xffffffffd0000000n, applied: 'none' });
  });
  it('no pairs: no shift, and it says why', () => {
    const inf = inferKaslr([], lookupFromIndex(index));
    expect(inf.vmlinux.learned).toBeUndefined();
    expect(inf.vmlinux.problems[0]).toMatch(/no vmlinux frame is printed with its address/);
    expect(new AddressShift(undefined, undefined).toIndex(5n)).toMatchObject({ address: 5n, applied: 'none' });
  });
});
