/// <reference lib="dom" />
/**
 * A real VS Code for the e2e tests: code-server on a fresh profile with the packaged
 * extension (ksym-0.1.0.vsix, `npm run package`) and headless Chromium on a folder, and
 * what the tests do in it: open a file by name, run a command, hover at a position, read
 * the status bar, save a screenshot under test-output/e2e/, print the logs on a failure.
 * Needs `node scripts/editor-setup.mjs` (code-server, Node 24 and Chromium in .cache).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { installExtension, startCodeServer, writeUserSettings } from '../../scripts/code-server.mjs';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { ensureChromium, ROOT } from '../../scripts/editor-setup.mjs';

const OUT = resolve(ROOT as string, 'test-output/e2e');
const VSIX = resolve(ROOT as string, 'ksym-0.1.0.vsix');

/** The hover widget's text, whichever part VS Code renders it in. */
const HOVER = '.monaco-hover .hover-contents, .monaco-hover .markdown-hover';

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

export interface EditorOptions {
  /** User settings (over code-server.mjs's TEST_SETTINGS). */
  settings?: Record<string, unknown>;
  /** Keep VS Code's workspace trust (Restricted Mode) on. */
  trust?: boolean;
}

export class Editor {
  private constructor(
    readonly profile: string,
    readonly server: { url: string; output: string[]; stop(): void },
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** code-server on `profile` (a fresh directory, removed by stop()) with the extension, and Chromium on `folder`. */
  static async start(profile: string, folder: string, opts: EditorOptions = {}): Promise<Editor> {
    installExtension(profile, VSIX);
    writeUserSettings(profile, opts.settings ?? {});
    const server = await startCodeServer(profile, { trust: opts.trust });
    const context = await chromium.launchPersistentContext(join(profile, 'chromium'), {
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
    const page = context.pages()[0] ?? (await context.newPage());
    const ed = new Editor(profile, server, context, page);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(folder)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    return ed;
  }

  /** Close the browser, stop code-server and remove the profile (kept with KSYM_E2E_KEEP=1). */
  static async stop(ed: Editor | undefined, profile: string | undefined): Promise<void> {
    try {
      await ed?.page.goto('about:blank');
      await ed?.context.close();
    } finally {
      ed?.server.stop();
      if (profile && process.env.KSYM_E2E_KEEP !== '1') rmSync(profile, { recursive: true, force: true });
    }
  }

  async shot(name: string): Promise<void> {
    mkdirSync(OUT, { recursive: true });
    await this.page.screenshot({ path: join(OUT, `${name}.png`) });
  }

  /** For afterEach: on a failed test, a screenshot `prefix-<test name>`, the language server's and code-server's logs. */
  onFailure(prefix: string, ctx: { task: { name: string; result?: { state?: string } } }): void {
    if (ctx.task.result?.state !== 'fail') return;
    void this.shot(`${prefix}-${ctx.task.name.replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
    for (const f of findFiles(join(this.profile, 'user/logs'), /Kernel Symbols.*\.log$|exthost\.log$/))
      console.error(`==== ${f}\n${readFileSync(f, 'utf8').slice(-6000)}`);
    console.error(`==== code-server\n${this.server.output.join('').slice(-4000)}`);
  }

  async statusText(): Promise<string> {
    const items = await this.page.$$eval('.statusbar-item', (els) => els.map((e) => (e as HTMLElement).innerText));
    return items.find((t) => t.includes('ksym')) ?? '';
  }

  /** The first truthy value of `f`, polled every 250 ms for `ms`. */
  async waitFor<T>(f: () => Promise<T | undefined | false>, what: string, ms = 60000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v) return v;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; status '${await this.statusText()}'; code-server: ${this.server.output.join('').slice(-2000)}`,
        );
      await this.page.waitForTimeout(250);
    }
  }

  /** The ksym status bar item's text, once `pred` holds for it. */
  waitStatus(pred: (t: string) => boolean, what: string): Promise<string> {
    return this.waitFor(async () => {
      const t = await this.statusText();
      return pred(t) ? t : undefined;
    }, `the status bar to show ${what}`);
  }

  /** Quick open by name, until its tab is the active one. */
  async openFile(name: string): Promise<void> {
    const page = this.page;
    // Keyboard focus left in a panel by an earlier test can swallow the first try (it then
    // opens the command palette): close whatever is open and try again.
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

  /** Run a command by its title from the command palette (the first row that matches `row`, default any). */
  async command(title: string, row = ''): Promise<void> {
    await this.page.keyboard.press('Control+Shift+P');
    await this.page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await this.page.keyboard.type(title, { delay: 5 });
    await this.page.waitForSelector(`.quick-input-list .monaco-list-row${row}`, { timeout: 10000 });
    await this.page.keyboard.press('Enter');
  }

  /**
   * Place the cursor with Go to Line (Ctrl+G `line:col`, 1-based), show the hover (Ctrl+K
   * Ctrl+I) and return its text once `done(text)`. A hover is cached per spot, so each retry
   * moves one column (up to 5 to the right, then from `col` again); a hover asked before the
   * provider registered is cached empty, one still being answered says so.
   */
  async hover(line: number, col: number, done: (t: string) => boolean, attempts = 6): Promise<string> {
    const page = this.page;
    await page.click('.monaco-editor .view-lines');
    let last = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+G');
      await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
      await page.keyboard.type(`${line}:${col + (attempt % 6)}`, { delay: 5 });
      await page.keyboard.press('Enter');
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      try {
        const hover = await page.waitForSelector(HOVER, { state: 'visible', timeout: 4000 });
        last = (await hover.innerText()).trim();
        if (done(last)) return last;
      } catch {
        // No hover at this spot (yet): the next attempt moves a column.
      }
    }
    throw new Error(`no hover at ${line}:${col}; last: '${last}'`);
  }
}
