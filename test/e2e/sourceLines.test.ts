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
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { installExtension, startCodeServer, writeUserSettings } from '../../scripts/code-server.mjs';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { ensureChromium, ROOT } from '../../scripts/editor-setup.mjs';
import { CLI } from '../helpers/lspclient';
import { haveTool, llvmSymbolize } from '../unit/dwarf/oracle';
import { kernelData } from '../helpers/kernelData';

const OUT = resolve(ROOT as string, 'test-output/e2e');
const VSIX = resolve(ROOT as string, 'ksym-0.1.0.vsix');
const tools = ['gcc', 'ld', 'nm', 'objdump', 'llvm-symbolizer'].every(haveTool);
if (!tools) console.warn('skipping the source-line e2e test: gcc, ld, nm, objdump or llvm-symbolizer missing');

const HEADER = `#ifndef FXHELP_H
#define FXHELP_H
extern volatile int fx_sink;
static inline int fx_leaf(int x)
{
	fx_sink = x;
	return x * 3 + (x >> 2);
}
static inline __attribute__((always_inline)) int fx_mid(int x)
{
	if (x > 10)
		return fx_leaf(x) + 1;
	return fx_leaf(x - 1);
}
#endif
`;

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

let server: { url: string; output: string[]; stop(): void };
let context: BrowserContext;
let page: Page;
let profile: string;

async function shot(name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`) });
}

function findFiles(dir: string, re: RegExp): string[] {
  try {
    return readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? findFiles(p, re) : re.test(f) ? [p] : [];
    });
  } catch {
    return [];
  }
}

/** Return addresses (the instruction after a call) in `fn` of an objdump -d listing. */
function returnAddresses(obj: string, fn: string): number[] {
  const out: number[] = [];
  let cur = '';
  let pending = false;
  for (const l of execFileSync('objdump', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8' }).split('\n')) {
    const f = /^[0-9a-f]+ <([^>]+)>:$/.exec(l);
    if (f) cur = f[1];
    const m = /^\s+([0-9a-f]+):\s+(\S+)/.exec(l);
    if (!m) continue;
    if (pending && cur === fn) out.push(parseInt(m[1], 16));
    pending = m[2] === 'call';
  }
  return out;
}

/** The kernel tree: Makefile, Kconfig, kernel/fx.c, drivers/fxmod/fxmod.ko, vmlinux and System.map at its root, and a log. */
function makeTree(tree: string): { log: string[]; frames: { line: number; form: string; oracle: string[] }[] } {
  mkdirSync(join(tree, 'kernel'), { recursive: true });
  mkdirSync(join(tree, 'include/linux'), { recursive: true });
  mkdirSync(join(tree, 'drivers/fxmod'), { recursive: true });
  writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n');
  writeFileSync(join(tree, 'Kconfig'), 'mainmenu "fixture"\n');
  writeFileSync(join(tree, 'include/linux/fxhelp.h'), HEADER);
  writeFileSync(join(tree, 'kernel/fx.c'), KERNEL);
  writeFileSync(join(tree, 'drivers/fxmod/fxmod.c'), MODULE);
  const vmlinux = join(tree, 'vmlinux');
  const cflags = ['-g', '-O2', '-fno-pie', '-ffreestanding', '-fno-stack-protector', '-Iinclude'];
  execFileSync('gcc', [...cflags, '-static', '-nostdlib', '-no-pie', '-Wl,-e,_start', '-o', vmlinux, 'kernel/fx.c'], { cwd: tree });
  execFileSync('gcc', [...cflags, '-c', '-o', 'drivers/fxmod/fxmod.o', 'drivers/fxmod/fxmod.c'], { cwd: tree });
  execFileSync('ld', ['-r', '--build-id=sha1', '-o', join(tree, 'drivers/fxmod/fxmod.ko'), join(tree, 'drivers/fxmod/fxmod.o')]);
  const nm = execFileSync('nm', ['-n', vmlinux], { encoding: 'utf8' });
  writeFileSync(
    join(tree, 'System.map'),
    nm
      .split('\n')
      .filter((l) => /^[0-9a-f]+ [TtDdBbRr] /.test(l))
      .join('\n') + '\n',
  );
  // Stack entries: the return address after each call of fx_ksys_read and fx_do_syscall_64.
  const rets = ['fx_ksys_read', 'fx_do_syscall_64'].map((f) => BigInt(returnAddresses(vmlinux, f)[0]));
  // RIP: inside fx_vfs_read where llvm-symbolizer sees a chain of 3 (fx_leaf inlined into fx_mid inlined into fx_vfs_read).
  const vfs = BigInt('0x' + /^([0-9a-f]+) T fx_vfs_read$/m.exec(nm)![1]);
  const cand = Array.from({ length: 64 }, (_, i) => vfs + BigInt(i));
  const k = llvmSymbolize(
    vmlinux,
    cand.map((a) => '0x' + a.toString(16)),
  ).findIndex((o) => o.length === 3);
  rets.unshift(cand[k]);
  const forms = execFileSync(
    process.execPath,
    [CLI, 'lookup', '--kallsyms', join(tree, 'System.map'), ...rets.map((a) => '0x' + a.toString(16))],
    {
      encoding: 'utf8',
    },
  )
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/)[1]);
  const oracle = llvmSymbolize(
    vmlinux,
    rets.map((a, i) => '0x' + (i === 0 ? a : a - 1n).toString(16)),
  ).map((o) => o.map((f) => `${relative(tree, f.file)}:${f.line}`));
  // The module frame: the return address after fxm_ioctl's call, as %pB prints it (size to the section's end: the last symbol).
  const modRet = returnAddresses(join(tree, 'drivers/fxmod/fxmod.ko'), 'fxm_ioctl')[0];
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

async function statusText(): Promise<string> {
  const items = await page.$$eval('.statusbar-item', (els) => els.map((e) => (e as HTMLElement).innerText));
  return items.find((t) => t.includes('ksym')) ?? '';
}

async function waitStatus(pred: (t: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 60000;
  let last = '';
  while (Date.now() < deadline) {
    last = await statusText();
    if (pred(last)) return last;
    await page.waitForTimeout(250);
  }
  throw new Error(`status bar never showed ${what}; last: '${last}'`);
}

async function openFile(name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
      await page.keyboard.type(name, { delay: 10 });
      await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`, { timeout: 10000 });
      await page.keyboard.press('Enter');
      await page.waitForSelector(`.tab.active[aria-label*="${name}"]`, { timeout: 10000 });
      await page.waitForSelector('.monaco-editor .view-lines', { state: 'visible' });
      return;
    } catch (e) {
      if (attempt === 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * Hover at (line, col) (1-based) until `done(text)`: the first hover says the line is being
 * read; each retry moves one column (a hover is cached per spot) and asks again.
 */
async function hoverUntil(line: number, col: number, done: (t: string) => boolean): Promise<string> {
  await page.click('.monaco-editor .view-lines');
  let last = '';
  for (let attempt = 0; attempt < 12; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+G');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type(`${line}:${col + (attempt % 6)}`, { delay: 5 });
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I');
    try {
      const hover = await page.waitForSelector('.monaco-hover .hover-contents, .monaco-hover .markdown-hover', {
        state: 'visible',
        timeout: 4000,
      });
      last = (await hover.innerText()).trim();
      // "reading debug info…": the answer is on its way; the next hover (another column) asks again.
      if (done(last)) return last;
    } catch {
      // A hover asked before the provider registered is cached empty for that spot: move a column.
    }
  }
  throw new Error(`no hover with a source line at ${line}:${col}; last: ${last}`);
}

/** A fresh profile with the extension and these user settings, code-server, and Chromium on `folder`. */
async function startEditor(settings: Record<string, unknown>, folder: string): Promise<void> {
  installExtension(profile, VSIX);
  writeUserSettings(profile, { 'editor.inlayHints.enabled': 'on', 'workbench.secondarySideBar.defaultVisibility': 'hidden', ...settings });
  server = await startCodeServer(profile);
  context = await chromium.launchPersistentContext(join(profile, 'chromium'), {
    executablePath: ensureChromium(),
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    env: { ...process.env, HOME: profile },
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${server.url}/?folder=${encodeURIComponent(folder)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
}

async function stopEditor(): Promise<void> {
  try {
    await page?.goto('about:blank');
    await context?.close();
  } finally {
    server?.stop();
    if (process.env.KSYM_E2E_KEEP !== '1') rmSync(profile, { recursive: true, force: true });
  }
}

function onFailure(ctx: { task: { name: string; result?: { state?: string } } }): void {
  if (ctx.task.result?.state !== 'fail') return;
  void shot(`failed-source-${ctx.task.name.replace(/[^\w]+/g, '-').slice(0, 50)}`).catch(() => undefined);
  for (const f of findFiles(join(profile, 'user/logs'), /Kernel Symbols.*\.log$|exthost\.log$/))
    console.error(`==== ${f}\n${readFileSync(f, 'utf8').slice(-6000)}`);
  console.error(`==== code-server\n${server?.output.join('').slice(-4000)}`);
}

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
    await openFile('trace.oops');
    await waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'the ready index');
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
    const links = await page.$$eval('.monaco-hover a', (as) =>
      as.map((a) => (a as HTMLAnchorElement).getAttribute('data-href') ?? (a as HTMLAnchorElement).href),
    );
    expect(
      links.some((l) => l.includes('kernel/fx.c') || l.includes('fxhelp.h')),
      links.join(' '),
    ).toBe(true);
    await shot('source-01-hover-frame-line');
  });

  it('a hover on a [fxmod] frame shows its line from the in-tree module', async () => {
    const f = fixture.frames[0];
    const col = fixture.log[f.line].indexOf(f.form) + 3;
    const h = await hoverUntil(f.line + 1, col, (t) => /source\s/.test(t) && !t.includes('reading debug info'));
    expect(h).toMatch(/drivers\/fxmod\/fxmod\.c:\d+|include\/linux\/fxhelp\.h:\d+/);
    await shot('source-02-hover-module-frame');
    await page.keyboard.press('Escape');
  });

  it('Kernel Symbols: Decode Log opens the read-only decoded log with (file:line) after each frame', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+Shift+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type('Kernel Symbols: Decode Log', { delay: 5 });
    await page.waitForSelector('.quick-input-list .monaco-list-row[aria-label*="Decode Log"]', { timeout: 10000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.tab.active[aria-label*="decoded"]', { timeout: 30000 });
    const f = fixture.frames[2];
    const want = `${f.form} (${f.oracle[0]})`;
    await page.waitForFunction(
      (w) => (document.querySelector('.editor-instance .view-lines') as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ').includes(w),
      want,
      { timeout: 30000 },
    );
    const text = (await page.innerText('.editor-instance .view-lines')).replace(/\u00a0/g, ' ');
    expect(text).toContain('Decoded by ksym');
    expect(text).toMatch(/fxm_ioctl\+0x[0-9a-f]+\/0x[0-9a-f]+ \((drivers\/fxmod\/fxmod\.c|include\/linux\/fxhelp\.h):\d+\) \[fxmod\]/);
    await shot('source-03-decode-log');
    // Read-only: typing changes nothing.
    await page.click('.editor-instance .view-lines');
    await page.keyboard.type('x');
    expect((await page.innerText('.editor-instance .view-lines')).replace(/\u00a0/g, ' ')).toBe(text);
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
    form = execFileSync(process.execPath, [CLI, 'lookup', '--kallsyms', kd!.systemMap, '0x' + at.toString(16)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)[1];
    want = llvmSymbolize(kd!.vmlinux, ['0x' + at.toString(16)])[0].map(
      (f) =>
        `${f.file.replace(/^.*?debian\/build\/build_amd64_none_amd64\//, '').replace(/^\/build\/reproducible-path\/linux-[^/]+\//, '')}:${f.line}`,
    );
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
    await openFile('real.oops');
    await waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'the ready index');
    const h = await hoverUntil(2, log[1].indexOf(form) + 3, (t) => /source\s/.test(t) && !t.includes('reading debug info'));
    let from = 0;
    for (const loc of want) {
      const i = h.indexOf(loc, from);
      expect(i, `${loc} in ${h}`).toBeGreaterThanOrEqual(0);
      from = i + loc.length;
    }
    expect(h).toContain('ksym.sourceRoots');
    await shot('source-04-hover-debian-vmlinux');
  });
});
