import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identifyLog, parseBanner, versionsCompatible, type Fact } from '../../../server/src/core/kernels/identity';
import { archFromRelease, archFromMachine } from '../../../server/src/core/kernels/arch';
import { have, OOPS } from '../../helpers/corpus';

const haveOops = have(OOPS, 'corpus oops logs');

/** A fact must be the literal text at its line/columns: the log itself is the oracle. */
function at(lines: string[], f: Fact<string> | undefined): string | undefined {
  if (!f) return undefined;
  return lines[f.line - 1].slice(f.start, f.end);
}

/**
 * Expected facts, read off the logs (`grep -n 'Comm:\|Tainted\|Hardware name' *.txt`)
 * and the architecture named in SOURCES.md.
 */
const EXPECT: Record<
  string,
  { release?: [string, number]; version?: string; arch: string; tainted?: boolean; flags?: string; hardware?: [string, number] }
> = {
  '01-x86_64-kasan-uaf-raw-task-qmark.txt': {
    release: ['5.17.0-syzkaller-13532-gb4a5ea09b293', 5],
    version: '#0',
    arch: 'x86_64',
    tainted: true,
    flags: 'G        W',
    hardware: ['Google Google Compute Engine/Google Compute Engine, BIOS Google 01/01/2011', 6],
  },
  '02-x86_64-kasan-module-frames-test_kasan.txt': {
    release: ['4.20.0-next-20190102', 5],
    version: '#4',
    arch: 'x86_64',
    tainted: false,
    hardware: ['QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.10.2-1 04/01/2014', 6],
  },
  '03-x86_64-4.4-oldfmt-gpf-qmark-rip-brackets.txt': { release: ['4.4.107-g610c835', 8], version: '#4', arch: 'x86_64', tainted: false },
  '04-x86_64-rcu-stall.txt': { arch: 'x86_64' },
  '05-arm64-5.9-oops-pc-lr-calltrace-interleaved.txt': {
    release: ['5.9.0-12994-gf9893351acae', 20],
    version: '#16',
    arch: 'arm64',
    tainted: false,
    hardware: ['linux,dummy-virt (DT)', 21],
  },
  '06-arm64-6.1-symbolized-fileline-inline.txt': {
    release: ['6.1.0-rc8-syzkaller-33330-ga5541c0811a0', 15],
    version: '#0',
    arch: 'arm64',
    tainted: false,
  },
  '07-arm32-5.10-backtrace-from-format.txt': {
    release: ['5.10.2', 9],
    version: '#10',
    arch: 'arm32',
    tainted: false,
    hardware: ['ARM-Versatile Express', 10],
  },
  '08-riscv64-5.11-oops-epc-ra.txt': {
    release: ['5.11.0-11272-gf01e631cccab-dirty', 4],
    version: '#35',
    arch: 'riscv',
    tainted: false,
    hardware: ['riscv-virtio,qemu (DT)', 5],
  },
  '09-ppc64le-5.4-oops-symbolized.txt': { release: ['5.4.0-rc2-00104-g9e208aa06c21', 8], version: '#0', arch: 'ppc64', tainted: false },
  '10-x86_64-4.0-soft-lockup-oldfmt-modules-qmark-code.txt': {
    release: ['4.0.5-300.fc22.x86_64+debug', 9],
    version: '#1',
    arch: 'x86_64',
    tainted: false,
  },
  // The CPU: line is broken across lines 6-7 (`PID: 1\n88243 Comm:`): the tail still counts.
  '11-x86_64-5.3-amdgpu-module-frames-linewrapped.txt': {
    release: ['5.3.6-300.fc31.x86_64', 7],
    version: '#1',
    arch: 'x86_64',
    tainted: false,
  },
  '12-ppc64-oops-modules.txt': { release: ['3.10.0-33.el7.ppc64', 3], version: '#1', arch: 'ppc64', tainted: false },
  '13-s390x-oops-modules.txt': {
    release: ['3.10.0-54.0.1.el7.s390x', 6],
    version: '#1',
    arch: 's390',
    tainted: true,
    flags: 'GF          O--------------',
  },
  // lockdep's print_kernel_ident line `3.4.0-rc5+ #34 Not tainted` (line 3) comes before the old `Pid: …, comm:` line.
  '14-x86_64-gitlog-21-many-module-frames.txt': { release: ['3.4.0-rc5+', 3], version: '#34', arch: 'x86_64', tainted: false },
};

describe.skipIf(!haveOops)('identifyLog on every corpus oops log', () => {
  for (const [file, e] of Object.entries(EXPECT)) {
    it(file, () => {
      const text = readFileSync(join(OOPS, file), 'utf8');
      const lines = text.split('\n');
      const id = identifyLog(text);
      if (e.release) {
        expect(id.release?.value).toBe(e.release[0]);
        expect(id.release?.line).toBe(e.release[1]);
        expect(at(lines, id.release)).toBe(e.release[0]);
        expect(id.version?.value).toBe(e.version);
        expect(at(lines, id.version)).toBe(e.version);
        expect(id.versionIsFull).toBe(false);
      } else {
        expect(id.release).toBeUndefined();
      }
      expect(id.arch?.value).toBe(e.arch);
      if (e.tainted !== undefined) expect(id.taint?.value.tainted).toBe(e.tainted);
      if (e.flags !== undefined) expect(id.taint?.value.flags).toBe(e.flags);
      if (e.hardware) {
        expect(id.hardware?.value).toBe(e.hardware[0]);
        expect(id.hardware?.line).toBe(e.hardware[1]);
        expect(at(lines, id.hardware)).toBe(e.hardware[0]);
      }
      // The architecture evidence is on the line it names.
      const ev = lines[id.arch!.line - 1].slice(id.arch!.start, id.arch!.end);
      expect(ev.length).toBeGreaterThan(0);
      // None of these logs has a Kernel Offset line, a vmlinux build id or [mod BUILDID] frames.
      expect(text.includes('Kernel Offset')).toBe(false);
      expect(id.kaslr).toBeUndefined();
      expect(id.buildId).toBeUndefined();
      expect(id.moduleBuildIds.size).toBe(0);
      expect(id.conflicts).toEqual([]);
      expect(id.truncated).toBe(false);
    });
  }

  it('evidence lines: what gave the architecture away is printed there', () => {
    const get = (f: string) => {
      const t = readFileSync(join(OOPS, f), 'utf8');
      const id = identifyLog(t);
      return t.split('\n')[id.arch!.line - 1].slice(id.arch!.start, id.arch!.end);
    };
    expect(get('05-arm64-5.9-oops-pc-lr-calltrace-interleaved.txt')).toMatch(/^pstate: 80000005/);
    expect(get('07-arm32-5.10-backtrace-from-format.txt')).toBe('pc : [<8054b7c0>]    lr : [<8054b7b0>]    psr: 40000013');
    expect(get('13-s390x-oops-modules.txt')).toMatch(/^Krnl PSW :/);
    expect(get('14-x86_64-gitlog-21-many-module-frames.txt')).toBe('system_call_fastpath+0x');
  });
});

const BID = '0f1e2d3c4b5a69788796a5b4c3d2e1f00a1b2c3d';
const MBID = 'aabbccddeeff00112233445566778899aabbccdd';

describe('identifyLog on synthetic lines (kernel formats)', () => {
  it('CONFIG_STACKTRACE_BUILD_ID: the vmlinux build id on the CPU: line, with UID (6.10+)', () => {
    const t = [
      '[   12.000000] CPU: 3 UID: 0 PID: 4242 Comm: modprobe Tainted: G           OE      6.12.9-arch1 #1 ' + BID,
      '[   12.000001] Tainted: [O]=OOT_MODULE, [E]=UNSIGNED_MODULE',
      '[   12.000002] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-1 04/01/2014',
      '[   12.000003]  foo_probe+0x1e/0x40 [foo ' + MBID + ']',
      '[   12.000004]  bar+0x1/0x2 [bar_mod ' + BID + ']',
    ].join('\n');
    const id = identifyLog(t);
    expect(id.release?.value).toBe('6.12.9-arch1');
    expect(id.version?.value).toBe('#1');
    expect(id.buildId?.value).toBe(BID);
    expect(id.buildId?.line).toBe(1);
    expect(t.split('\n')[0].slice(id.buildId!.start, id.buildId!.end)).toBe(BID);
    expect(id.taint?.value).toEqual({ flags: 'G           OE', tainted: true });
    expect(id.taintVerbose?.value).toBe('[O]=OOT_MODULE, [E]=UNSIGNED_MODULE');
    expect(id.moduleBuildIds.get('foo')?.value).toBe(MBID);
    expect(id.moduleBuildIds.get('foo')?.line).toBe(4);
    expect(t.split('\n')[3].slice(id.moduleBuildIds.get('foo')!.start, id.moduleBuildIds.get('foo')!.end)).toBe(MBID);
    expect(id.moduleBuildIds.get('bar_mod')?.value).toBe(BID);
  });

  it('Debian CPU: line: release and the package version after #1', () => {
    const id = identifyLog('CPU: 0 PID: 1 Comm: systemd Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\nKdump');
    expect(id.release?.value).toBe('6.1.0-56-amd64');
    expect(id.version?.value).toBe('#1 Debian 6.1.192-2');
    expect(id.arch?.value).toBe('x86_64');
    expect(id.arch?.evidence).toMatch(/release/);
  });

  it('Kdump: loaded, comm with spaces', () => {
    const id = identifyLog('CPU: 1 PID: 77 Comm: Web Content Kdump: loaded Tainted: G        W          5.14.0-362.el9.x86_64 #1');
    expect(id.release?.value).toBe('5.14.0-362.el9.x86_64');
    expect(id.taint?.value.flags).toBe('G        W');
  });

  it('Linux version banner: release and the whole uname -v, nested parentheses', () => {
    const banner =
      'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-20)';
    const t = `[    0.000000] ${banner}\n[    1.0] x\nCPU: 0 PID: 1 Comm: systemd Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\n`;
    const id = identifyLog(t);
    expect(id.release?.value).toBe('6.1.0-56-amd64');
    expect(id.release?.line).toBe(1);
    expect(id.version?.value).toBe('#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-20)');
    expect(id.versionIsFull).toBe(true);
    expect(t.split('\n')[0].slice(id.version!.start, id.version!.end)).toBe(id.version!.value);
    expect(id.banner?.value).toBe(banner);
    expect(id.conflicts).toEqual([]);
    const b = parseBanner(banner)!;
    expect(b.builder).toBe('debian-kernel@lists.debian.org');
    expect(b.compiler).toBe('gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40');
  });

  it('two kernels in one log are a conflict, reported with both lines', () => {
    const t =
      'CPU: 0 PID: 1 Comm: a Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\nCPU: 0 PID: 1 Comm: a Not tainted 6.1.0-57-amd64 #1 Debian 6.1.192-3\n';
    const id = identifyLog(t);
    expect(id.release?.value).toBe('6.1.0-56-amd64');
    expect(id.conflicts).toHaveLength(1);
    expect(id.conflicts[0]).toMatch(/line 2 names kernel 6\.1\.0-57-amd64, line 1 names 6\.1\.0-56-amd64/);
    const two = identifyLog(
      'CPU: 0 PID: 1 Comm: a Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\nCPU: 0 PID: 1 Comm: a Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-9\n',
    );
    expect(two.conflicts[0]).toMatch(/two builds of the same release/);
    const mods = identifyLog(` a+0x1/0x2 [m ${MBID}]\n b+0x1/0x2 [m ${BID}]\n`);
    expect(mods.conflicts[0]).toMatch(/module m has build id/);
  });

  it('Kernel Offset lines (x86 and arm64) and disabled', () => {
    const x = identifyLog('Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)');
    expect(x.kaslr?.value).toEqual({ offset: 0x1e000000n, from: 0xffffffff81000000n, disabled: false });
    const a = identifyLog('[  3.1] Kernel Offset: 0x3a8a0e800000 from 0xffff800008000000');
    expect(a.kaslr?.value.offset).toBe(0x3a8a0e800000n);
    expect(a.kaslr?.line).toBe(1);
    expect(identifyLog('Kernel Offset: disabled').kaslr?.value).toEqual({ offset: 0n, disabled: true });
  });

  it('old forms: powerpc REGS (release in parentheses), arm CPU: line, Pid:/comm:', () => {
    expect(identifyLog('REGS: c00000007a3ef6e0 TRAP: 0380   Not tainted  (5.4.0-rc2-00104-g9e208aa06c21)').release?.value).toBe(
      '5.4.0-rc2-00104-g9e208aa06c21',
    );
    const arm = identifyLog('CPU: 0    Not tainted  (3.2.0-4-kirkwood #1)');
    expect(arm.release?.value).toBe('3.2.0-4-kirkwood');
    expect(arm.version?.value).toBe('#1');
    expect(identifyLog('Pid: 2484, comm: ibv_srq_pingpon Not tainted 3.4.0-rc5+ #34').release?.value).toBe('3.4.0-rc5+');
  });

  it('prose is not a kernel: no release from ordinary text', () => {
    const id = identifyLog('The kernel is Not tainted 6.1 yes\nHello Linux version x\nTainted: maybe\n');
    expect(id.release).toBeUndefined();
    expect(id.arch).toBeUndefined();
  });

  it('bounded: the line cap stops the scan and says so; long lines are clipped', () => {
    const filler = 'x'.repeat(100) + '\n';
    const t = filler.repeat(1000) + 'CPU: 0 PID: 1 Comm: a Not tainted 6.1.0 #1\n';
    const capped = identifyLog(t, { maxLines: 500 });
    expect(capped.truncated).toBe(true);
    expect(capped.linesScanned).toBe(500);
    expect(capped.release).toBeUndefined();
    expect(identifyLog(t).release?.line).toBe(1001);
    // A release past the per-line cap is not seen; nothing throws on a 2 MB line.
    const long = identifyLog('y'.repeat(2_000_000) + ' CPU: 0 PID: 1 Comm: a Not tainted 6.1.0 #1');
    expect(long.release).toBeUndefined();
    const huge = identifyLog('CPU: 0 PID: 1 Comm: a Not tainted 6.1.0-' + 'z'.repeat(5000) + ' #1', { maxLineLength: 100000 });
    expect(huge.release!.value.length).toBeLessThanOrEqual(512);
  });
});

describe('versionsCompatible / arch helpers', () => {
  it('the CPU: form against a full uname -v', () => {
    const full = '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-20)';
    expect(versionsCompatible('#1 Debian 6.1.192-2', full)).toBe(true);
    expect(versionsCompatible('#1', full)).toBe(true);
    expect(versionsCompatible('#2', full)).toBe(false);
    expect(versionsCompatible('#1 Debian 6.1.192-3', full)).toBe(false);
  });
  it('release names and uname -m', () => {
    expect(archFromRelease('6.1.0-56-amd64')).toBe('x86_64');
    expect(archFromRelease('4.0.5-300.fc22.x86_64+debug')).toBe('x86_64');
    expect(archFromRelease('3.10.0-54.0.1.el7.s390x')).toBe('s390');
    expect(archFromRelease('6.1.0-30-arm64')).toBe('arm64');
    expect(archFromRelease('6.1.0-30-armmp-lpae')).toBe('arm32');
    expect(archFromRelease('5.17.0-syzkaller-13532-gb4a5ea09b293')).toBeUndefined();
    expect(archFromMachine('aarch64')).toBe('arm64');
  });
});

describe('kernelForLog: the log-wide diagnostic at the fact it is about', () => {
  it('no known kernel: one error on the release, worded from the facts', async () => {
    const { kernelForLog } = await import('../../../server/src/core/kernels/forLog');
    const k = {
      label: '6.18.44-fc-v1045',
      kind: 'running' as const,
      dir: 'running',
      release: '6.18.44-fc-v1045',
      arch: 'x86_64' as const,
      problems: [],
    };
    const t =
      'x\nCPU: 1 PID: 3072 Comm: syz Not tainted 6.1.0-rc8-syzkaller-33330-ga5541c0811a0 #0\npstate: 80400005 (Nzcv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)\n';
    const r = kernelForLog(t, [k]);
    expect(r.selection.ok).toBe(false);
    expect(r.diagnostics[0]).toEqual({
      line: 2,
      start: 39,
      end: 78,
      severity: 'error',
      message: 'this log is from 6.1.0-rc8-syzkaller-33330-ga5541c0811a0 (arm64); ksym has 6.18.44-fc-v1045 (x86_64)',
    });
    expect(t.split('\n')[1].slice(39, 78)).toBe('6.1.0-rc8-syzkaller-33330-ga5541c0811a0');
    const same = kernelForLog('CPU: 0 PID: 1 Comm: a Not tainted 6.18.44-fc-v1045 #1\n', [k]);
    expect(same.selection).toMatchObject({ ok: true, by: 'release' });
    expect(same.diagnostics.every((d) => d.severity === 'info')).toBe(true);
  });
});
