/**
 * Source lines in hover over stdio against the real Debian kernel (.cache/kernel-data:
 * vmlinux-ABI with DWARF and its System.map; skipped with a message when absent): a trace
 * of real call sites (objdump), each stack entry's file:line and inline chain equal to
 * llvm-symbolizer --inlining at addr - 1; latencies of the symbol-first hover (debug file
 * not open), the first line in a never-read unit of the 633 MB vmlinux, and a later frame.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelData } from '../helpers/kernelData';
import { startSourceClient, type SourceClient } from '../helpers/sourceClient';
import { haveTool, llvmSymbolize } from '../unit/dwarf/oracle';

const data = kernelData();
const tools = haveTool('llvm-symbolizer') && haveTool('objdump');
if (data && !tools) console.warn('skipping real-kernel source-line protocol test: llvm-symbolizer or objdump missing');

const FUNCS = ['vfs_read', 'ksys_read', '__x64_sys_read', 'do_syscall_64', 'tcp_sendmsg', 'do_sys_openat2', 'schedule'];

describe.skipIf(!data || !tools)('source lines in hover on the Debian vmlinux', () => {
  let c: SourceClient;
  const frames: { form: string; ret: bigint }[] = [];
  const uri = 'file:///real-trace.oops';
  beforeAll(async () => {
    const map = readFileSync(data!.systemMap, 'utf8').split('\n');
    const at = new Map<string, { addr: bigint; next: bigint }>();
    for (let i = 0; i + 1 < map.length; i++) {
      const [a, t, n] = map[i].split(' ');
      if (FUNCS.includes(n) && /[Tt]/.test(t) && !at.has(n))
        at.set(n, { addr: BigInt('0x' + a), next: BigInt('0x' + map[i + 1].split(' ')[0]) });
    }
    for (const n of FUNCS) {
      const s = at.get(n);
      if (!s) continue;
      const d = execFileSync(
        'objdump',
        ['-d', '--no-show-raw-insn', `--start-address=0x${s.addr.toString(16)}`, `--stop-address=0x${s.next.toString(16)}`, data!.vmlinux],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        },
      );
      const ins = [...d.matchAll(/^\s*([0-9a-f]+):\s+(\S+)/gm)];
      const k = ins.findIndex((m, i) => m[2] === 'call' && i + 1 < ins.length);
      if (k < 0) continue;
      const ret = BigInt('0x' + ins[k + 1][1]);
      frames.push({ ret, form: `${n}+0x${(ret - s.addr).toString(16)}/0x${(s.next - s.addr).toString(16)}` });
    }
    c = await startSourceClient({ kallsyms: [], systemMap: [data!.systemMap], modules: [], btf: '', vmlinux: data!.vmlinux });
    await c.waitReady();
    await c.open(uri, 'kernel-log', ['Call Trace:', ' <TASK>', ...frames.map((f) => ` ${f.form}`), ' </TASK>'].join('\n'));
  }, 120_000);
  afterAll(() => c?.close());

  it('symbol first, then file:line and the chain equal to llvm-symbolizer at addr - 1 (latencies printed)', async () => {
    expect(frames.length).toBeGreaterThanOrEqual(5);
    // Warm-up: a word hover waits for the name index the server builds right after "ready" (not DWARF work).
    await c.hover(uri, 0, 1);
    const t0 = performance.now();
    const refreshed = c.nextRefresh('the vmlinux opened and verified');
    const first = await c.hover(uri, 2, 3);
    expect(first.value).toContain(frames[0].form);
    expect(first.value).toContain('reading debug info');
    await refreshed;
    const opened = performance.now() - t0;
    const oracle = llvmSymbolize(
      data!.vmlinux,
      frames.map((f) => '0x' + (f.ret - 1n).toString(16)),
    );
    const times: number[] = [];
    let agree = 0;
    for (let i = 0; i < frames.length; i++) {
      const h = await c.hover(uri, 2 + i, 4);
      times.push(h.ms);
      const part = h.value.slice(h.value.indexOf('**source**'));
      const shown = [...part.matchAll(/(?:^\*\*source\*\* |^↳ inlined into `[^`]+` at )`([^`]+)`/gm)].map((m) => m[1]);
      const want = oracle[i].map(
        (o) =>
          `${o.file.replace(/^debian\/build\/build_amd64_none_amd64\//, '').replace(/^\/build\/reproducible-path\/linux-[^/]+\//, '')}:${o.line}`,
      );
      expect(shown).toEqual(want);
      agree++;
    }
    const again = await c.hover(uri, 2, 5);
    console.log(
      `source-line hover latency (Debian vmlinux, 633 MB): symbol first ${first.ms.toFixed(1)} ms; vmlinux opened+verified after ${opened.toFixed(0)} ms; ` +
        `first line per never-read unit ${times.map((t) => t.toFixed(1)).join(', ')} ms; same frame again ${again.ms.toFixed(1)} ms; ` +
        `${agree}/${frames.length} frames agree with llvm-symbolizer`,
    );
  }, 120_000);
});
