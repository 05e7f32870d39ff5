/**
 * kfunc ID sets from the Debian 6.1 -dbg vmlinux's .BTF_ids (btf_id_set8), against
 * readelf -sW (the __BTF_ID__set8__ symbols and their sizes), readelf -x .BTF_ids (the bytes)
 * and bpftool btf dump (id -> FUNC name). 6.1 predates the bpf_kfunc decl tags, so these sets
 * are the only record of which functions are kfuncs.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { fileSource } from '../../../server/src/core/dwarf/readFile';
import { readKfuncSets, readVmlinuxKfuncs } from '../../../server/src/core/trace/btfIds';
import { kfuncFlagNames, traceFunction } from '../../../server/src/core/trace/rules';
import { kernelData } from '../../helpers/kernelData';
import { haveTools } from '../../helpers/skip';

const kd = kernelData();
const run = !!kd && haveTools(['readelf', 'bpftool'], '.BTF_ids oracle tests');

describe('.BTF_ids kfunc sets (Debian 6.1 vmlinux)', () => {
  it.skipIf(!run)(
    'match readelf -sW, readelf -x .BTF_ids and bpftool btf dump',
    () => {
      const file = kd!.vmlinux;
      const syms = execFileSync('readelf', ['-sW', file], { encoding: 'latin1', maxBuffer: 1 << 30 })
        .split('\n')
        .map((l) => /^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+__BTF_ID__set8__(\S+)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => ({ addr: BigInt('0x' + m[1]), size: Number(m[2]), name: m[3] }));
      expect(syms.length).toBeGreaterThan(3);
      // the section bytes as readelf -x prints them
      const hex = execFileSync('readelf', ['-x', '.BTF_ids', file], { encoding: 'latin1', maxBuffer: 1 << 28 });
      let base: bigint | undefined;
      const bytes: number[] = [];
      for (const l of hex.split('\n')) {
        const m = /^\s+0x([0-9a-f]+)((?: [0-9a-f]{2,8}){1,4})/.exec(l);
        if (!m) continue;
        base ??= BigInt('0x' + m[1]);
        for (const w of m[2].trim().split(' ')) for (let i = 0; i < w.length; i += 2) bytes.push(parseInt(w.slice(i, i + 2), 16));
      }
      const u32 = (off: number) => (bytes[off] | (bytes[off + 1] << 8) | (bytes[off + 2] << 16) | (bytes[off + 3] << 24)) >>> 0;
      const raw = execFileSync('bpftool', ['btf', 'dump', 'file', file, 'format', 'raw'], { encoding: 'latin1', maxBuffer: 1 << 30 });
      const funcName = new Map<number, string>();
      for (const m of raw.matchAll(/^\[(\d+)\] FUNC '([^']+)'/gm)) funcName.set(Number(m[1]), m[2]);

      const src = fileSource(file);
      try {
        const elf = new ElfView(src);
        const sets = readKfuncSets(elf);
        expect(sets.sets.map((s) => s.name).sort()).toEqual(syms.map((s) => s.name).sort());
        const k = readVmlinuxKfuncs(elf);
        for (const sym of syms) {
          const got = sets.sets.find((s) => s.name === sym.name)!;
          const at = Number(sym.addr - base!);
          expect(8 + 8 * got.ids.length).toBe(sym.size); // the symbol spans cnt, flags and the pairs
          expect(got.ids.length).toBe(u32(at));
          for (let i = 0; i < got.ids.length; i++) {
            expect(got.ids[i]).toBe(u32(at + 8 + 8 * i));
            expect(got.flags[i]).toBe(u32(at + 12 + 8 * i));
            const name = funcName.get(got.ids[i]);
            expect(name, `id ${got.ids[i]} of ${sym.name} is a FUNC in bpftool's dump`).toBeDefined();
            expect(k.byName(name!)?.some((e) => e.set === sym.name && e.flags === got.flags[i])).toBe(true);
          }
        }
        // kernel/cgroup/rstat.c: BTF_ID_FLAGS(func, cgroup_rstat_flush, KF_SLEEPABLE); kernel/bpf/helpers.c
        // tracing_btf_ids: BTF_ID_FLAGS(func, crash_kexec, KF_DESTRUCTIVE) — names and flags of 6.1.
        const flush = k.byName('cgroup_rstat_flush');
        if (flush) expect(kfuncFlagNames(flush[0].flags, kd!.abi)).toEqual(['KF_SLEEPABLE']);
        const kexec = k.byName('crash_kexec');
        if (kexec) expect(kfuncFlagNames(kexec[0].flags, kd!.abi)).toEqual(['KF_DESTRUCTIVE']);
        expect(flush ?? kexec).toBeDefined();

        // the trace report marks a set member as a kfunc with its flags and set, from the ELF's own BTF
        const first = [...funcName.values()].find((n) => k.byName(n))!;
        const r = traceFunction({ name: first, btf: k.btf, facts: { kfuncSets: k.byName, release: kd!.abi } });
        expect(r.kfunc).toBe(true);
        expect(r.kfuncSets).toEqual(k.byName(first)!.map((e) => e.set));
        expect(r.notes.join('\n')).toMatch(/register_btf_kfunc_id_set/);
      } finally {
        src.close?.();
      }
    },
    120_000,
  );
});

describe('kfunc flag names follow the release', () => {
  it('bit 3 is KF_KPTR_GET before 6.4, unnamed after; later flags only from their release', () => {
    expect(kfuncFlagNames((1 << 0) | (1 << 3), '6.1.0')).toEqual(['KF_ACQUIRE', 'KF_KPTR_GET']);
    expect(kfuncFlagNames(1 << 3, '6.8.0')).toEqual(['bit 3']);
    expect(kfuncFlagNames(1 << 7, '6.1.0')).toEqual(['bit 7']);
    expect(kfuncFlagNames(1 << 7, '6.2.0')).toEqual(['KF_RCU']);
    expect(kfuncFlagNames((1 << 11) | (1 << 20), '6.18.1')).toEqual(['KF_RCU_PROTECTED', 'bit 20']);
  });
});
