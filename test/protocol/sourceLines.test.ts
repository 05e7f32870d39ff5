/**
 * Source lines in the editor over stdio (issue 15 §3), on a gcc-compiled "vmlinux"
 * (ET_EXEC, -g -O2 -static -nostdlib, built here from a small fake kernel tree) with a
 * System.map made from its own `nm -n`, so the index and the debug file match:
 * - the first hover answers with the symbol at once and says the line is being read;
 *   the server asks for an inlay-hint refresh when it is, and the next hover has it
 *   (latencies of both printed);
 * - file:line and the inline chain equal llvm-symbolizer --inlining (stack entries at
 *   addr - 1, the RIP: address at addr), each location a file link into ksym.sourceRoots;
 * - without a source tree the paths are tree-relative and the hover says how to set one;
 *   a kernel tree open as the workspace is a source root by itself;
 * - F12 goes to the line first, the symbol second; inlay hints (✓ + file:line) and their
 *   setting; Decode Log (decode_stacktrace.sh-like text, links);
 * - a debug file of another build (same _text, moved symbols) is refused, with the reason.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTool, llvmSymbolize, type OracleFrame } from '../unit/dwarf/oracle';
import { startSourceClient, type SourceClient } from '../helpers/sourceClient';
import {
  callSites as allCallSites,
  inlineHeader,
  kernelForms,
  markKernelTree,
  sourceLocations,
  treeRelative,
  writeSystemMap,
} from '../helpers/fxKernel';

const tools = haveTool('gcc') && haveTool('llvm-symbolizer') && haveTool('nm') && haveTool('objdump');
if (!tools) console.warn('skipping source-line protocol tests: gcc, llvm-symbolizer, nm or objdump missing');

// _text at the start of the text (as the kernel's linker script puts it), 16 bytes of int3 before the first function.
const SOURCE = (extra: string) => `#include <linux/fxhelp.h>
__asm__(".section .text.unlikely,\\"ax\\",@progbits\\n.globl _text\\n_text:\\n.skip 16, 0xcc\\n.previous\\n");
volatile int fx_sink;
${extra}
__attribute__((noinline)) int fx_f0(int x) { return fx_mid(x) + 1; }
__attribute__((noinline)) int fx_f1(int x) { return fx_f0(x) * 2 + fx_mid(x); }
__attribute__((noinline)) int fx_f2(int x) { int r = fx_f1(x + 1); fx_sink = r; return r + fx_mid(r); }
__attribute__((noinline)) int fx_f3(int x) { return fx_f2(x) ^ 5; }
__attribute__((noinline)) int fx_f4(int x) { int r = fx_f3(x); fx_sink = r; return r - 1; }
__attribute__((noinline)) int fx_f5(int x) { return fx_f4(x) + fx_f0(x); }
__attribute__((noinline)) int fx_f6(int x) { int r = fx_f5(x); fx_sink = r; return r; }
__attribute__((noinline)) int fx_f7(int x) { return fx_f6(x) + 7; }
__attribute__((noinline)) int fx_f8(int x) { int r = fx_f7(x); fx_sink = r; return r; }
__attribute__((noinline)) int fx_f9(int x) { return fx_f8(x) + fx_mid(x); }
void _start(void) { fx_sink = fx_f9(fx_sink); for (;;) ; }
`;

interface Built {
  vmlinux: string;
  map: string;
}

/** Build the fixture in `tree` (a kernel-tree layout) and return it with its System.map. */
function build(tree: string, out: string, extra: string): Built {
  mkdirSync(join(tree, 'kernel'), { recursive: true });
  mkdirSync(join(tree, 'include/linux'), { recursive: true });
  markKernelTree(tree);
  writeFileSync(join(tree, 'include/linux/fxhelp.h'), inlineHeader('fx'));
  writeFileSync(join(tree, 'kernel/fx.c'), SOURCE(extra));
  mkdirSync(out, { recursive: true });
  const vmlinux = join(out, 'vmlinux');
  execFileSync(
    'gcc',
    [
      '-g',
      '-O2',
      '-static',
      '-nostdlib',
      '-fno-pie',
      '-no-pie',
      '-ffreestanding',
      '-fno-stack-protector',
      '-Iinclude',
      '-Wl,-e,_start',
      '-o',
      vmlinux,
      'kernel/fx.c',
    ],
    { cwd: tree },
  );
  const map = join(out, 'System.map');
  writeSystemMap(vmlinux, map);
  return { vmlinux, map };
}

/** Return addresses (the instruction after each call) inside fx_* functions, with the caller. */
function callSites(vmlinux: string): { ret: bigint; fn: string }[] {
  return allCallSites(vmlinux)
    .filter((s) => s.fn.startsWith('fx_'))
    .map((s) => ({ ret: BigInt(s.ret), fn: s.fn }));
}

describe.skipIf(!tools)('source lines in hover, F12, inlay hints and Decode Log (gcc fixture)', () => {
  const dir = tools ? mkdtempSync(join(tmpdir(), 'ksym-srcl-')) : '';
  const buildTree = join(dir, 'build');
  const srcTree = join(dir, 'linux');
  let good: Built;
  let other: Built;
  let c: SourceClient;
  const uri = pathToFileURL(join(dir, 'trace.oops')).href;
  let log: string[] = [];
  let stack: { ret: bigint; fn: string; form: string; line: number }[] = [];
  let rip: { addr: bigint; form: string; line: number; oracle: OracleFrame[] };

  /** New settings, and the inlay-hint refresh the server sends for them (so later refreshes are about source lines). */
  const applySettings = async (s: Record<string, unknown>) => {
    const refreshed = c.nextRefresh('refresh for the new settings');
    await c.setSettings(s);
    await refreshed;
  };

  beforeAll(async () => {
    good = build(buildTree, join(dir, 'out'), '');
    // The sources as a separate tree (the build tree's sources are gone, as on a distribution's build machine).
    cpSync(buildTree, srcTree, { recursive: true });
    rmSync(join(buildTree, 'kernel'), { recursive: true });
    rmSync(join(buildTree, 'include'), { recursive: true });
    // Another build: same _text, every function moved.
    other = build(
      join(dir, 'build2'),
      join(dir, 'out2'),
      '__attribute__((noinline)) int fx_pad(int x) { return fx_mid(x) + fx_mid(x + 2) + fx_mid(x * 5); }',
    );

    // A trace: RIP inside an inlined helper (a chain of 3, by llvm-symbolizer), then stack entries at call sites.
    const text = execFileSync('nm', ['-n', good.vmlinux], { encoding: 'utf8' });
    const f0 = BigInt('0x' + /^([0-9a-f]+) T fx_f1$/m.exec(text)![1]);
    const cand = Array.from({ length: 64 }, (_, i) => f0 + BigInt(i));
    const oc = llvmSymbolize(
      good.vmlinux,
      cand.map((a) => '0x' + a.toString(16)),
    );
    const k = oc.findIndex((o) => o.length === 3);
    expect(k).toBeGreaterThanOrEqual(0);
    const sites = callSites(good.vmlinux).filter((s) => /^fx_f[2-9]$/.test(s.fn));
    const forms = kernelForms(good.map, [cand[k], ...sites.map((s) => s.ret)]);
    log = ['[    1.000000] BUG: fixture', `[    1.000000] RIP: 0010:${forms[0]}`, '[    1.000000] Call Trace:', '[    1.000000]  <TASK>'];
    rip = { addr: cand[k], form: forms[0], line: 1, oracle: oc[k] };
    stack = sites.map((s, i) => ({ ...s, form: forms[i + 1], line: log.length + i }));
    for (const s of stack) log.push(`[    1.000000]  ${s.form}`);
    log.push('[    1.000000]  </TASK>');
    writeFileSync(join(dir, 'trace.oops'), log.join('\n'));

    c = await startSourceClient({
      kallsyms: [],
      systemMap: [good.map],
      modules: [],
      btf: '',
      vmlinux: good.vmlinux,
      sourceRoots: [srcTree],
    });
    await c.waitReady();
    await c.open(uri, 'kernel-log', log.join('\n'));
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers the symbol first, then the line once the debug file is read (both latencies measured)', async () => {
    const s = stack[0];
    const col = log[s.line].indexOf(s.form) + 2;
    await c.hover(uri, 0, 16); // warm-up: a word, before any frame (the name index is built right after "ready")
    const refreshed = c.nextRefresh('source lines read');
    const first = await c.hover(uri, s.line, col);
    expect(first.value).toContain(s.form);
    expect(first.value).toContain('reading debug info');
    await refreshed;
    const second = await c.hover(uri, s.line, col + 1);
    expect(second.value).toContain('**source**');
    const third = await c.hover(uri, stack[1].line, log[stack[1].line].indexOf(stack[1].form) + 2);
    console.log(
      `source-line hover latency (gcc fixture): symbol first ${first.ms.toFixed(1)} ms (line pending); ` +
        `with the line ${second.ms.toFixed(1)} ms; next frame ${third.ms.toFixed(1)} ms`,
    );
  });

  it('file:line and the inline chain equal llvm-symbolizer --inlining (stack entries at addr - 1, RIP at addr); links into ksym.sourceRoots', async () => {
    const oracle = llvmSymbolize(
      good.vmlinux,
      stack.map((s) => '0x' + (s.ret - 1n).toString(16)),
    );
    let agree = 0;
    for (let i = 0; i < stack.length; i++) {
      const s = stack[i];
      const h = await c.hover(uri, s.line, log[s.line].indexOf(s.form) + 3);
      const locs = sourceLocations(h.value);
      expect(locs.map((l) => l.label)).toEqual(treeRelative(oracle[i], buildTree));
      for (const l of locs) {
        const [path, line] = l.label.split(':');
        expect(l.target).toBe(`${pathToFileURL(join(srcTree, path)).href}#L${line}${l.target!.match(/,\d+$/)?.[0] ?? ''}`);
      }
      // The chain's names: the inlined frames' DWARF names, outermost last.
      for (let j = 1; j < oracle[i].length - 1; j++) expect(h.value).toContain(`inlined into \`${oracle[i][j].function}\``);
      agree++;
    }
    const r = await c.hover(uri, rip.line, log[rip.line].indexOf(rip.form) + 2);
    const rl = sourceLocations(r.value);
    expect(rl.map((l) => l.label)).toEqual(treeRelative(rip.oracle, buildTree));
    expect(rl.length).toBe(3);
    expect(r.value).toContain('inlined into `fx_mid`');
    expect(r.value).toContain('inlined into `fx_f1`');
    console.log(`source lines vs llvm-symbolizer (gcc fixture): ${agree + 1}/${stack.length + 1} frames agree (file, line, chain)`);
  });

  it('F12 on a frame goes to the source line first, the symbol second', async () => {
    const s = stack[2];
    const locs = (await c.conn.sendRequest('textDocument/definition', {
      textDocument: { uri },
      position: { line: s.line, character: log[s.line].indexOf(s.form) + 2 },
    })) as { uri: string; range: { start: { line: number } } }[];
    const o = llvmSymbolize(good.vmlinux, ['0x' + (s.ret - 1n).toString(16)])[0];
    expect(Array.isArray(locs)).toBe(true);
    expect(locs[0].uri).toBe(pathToFileURL(join(srcTree, relative(buildTree, o[0].file))).href);
    expect(locs[0].range.start.line).toBe(o[0].line - 1);
    expect(locs.length).toBe(2);
  });

  it('inlay hints: ✓ and file:line after each frame, with a link; off with ksym.inlayHints.enable = false', async () => {
    const req = () =>
      c.conn.sendRequest('textDocument/inlayHint', {
        textDocument: { uri },
        range: { start: { line: 0, character: 0 }, end: { line: log.length, character: 0 } },
      }) as Promise<{ position: { line: number }; label: { value: string; location?: { uri: string } }[] }[] | null>;
    const hints = (await req())!;
    const oracle = llvmSymbolize(
      good.vmlinux,
      stack.map((s) => '0x' + (s.ret - 1n).toString(16)),
    );
    for (let i = 0; i < stack.length; i++) {
      const h = hints.find((x) => x.position.line === stack[i].line)!;
      expect(h.label[0].value).toBe('✓');
      expect(h.label[1].value.trim()).toBe(treeRelative(oracle[i], buildTree)[0]);
      expect(h.label[1].location?.uri).toBe(pathToFileURL(join(srcTree, treeRelative(oracle[i], buildTree)[0].split(':')[0])).href);
    }
    await applySettings({ ...c.settings, inlayHints: { enable: false } });
    expect(await req()).toBeNull();
    await applySettings({ ...c.settings, inlayHints: { enable: true } });
  });

  it('Decode Log: name+off/size (file:line), one indented line per inlined frame, every location a link', async () => {
    const r = (await c.conn.sendRequest('ksym/decodeLog', { uri })) as {
      content: string;
      links: { line: number; start: number; end: number; target: string }[];
    };
    const out = r.content.split('\n');
    expect(out[1]).toContain(`debug info: ${good.vmlinux}`);
    const oracle = llvmSymbolize(good.vmlinux, ['0x' + rip.addr.toString(16), ...stack.map((s) => '0x' + (s.ret - 1n).toString(16))]);
    const ripRow = out.findIndex((l) => l.includes('RIP: 0010:'));
    const ex = treeRelative(oracle[0], buildTree);
    expect(out[ripRow]).toContain(`${rip.form} (${ex[0]})`);
    expect(out[ripRow + 1]).toBe(`    ${oracle[0][0].function} inlined into ${oracle[0][1].function} at ${ex[1]}`);
    expect(out[ripRow + 2]).toBe(`    ${oracle[0][1].function} inlined into ${rip.form.split('+')[0]} at ${ex[2]}`);
    for (const l of r.links) {
      const shown = out[l.line].slice(l.start, l.end);
      const [path, line] = shown.split(':');
      expect(l.target.startsWith(`${pathToFileURL(join(srcTree, path)).href}#L${line}`)).toBe(true);
    }
    expect(r.links.length).toBe(oracle.reduce((n, o) => n + o.length, 0));
  });

  it('a debug file of another build is refused and the hover says why; no line is shown', async () => {
    await applySettings({ ...c.settings, vmlinux: other.vmlinux });
    const s = stack[0];
    const col = log[s.line].indexOf(s.form) + 4;
    const refreshed = c.nextRefresh('refusal');
    const first = await c.hover(uri, s.line, col);
    expect(first.value).toContain('reading debug info');
    await refreshed;
    const h = await c.hover(uri, s.line, col + 1);
    // Refused by build id (the served kernel's, found next to its System.map) or by the moved symbols.
    expect(h.value).toMatch(/is not the kernel being served|does not match the symbols being served/);
    expect(h.value).toContain(`${other.vmlinux.replace(/_/g, '\\_')}`);
    expect(h.value).toContain('so it is not used');
    expect(h.value).not.toContain('**source** ');
    await applySettings({ ...c.settings, vmlinux: good.vmlinux });
  });

  it('no source tree: paths relative to the tree, and the hover says how to point ksym at one', async () => {
    await applySettings({ ...c.settings, sourceRoots: [] });
    const s = stack[1];
    const col = log[s.line].indexOf(s.form) + 2;
    const refreshed = c.nextRefresh();
    await c.hover(uri, s.line, col);
    await refreshed;
    const h = await c.hover(uri, s.line, col + 1);
    expect(h.value).toMatch(/\*\*source\*\* `kernel\/fx\.c:\d+`|\*\*source\*\* `include\/linux\/fxhelp\.h:\d+`/);
    expect(h.value).toContain('set `ksym.sourceRoots`');
    expect(h.value).not.toContain('file://');
  });
});

describe.skipIf(!tools)('a kernel source tree open as the workspace is a source root', () => {
  it('its vmlinux is found at its root and its files are linked, without ksym.vmlinux or ksym.sourceRoots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-srcw-'));
    try {
      // Built in one place, then moved: the recorded absolute paths no longer exist.
      const b0 = build(join(dir, 'b'), join(dir, 'b'), '');
      const tree = join(dir, 'linux');
      renameSync(join(dir, 'b'), tree);
      const b = { vmlinux: join(tree, 'vmlinux'), map: b0.map.replace(join(dir, 'b'), tree) };
      const ret = callSites(b.vmlinux).find((s) => s.fn === 'fx_f4')!.ret;
      const form = kernelForms(b.map, [ret])[0];
      const c = await startSourceClient({ kallsyms: [], systemMap: [b.map], modules: [], btf: '' }, tree);
      try {
        await c.waitReady();
        const u = pathToFileURL(join(dir, 'w.oops')).href;
        await c.open(u, 'kernel-log', `Call Trace:\n ${form}\n`);
        const refreshed = c.nextRefresh();
        await c.hover(u, 1, 3);
        await refreshed;
        const h = await c.hover(u, 1, 4);
        const o = llvmSymbolize(b.vmlinux, ['0x' + (ret - 1n).toString(16)])[0];
        expect(sourceLocations(h.value)[0].target).toContain(
          `${pathToFileURL(join(tree, relative(join(dir, 'b'), o[0].file))).href}#L${o[0].line}`,
        );
      } finally {
        await c.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
