import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AddressToken, FrameToken, LogToken, scanLine, scanWrapped, findKaslrOffset } from '../../../server/src/core/log/scan';
import { have, OOPS } from '../../helpers/corpus';

const frames = (l: string) => scanLine(l).filter((t): t is FrameToken => t.kind === 'frame');
const addrs = (l: string) => scanLine(l).filter((t): t is AddressToken => t.kind === 'address');

describe('log line tokenizer', () => {
  it('x86 frames with timestamps, caller ids, ? and [mod BUILDID]', () => {
    const [f] = frames('[  477.412810][T18348]  ? show_regs_print_info+0x12/0x12');
    expect(f).toMatchObject({ name: 'show_regs_print_info', offset: 0x12, size: 0x12, unreliable: true, role: 'trace' });
    const [m] = frames(' xfs_buf_ioend+0x3c/0x1d0 [xfs 6250ba6d6ca7a6fb8d5bdb065964db297543d448]');
    expect(m).toMatchObject({ name: 'xfs_buf_ioend', module: 'xfs', buildId: '6250ba6d6ca7a6fb8d5bdb065964db297543d448' });
  });

  it('RIP lines are exact IPs (%pS), old-format [<addr>] frames pair the address with the frame', () => {
    expect(frames('RIP: 0010:amdgpu_vm_sdma_commit+0x46/0x120 [amdgpu]')[0]).toMatchObject({ role: 'ip', module: 'amdgpu' });
    const l = ' [<ffffffff8149e232>] ? handle_mm_fault+0x3f2/0x3190';
    const [a] = addrs(l);
    const [f] = frames(l);
    expect(a).toMatchObject({ address: 0xffffffff8149e232n, role: 'trace', frameAt: f.start });
    expect(f.address).toBe(0xffffffff8149e232n);
    const rip = 'RIP: 0010:[<ffffffff8123487f>]  [<ffffffff8123487f>] __lock_acquire+0x61f/0x4b50';
    expect(frames(rip)[0].role).toBe('ip');
    expect(addrs(rip).every((x) => x.role === 'ip')).toBe(true);
    // Both addresses of the old RIP line belong to the frame printed after them (each is checked against it).
    const [rf] = frames(rip);
    expect(addrs(rip).map((x) => x.frameAt)).toEqual([rf.start, rf.start]);
  });

  it('arm64 pc/lr, riscv epc/ra, ppc NIP/LR and dot names, arm32 (func) from, s390 parenthesised frames', () => {
    expect(frames('pc : selinux_socket_sendmsg+0x28/0x58')[0].role).toBe('ip');
    expect(frames('lr : selinux_socket_sendmsg+0x18/0x58')[0].role).toBe('lr');
    expect(frames(' epc : schedule_tail+0x72/0xb2')[0].role).toBe('ip');
    expect(frames('  ra : schedule_tail+0x70/0xb2')[0].role).toBe('lr');
    const ppc = '[c000000010f93340] [d0000000008c991c] .ipr_probe_ioa+0x6c/0x1390 [ipr]';
    expect(frames(ppc)[0]).toMatchObject({ name: '.ipr_probe_ioa', module: 'ipr', address: 0xd0000000008c991cn });
    expect(addrs(ppc).map((a) => a.role)).toEqual(['value', 'trace']);
    expect(frames('NIP [c000000008068dfc] .eeh_dev_check_failure+0x27c/0x390')[0]).toMatchObject({
      role: 'ip',
      address: 0xc000000008068dfcn,
    });
    const arm = '[<8054b7c0>] (jffs2_parse_param) from [<8037e608>] (vfs_parse_fs_param+0xf8/0x23c)';
    const af = frames(arm);
    expect(af.map((f) => f.name)).toEqual(['jffs2_parse_param', 'vfs_parse_fs_param']);
    expect(af[0].offset).toBeUndefined();
    expect(af[0].address).toBe(0x8054b7c0n);
    expect(af[1]).toMatchObject({ role: 'lr', address: 0x8037e608n });
    expect(addrs(arm).map((a) => a.digits)).toEqual([8, 8]);
    expect(frames('([<000003ff8086d036>] will_oops_init+0x36/0x1000 [will_oops])')[0]).toMatchObject({
      module: 'will_oops',
      address: 0x3ff8086d036n,
    });
  });

  it('raw addresses: bare 16-digit values, 0x values, <TASK> markers ignored', () => {
    expect(addrs('RSP: 0018:ffffc90000a3fd88 EFLAGS: 00010246').map((a) => a.address)).toEqual([0xffffc90000a3fd88n]);
    expect(addrs('Read of size 8 at addr ffff88801a663430 by task x/1')[0].address).toBe(0xffff88801a663430n);
    expect(addrs('RIP: 0033:0x7f395483bc8b')[0].address).toBe(0x7f395483bc8bn);
    expect(scanLine(' <TASK>')).toEqual([]);
    expect(scanLine('Code: 0f 05 48 3d 00 f0 ff ff 77 45 c3')).toEqual([]);
  });

  it('KASLR offset lines', () => {
    expect(
      findKaslrOffset([
        'foo',
        'Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)',
      ]),
    ).toBe(0x1e000000n);
    expect(findKaslrOffset(['Kernel Offset: disabled'])).toBe(0n);
    expect(findKaslrOffset(['nothing'])).toBeUndefined();
  });

  it('frames wrapped over two lines', () => {
    const w = scanWrapped(' drm_ioctl_ker', 'nel+0x208/0x390 [drm]');
    expect(w).toMatchObject({ name: 'drm_ioctl_kernel', offset: 0x208, module: 'drm' });
    expect(scanWrapped(' drm_ioctl+0x208/0x390 [drm]', ' next_line+0x1/0x2')).toBeUndefined();
  });

  it('never throws on hostile lines', () => {
    const bad = [
      '\u0000\u0001\uffff',
      'a+0x' + 'f'.repeat(100) + '/0x1',
      '[<' + 'f'.repeat(40) + '>]',
      'x'.repeat(100000),
      '?'.repeat(10000) + ' f+0x1/0x2',
    ];
    for (const l of bad) expect(() => scanLine(l)).not.toThrow();
  });
});

describe('every corpus log tokenizes', () => {
  const files = have(OOPS, 'corpus log tests')
    ? readdirSync(OOPS)
        .filter((f) => f.endsWith('.txt'))
        .sort()
    : [];
  const scan = (f: string): LogToken[] =>
    readFileSync(join(OOPS, f), 'utf8')
      .split('\n')
      .flatMap((l) => scanLine(l));
  // Frame counts per file, checked against `grep -oE '[A-Za-z_.$][A-Za-z0-9_.$]*\+0x[0-9a-f]+'` on the logs
  // (and the arm32 bare `(func)` entries).
  const expected: Record<string, { frames: number; modules?: string[]; ip?: string }> = {
    '01-x86_64-kasan-uaf-raw-task-qmark.txt': { frames: 91, ip: '__wake_up_common' },
    '02-x86_64-kasan-module-frames-test_kasan.txt': { frames: 83, modules: ['test_kasan'] },
    '03-x86_64-4.4-oldfmt-gpf-qmark-rip-brackets.txt': { frames: 32, ip: '__lock_acquire' },
    '04-x86_64-rcu-stall.txt': { frames: 77 },
    '05-arm64-5.9-oops-pc-lr-calltrace-interleaved.txt': { frames: 10, ip: 'selinux_socket_sendmsg' },
    '06-arm64-6.1-symbolized-fileline-inline.txt': { frames: 18, ip: 'unlock_page' },
    '07-arm32-5.10-backtrace-from-format.txt': { frames: 40, ip: 'jffs2_parse_param' },
    '08-riscv64-5.11-oops-epc-ra.txt': { frames: 4, ip: 'schedule_tail' },
    '09-ppc64le-5.4-oops-symbolized.txt': { frames: 10, ip: 'partition_sched_domains_locked' },
    '10-x86_64-4.0-soft-lockup-oldfmt-modules-qmark-code.txt': { frames: 33, modules: ['snd_hda_intel'] },
    '11-x86_64-5.3-amdgpu-module-frames-linewrapped.txt': { frames: 18, modules: ['amdgpu', 'drm'], ip: 'amdgpu_vm_sdma_commit' },
    '12-ppc64-oops-modules.txt': { frames: 22, modules: ['ipr'], ip: '.eeh_dev_check_failure' },
    '13-s390x-oops-modules.txt': { frames: 7, modules: ['will_oops'], ip: 'will_oops_init' },
    '14-x86_64-gitlog-21-many-module-frames.txt': { frames: 55, modules: ['ib_uverbs'] },
  };
  for (const f of files) {
    it(f, () => {
      const toks = scan(f);
      const fr = toks.filter((t): t is FrameToken => t.kind === 'frame');
      const exp = expected[f];
      expect(exp, `no expectation for ${f}`).toBeDefined();
      expect(fr.length).toBe(exp.frames);
      for (const m of exp.modules ?? [])
        expect(
          fr.some((t) => t.module === m),
          m,
        ).toBe(true);
      if (exp.ip)
        expect(
          fr.some((t) => t.role === 'ip' && t.name === exp.ip),
          exp.ip,
        ).toBe(true);
      // Every frame's text round-trips.
      for (const t of fr) expect(t.name).toMatch(/^\.?[A-Za-z_$][\w.$]*$/);
    });
  }
  it.skipIf(files.length === 0)('the independent grep count agrees with the tokenizer on every file', () => {
    for (const f of files) {
      const text = readFileSync(join(OOPS, f), 'utf8');
      const grep = (text.match(/[A-Za-z_.$][A-Za-z0-9_.$]*\+0x[0-9a-fA-F]+/g) ?? []).length;
      const bare = (text.match(/\] \((\.?[A-Za-z_$][\w.$]*)\) from/g) ?? []).length;
      expect(grep + bare, f).toBe(expected[f].frames);
    }
  });
});
