/**
 * Finding debug files (pure candidate lists) and refusing the wrong one: the real Debian
 * vmlinux against its own System.map (accepted, shift 0), the same map shifted as KASLR
 * would (accepted, the shift found), the previous ABI's System.map from the corpus
 * (refused), and build ids against note bytes (this machine's /sys/kernel/notes is another
 * kernel: refused; notes carrying the file's own id: accepted).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildIdPaths, moduleCandidates, vmlinuxCandidates } from '../../../server/src/core/dwarf/locate';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { fileSource } from '../../../server/src/core/dwarf/readFile';
import { verifyModule, verifyVmlinux } from '../../../server/src/core/dwarf/verify';
import { kernelData } from '../../helpers/kernelData';
import { CORPUS } from '../../helpers/corpus';

function mapLookup(file: string, shift = 0n): (name: string) => bigint[] {
  const m = new Map<string, bigint[]>();
  for (const l of readFileSync(file, 'latin1').split('\n')) {
    const x = /^([0-9a-f]{16}) \S (\S+)$/.exec(l);
    if (!x) continue;
    const a = BigInt.asUintN(64, BigInt('0x' + x[1]) + shift);
    const v = m.get(x[2]);
    if (v) v.push(a);
    else m.set(x[2], [a]);
  }
  return (n) => m.get(n) ?? [];
}

function notes(id: string): Uint8Array {
  const desc = Buffer.from(id, 'hex');
  const b = Buffer.alloc(12 + 4 + ((desc.length + 3) & ~3));
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(desc.length, 4);
  b.writeUInt32LE(3, 8);
  b.write('GNU\0', 12, 'latin1');
  desc.copy(b, 16);
  return new Uint8Array(b);
}

describe('locate: candidate lists', () => {
  it('vmlinux: workspace tree, distribution debug paths, /boot, build id, in that order', () => {
    const c = vmlinuxCandidates({ release: '6.1.0-57-amd64', buildId: 'ABCDEF0123', workspaceRoots: ['/src/linux'] }).map((x) => x.path);
    expect(c).toEqual([
      '/src/linux/vmlinux',
      '/usr/lib/debug/boot/vmlinux-6.1.0-57-amd64',
      '/usr/lib/debug/lib/modules/6.1.0-57-amd64/vmlinux',
      '/boot/vmlinux-6.1.0-57-amd64',
      '/usr/lib/debug/.build-id/ab/cdef0123.debug',
      '/usr/lib/debug/.build-id/ab/cdef0123',
    ]);
  });
  it('an explicit --vmlinux is the only place looked at (file, then as a directory)', () => {
    const c = vmlinuxCandidates({ explicit: '/x/build//', release: 'r', workspaceRoots: ['/w'] });
    expect(c.every((x) => x.explicit)).toBe(true);
    expect(c.map((x) => x.path)).toEqual([
      '/x/build',
      '/x/build/vmlinux',
      '/x/build/vmlinux-r',
      '/x/build/usr/lib/debug/boot/vmlinux-r',
      '/x/build/usr/lib/debug/lib/modules/r/vmlinux',
      '/x/build/boot/vmlinux-r',
    ]);
  });
  it('a fake root prefixes the system paths; bad build ids give nothing', () => {
    expect(vmlinuxCandidates({ release: 'r', root: '/tmp/root' })[0].path).toBe('/tmp/root/usr/lib/debug/boot/vmlinux-r');
    expect(buildIdPaths('../../etc')).toEqual([]);
  });
  it('modules: given files, build id, debuglink, the debug tree searched by name (- and _ alike)', () => {
    const m = moduleCandidates({
      name: 'nf_conntrack',
      release: 'r',
      buildId: '00112233',
      explicit: ['/m/x.ko', '/m/dir'],
      debugLink: { dir: '/lib/modules/r/kernel/net', file: 'nf_conntrack.ko.debug' },
    });
    expect(m.files.map((x) => x.path)).toEqual([
      '/m/x.ko',
      '/usr/lib/debug/.build-id/00/112233.debug',
      '/usr/lib/debug/.build-id/00/112233',
      '/lib/modules/r/kernel/net/nf_conntrack.ko.debug',
      '/lib/modules/r/kernel/net/.debug/nf_conntrack.ko.debug',
      '/usr/lib/debug/lib/modules/r/kernel/net/nf_conntrack.ko.debug',
    ]);
    expect(m.searchDirs.map((x) => x.path)).toEqual(['/m/dir', '/usr/lib/debug/lib/modules/r']);
    expect(m.names).toContain('nf-conntrack.ko');
  });
});

const kd = kernelData();
describe.skipIf(!kd)('verify: the Debian vmlinux against symbol indexes and notes', () => {
  const elf = () => new ElfView(fileSource(kd!.vmlinux));
  it('its own System.map: accepted, no shift', () => {
    const v = verifyVmlinux({ file: kd!.vmlinux, elf: elf(), symbols: { lookup: mapLookup(kd!.systemMap) } });
    expect(v).toMatchObject({ ok: true, how: 'symbols', shift: 0n });
  });
  it('the same map shifted by a KASLR offset: accepted, the shift found', () => {
    const v = verifyVmlinux({ file: kd!.vmlinux, elf: elf(), symbols: { lookup: mapLookup(kd!.systemMap, 0x1e600000n) } });
    expect(v).toMatchObject({ ok: true, shift: 0x1e600000n });
  });
  const prev = `${CORPUS}/debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64`;
  it('another build (a rebuild where the code after one function moved by 0x40): refused, saying why', () => {
    const own = mapLookup(kd!.systemMap);
    const mid = own('_text')[0] + 0x600000n;
    const moved = (n: string): bigint[] => own(n).map((a) => (a > mid && a < own('_etext')[0] ? a + 0x40n : a));
    const v = verifyVmlinux({ file: kd!.vmlinux, elf: elf(), symbols: { lookup: moved } });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/does not match the symbols being served \(\d+ of \d+ sampled symbols differ/);
  });
  it.skipIf(!existsSync(prev) || kd?.abi === '6.1.0-56-amd64')(
    "the corpus 6.1.0-56 System.map against the archive's vmlinux: accepted only where the text layout is the same",
    () => {
      // Which image the archive serves changes (it served -57, a rebuild of -56's source with
      // every text symbol in place; later -50, an older release). The ground truth, from the two
      // maps alone: do the unique text symbols sit at the same addresses? Where they do, the
      // symbol check rightly accepts -56's map for addresses and only a build id (a log's,
      // /sys/kernel/notes) refuses the other image; where they do not, the map is refused.
      const a = mapLookup(kd!.systemMap),
        b = mapLookup(prev);
      const names = readFileSync(prev, 'latin1')
        .split('\n')
        .map((l) => /^[0-9a-f]{16} [tT] (\S+)$/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined && b(n).length === 1 && a(n).length === 1);
      expect(names.length).toBeGreaterThan(10000);
      const sample = names.filter((_, i) => i % 97 === 0);
      const same = sample.filter((n) => a(n)[0] === b(n)[0]).length;
      const v = verifyVmlinux({ file: kd!.vmlinux, elf: elf(), symbols: { lookup: b } });
      if (same === sample.length) {
        expect(v.ok).toBe(true);
        expect(verifyVmlinux({ file: kd!.vmlinux, elf: elf(), buildId: '11'.repeat(20), symbols: { lookup: b } }).ok).toBe(false);
      } else {
        expect(same / sample.length, 'another release: most text moved').toBeLessThan(0.5);
        expect(v.ok).toBe(false);
        if (!v.ok) expect(v.reason).toMatch(/does not match the symbols being served/);
      }
    },
  );
  it("build id: this machine's /sys/kernel/notes (another kernel) refused; notes with the file's id accepted", () => {
    const e = elf();
    const id = e.buildId()!;
    const live = existsSync('/sys/kernel/notes') ? new Uint8Array(readFileSync('/sys/kernel/notes')) : notes('00'.repeat(20));
    const bad = verifyVmlinux({ file: kd!.vmlinux, elf: e, kernelNotes: live });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toContain(id);
    expect(verifyVmlinux({ file: kd!.vmlinux, elf: e, kernelNotes: notes(id) })).toMatchObject({ ok: true, how: 'build-id' });
    // ids match and the index is shifted (a running kernel's kallsyms): accepted with the shift
    expect(
      verifyVmlinux({ file: kd!.vmlinux, elf: e, kernelNotes: notes(id), symbols: { lookup: mapLookup(kd!.systemMap, 0x2000000n) } }),
    ).toMatchObject({ ok: true, how: 'build-id', shift: 0x2000000n });
  });
  it.skipIf(!kd?.modules.has('xfs'))("a module against the stripped module's build id", () => {
    const dbg = new ElfView(fileSource(kd!.modules.get('xfs')!));
    const stripped = new ElfView(fileSource(`${kd!.dir}/modules-stripped/xfs.ko`));
    expect(verifyModule('xfs.ko', dbg, { buildId: stripped.buildId(), what: 'the loaded xfs' })).toMatchObject({ ok: true });
    expect(verifyModule('xfs.ko', dbg, { buildId: 'ff'.repeat(20), what: 'the loaded xfs' }).ok).toBe(false);
  });
});
