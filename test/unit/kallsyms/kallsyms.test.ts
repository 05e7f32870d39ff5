import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../server/src/core/common/errors';
import { buildIndex, SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { resolveFrame } from '../../../server/src/core/log/resolve';
import { scanLine, FrameToken } from '../../../server/src/core/log/scan';
import { have, liveKallsyms, SYSTEM_MAP, SYSTEM_MAP_STUB } from '../../helpers/corpus';

const enc = (s: string) => new TextEncoder().encode(s);
const idx = (s: string, kind: 'kallsyms' | 'system.map' = 'kallsyms') => buildIndex([{ file: 'fixture', bytes: enc(s), kind }]);

// A small kallsyms in the real /proc/kallsyms shape: vmlinux sorted, a module block in
// symtab order (not address order), an ftrace trampoline, then [bpf] below it.
const FIXTURE = [
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T _text',
  'ffffffff81000000 T startup_64',
  'ffffffff81000100 t __pfx_foo',
  'ffffffff81000110 T foo',
  'ffffffff81000140 t bar',
  'ffffffff81000140 t bar_alias',
  'ffffffff81000200 t dup',
  'ffffffff81000300 T after_dup',
  'ffffffff81000300 t dup',
  'ffffffff81000480 T _etext',
  'ffffffff81100000 T _sinittext',
  'ffffffff81100010 T init_fn',
  'ffffffff81100100 T _einittext',
  'ffffffffc0002000 t mod_b\t[mymod]',
  'ffffffffc0001000 t mod_a\t[mymod]',
  'ffffffffc0001800 t dup\t[mymod]',
  'ffffffffc0001000 d mod_data\t[mymod]',
  'ffffffffc0200000 t ftrace_trampoline\t[__builtin__ftrace]',
  'ffffffffc0100000 t bpf_prog_6deef7357e7b4530_prog1\t[bpf]',
  'ffffffffc0100080 t bpf_prog_0123456789abcdef_prog2\t[bpf]',
  '',
].join('\n');

describe('kallsyms parser', () => {
  const index = idx(FIXTURE);

  it('parses every line, sorts by address whatever the input order, keeps source positions', () => {
    expect(index.count).toBe(21);
    for (let i = 1; i < index.count; i++) expect(index.addressOf(i) >= index.addressOf(i - 1)).toBe(true);
    const a = index.byNameAll('mod_a')[0];
    expect(index.line[a]).toBe(16);
    expect(index.moduleOf(a)).toBe('mymod');
    expect(index.moduleKinds[index.mod[index.byNameAll('bpf_prog_6deef7357e7b4530_prog1')[0]]]).toBe('pseudo');
    expect(index.moduleKinds[index.mod[index.byNameAll('ftrace_trampoline')[0]]]).toBe('pseudo');
    expect(index.messages.errors).toEqual([]);
  });

  it('gives every symbol of a name in source order', () => {
    const ids = index.byNameAll('dup');
    expect(ids.map((i) => index.line[i])).toEqual([8, 10, 17]);
    expect(ids.map((i) => index.moduleOf(i))).toEqual([undefined, undefined, 'mymod']);
    expect(index.sameName(ids[1])).toMatchObject({ position: 2 });
    expect(index.sameName(ids[2]).inObject.length).toBe(1);
  });

  it('reports garbage, truncated and blank lines with their line numbers and keeps going', () => {
    const bad = idx(
      [
        'ffffffff81000000 T _stext',
        'garbage here',
        'ffffffff81000010 T',
        '',
        'ffffffff8100001 Q',
        'zz T x',
        'ffffffff81000020 T ok',
        '12345678901234567 T toowide',
      ].join('\n'),
    );
    expect(bad.count).toBe(2);
    const problems = bad.sources[0].report.problems;
    expect(problems.map((p) => p.line)).toEqual([2, 3, 5, 6, 8]);
    expect(bad.messages.warnings[0]).toMatch(/fixture: skipped 5 malformed line\(s\) \(line 2: /);
  });

  it('rejects binary data with a FormatError naming the file and offset', () => {
    const bin = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]);
    expect(() => buildIndex([{ file: '/x/vmlinux', bytes: bin, kind: 'kallsyms' }])).toThrow(FormatError);
    expect(() => buildIndex([{ file: '/x/vmlinux', bytes: bin, kind: 'kallsyms' }])).toThrow(/\/x\/vmlinux: offset 0x4: binary data/);
  });

  it('detects hidden addresses and says how to fix it', () => {
    const hidden = idx('0000000000000000 T _stext\n0000000000000000 T foo\n');
    expect(hidden.messages.errors[0]).toMatch(/hidden by kernel\.kptr_restrict.*root/);
  });

  it('detects the one-line stub System.map', () => {
    const stub = idx('ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n', 'system.map');
    expect(stub.count).toBe(0);
    expect(stub.sources[0].report.stubSystemMap).toBe(true);
    expect(stub.messages.errors[0]).toMatch(/placeholder System\.map/);
  });

  it('handles 32-bit addresses and CRLF line ends', () => {
    const i32 = idx('c0008000 T _stext\r\nc0008100 T foo\r\nc0008200 T _etext\r\n');
    expect(i32.addressDigits).toBe(8);
    expect(i32.resolve(0xc0008104n)?.text).toBe('foo+0x4/0x100');
  });
});

describe('resolution like %pS and %pB', () => {
  const index = idx(FIXTURE);

  it('takes the last symbol at or below, the first alias in kallsyms order, size to the next higher address', () => {
    expect(index.resolve(0xffffffff81000000n)?.text).toBe('_stext+0x0/0x100');
    expect(index.resolve(0xffffffff81000144n)?.text).toBe('bar+0x4/0xc0');
    expect(index.resolve(0xffffffff81000120n)?.text).toBe('foo+0x10/0x30');
    // Two 'dup' at different addresses: the address decides.
    expect(index.resolve(0xffffffff81000310n)?.text).toBe('after_dup+0x10/0x180');
  });

  it('%pB looks up addr-1 and prints offset+1 (a call as the last instruction stays in its function)', () => {
    // Return address == start of bar: %pS says bar+0x0, %pB says foo+0x30/0x30.
    expect(index.resolve(0xffffffff81000140n, false)?.text).toBe('bar+0x0/0xc0');
    expect(index.resolve(0xffffffff81000140n, true)?.text).toBe('foo+0x30/0x30');
  });

  it('resolves nothing outside the kernel text ranges (below _stext, between _etext and _sinittext, past _einittext)', () => {
    expect(index.resolve(0xffffffff80000000n)).toBeUndefined();
    expect(index.resolve(0xffffffff81000500n)).toBeUndefined();
    expect(index.resolve(0xffffffff81100020n)?.text).toBe('init_fn+0x10/0xf0');
    expect(index.resolve(0xffffffff81100100n)).toBeUndefined();
    expect(index.resolve(0x10n)).toBeUndefined();
  });

  it('sizes module symbols within their module only and prints [mod] (not for bpf/ftrace)', () => {
    expect(index.resolve(0xffffffffc0001004n)?.text).toBe('mod_a+0x4/0x800 [mymod]');
    expect(index.resolve(0xffffffffc0100004n)?.text).toBe('bpf_prog_6deef7357e7b4530_prog1+0x4/0x80');
    const last = index.resolve(0xffffffffc0002010n);
    expect(last?.text).toBe('mod_b+0x10 [mymod]');
    expect(last?.sizeUnknown).toBe(true);
    expect(index.resolve(0xffffffffc0002000n + 0x20000n)).toBeUndefined();
  });

  it('narrows frames by module and by size, and lists every candidate when still ambiguous', () => {
    const f = (s: string) => scanLine(s).find((t): t is FrameToken => t.kind === 'frame')!;
    const inMod = resolveFrame(index, f(' dup+0x4/0x800 [mymod]'));
    expect(inMod.address).toBe(0xffffffffc0001804n);
    const bySize = resolveFrame(index, f(' dup+0x4/0x100'));
    expect(bySize.address).toBe(0xffffffff81000204n);
    expect(bySize.matchesLog).toBe(true); // %pB: lookup 0x...203 = dup+0x3, printed +1
    const amb = resolveFrame(index, f(' dup+0x4'));
    expect(amb.address).toBeUndefined();
    expect(amb.candidates.length).toBe(2);
    // an absence names the index that lacks the name (the files it was built from)
    const none = resolveFrame(index, f(' not_here+0x4/0x10'));
    expect(none.problem).toBe('no symbol named not_here in the index of fixture');
    const three = buildIndex(['a', 'b', 'c'].map((file) => ({ file, bytes: enc('ffffffff81000000 T x\n'), kind: 'kallsyms' as const })));
    expect(resolveFrame(three, f(' not_here+0x4/0x10')).problem).toBe('no symbol named not_here in the index of a, b and 1 more');
  });
});

describe('the corpus System.map (Debian 6.1)', () => {
  it.skipIf(!have(SYSTEM_MAP, 'System.map tests'))('indexes every line, with the known duplicate count', () => {
    const bytes = readFileSync(SYSTEM_MAP);
    const index = buildIndex([{ file: SYSTEM_MAP, bytes, kind: 'system.map' }]);
    expect(index.count).toBe(94280);
    expect(index.messages.errors).toEqual([]);
    expect(index.messages.warnings).toEqual([]);
    const st = index.stats();
    expect(st.duplicateNames).toBe(1125);
    expect(st.kallsymsAll).toBe(true);
    // Oracle: nm-style sort order is System.map's own order; it is already sorted.
    for (let i = 0; i < index.count; i++) expect(index.order[i]).toBe(i);
    // Every symbol resolves to itself at its own address, or to an earlier alias.
    const text0 = index.byNameAll('_text')[0];
    for (let i = text0; i < index.count; i += 97) {
      const r = index.resolve(index.addressOf(i));
      if (!r) continue;
      expect(r.sym.address).toBe(index.addressOf(i));
      expect(r.sym.id).toBeLessThanOrEqual(i);
    }
  });

  it.skipIf(!have(SYSTEM_MAP_STUB, 'stub System.map test'))('recognises the stub', () => {
    const index = buildIndex([{ file: SYSTEM_MAP_STUB, bytes: readFileSync(SYSTEM_MAP_STUB), kind: 'system.map' }]);
    expect(index.count).toBe(0);
    expect(index.messages.errors.join()).toMatch(/placeholder/);
  });
});

/** Frames the kernel printed itself: /proc/<pid>/stack uses %pB ("[<0>] name+0xoff/0xsize"). */
function kernelStackFrames(): string[] {
  const out = new Set<string>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const l of readFileSync(`/proc/${pid}/stack`, 'latin1').split('\n')) {
        const m = /^\[<[0-9a-f]+>\] (\S+)$/.exec(l);
        if (m) out.add(m[1]);
      }
    } catch {
      /* process gone or not permitted */
    }
  }
  return [...out];
}

describe('oracle: the running kernel', () => {
  const live = liveKallsyms();
  const index: SymbolIndex | undefined = live ? buildIndex([{ file: '/proc/kallsyms', bytes: live, kind: 'kallsyms' }]) : undefined;

  it.skipIf(!index)('indexes /proc/kallsyms completely', () => {
    const lines = live!.toString('latin1').split('\n').filter(Boolean).length;
    expect(index!.count).toBe(lines);
    expect(index!.messages.errors).toEqual([]);
    expect(index!.messages.warnings).toEqual([]);
  });

  it.skipIf(!index)("reproduces every frame of /proc/*/stack (the kernel's own %pB) from the frame's address", () => {
    const frames = kernelStackFrames();
    if (frames.length === 0) {
      console.warn('no /proc/*/stack frames readable (not root?)');
      return;
    }
    let checked = 0;
    for (const text of frames) {
      const tok = scanLine(` ${text}`).find((t): t is FrameToken => t.kind === 'frame');
      expect(tok, text).toBeDefined();
      const r = resolveFrame(index!, tok!);
      expect(r.candidates.length, `${text}: ${r.problem}`).toBe(1);
      expect(r.kernel?.text, text).toBe(text);
      expect(r.kernel?.returnAddress).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  const perf = spawnSync('perf', ['--version']).status === 0;
  it.skipIf(!index || !perf)("agrees with perf script on sampled kernel IPs and callchains (except perf's last-alias choice)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-perf-'));
    const data = join(dir, 'perf.data');
    const rec = spawnSync('perf', ['record', '-q', '-o', data, '-a', '-g', '--', 'sleep', '0.5'], { encoding: 'utf8' });
    if (rec.status !== 0) {
      console.warn(`perf record failed, skipping: ${rec.stderr.slice(0, 200)}`);
      return;
    }
    const script = execFileSync('perf', ['script', '-i', data, '-F', 'ip,sym,symoff', '--kallsyms', '/proc/kallsyms'], {
      encoding: 'latin1',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let same = 0;
    let aliasOnly = 0;
    const seen = new Set<string>();
    for (const l of script.split('\n')) {
      const m = /^\s*([0-9a-f]{16}) (\S+)\+0x([0-9a-f]+)$/.exec(l);
      if (!m || !m[1].startsWith('ffffffff') || seen.has(l)) continue;
      seen.add(l);
      const r = index!.resolve(BigInt('0x' + m[1]));
      expect(r, l).toBeDefined();
      const ours = `${r!.sym.name}+0x${r!.offset.toString(16)}`;
      if (ours === `${m[2]}+0x${m[3]}`) same++;
      else {
        // perf picks the last alias at an address, the kernel the first: same address, other name.
        const theirs = index!.byNameAll(m[2]).map((i) => index!.addressOf(i));
        expect(theirs, `${l} vs ${ours}`).toContain(r!.sym.address);
        aliasOnly++;
      }
    }
    expect(same).toBeGreaterThan(10);
    console.log(`perf oracle: ${same} addresses identical, ${aliasOnly} differ only by perf's last-alias rule`);
  });
});
