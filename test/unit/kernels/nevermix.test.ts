/**
 * Never mix kernels (issue 16 §2): module files whose vermagic names another release and
 * BTF that is not the kernel's are refused in one short line. Oracles: readelf -p .modinfo
 * (vermagic), readelf -n (build ids), the kernel's own /proc/kallsyms and System.map.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadBtfFile } from '../../../server/src/core/btf/store';
import type { Btf } from '../../../server/src/core/btf/btf';
import { loadIndex } from '../../../server/src/core/kallsyms/load';
import type { SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import {
  btfRefusal,
  MAX_MISSING_SHARE,
  sampleAgainstSymbols,
  sampleFuncNames,
  textSymbolTest,
} from '../../../server/src/core/kernels/btfCheck';
import { ModuleStore } from '../../../server/src/core/modules/store';
import { DEBIAN, have } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { CLI } from '../../helpers/lspclient';
import { needs } from '../../helpers/skip';

const BTF56 = resolve(DEBIAN, 'vmlinux-6.1.0-56-amd64.btf');
const MAP56 = resolve(DEBIAN, 'System.map-6.1.0-56-amd64');
const MODS56 = resolve(DEBIAN, 'modules');
/** The corpus kernel's release (its System.map's name). */
const REL56 = '6.1.0-56-amd64';
/** The kernel `npm run fetch-data` fetched (whatever ABI Debian's archive serves today). */
const kd = kernelData();
const FETCHED_BTF = kd ? resolve(kd.dir, `vmlinux-${kd.abi}.btf`) : '';
const FETCHED_MODS = kd ? resolve(kd.dir, 'modules') : '';
const LIVE_BTF = '/sys/kernel/btf/vmlinux';

const haveCorpus = have(BTF56, 'the corpus Debian 6.1.0-56 BTF') && have(MAP56, 'the corpus System.map');
const haveFetched =
  !!kd && have(FETCHED_BTF, 'the fetched kernel’s BTF (npm run fetch-data)') && have(kd.systemMap, 'the fetched kernel’s System.map');
const haveFetchedOther =
  haveFetched &&
  needs(
    kd!.abi !== REL56,
    `the fetched-kernel module test: the fetched ABI is ${REL56}, the corpus kernel's own (no other kernel to refuse)`,
  );
const liveKallsyms = (() => {
  try {
    const t = readFileSync('/proc/kallsyms', 'latin1');
    return !/^0{8,16} /.test(t) && existsSync(LIVE_BTF);
  } catch {
    return false;
  }
})();
if (!liveKallsyms) console.log('skipping the running kernel tests: /proc/kallsyms shows no addresses or no /sys/kernel/btf/vmlinux');

async function index(file: string, kind: 'kallsyms' | 'system.map'): Promise<SymbolIndex> {
  const r = await loadIndex([{ file, kind }]);
  if (!r.index) throw new Error(r.errors.join('; '));
  return r.index;
}
async function btf(file: string): Promise<Btf> {
  const r = await loadBtfFile(file);
  if (!r.ok) throw new Error(r.error);
  return r.btf;
}
const textOf = textSymbolTest;
const kernel = (label: string, ix: SymbolIndex, buildId?: string) => ({ label, buildId, symbolCount: ix.count, isText: textOf(ix) });

/** The GNU build id readelf -n prints for a file. */
function readelfBuildId(file: string): string {
  const out = execFileSync('readelf', ['-n', file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return /Build ID: ([0-9a-f]+)/.exec(out)![1];
}
function vermagic(file: string): string {
  const out = execFileSync('readelf', ['-p', '.modinfo', file], { encoding: 'utf8' });
  return /vermagic=(\S+)/.exec(out)![1];
}

describe('BTF checked against the kernel (sampled FUNC names must be its text symbols)', () => {
  it.skipIf(!haveCorpus || !liveKallsyms)(
    'Debian 6.1.0-56 BTF is refused for the running kernel; the running BTF is accepted',
    async () => {
      const live = await index('/proc/kallsyms', 'kallsyms');
      const b56 = await btf(BTF56);
      const own = await btf(LIVE_BTF);
      const label = release();
      const refusal = btfRefusal(BTF56, b56, kernel(label, live));
      expect(refusal).toMatch(
        new RegExp(`^BTF vmlinux-6\\.1\\.0-56-amd64\\.btf is not of ${label.replace(/\./g, '\\.')}: \\d+ of \\d+ sampled functions`),
      );
      expect(refusal).not.toContain('\n');
      // The running kernel's own BTF: every sampled FUNC is in /proc/kallsyms (as bpftool btf dump lists them).
      const s = sampleAgainstSymbols(sampleFuncNames(own), textOf(live));
      expect(s.checked).toBeGreaterThan(300);
      expect(s.missing).toBeLessThanOrEqual(s.checked * 0.02);
      // and Debian 6.1's BTF misses more than a fifth of its sample against 6.18.
      const o = sampleAgainstSymbols(sampleFuncNames(b56), textOf(live));
      expect(o.missing).toBeGreaterThan(o.checked * 0.2);
      expect(btfRefusal(LIVE_BTF, own, kernel(label, live))).toBeUndefined();
    },
  );

  it.skipIf(!haveCorpus)('Debian 6.1.0-56 BTF is accepted with its own System.map', async () => {
    const map = await index(MAP56, 'system.map');
    const b56 = await btf(BTF56);
    expect(btfRefusal(BTF56, b56, kernel('6.1.0-56-amd64', map))).toBeUndefined();
  });

  it.skipIf(!haveFetched || !liveKallsyms)(
    'the fetched kernel’s BTF: accepted with its System.map, refused for the running kernel',
    async () => {
      const map = await index(kd!.systemMap, 'system.map');
      const bf = await btf(FETCHED_BTF);
      expect(btfRefusal(FETCHED_BTF, bf, kernel(kd!.abi, map))).toBeUndefined();
      const live = await index('/proc/kallsyms', 'kallsyms');
      expect(btfRefusal(FETCHED_BTF, bf, kernel(release(), live))).toMatch(
        new RegExp(
          `^BTF vmlinux-${kd!.abi.replace(/\./g, '\\.')}\\.btf is not of ${release().replace(/\./g, '\\.')}: \\d+ of \\d+ sampled functions`,
        ),
      );
    },
  );

  it.skipIf(!haveCorpus || !haveFetchedOther)(
    'another release of the same line: the function sample cannot tell, the release its name gives does',
    async () => {
      const map56 = await index(MAP56, 'system.map');
      const bf = await btf(FETCHED_BTF);
      // The oracle for "the sample cannot tell": the fetched BTF's sampled FUNC names are all
      // (nearly) text symbols of the corpus map, as for a BTF of that very kernel.
      const s = sampleAgainstSymbols(sampleFuncNames(bf), textOf(map56));
      expect(s.checked).toBeGreaterThan(300);
      expect(s.missing).toBeLessThanOrEqual(s.checked * MAX_MISSING_SHARE);
      // by content alone (no release known) it would pass; with the served release it is refused by name
      expect(btfRefusal(FETCHED_BTF, bf, kernel('the given symbols', map56))).toBeUndefined();
      expect(btfRefusal(FETCHED_BTF, bf, { ...kernel(REL56, map56), release: REL56 })).toBe(
        `BTF vmlinux-${kd!.abi}.btf names release ${kd!.abi}, the symbols are ${REL56}'s: another kernel, refused`,
      );
      // a name giving the served release, or none, leaves the content check
      expect(btfRefusal('/x/vmlinux-6.1.0-56-amd64.btf', bf, { ...kernel(REL56, map56), release: REL56 })).toBeUndefined();
      // and the CLI refuses it the same way
      const r = spawnSync(process.execPath, [CLI, 'search', '--kallsyms', MAP56, '--btf', FETCHED_BTF, 'struct task_struct'], {
        encoding: 'utf8',
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(
        `BTF vmlinux-${kd!.abi}.btf names release ${kd!.abi}, the symbols are ${REL56}'s: another kernel, refused`,
      );
    },
  );

  it.skipIf(!haveFetched || !existsSync(kd?.vmlinux ?? ''))('BTF out of an ELF: the build id decides (readelf -n)', async () => {
    const map = await index(kd!.systemMap, 'system.map');
    const bf = await btf(FETCHED_BTF);
    const id = readelfBuildId(kd!.vmlinux);
    expect(btfRefusal(kd!.vmlinux, bf, kernel(kd!.abi, map, id), id)).toBeUndefined();
    const other = id.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(btfRefusal(kd!.vmlinux, bf, kernel(kd!.abi, map, other), id)).toBe(
      `BTF vmlinux-${kd!.abi} has build id ${id}, ${kd!.abi} has ${other}: another kernel, refused`,
    );
  });
});

describe('module files checked by vermagic before the store uses them', () => {
  const xfs56 = resolve(MODS56, 'fs/xfs/xfs.ko');
  it.skipIf(!haveCorpus)('6.1.0-56 modules are refused for the running kernel, used for 6.1.0-56', async () => {
    expect(vermagic(xfs56)).toBe('6.1.0-56-amd64');
    const other = new ModuleStore([MODS56], { release: release() });
    const r = await other.load('xfs');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('other-kernel');
    expect(r.error).toBe(`xfs.ko is built for 6.1.0-56-amd64 (vermagic), not ${release()}: refused`);
    const own = new ModuleStore([MODS56], { release: '6.1.0-56-amd64' });
    const ok = await own.load('xfs');
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(ok.buildId).toBe(readelfBuildId(xfs56));
  });

  it.skipIf(!haveCorpus || !haveFetchedOther)(
    'the fetched kernel’s modules are refused for 6.1.0-56 and a 6.1.0-56 file is preferred where both are given',
    async () => {
      const rel = vermagic(resolve(FETCHED_MODS, 'xfs.ko'));
      expect(rel).toBe(kd!.abi);
      expect(rel).not.toBe(REL56);
      const s = new ModuleStore([FETCHED_MODS], { release: REL56 });
      const r = await s.load('xfs');
      expect(r.ok ? 'used' : r.error).toBe(`xfs.ko is built for ${rel} (vermagic), not ${REL56}: refused`);
      const both = new ModuleStore([FETCHED_MODS, MODS56], { release: REL56 });
      const b = await both.load('xfs');
      expect(b.ok).toBe(true);
      if (b.ok) {
        expect(b.file).toBe(xfs56);
        expect(b.warnings.join('\n')).toContain(`xfs.ko is built for ${rel} (vermagic), not ${REL56}: refused`);
      }
    },
  );
});
