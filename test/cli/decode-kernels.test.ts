/**
 * `ksym decode [--kernel DIR]... --json LOG` (issue 16 §4): the JSON shape, the kernel
 * chosen per log, exit status 1 when the log's kernel is not among the candidates, the
 * running kernel as the only candidate without --kernel. Oracles: the Debian System.map,
 * readelf -sW of drbd.ko, the log's own CPU: line, /proc/version.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../helpers/lspclient';
import { DEBIAN, have, OOPS, SYSTEM_MAP } from '../helpers/corpus';
import { DRBD, drbdLog, drbdOracle, h, SHIFT, TEXT } from '../helpers/kernelLogs';
import { readelfSymbols } from '../helpers/readelf';
import { bannerDebianVersion, kernelData } from '../helpers/kernelData';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const haveAll = have(SYSTEM_MAP, 'decode --kernel tests') && have(DRBD, 'decode --kernel tests');

interface Tok {
  line: number;
  column: number;
  text: string;
  kind: string;
  address: string | null;
  name: string | null;
  offset: number | null;
  size: number | null;
  module: string | null;
  matchesLog: boolean | null;
  source: unknown[];
}

describe.skipIf(!haveAll)('ksym decode --kernel --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-decode-k-'));
  const log = drbdLog();
  const logFile = join(dir, 'drbd.oops');
  writeFileSync(logFile, log.text);

  it('a Debian 6.1 log with --kernel of the Debian 6.1 files: selected, the KASLR shift on vmlinux frames only, the module frame from drbd.ko', () => {
    assertBuilt();
    const r = run(['decode', '--kernel', DEBIAN, '--json', logFile]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { kernel: Record<string, unknown>; tokens: Tok[] };
    expect(Object.keys(j).sort()).toEqual(['kernel', 'tokens']);
    expect(Object.keys(j.kernel).sort()).toEqual(['arch', 'buildId', 'kaslrOffset', 'problems', 'release', 'selected', 'version'].sort());
    expect(j.kernel).toMatchObject({
      release: '6.1.0-56-amd64',
      version: '#1 Debian 6.1.192-2',
      kaslrOffset: `0x${h(SHIFT)}`,
      selected: DEBIAN,
      buildId: null,
    });
    for (const t of j.tokens)
      expect(
        Object.keys(t)
          .filter((k) => k !== 'sourceProblem')
          .sort(),
      ).toEqual(['line', 'column', 'text', 'kind', 'address', 'name', 'offset', 'size', 'module', 'matchesLog', 'source'].sort());
    const lines = log.text.split('\n');
    // The module frame's address: drbd.ko's symbol (readelf), not shifted.
    const a = drbdOracle('drbd_adm_attach');
    const modAddr = j.tokens.find((t) => t.kind === 'address' && t.text.includes(h(TEXT + a.value + 0x2fn)))!;
    expect(modAddr).toMatchObject({ name: 'drbd_adm_attach', offset: 0x2f, size: Number(a.size), module: 'drbd', matchesLog: true });
    // The register inside drbd, from the load address the frame taught.
    const rax = j.tokens.find((t) => t.line === lines.findIndex((l) => l.startsWith('RAX:')) + 1 && t.text.includes(h(log.rax)))!;
    expect(rax).toMatchObject({ name: 'drbd_adm_attach', offset: Number(log.raxOffset), module: 'drbd' });
    // vmlinux frames: System.map + the Kernel Offset.
    for (const f of log.vm) {
      const t = j.tokens.find((x) => x.kind === 'address' && x.text === h(f.at))!;
      expect(t).toMatchObject({ name: f.name, offset: Number(f.off), size: Number(f.size), module: null, matchesLog: true });
      expect(BigInt('0x' + t.address!)).toBe(f.at - SHIFT); // as ksym lookup --json prints addresses: hex digits
    }
  });

  it('an arm64 log with --kernel of the Debian files: exit 1, the mismatch first, nothing resolved', () => {
    const file = join(OOPS, '05-arm64-5.9-oops-pc-lr-calltrace-interleaved.txt');
    const release = /Not tainted (\S+)/.exec(readFileSync(file, 'utf8'))![1];
    const r = run(['decode', '--kernel', DEBIAN, '--json', file]);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { kernel: { problems: string[]; selected: unknown; arch: string; release: string }; tokens: Tok[] };
    expect(j.kernel.problems[0]).toBe(`this log is from ${release} (arm64); ksym has 6.1.0-56-amd64 (x86_64)`);
    expect(j.kernel).toMatchObject({ selected: null, arch: 'arm64', release });
    expect(j.tokens.length).toBeGreaterThan(10);
    expect(j.tokens.every((t) => t.name === null)).toBe(true);
  });

  it('without --kernel the running kernel is the only candidate: a Debian 6.1 log is a mismatch (exit 1), text mode says so on stderr', () => {
    const running = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
    const r = run(['decode', '--json', logFile]);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { kernel: { problems: string[]; selected: unknown } };
    expect(j.kernel.problems[0]).toMatch(
      new RegExp(`^this log is from 6\\.1\\.0-56-amd64 \\(x86_64\\); ksym has ${running.replace(/\./g, '\\.')}`),
    );
    expect(j.kernel.selected).toBeNull();
    const t = run(['decode', '--kernel', join(dir, 'none'), logFile]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/this log is from 6\.1\.0-56-amd64 \(x86_64\); ksym has no kernel/);
  });

  it('text mode with --kernel annotates with the same answers', () => {
    const r = run(['decode', '--kernel', DEBIAN, logFile]);
    expect(r.status).toBe(0);
    const frameLine = r.stdout.split('\n').find((l) => l.includes('[drbd]') && l.includes('[<'))!;
    expect(frameLine).toMatch(/⟶ ✓/);
  });
});

describe.skipIf(!haveAll)('plain ksym decode (text): the KASLR shift never on module addresses', () => {
  // A kallsyms snapshot of another boot: vmlinux unrandomized (System.map addresses), drbd's
  // .text loaded elsewhere (TEXT2). The log: Kernel Offset SHIFT, drbd at TEXT. The vmlinux
  // frames take SHIFT; the drbd frame and RAX take drbd's own shift (TEXT - TEXT2), learned
  // from the frame. Oracles: System.map, readelf -sW of drbd.ko, the frame the log printed.
  const dir = mkdtempSync(join(tmpdir(), 'ksym-decode-plain-'));
  const log = drbdLog();
  const logFile = join(dir, 'drbd.oops');
  writeFileSync(logFile, log.text);
  const TEXT2 = TEXT - 0x340000n;
  const attach = drbdOracle('drbd_adm_attach');
  const ndx = readelfSymbols(DRBD).find((r) => r.name === 'drbd_adm_attach' && r.type === 'FUNC')!.ndx;
  const modRows = readelfSymbols(DRBD)
    .filter((r) => r.ndx === ndx && r.name !== '' && (r.type === 'FUNC' || r.type === 'NOTYPE'))
    .map((r) => `${h(TEXT2 + BigInt(r.value))} t ${r.name}\t[drbd]`);
  const snap = join(dir, 'kallsyms');
  writeFileSync(snap, readFileSync(SYSTEM_MAP, 'latin1') + modRows.join('\n') + '\n');

  it('the drbd frame ✓ and RAX inside drbd_adm_attach+0x61; vmlinux frames ✓ with the Kernel Offset', () => {
    assertBuilt();
    const r = run(['decode', '--kallsyms', snap, logFile]);
    expect(r.status).toBe(0);
    const out = r.stdout.split('\n');
    const frame = out.find((l) => l.startsWith(' [<') && l.includes('[drbd]'))!;
    expect(frame).toContain(`[<${h(TEXT + attach.value + 0x2fn)}>] ${log.attach}  ⟶ ✓`);
    const rax = out.find((l) => l.startsWith('RAX:'))!;
    expect(rax).toContain(`${h(log.rax)} = drbd_adm_attach+0x${h(log.raxOffset)}/0x${h(attach.size)} [drbd]`);
    for (const f of log.vm) expect(out.find((l) => l.includes(`[<${h(f.at)}>]`))).toMatch(/⟶ ✓$/);
  });
});

const kd = kernelData();
const haveSym = !!kd && spawnSync('llvm-symbolizer', ['--version']).status === 0 && kd.modules.has('loop');
const sameAsCorpus = kd?.abi === '6.1.0-56-amd64';
if (haveSym && haveAll && sameAsCorpus)
  console.warn(`skipping "another kernel's vmlinux: refused": the fetched kernel ${kd.abi} is the corpus kernel's release`);
describe.skipIf(!haveSym || !haveAll)('ksym decode --kernel --json: source lines from the chosen kernel only', () => {
  // The fetched Debian -dbg vmlinux and loop.ko (npm run fetch-data) as a kernel directory.
  // Oracle: llvm-symbolizer --inlining at the return address - 1 (vmlinux; the .ko at its
  // section offset: its line, the function from readelf); the System.map (vfs_read, its
  // size to the next symbol); the vmlinux banner (the Debian package version of the CPU: line).
  const dir = mkdtempSync(join(tmpdir(), 'ksym-decode-src-'));
  const sym = (obj: string, a: bigint) =>
    execFileSync('llvm-symbolizer', ['--inlining', `--obj=${obj}`, '0x' + a.toString(16)], { encoding: 'utf8' })
      .trim()
      .split('\n\n')[0]
      .split('\n');
  it('vmlinux frames through the kernel directory’s vmlinux, [mod] frames through its loop.ko', () => {
    const map = readFileSync(kd!.systemMap, 'latin1');
    const vm = /^([0-9a-f]{16}) T vfs_read\n(?:\1 .*\n)*([0-9a-f]{16}) /m.exec(map)!;
    const vfsRead = BigInt('0x' + vm[1]);
    const vfsSize = BigInt('0x' + vm[2]) - vfsRead;
    expect(vfsSize).toBeGreaterThan(0x9an);
    const loop = readelfSymbols(kd!.modules.get('loop')!).find((r) => r.name === 'loop_set_status_from_info' && r.type === 'FUNC')!;
    const log = join(dir, 'loop.oops');
    writeFileSync(
      log,
      [
        `CPU: 2 PID: 77 Comm: cat Not tainted ${kd!.abi} #1 Debian ${bannerDebianVersion(kd!.vmlinux)}`,
        'Call Trace:',
        ` [<${h(vfsRead + 0x9an)}>] vfs_read+0x9a/0x${h(vfsSize)}`,
        ` loop_set_status_from_info+0x10/0x${h(BigInt(loop.size))} [loop]`,
      ].join('\n'),
    );
    const r = run(['decode', '--kernel', kd!.dir, '--json', log]);
    expect(r.status, r.stderr + r.stdout.slice(0, 2000)).toBe(0);
    type Src = { function: string; file: string; line: number; column: number | null };
    const j = JSON.parse(r.stdout) as { kernel: { selected: string | null }; tokens: (Omit<Tok, 'source'> & { source: Src[] })[] };
    expect(j.kernel.selected).toBe(kd!.dir);
    const vmf = j.tokens.find((t) => t.kind === 'frame' && t.name === 'vfs_read')!;
    expect(vmf).toMatchObject({ offset: 0x9a, size: Number(vfsSize), matchesLog: true });
    const want = sym(kd!.vmlinux, vfsRead + 0x9an - 1n);
    const chain: string[] = [];
    for (let i = 0; i < want.length; i += 2) chain.push(`${want[i]} ${want[i + 1]}`);
    expect(vmf.source.map((s) => `${s.function} ${s.file}:${s.line}:${s.column ?? 0}`)).toEqual(chain);
    const m = j.tokens.find((t) => t.kind === 'frame' && t.module === 'loop')!;
    const mw = sym(kd!.modules.get('loop')!, BigInt(loop.value + 0x10 - 1));
    expect(m.source[0]).toMatchObject({ function: 'loop_set_status_from_info' });
    expect(`${m.source[0].file}:${m.source[0].line}:${m.source[0].column ?? 0}`).toBe(mw.at(-1));
  });
  it.skipIf(sameAsCorpus)('the corpus kernel’s log with another kernel’s vmlinux (the fetched one): refused', () => {
    // A 6.1.0-56 log against the 6.1.0-56 files with the fetched kernel's vmlinux given: never used.
    const other = join(dir, 'drbd.oops');
    writeFileSync(other, drbdLog().text);
    const o = run(['decode', '--kernel', DEBIAN, '--vmlinux', kd!.vmlinux, '--json', other]);
    const oj = JSON.parse(o.stdout) as { kernel: { problems: string[] }; tokens: (Tok & { sourceProblem?: string })[] };
    expect(oj.kernel.problems).toContain(`--vmlinux: vmlinux-${kd!.abi} is from ${kd!.abi}, not 6.1.0-56-amd64 (x86_64): not used`);
    const vmTok = oj.tokens.filter((t) => t.kind === 'frame' && t.module === null && t.name !== null);
    expect(vmTok.length).toBeGreaterThan(0);
    for (const t of vmTok) {
      expect(t.source).toEqual([]);
      expect(t.sourceProblem).toBeTruthy();
    }
  });
});
