/// <reference lib="dom" />
/**
 * Workspace trust in a real VS Code (code-server + headless Chromium): a workspace whose
 * settings name a kallsyms file outside it is opened untrusted (Restricted Mode). The
 * extension runs, does not read that file, says why, and reads it once the workspace is
 * trusted. Needs `node scripts/editor-setup.mjs` and `npm run package` first.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Editor } from '../helpers/editor';

let ed: Editor;
let profile: string;
let outside: string;

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
    ed = await Editor.start(profile, ws, {
      settings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'always' },
      trust: true,
    });
  }, 240000);

  afterAll(() => Editor.stop(ed, profile));

  it('does not read a file outside the workspace until it is trusted, and says so', async () => {
    // The trust prompt: choose not to trust.
    const no = await ed.page.waitForSelector('.monaco-dialog-box .monaco-button:has-text("No, I don")', { timeout: 60000 });
    await ed.shot('09-trust-prompt');
    await no.click();
    await ed.openFile('crash.oops');
    // Restricted Mode: the error names the setting and the file; the default (the running kernel) serves meanwhile.
    const toast = await ed.waitFor(async () => {
      const t = await ed.page.$$eval('.notifications-toasts .notification-toast', (els) =>
        els.map((e) => (e as HTMLElement).innerText).join('\n'),
      );
      return t.includes('Restricted Mode') ? t : undefined;
    }, 'the Restricted Mode message');
    expect(toast).toContain('ksym.kallsyms');
    expect(toast).toContain('outside.kallsyms');
    // The status bar catches up with the error once the index settles (it may still say "indexing…").
    expect(await ed.waitStatus((t) => t.includes('error'), 'the error')).toContain('error');
    await ed.shot('10-restricted-mode');

    // Trust the workspace: the server pulls the settings again and reads the file.
    await ed.command('Workspaces: Manage Workspace Trust');
    const trust = await ed.page.waitForSelector('.workspace-trust-editor .monaco-button:has-text("Trust")', { timeout: 20000 });
    await trust.click();
    const s = await ed.waitStatus((t) => /ksym: 4 symbols/.test(t), 'the outside file indexed after trusting');
    expect(s).toContain('4 symbols');
    await ed.shot('11-trusted');
  });
});
