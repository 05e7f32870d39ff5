/// <reference lib="dom" />
/**
 * Source lines in a real VS Code (code-server + headless Chromium), issue 15 §3: a kernel
 * tree open as the workspace (its vmlinux and an in-tree module built here with
 * `gcc -g -O2`, a System.map from the vmlinux's own `nm -n`), so the index and the debug
 * files match and CI needs no download:
 * - a hover on a stack entry shows the kernel form, then the source line (a link) and the
 *   inline chain, equal to llvm-symbolizer's at addr - 1; the same for a `[fxmod]` frame;
 * - Kernel Symbols: Decode Log opens the read-only decoded document with `(file:line)`
 *   after each frame.
 * Screenshots in test-output/e2e/ (source-*.png). Needs `node scripts/editor-setup.mjs`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Editor } from '../helpers/editor';
import { callSites, debianRelative, inlineHeader, kernelForms, markKernelTree, treeRelative, writeSystemMap } from '../helpers/fxKernel';
import { haveTool, llvmSymbolize } from '../unit/dwarf/oracle';
import { kernelData } from '../helpers/kernelData';

const tools = ['gcc', 'ld', 'nm', 'objdump', 'llvm-symbolizer'].every(haveTool);
if (!tools) console.warn('skipping the source-line e2e test: gcc, ld, nm, objdump or llvm-symbolizer missing');

const KERNEL = `#include <linux/fxhelp.h>
__asm__(".section .text.unlikely,\\"ax\\",@progbits\\n.globl _text\\n_text:\\n.skip 16, 0xcc\\n.previous\\n");
volatile int fx_sink;
__attribute__((noinline)) int fx_read(int x) { return fx_mid(x) + 1; }
__attribute__((noinline)) int fx_vfs_read(int x) { return fx_read(x) * 2 + fx_mid(x); }
__attribute__((noinline)) int fx_ksys_read(int x) { int r = fx_vfs_read(x + 1); fx_sink = r; return r + fx_mid(r); }
__attribute__((noinline)) int fx_do_syscall_64(int x) { return fx_ksys_read(x) ^ 5; }
${Array.from({ length: 8 }, (_, i) => `__attribute__((noinline)) int fx_helper${i}(int x) { return fx_mid(x + ${i}) - ${i}; }`).join('\n')}
void _start(void) { fx_sink = fx_do_syscall_64(fx_sink) + fx_helper0(1) + fx_helper1(2) + fx_helper2(3) + fx_helper3(4)
	+ fx_helper4(5) + fx_helper5(6) + fx_helper6(7) + fx_helper7(8); for (;;) ; }
`;

const MODULE = `#include <linux/fxhelp.h>
extern volatile int fx_sink;
__attribute__((noinline)) int fxm_probe(int x) { return fx_mid(x) + 1; }
__attribute__((noinline)) int fxm_ioctl(int x) { int r = fxm_probe(x + 1); fx_sink = r; return r + fx_mid(r); }
`;

let ed: Editor | undefined;
let profile: string;

/** The first return address (the instruction after a call) in `fn` of `obj`. */
const returnAddress = (obj: string, fn: string) => callSites(obj).find((s) => s.fn === fn)!.ret;

/** The kernel tree: Makefile, Kconfig, kernel/fx.c, drivers/fxmod/fxmod.ko, vmlinux and System.map at its root, and a log. */
function makeTree(tree: string): { log: string[]; frames: { line: number; form: string; oracle: string[] }[] } {
  mkdirSync(join(tree, 'kernel'), { recursive: true });
  mkdirSync(join(tree, 'include/linux'), { recursive: true });
  mkdirSync(join(tree, 'drivers/fxmod'), { recursive: true });
  markKernelTree(tree);
  writeFileSync(join(tree, 'include/linux/fxhelp.h'), inlineHeader('fx'));
  writeFileSync(join(tree, 'kernel/fx.c'), KERNEL);
  writeFileSync(join(tree, 'drivers/fxmod/fxmod.c'), MODULE);
  const vmlinux = join(tree, 'vmlinux');
  const cflags = ['-g', '-O2', '-fno-pie', '-ffreestanding', '-fno-stack-protector', '-Iinclude'];
  execFileSync('gcc', [...cflags, '-static', '-nostdlib', '-no-pie', '-Wl,-e,_start', '-o', vmlinux, 'kernel/fx.c'], { cwd: tree });
  execFileSync('gcc', [...cflags, '-c', '-o', 'drivers/fxmod/fxmod.o', 'drivers/fxmod/fxmod.c'], { cwd: tree });
  execFileSync('ld', ['-r', '--build-id=sha1', '-o', join(tree, 'drivers/fxmod/fxmod.ko'), join(tree, 'drivers/fxmod/fxmod.o')]);
  const nm = writeSystemMap(vmlinux, join(tree, 'System.map'));
  // Stack entries: the return address after each call of fx_ksys_read and fx_do_syscall_64.
  const rets = ['fx_ksys_read', 'fx_do_syscall_64'].map((f) => BigInt(returnAddress(vmlinux, f)));
  // RIP: inside fx_vfs_read where llvm-symbolizer sees a chain of 3 (fx_leaf inlined into fx_mid inlined into fx_vfs_read).
  const vfs = BigInt('0x' + /^([0-9a-f]+) T fx_vfs_read$/m.exec(nm)![1]);
  const cand = Array.from({ length: 64 }, (_, i) => vfs + BigInt(i));
  const k = llvmSymbolize(
    vmlinux,
    cand.map((a) => '0x' + a.toString(16)),
  ).findIndex((o) => o.length === 3);
  rets.unshift(cand[k]);
  const forms = kernelForms(join(tree, 'System.map'), rets);
  const oracle = llvmSymbolize(
    vmlinux,
    rets.map((a, i) => '0x' + (i === 0 ? a : a - 1n).toString(16)),
  ).map((o) => treeRelative(o, tree));
  // The module frame: the return address after fxm_ioctl's call, as %pB prints it (size to the section's end: the last symbol).
  const modRet = returnAddress(join(tree, 'drivers/fxmod/fxmod.ko'), 'fxm_ioctl');
  const modSyms = execFileSync('nm', ['-n', '-S', join(tree, 'drivers/fxmod/fxmod.ko')], { encoding: 'utf8' });
  const ioctl = parseInt(/^([0-9a-f]+) [0-9a-f]+ T fxm_ioctl$/m.exec(modSyms)![1], 16);
  const textSize = parseInt(
    execFileSync('objdump', ['-h', join(tree, 'drivers/fxmod/fxmod.ko')], { encoding: 'utf8' }).match(/\s\.text\s+([0-9a-f]+)/)![1],
    16,
  );
  const modForm = `fxm_ioctl+0x${(modRet - ioctl).toString(16)}/0x${(textSize - ioctl).toString(16)} [fxmod]`;
  const log = [
    '[   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008',
    `[   12.345680] RIP: 0010:${forms[0]}`,
    '[   12.345690] Call Trace:',
    '[   12.345691]  <TASK>',
    `[   12.345692]  ${modForm}`,
    ...forms.slice(1).map((f) => `[   12.345693]  ${f}`),
    '[   12.345699]  </TASK>',
  ];
  writeFileSync(join(tree, 'trace.oops'), log.join('\n') + '\n');
  // frames[0]: the module frame, [1]: RIP, then the stack entries.
  const frames = forms.map((form, i) => ({ line: i === 0 ? 1 : 4 + i, form, oracle: oracle[i] }));
  frames.unshift({ line: 4, form: modForm, oracle: [] });
  return { log, frames };
}

/**
 * Hover at (line, col) (1-based) until `done(text)`: the first hover says the line is being
 * read; each retry moves one column (a hover is cached per spot) and asks again.
 */
const hoverUntil = (line: number, col: number, done: (t: string) => boolean) => ed!.hover(line, col, done, 12);

/** A fresh profile with the extension and these user settings, code-server, and Chromium on `folder`. */
async function startEditor(settings: Record<string, unknown>, folder: string): Promise<void> {
  ed = await Editor.start(profile, folder, {
    settings: { 'editor.inlayHints.enabled': 'on', 'workbench.secondarySideBar.defaultVisibility': 'hidden', ...settings },
  });
}
const stopEditor = () => Editor.stop(ed, profile);
const onFailure = (ctx: { task: { name: string; result?: { state?: string } } }) => ed?.onFailure('failed-source', ctx);

describe.skipIf(!tools)('source lines in a real VS Code (code-server + headless Chromium)', () => {
  let tree = '';
  let fixture: ReturnType<typeof makeTree>;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'ksym-e2e-src-'));
    tree = join(profile, 'linux');
    fixture = makeTree(tree);
    await startEditor(
      { 'ksym.kallsyms': [], 'ksym.systemMap': [join(tree, 'System.map')], 'ksym.modules': [join(tree, 'drivers/fxmod')], 'ksym.btf': '' },
      tree,
    );
  }, 240000);
  afterEach(onFailure);
  afterAll(stopEditor);

  it('a hover on the RIP: frame shows the kernel form, then the source line and the inline chain (llvm-symbolizer)', async () => {
    await ed!.openFile('trace.oops');
    await ed!.waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'the ready index');
    const f = fixture.frames[1];
    const col = fixture.log[f.line].indexOf(f.form) + 3;
    const h = await hoverUntil(f.line + 1, col, (t) => /source\s/.test(t) && !t.includes('reading debug info'));
    expect(h).toContain(f.form);
    // Innermost first, outermost last: the source line, then "inlined into … at …" per frame.
    let at = 0;
    for (const loc of f.oracle) {
      const i = h.indexOf(loc, at);
      expect(i, `${loc} in ${h}`).toBeGreaterThanOrEqual(0);
      at = i + loc.length;
    }
    expect(h).toContain('inlined into');
    // The locations are links (the kernel tree open as the workspace is the source root).
    const links = await ed!.page.$$eval('.monaco-hover a', (as) =>
      as.map((a) => (a as HTMLAnchorElement).getAttribute('data-href') ?? (a as HTMLAnchorElement).href),
    );
    expect(
      links.some((l) => l.includes('kernel/fx.c') || l.includes('fxhelp.h')),
      links.join(' '),
    ).toBe(true);
    await ed!.shot('source-01-hover-frame-line');
  });

  it('a hover on a [fxmod] frame shows its line from the in-tree module', async () => {
    const f = fixture.frames[0];
    const col = fixture.log[f.line].indexOf(f.form) + 3;
    const h = await hoverUntil(f.line + 1, col, (t) => /source\s/.test(t) && !t.includes('reading debug info'));
    expect(h).toMatch(/drivers\/fxmod\/fxmod\.c:\d+|include\/linux\/fxhelp\.h:\d+/);
    await ed!.shot('source-02-hover-module-frame');
    await ed!.page.keyboard.press('Escape');
  });

  it('Kernel Symbols: Decode Log opens the read-only decoded log with (file:line) after each frame', async () => {
    await ed!.page.keyboard.press('Escape');
    await ed!.command('Kernel Symbols: Decode Log', '[aria-label*="Decode Log"]');
    await ed!.page.waitForSelector('.tab.active[aria-label*="decoded"]', { timeout: 30000 });
    const f = fixture.frames[2];
    const want = `${f.form} (${f.oracle[0]})`;
    await ed!.page.waitForFunction(
      (w) => (document.querySelector('.editor-instance .view-lines') as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ').includes(w),
      want,
      { timeout: 30000 },
    );
    const text = (await ed!.page.innerText('.editor-instance .view-lines')).replace(/\u00a0/g, ' ');
    expect(text).toContain('Decoded by ksym');
    expect(text).toMatch(/fxm_ioctl\+0x[0-9a-f]+\/0x[0-9a-f]+ \((drivers\/fxmod\/fxmod\.c|include\/linux\/fxhelp\.h):\d+\) \[fxmod\]/);
    await ed!.shot('source-03-decode-log');
    // Read-only: typing changes nothing.
    await ed!.page.click('.editor-instance .view-lines');
    await ed!.page.keyboard.type('x');
    expect((await ed!.page.innerText('.editor-instance .view-lines')).replace(/\u00a0/g, ' ')).toBe(text);
  });
});

// The real Debian kernel (optional: only when `npm run fetch-data` has put it in .cache/kernel-data).
const kd = kernelData();
describe.skipIf(!tools || !kd)('source lines in a real VS Code on the Debian vmlinux (633 MB, optional)', () => {
  let log: string[] = [];
  let form = '';
  let want: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'ksym-e2e-real-'));
    const ws = join(profile, 'logs');
    mkdirSync(ws);
    // RIP inside vfs_read; its chain by llvm-symbolizer, paths relative to the tree (the build prefix stripped).
    const map = readFileSync(kd!.systemMap, 'latin1');
    const at = BigInt('0x' + /^([0-9a-f]+) T vfs_read$/m.exec(map)![1]) + 0x40n;
    form = kernelForms(kd!.systemMap, [at])[0];
    want = llvmSymbolize(kd!.vmlinux, ['0x' + at.toString(16)])[0].map(debianRelative);
    log = ['[  100.000000] BUG: unable to handle page fault for address: ffffc90000000000', `[  100.000001] RIP: 0010:${form}`];
    writeFileSync(join(ws, 'real.oops'), log.join('\n') + '\n');
    await startEditor(
      { 'ksym.kallsyms': [], 'ksym.systemMap': [kd!.systemMap], 'ksym.modules': [], 'ksym.btf': '', 'ksym.vmlinux': kd!.vmlinux },
      ws,
    );
  }, 240000);
  afterEach(onFailure);
  afterAll(stopEditor);

  it('a hover on RIP: shows the source line and chain from the Debian vmlinux (llvm-symbolizer), tree-relative without a source tree', async () => {
    await ed!.openFile('real.oops');
    await ed!.waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'the ready index');
    const h = await hoverUntil(2, log[1].indexOf(form) + 3, (t) => /source\s/.test(t) && !t.includes('reading debug info'));
    let from = 0;
    for (const loc of want) {
      const i = h.indexOf(loc, from);
      expect(i, `${loc} in ${h}`).toBeGreaterThanOrEqual(0);
      from = i + loc.length;
    }
    expect(h).toContain('ksym.sourceRoots');
    await ed!.shot('source-04-hover-debian-vmlinux');
  });
});
