/// <reference lib="dom" />
/**
 * Workspace trust in a real VS Code (code-server + headless Chromium): a workspace whose
 * settings name a kallsyms file outside it is opened untrusted (Restricted Mode). The
 * extension runs, does not read that file, says why, and reads it once the workspace is
 * trusted. Needs `node scripts/editor-setup.mjs` and `npm run package` first.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { installExtension, startCodeServer, writeUserSettings } from '../../scripts/code-server.mjs';
// @ts-expect-error: plain ESM helper scripts without type declarations
import { ensureChromium, ROOT } from '../../scripts/editor-setup.mjs';

const OUT = resolve(ROOT as string, 'test-output/e2e');
const VSIX = resolve(ROOT as string, 'ksym-0.1.0.vsix');

let server: { url: string; output: string[]; stop(): void };
let context: BrowserContext;
let page: Page;
let profile: string;
let outside: string;

async function shot(name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`) });
}

async function statusText(): Promise<string> {
  const items = await page.$$eval('.statusbar-item', (els) => els.map((e) => (e as HTMLElement).innerText));
  return items.find((t) => t.includes('ksym')) ?? '';
}

async function waitFor<T>(f: () => Promise<T | undefined | false>, what: string, ms = 60000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; status '${await statusText()}'; code-server: ${server.output.join('').slice(-1500)}`);
    await page.waitForTimeout(250);
  }
}

async function command(title: string): Promise<void> {
  await page.keyboard.press('Control+Shift+P');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(title, { delay: 5 });
  await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 10000 });
  await page.keyboard.press('Enter');
}

describe('workspace trust (Restricted Mode) in a real VS Code', () => {
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'ksym-trust-'));
    const ws = join(profile, 'workspace');
    outside = join(profile, 'outside.kallsyms');
    writeFileSync(
      outside,
      [
        'ffffffff81000000 T _stext',
        'ffffffff81000010 T outside_one',
        'ffffffff81000020 T outside_two',
        'ffffffff81000100 T _etext',
        '',
      ].join('\n'),
    );
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    writeFileSync(join(ws, '.vscode/settings.json'), JSON.stringify({ 'ksym.kallsyms': [outside], 'ksym.btf': '' }, null, 2));
    writeFileSync(join(ws, 'crash.oops'), '[    1.000000]  outside_one+0x4/0x10\n');
    installExtension(profile, VSIX);
    writeUserSettings(profile, { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'always' });
    server = await startCodeServer(profile, { trust: true });
    context = await chromium.launchPersistentContext(join(profile, 'chromium'), {
      executablePath: ensureChromium(),
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      env: { ...process.env, HOME: profile },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  }, 240000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      server?.stop();
      if (process.env.KSYM_E2E_KEEP !== '1') rmSync(profile, { recursive: true, force: true });
    }
  });

  it('does not read a file outside the workspace until it is trusted, and says so', async () => {
    // The trust prompt: choose not to trust.
    const no = await page.waitForSelector('.monaco-dialog-box .monaco-button:has-text("No, I don")', { timeout: 60000 });
    await shot('09-trust-prompt');
    await no.click();
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type('crash.oops', { delay: 10 });
    await page.waitForSelector('.quick-input-list .monaco-list-row[aria-label*="crash.oops"]', { timeout: 20000 });
    await page.keyboard.press('Enter');
    // Restricted Mode: the error names the setting and the file; the default (the running kernel) serves meanwhile.
    const toast = await waitFor(async () => {
      const t = await page.$$eval('.notifications-toasts .notification-toast', (els) =>
        els.map((e) => (e as HTMLElement).innerText).join('\n'),
      );
      return t.includes('Restricted Mode') ? t : undefined;
    }, 'the Restricted Mode message');
    expect(toast).toContain('ksym.kallsyms');
    expect(toast).toContain('outside.kallsyms');
    expect(await statusText()).toContain('error');
    await shot('10-restricted-mode');

    // Trust the workspace: the server pulls the settings again and reads the file.
    await command('Workspaces: Manage Workspace Trust');
    const trust = await page.waitForSelector('.workspace-trust-editor .monaco-button:has-text("Trust")', { timeout: 20000 });
    await trust.click();
    const s = await waitFor(async () => {
      const t = await statusText();
      return /ksym: 4 symbols/.test(t) ? t : undefined;
    }, 'the outside file indexed after trusting');
    expect(s).toContain('4 symbols');
    await shot('11-trusted');
  });
});
