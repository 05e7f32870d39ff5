/// <reference lib="dom" />
/**
 * End-to-end tests in a real VS Code (code-server) driven by headless Chromium.
 * Run by `npm run test:e2e` (and .ci/run); needs `node scripts/editor-setup.mjs` first
 * (it installs code-server and chromium). Every test saves a screenshot under
 * test-output/e2e/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { installExtension, startCodeServer, writeUserSettings } from '../../scripts/code-server.mjs';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { makeDemoWorkspace } from '../../scripts/demo-workspace.mjs';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { ensureChromium, ROOT } from '../../scripts/editor-setup.mjs';

const OUT = resolve(ROOT as string, 'test-output/e2e');
const VSIX = resolve(ROOT as string, 'ksym-0.1.0.vsix');

interface Server {
  url: string;
  output: string[];
  stop(): void;
}

let server: Server;
let context: BrowserContext;
let page: Page;
let ws: { dir: string; log: string; kallsyms: string; live: boolean; frames: { line: number; text: string; address?: string }[] };
let profile: string;

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

async function shot(name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`) });
}

async function openFile(name: string): Promise<void> {
  // Quick open by name. Keyboard focus left in a panel by an earlier test can swallow the
  // first try (it then opens the command palette): close whatever is open and try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
      await page.keyboard.type(name, { delay: 10 });
      await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`, { timeout: 10000 });
      await page.keyboard.press('Enter');
      // The tab may already exist from an earlier test: wait until it is the active one.
      await page.waitForSelector(`.tab.active[aria-label*="${name}"]`, { timeout: 10000 });
      await page.waitForSelector('.monaco-editor .view-lines', { state: 'visible' });
      return;
    } catch (e) {
      if (attempt === 3) throw e;
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await page.click('.monaco-workbench .part.editor', { position: { x: 200, y: 200 } }).catch(() => undefined);
    }
  }
}

/** Place the cursor with Go to Line (Ctrl+G `line:col`, 1-based) and show the hover (Ctrl+K Ctrl+I). */
async function hoverAt(line: number, col: number): Promise<string> {
  await page.click('.monaco-editor .view-lines');
  for (let attempt = 0; attempt < 6; attempt++) {
    await page.keyboard.press('Control+G');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type(`${line}:${col + attempt}`, { delay: 5 });
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I');
    try {
      const hover = await page.waitForSelector('.monaco-hover .hover-contents, .monaco-hover .markdown-hover', {
        state: 'visible',
        timeout: 4000,
      });
      const text = (await hover.innerText()).trim();
      if (text && !/^Loading/.test(text)) return text;
    } catch {
      // A hover asked before the provider registered is cached empty for that spot: move a column.
    }
    await page.keyboard.press('Escape');
  }
  throw new Error(`no hover at ${line}:${col}`);
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
  throw new Error(`status bar never showed ${what}; last: '${last}'; code-server: ${server.output.join('').slice(-2000)}`);
}

describe('ksym in a real VS Code (code-server + headless Chromium)', () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'ksym-e2e-'));
    ws = makeDemoWorkspace(join(profile, 'workspace'));
    installExtension(profile, VSIX);
    writeUserSettings(profile, {});
    server = await startCodeServer(profile);
    const executablePath = ensureChromium();
    const browserDir = join(profile, 'chromium');
    context = await chromium.launchPersistentContext(browserDir, {
      executablePath,
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
    await page.goto(`${server.url}/?folder=${encodeURIComponent(ws.dir)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  }, 240000);

  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    // A failure prints the language server's output channel and code-server's log; screenshots stay in test-output/e2e.
    void shot(`failed-${ctx.task.name.replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
    for (const f of findFiles(join(profile, 'user/logs'), /Kernel Symbols.*\.log$|exthost\.log$/)) {
      console.error(`==== ${f}\n${readFileSync(f, 'utf8').slice(-6000)}`);
    }
    console.error(`==== code-server\n${server?.output.join('').slice(-4000)}`);
  });

  afterAll(async () => {
    try {
      await page?.goto('about:blank');
      await context?.close();
    } finally {
      server?.stop();
      if (process.env.KSYM_E2E_KEEP !== '1') rmSync(profile, { recursive: true, force: true });
    }
  });

  it('activates on a kernel log and shows the index in the status bar', async () => {
    await openFile('oops-this-kernel.oops');
    const s = await waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'the ready index');
    const n = Number(/ksym: ([\d,]+) symbols/.exec(s)![1].replace(/,/g, ''));
    const lines = readFileSync(ws.live ? '/proc/kallsyms' : ws.kallsyms, 'latin1')
      .split('\n')
      .filter(Boolean).length;
    expect(n).toBe(lines);
    await shot('01-status-bar-ready');
  });

  it('hovers a frame and an address with the kernel form', async () => {
    if (!ws.live || ws.frames.length === 0) {
      console.warn('live kernel symbols unreadable: hover checks run against the corpus log only');
      return;
    }
    const f = ws.frames.find((x) => x.address)!;
    const line = readFileSync(ws.log, 'utf8').split('\n')[f.line];
    const frameCol = line.indexOf(f.text) + 3;
    const h1 = await hoverAt(f.line + 1, frameCol);
    expect(h1).toContain(f.text);
    expect(h1).toContain('%pB, return address');
    await shot('02-hover-frame');
    await page.keyboard.press('Escape');
    const addrCol = line.indexOf(f.address!) + 3;
    const h2 = await hoverAt(f.line + 1, addrCol);
    expect(h2).toContain(`${f.address} → ${f.text}`);
    expect(h2).toContain('matches the frame in the log');
    await shot('03-hover-address');
    await page.keyboard.press('Escape');
  });

  /** The text of the rendered markdown preview (a webview: nested iframes), once it contains `want`. */
  async function previewText(want: string): Promise<string> {
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      for (const f of page.frames()) {
        const t = await f.evaluate(() => document.querySelector('.markdown-body, body.vscode-body')?.textContent ?? '').catch(() => '');
        if (t.includes(want)) return t;
      }
      await page.waitForTimeout(250);
    }
    throw new Error(`no rendered preview containing ${want}`);
  }

  it('Go to Symbol in Workspace (Ctrl+T, "#" in quick open) lists a symbol once and opens its page rendered', async () => {
    // In a browser Ctrl+T belongs to the browser (new tab); quick open with '#' is the same picker.
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type('#do_syscall_64', { delay: 10 });
    const row = await page.waitForSelector('.quick-input-list .monaco-list-row[aria-label*="do_syscall_64"]', { timeout: 20000 });
    expect(await row.innerText()).toContain('do_syscall_64');
    // One entry for the symbol (not "do_syscall_64 btf" and "do_syscall_64 vmlinux"), BTF as its detail.
    const rows = await page.$$eval('.quick-input-list .monaco-list-row', (els) =>
      els.map((e) => ({
        name: e.querySelector('.label-name')?.textContent ?? '',
        detail: e.querySelector('.label-description')?.textContent ?? '',
      })),
    );
    const exact = rows.filter((r) => r.name === 'do_syscall_64');
    expect(exact, JSON.stringify(rows)).toHaveLength(1);
    if (existsSync('/sys/kernel/btf/vmlinux')) expect(exact[0].detail).toContain('vmlinux · BTF');
    await shot('04-workspace-symbol-search');
    await page.keyboard.press('Enter');
    // The page opens rendered (the markdown preview), not as markdown source.
    await page.waitForSelector('.tab[aria-label*="Preview do_syscall_64"]', { timeout: 20000 });
    const rendered = await previewText('Kernel form');
    expect(rendered).toContain('do_syscall_64');
    expect(rendered).not.toContain('# do_syscall_64');
    expect(await page.$('.tab.active .monaco-icon-label[aria-label*="do_syscall_64"][aria-label*="ksym"]')).toBeNull();
    await shot('05-symbol-page');
  });

  it('an address typed in the picker lists the symbol covering it', async () => {
    const f = ws.frames.find((x) => x.address);
    if (!ws.live || !f) return console.warn('live kernel symbols unreadable: no address to search for');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type(`#${f.address}`, { delay: 5 });
    const row = await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${f.address} →"]`, { timeout: 20000 });
    expect(await row.innerText()).toContain(`${f.address} → ${f.text.split('+')[0]}+`);
    await shot('04b-workspace-symbol-address');
    await page.keyboard.press('Escape');
  });

  it('a .klp.sym position problem shows in the Problems panel', async () => {
    await openFile('livepatch-sample.c');
    await page.keyboard.press('Control+Shift+M');
    const markers = await page.waitForFunction(
      () => {
        const el = document.querySelector('.markers-panel');
        const t = (el as HTMLElement | null)?.innerText ?? '';
        return t.includes('unresolvable ambiguity') ? t : false;
      },
      undefined,
      { timeout: 30000 },
    );
    expect(String(await markers.jsonValue())).toContain("unresolvable ambiguity for symbol 'paravirt_read_msr' in object 'vmlinux'");
    await shot('06-problems-panel-sympos');
    await page.keyboard.press('Control+Shift+M');
  });

  it('a bad ksym.kallsyms path shows a clear error and the previous index keeps working', async () => {
    await openFile('oops-this-kernel.oops');
    const bad = join(ws.dir, 'no-such-kallsyms');
    // Workspace settings: VS Code watches the folder's .vscode/settings.json.
    const wsSettings = join(ws.dir, '.vscode/settings.json');
    mkdirSync(join(ws.dir, '.vscode'), { recursive: true });
    let original = '{}';
    try {
      original = readFileSync(wsSettings, 'utf8');
    } catch {
      /* none yet */
    }
    writeFileSync(wsSettings, JSON.stringify({ ...JSON.parse(original), 'ksym.kallsyms': [bad], 'ksym.systemMap': [] }, null, 2));
    const s = await waitStatus((t) => /error/.test(t), 'the error state');
    expect(s).toContain('ksym');
    await shot('07-bad-path-error');
    // The notification names the file.
    const toasts = await page.$$eval('.notifications-toasts .notification-toast', (els) =>
      els.map((e) => (e as HTMLElement).innerText).join('\n'),
    );
    expect(toasts).toContain('no-such-kallsyms');
    if (ws.live && ws.frames.length) {
      const f = ws.frames.find((x) => x.address)!;
      const line = readFileSync(ws.log, 'utf8').split('\n')[f.line];
      const h = await hoverAt(f.line + 1, line.indexOf(f.text) + 4);
      expect(h).toContain(f.text);
      await page.keyboard.press('Escape');
    }
    writeFileSync(wsSettings, original);
    await waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'recovery');
  });

  it('the Show Index Statistics command renders the statistics', async () => {
    await page.keyboard.press('Control+Shift+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type('Kernel Symbols: Show Index Statistics', { delay: 5 });
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 10000 });
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.body.innerText.includes('index statistics') || document.body.innerText.includes('Index Statistics'),
      undefined,
      { timeout: 20000 },
    );
    await shot('08-statistics');
  });
});

// Keep the generated workspace around for debugging when asked.
if (process.env.KSYM_E2E_KEEP === '1') writeFileSync(join(tmpdir(), 'ksym-e2e-last'), String(Date.now()));
