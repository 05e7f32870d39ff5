/**
 * `ksym trace --vmlinux` on the Debian 6.1 -dbg vmlinux with its System.map: kfunc flags and
 * sets from .BTF_ids (test/unit/trace/btfIds.test.ts checks them against readelf and bpftool),
 * flag names of the banner's release, DWARF callers of a fully inlined function
 * (llvm-dwarfdump/llvm-symbolizer in test/unit/dwarf/inlinedInto.test.ts), and refusals to mix
 * the vmlinux with another kernel's BTF or the running kernel's files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, assertBuilt } from '../helpers/lspclient';
import { kernelData } from '../helpers/kernelData';

const kd = kernelData();
const trace = (...args: string[]) => {
  assertBuilt();
  return spawnSync(process.execPath, [CLI, 'trace', ...args], { encoding: 'utf8', timeout: 120_000 });
};

describe.skipIf(!kd)('ksym trace --vmlinux (Debian 6.1)', () => {
  it('kfunc flags and set, and the functions an inlined function went into', () => {
    const r = trace('--vmlinux', kd!.vmlinux, '--kallsyms', kd!.systemMap, '--json', 'cgroup_rstat_flush', 'context_switch');
    // exit 1: context_switch is in neither kallsyms nor BTF (the answer still says where it went)
    expect(r.status, r.stderr).toBe(1);
    const [flush, cs] = JSON.parse(r.stdout) as {
      kfunc: boolean;
      kfuncFlags?: string[];
      kfuncSets?: string[];
      reasons: { attach: string; reason: string }[];
    }[];
    expect(flush).toMatchObject({ kfunc: true, kfuncFlags: ['KF_SLEEPABLE'], kfuncSets: ['bpf_rstat_kfunc_ids'] });
    expect(cs.kfunc).toBe(false);
    expect(cs.reasons.find((x) => x.attach === 'kprobe')?.reason).toMatch(/inlined into every caller; DWARF inlines it into __schedule/);
  }, 120_000);

  it('refuses a BTF or the running kernel of another build', () => {
    const live = trace('--vmlinux', kd!.vmlinux, 'vfs_read');
    expect(live.status).toBe(2);
    expect(live.stderr).toMatch(/is not the running kernel/);
    if (existsSync('/sys/kernel/btf/vmlinux')) {
      const other = trace('--vmlinux', kd!.vmlinux, '--btf', '/sys/kernel/btf/vmlinux', '--kallsyms', kd!.systemMap, 'vfs_read');
      expect(other.status).toBe(2);
      // refused by the BTF's own check against the 6.1 map (or, were it to pass, by the comparison with --vmlinux's .BTF)
      expect(other.stderr).toMatch(/are of different kernels|BTF vmlinux is not of .*: \d+ of \d+ sampled functions .* refused/);
    }
  }, 120_000);
});
