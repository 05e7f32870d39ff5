import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identifyLog } from '../../../server/src/core/kernels/identity';
import { belongsTo, mismatchMessage, selectKernel, type Kernel } from '../../../server/src/core/kernels/kernels';
import { readModuleInfo, readNotesBuildId, readVmlinuxInfo } from '../../../server/src/core/kernels/readKernelFiles';
import {
  buildIdInNotes,
  buildIdsMatch,
  findBanner,
  parseProcVersion,
  parseVermagic,
  releaseFromPath,
} from '../../../server/src/core/kernels/source';
import { discoverKernels, readRunningKernel } from '../../../server/src/core/kernels/storeKernels';
import { DEBIAN, have, koFiles, OOPS, ROOT } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { needs } from '../../helpers/skip';

// The kernel `npm run fetch-data` fetched (whichever ABI Debian's archive serves today).
const kd = kernelData();
const DATA = kd?.dir ?? join(ROOT, '.cache/kernel-data/absent');
const VMLINUX = kd?.vmlinux ?? join(DATA, 'vmlinux');
const ABI = kd?.abi ?? '';
const haveVmlinux = have(VMLINUX, 'real Debian vmlinux tests (run npm run fetch-data)');
const haveDebian = have(DEBIAN, 'Debian corpus module tests');

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
/** readelf -n: the oracle for build ids. */
const readelfBuildId = (f: string) => /Build ID: ([0-9a-f]+)/.exec(sh('readelf', ['-n', f]))?.[1];

const tmp = mkdtempSync(join(tmpdir(), 'ksym-kernels-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('pure parsers', () => {
  it('release from paths', () => {
    expect(releaseFromPath('/boot/System.map-6.1.0-56-amd64')?.release).toBe('6.1.0-56-amd64');
    expect(releaseFromPath('/x/usr/lib/debug/boot/vmlinux-6.1.0-57-amd64')?.release).toBe('6.1.0-57-amd64');
    // compressed copies: every suffix off (a .btf.zst beside System.map-6.1.0-50-amd64 is that kernel's)
    expect(releaseFromPath('/k/vmlinux-6.1.0-50-amd64.btf.zst')?.release).toBe('6.1.0-50-amd64');
    expect(releaseFromPath('/k/vmlinux-5.14.0-362.el9.x86_64.debug.xz')?.release).toBe('5.14.0-362.el9.x86_64');
    expect(releaseFromPath('/k/System.map-6.1.0-50-amd64.gz')?.release).toBe('6.1.0-50-amd64');
    expect(releaseFromPath('/lib/modules/6.18.44-fc-v1045/kernel/fs/ext4/ext4.ko.xz')?.release).toBe('6.18.44-fc-v1045');
    expect(releaseFromPath('/usr/lib/debug/lib/modules/5.14.0-362.el9.x86_64/vmlinux')?.release).toBe('5.14.0-362.el9.x86_64');
    expect(releaseFromPath('/home/me/System.map')).toBeUndefined();
    expect(releaseFromPath('/tmp/vmlinux-foo')).toBeUndefined();
  });
  it('vermagic and build id comparison', () => {
    expect(parseVermagic('6.1.0-56-amd64 SMP preempt mod_unload modversions ')).toEqual({
      release: '6.1.0-56-amd64',
      flags: ['SMP', 'preempt', 'mod_unload', 'modversions'],
      raw: '6.1.0-56-amd64 SMP preempt mod_unload modversions ',
    });
    expect(parseVermagic('garbage')).toBeUndefined();
    // The log prints %20phN of a zero-filled buffer: a 16-byte (md5) id gets 8 zeros.
    expect(buildIdsMatch('00112233445566778899aabbccddeeff00000000', '00112233445566778899aabbccddeeff')).toBe(true);
    expect(buildIdsMatch('6a2b4ac77585b8cf102cba771300e573c8489b69', '6a2b4ac77585b8cf102cba771300e573c8489b6a')).toBe(false);
  });
  it('banner in bytes: the first "Linux version <digit>" ending in a newline', () => {
    const enc = new TextEncoder();
    const b = enc.encode('\0%s version %s (\0Linux version x\nLinux version 6.1.0 (a@b) (gcc (X) 1) #1 SMP\n\0');
    const f = findBanner(b, 100)!;
    expect(f.banner.release).toBe('6.1.0');
    expect(f.banner.version).toBe('#1 SMP');
    expect(f.offset).toBe(100 + new TextDecoder().decode(b).indexOf('Linux version 6'));
    expect(findBanner(enc.encode('Linux version 6.1.0 never ends'))).toBeUndefined();
  });
});

/** The Debian package version in the vmlinux's own banner (readelf -p .rodata: the oracle), e.g. 6.1.192-3. */
const debianVersion = (): string => /Linux version [^\n]*? Debian (\S+)/.exec(sh('readelf', ['-p', '.rodata', VMLINUX]))![1];

const haveGcc = needs(spawnSync('gcc', ['--version']).status === 0, 'banner choice test: gcc is not installed');
describe.skipIf(!haveGcc)("a vmlinux's banner: the one with a build number (gcc -c object with both copies in .rodata)", () => {
  const build = (version: string) => {
    const dir = mkdtempSync(join(tmp, 'banner-'));
    const c = join(dir, 'b.c');
    // the dead copy first, as in a 6.1 image (init/version.c's, then version-timestamp.c's)
    writeFileSync(
      c,
      `const char dead[] = "Linux version 6.1.0-9-x (a@b) (gcc) # SMP Debian 6.1.1-1 (2026-01-01)\\n";\n` +
        `const char real[] = "Linux version 6.1.0-9-x (a@b) (gcc) ${version} SMP Debian 6.1.1-1 (2026-01-01)\\n";\n`,
    );
    execFileSync('gcc', ['-c', '-O0', '-o', join(dir, 'b.o'), c]);
    // the object keeps the order: the dead copy first (else the test would not test the choice)
    const bytes = readFileSync(join(dir, 'b.o'), 'latin1');
    expect(bytes.indexOf(') # SMP')).toBeLessThan(bytes.lastIndexOf(`) ${version} SMP`));
    return join(dir, 'b.o');
  };
  it('numbered or not (KBUILD_BUILD_VERSION is any string), the real copy wins; alone, the dead one is taken', () => {
    expect(readVmlinuxInfo(build('#1')).banner?.version).toBe('#1 SMP Debian 6.1.1-1 (2026-01-01)');
    expect(readVmlinuxInfo(build('#abc')).banner?.version).toBe('#abc SMP Debian 6.1.1-1 (2026-01-01)');
    expect(readVmlinuxInfo(build('#')).banner?.version).toBe('# SMP Debian 6.1.1-1 (2026-01-01)');
  });
});

describe.skipIf(!haveVmlinux)('a real 633 MB Debian -dbg vmlinux, read by offset', () => {
  it('build id (readelf -n), banner (the string at the linux_banner symbol), arch (e_machine)', () => {
    const info = readVmlinuxInfo(VMLINUX);
    expect(info.buildId).toBe(readelfBuildId(VMLINUX));
    // The oracle: the bytes at linux_banner (System.map's address, readelf -SW's .rodata
    // placement). 6.1's image also holds a dead copy without the build number ("# SMP"),
    // first in .rodata: the banner read is the kernel's own.
    const at = BigInt('0x' + /^([0-9a-f]{16}) [dDrR] linux_banner$/m.exec(readFileSync(kd!.systemMap, 'latin1'))![1]);
    const ro = /\]\s+\.rodata\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(sh('readelf', ['-SW', VMLINUX]))!;
    const fileOff = Number(at - BigInt('0x' + ro[1])) + parseInt(ro[2], 16);
    expect(info.bannerOffset).toBe(fileOff);
    const fd = openSync(VMLINUX, 'r');
    const raw = Buffer.alloc(1024);
    readSync(fd, raw, 0, raw.length, fileOff);
    closeSync(fd);
    const line = raw.toString('latin1').split(/[\n\0]/)[0];
    expect(parseProcVersion(line)).toMatchObject({ release: info.banner!.release, version: info.banner!.version });
    expect(info.banner!.version).toMatch(/^#\d+ /);
    expect(info.banner!.release).toBe(ABI);
    expect(info.arch).toBe('x86_64');
    expect(info.hasDebugInfo).toBe(true);
    expect(info.executable).toBe(true);
  });
  it('raw notes (.notes dumped with objcopy: Xen notes first) give the same build id', () => {
    const out = join(tmp, 'notes.bin');
    execFileSync('objcopy', ['-O', 'binary', '--only-section=.notes', VMLINUX, out]);
    const raw = readFileSync(out);
    expect(buildIdInNotes(new Uint8Array(raw))).toBe(readelfBuildId(VMLINUX));
    expect(readNotesBuildId(out)).toBe(readelfBuildId(VMLINUX));
  });
  it('the folder fetch-kernel-data fills is one kernel: System.map, debug vmlinux, modules', () => {
    const { kernels, problems } = discoverKernels(DATA);
    expect(problems).toEqual([]);
    expect(kernels).toHaveLength(1);
    const k = kernels[0];
    expect(k.release).toBe(ABI);
    expect(k.buildId).toBe(readelfBuildId(VMLINUX));
    expect(k.version).toContain(`Debian ${debianVersion()}`);
    expect(k.symbols).toEqual({ kind: 'system.map', path: join(DATA, `System.map-${ABI}`) });
    expect(k.vmlinuxDebug).toBe(VMLINUX);
    expect(k.modulesDir).toBe(join(DATA, 'modules'));
    expect(k.label).toBe(`${ABI} (Debian ${debianVersion()})`);
  });
  it('an extracted -dbg package root, with the image package stub System.map in boot/', () => {
    const root = join(tmp, 'dbgroot');
    mkdirSync(join(root, 'usr/lib/debug/boot'), { recursive: true });
    mkdirSync(join(root, `usr/lib/debug/lib/modules/${ABI}/kernel`), { recursive: true });
    mkdirSync(join(root, 'boot'), { recursive: true });
    symlinkSync(VMLINUX, join(root, `usr/lib/debug/boot/vmlinux-${ABI}`));
    writeFileSync(
      join(root, `boot/System.map-${ABI}`),
      'ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n',
    );
    const { kernels } = discoverKernels(root);
    expect(kernels).toHaveLength(1);
    const k = kernels[0];
    expect(k.kind).toBe('distribution');
    expect(k.buildId).toBe(readelfBuildId(VMLINUX));
    expect(k.symbols).toBeUndefined();
    expect(k.problems.join()).toMatch(/one-line placeholder System\.map/);
    expect(k.modulesDir).toBe(join(root, `usr/lib/debug/lib/modules/${ABI}`));
    // Now the real map next to the debug vmlinux.
    symlinkSync(join(DATA, `System.map-${ABI}`), join(root, `usr/lib/debug/boot/System.map-${ABI}`));
    expect(discoverKernels(root).kernels[0].symbols?.path).toBe(join(root, `usr/lib/debug/boot/System.map-${ABI}`));
  });
  it('a build tree whose kernel.release disagrees with its vmlinux says so', () => {
    const t = join(tmp, 'tree');
    mkdirSync(join(t, 'include/config'), { recursive: true });
    writeFileSync(join(t, 'include/config/kernel.release'), '6.1.0-99-amd64\n');
    symlinkSync(VMLINUX, join(t, 'vmlinux'));
    const k = discoverKernels(t).kernels[0];
    expect(k.kind).toBe('build-tree');
    expect(k.release).toBe('6.1.0-99-amd64');
    expect(k.problems.join('\n')).toContain(`says it is ${ABI}, its name says 6.1.0-99-amd64`);
    expect(k.problems.join('\n')).toMatch(/no System\.map/);
  });
  it('choosing the kernel for a log: Debian CPU: line → this kernel; other logs → the mismatch, worded from the facts', () => {
    const deb = discoverKernels(DATA).kernels[0];
    const running = readRunningKernel({ machine: machine() });
    const kernels = [deb, running];
    const log = identifyLog(
      `CPU: 2 PID: 1 Comm: systemd Not tainted ${ABI} #1 Debian ${debianVersion()}\nRIP: 0010:do_syscall_64+0x5c/0x90\n`,
    );
    const s = selectKernel(log, kernels);
    expect(s).toMatchObject({ ok: true, by: 'release+version' });
    expect(s.ok && s.kernel).toBe(deb);
    // Another Debian upload of the same release is another build.
    const other = selectKernel(identifyLog(`CPU: 2 PID: 1 Comm: systemd Not tainted ${ABI} #1 Debian ${debianVersion()}9\n`), kernels);
    expect(other.ok).toBe(false);
    // the same release on both sides: the message says which build each is
    expect(!other.ok && other.message).toBe(
      `this log is from ${ABI} (x86_64), #1 Debian ${debianVersion()}9; ksym has ${ABI} (x86_64), ${deb.version}; ${running.release} (${running.arch})`,
    );
    // Build id wins.
    const byId = selectKernel(identifyLog(`CPU: 2 PID: 1 Comm: x Not tainted ${ABI} #1 ${deb.buildId}\n`), kernels);
    expect(byId).toMatchObject({ ok: true, by: 'build-id' });
    const wrongId = selectKernel(identifyLog(`CPU: 2 PID: 1 Comm: x Not tainted ${ABI} #1 ${'ab'.repeat(20)}\n`), kernels);
    expect(wrongId.ok).toBe(false);
    if (have(OOPS, 'corpus oops')) {
      const syz = identifyLog(readFileSync(join(OOPS, '01-x86_64-kasan-uaf-raw-task-qmark.txt'), 'utf8'));
      const r = selectKernel(syz, kernels);
      expect(r.ok).toBe(false);
      const uname = sh('uname', ['-r']).trim();
      expect(!r.ok && r.message).toBe(
        `this log is from 5.17.0-syzkaller-13532-gb4a5ea09b293 (x86_64); ksym has ${ABI} (x86_64), ${uname} (${running.arch})`,
      );
      const arm = selectKernel(identifyLog(readFileSync(join(OOPS, '05-arm64-5.9-oops-pc-lr-calltrace-interleaved.txt'), 'utf8')), kernels);
      expect(!arm.ok && arm.message).toMatch(/^this log is from 5\.9\.0-12994-gf9893351acae \(arm64\); ksym has/);
      // No release in the log (RCU stall): the only x86_64 kernel would be a guess; with two there is no choice.
      const rcu = selectKernel(identifyLog(readFileSync(join(OOPS, '04-x86_64-rcu-stall.txt'), 'utf8')), kernels);
      expect(rcu.ok).toBe(false);
      expect(rcu.notes.join()).toMatch(/names no kernel release and ksym has 2 x86_64 kernels/);
      const one = selectKernel(identifyLog(readFileSync(join(OOPS, '04-x86_64-rcu-stall.txt'), 'utf8')), [deb]);
      expect(one).toMatchObject({ ok: true, by: 'arch' });
      expect(one.notes.join()).toMatch(/unverified/);
    }
  });
});

describe.skipIf(!haveDebian)('modules of the Debian corpus: vermagic, build id, belonging', () => {
  it('vermagic (readelf -p .modinfo) and build id (readelf -n) of every corpus module', () => {
    const files = koFiles(join(DEBIAN, 'modules'));
    expect(files.length).toBe(15);
    for (const f of files) {
      const m = readModuleInfo(f);
      expect(m.buildId).toBe(readelfBuildId(f));
      const vm = /vermagic=(\S+)/.exec(sh('readelf', ['-p', '.modinfo', f]))![1];
      expect(m.vermagicRelease).toBe(vm);
      expect(vm).toBe('6.1.0-56-amd64');
    }
  });
  it('a 6.1.0-56 module is refused for the 6.1.0-57 kernel, in one sentence', () => {
    const k: Kernel = { label: '6.1.0-57-amd64', kind: 'distribution', dir: '/x', release: '6.1.0-57-amd64', arch: 'x86_64', problems: [] };
    const f = koFiles(join(DEBIAN, 'modules')).find((p) => p.endsWith('/drbd.ko'))!;
    const m = readModuleInfo(f);
    expect(belongsTo(k, { kind: 'module', path: f, buildId: m.buildId, vermagicRelease: m.vermagicRelease })).toBe(
      'drbd.ko is built for 6.1.0-56-amd64 (vermagic), not 6.1.0-57-amd64 (x86_64)',
    );
    expect(
      belongsTo({ ...k, release: '6.1.0-56-amd64' }, { kind: 'module', path: f, buildId: m.buildId, vermagicRelease: m.vermagicRelease }),
    ).toBeUndefined();
    expect(
      belongsTo({ ...k, release: '6.1.0-56-amd64' }, { kind: 'module', path: f, buildId: m.buildId, expectedBuildId: 'ab'.repeat(20) }),
    ).toMatch(/not the module that ran/);
    expect(belongsTo({ ...k, buildId: 'aa'.repeat(20) }, { kind: 'debug', path: '/d/vmlinux', buildId: 'bb'.repeat(20) })).toMatch(
      /another kernel/,
    );
  });
  it('the corpus folder (flat, like /boot): the stub System.map is not a second kernel', () => {
    const { kernels } = discoverKernels(DEBIAN);
    expect(kernels.map((k) => k.release)).toEqual(['6.1.0-56-amd64']);
    const k = kernels[0];
    expect(k.symbols?.path).toBe(join(DEBIAN, 'System.map-6.1.0-56-amd64'));
    expect(k.btf).toBe(join(DEBIAN, 'vmlinux-6.1.0-56-amd64.btf'));
    expect(k.modulesDir).toBe(join(DEBIAN, 'modules'));
    expect(k.arch).toBe('x86_64');
  });
});

describe('the running kernel and a snapshot of it', () => {
  const canRead = existsSync('/proc/version');
  it.skipIf(!canRead)('readRunningKernel: /proc/version (uname -r / -v are the oracle)', () => {
    const k = readRunningKernel({ machine: machine() });
    expect(k.release).toBe(sh('uname', ['-r']).trim());
    expect(k.version).toBe(sh('uname', ['-v']).trim());
    expect(k.symbols).toEqual({ kind: 'kallsyms', path: '/proc/kallsyms' });
  });
  it.skipIf(!canRead || !existsSync('/proc/kallsyms'))(
    'a folder with kallsyms + version (+ btf, notes) is a snapshot kernel labelled by its version',
    () => {
      const d = join(tmp, 'snap');
      mkdirSync(d);
      writeFileSync(join(d, 'kallsyms'), readFileSync('/proc/kallsyms'));
      writeFileSync(join(d, 'version'), readFileSync('/proc/version')); // copyFileSync would copy 0 bytes: /proc files report size 0
      if (existsSync('/sys/kernel/btf/vmlinux')) writeFileSync(join(d, 'btf'), readFileSync('/sys/kernel/btf/vmlinux'));
      if (existsSync('/sys/kernel/notes')) writeFileSync(join(d, 'notes'), readFileSync('/sys/kernel/notes'));
      const k = discoverKernels(d).kernels[0];
      expect(k.kind).toBe('snapshot');
      expect(k.release).toBe(sh('uname', ['-r']).trim());
      expect(k.symbols).toEqual({ kind: 'kallsyms', path: join(d, 'kallsyms') });
      if (existsSync('/sys/kernel/btf/vmlinux')) expect(k.btf).toBe(join(d, 'btf'));
      if (sh('uname', ['-m']).trim() === 'x86_64') expect(k.arch).toBe('x86_64');
      expect(
        mismatchMessage(
          identifyLog('CPU: 0 PID: 1 Comm: a Not tainted 5.10.2 #10\npc : [<8054b7c0>]    lr : [<8054b7b0>]    psr: 40000013'),
          [k],
        ),
      ).toBe(`this log is from 5.10.2 (arm32); ksym has ${k.release} (${k.arch})`);
    },
  );
  it('nothing there: a clear problem', () => {
    expect(discoverKernels(join(tmp, 'absent')).problems[0]).toMatch(/not a directory/);
    mkdirSync(join(tmp, 'empty'));
    expect(discoverKernels(join(tmp, 'empty')).problems[0]).toMatch(/no kernel found/);
  });
});
