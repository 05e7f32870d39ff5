/// <reference lib="dom" />
/**
 * End-to-end tests in a real VS Code (code-server) driven by headless Chromium.
 * Run by `npm run test:e2e` (and .ci/run); needs `node scripts/editor-setup.mjs` first
 * (it installs code-server and chromium). Every test saves a screenshot under
 * test-output/e2e/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { makeDemoWorkspace } from '../../scripts/demo-workspace.mjs';
import { Editor } from '../helpers/editor';

let ed: Editor;
let page: Editor['page'];
let ws: { dir: string; log: string; kallsyms: string; live: boolean; frames: { line: number; text: string; address?: string }[] };
let profile: string;

/** The hover at (line, col) (1-based), once it has loaded. */
const hoverAt = (line: number, col: number) => ed.hover(line, col, (t) => t !== '' && !/^Loading/.test(t));
const shot = (name: string) => ed.shot(name);
const waitStatus = (pred: (t: string) => boolean, what: string) => ed.waitStatus(pred, what);

describe('ksym in a real VS Code (code-server + headless Chromium)', () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'ksym-e2e-'));
    ws = makeDemoWorkspace(join(profile, 'workspace'));
    ed = await Editor.start(profile, ws.dir);
    page = ed.page;
  }, 240000);

  // A failure prints the language server's output channel and code-server's log; screenshots stay in test-output/e2e.
  afterEach((ctx) => ed?.onFailure('failed', ctx));
  afterAll(() => Editor.stop(ed, profile));

  it('activates on a kernel log and shows the index in the status bar', async () => {
    await ed.openFile('oops-this-kernel.oops');
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

  it("the page's Source link opens the symbol's line in the file it was read from", async () => {
    // The page is still shown (previous test). Its Source: line names the kallsyms file and line.
    const rendered = await previewText('Source:');
    const m = /Source: (\S+):(\d+)/.exec(rendered);
    expect(m, rendered.slice(-300)).not.toBeNull();
    const [, file, line] = m!;
    expect(rendered).not.toContain('](');
    // Click it inside the preview's webview frame.
    let clicked = false;
    for (const f of page.frames()) {
      const a = await f.$('a[data-href*="open/L"], a[href*="open/L"]').catch(() => null);
      if (!a) continue;
      await a.click();
      clicked = true;
      break;
    }
    expect(clicked).toBe(true);
    const base = file.split('/').pop()!;
    await page.waitForSelector(`.tab.active[aria-label*="${base}"]`, { timeout: 20000 });
    await ed.waitFor(
      async () =>
        (await page.$$eval('.statusbar-item', (els) => els.map((e) => (e as HTMLElement).innerText))).some((t) =>
          t.startsWith(`Ln ${line},`),
        ),
      `the cursor on line ${line} of ${file}`,
      20000,
    );
    // The intermediate ksym:/open/ tab is gone.
    expect(await page.$('.tab[aria-label*="Opening"]')).toBeNull();
    await shot('05b-symbol-page-source-link');
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
    await ed.openFile('livepatch-sample.c');
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
    await ed.openFile('oops-this-kernel.oops');
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
    const status = await waitStatus((t) => /ksym: [\d,]+ symbols/.test(t), 'the ready index');
    const served = Number(/ksym: ([\d,]+) symbols/.exec(status)![1].replace(/,/g, ''));
    await ed.command('Kernel Symbols: Show Index Statistics');
    // The rendered page in the preview's frame (the command's own title in the palette says
    // "Index Statistics" too: waiting for that passed before anything was shown).
    const rendered = await previewText('Symbols by type');
    expect(rendered).toContain('Kernel Symbols: index statistics');
    expect(rendered).not.toContain('## Sources');
    expect(Number(/symbols\s*(\d+)/.exec(rendered)?.[1])).toBe(served);
    await page.waitForSelector('.tab.active[aria-label*="Preview"]', { timeout: 20000 });
    // ... and on screen: the frame holding it laid out in the editor area
    await ed.waitFor(
      async () => {
        for (const f of page.frames()) {
          const t = await f.evaluate(() => document.querySelector('.markdown-body')?.textContent ?? '').catch(() => '');
          if (!t.includes('Symbols by type')) continue;
          const box = await (await f.frameElement().catch(() => null))?.boundingBox();
          if (box && box.width > 200 && box.height > 200) return true;
        }
        return false;
      },
      'the statistics on screen',
      20000,
    );
    await shot('08-statistics');
  });
});

// Keep the generated workspace around for debugging when asked.
if (process.env.KSYM_E2E_KEEP === '1') writeFileSync(join(tmpdir(), 'ksym-e2e-last'), String(Date.now()));
