/**
 * Issue 13 §3: settings from every client. A client without workspace/configuration
 * (Neovim 0.7) sends its settings in initializationOptions, in whichever form its
 * configuration framework uses, and later in didChangeConfiguration. The server takes
 * each form, and its status and log say where the settings came from ("defaults" included).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ready, startClient } from '../helpers/lspclient';

const dir = mkdtempSync(join(tmpdir(), 'ksym-settings-'));
const A = join(dir, 'a.kallsyms');
const B = join(dir, 'b.kallsyms');
writeFileSync(A, 'ffffffff81000000 T _stext\nffffffff81000100 T only_in_a\nffffffff81000200 T _etext\n');
writeFileSync(B, 'ffffffff81000000 T _stext\nffffffff81000100 T only_in_b\nffffffff81000180 T also_b\nffffffff81000200 T _etext\n');
const flat = { kallsyms: [A], modules: [], btf: '' };

const FORMS: [string, unknown, string][] = [
  ['flat', flat, 'initializationOptions'],
  ['keyed by section', { ksym: flat }, 'initializationOptions {ksym: ...}'],
  ['lspconfig settings', { settings: { ksym: flat } }, 'initializationOptions {settings: {ksym: ...}}'],
  ['the VS Code client', { settings: flat }, 'initializationOptions {settings: ...}'],
  ['dotted keys', { 'ksym.kallsyms': [A], 'ksym.modules': [], 'ksym.btf': '' }, 'initializationOptions {"ksym.*": ...}'],
];

describe('settings from clients without workspace/configuration', () => {
  for (const [what, options, source] of FORMS) {
    it(`initializationOptions ${what}`, async () => {
      const c = await startClient({}, undefined, { configuration: false, initializationOptions: options });
      try {
        const s = await c.waitStatus(ready, 'first index');
        expect(s.sources).toEqual([A]);
        expect(s.symbols).toBe(3);
        expect(s.settingsSource).toBe(source);
        expect(c.logs.join('\n')).toContain(`settings from ${source}`);
      } finally {
        await c.close();
      }
    });
  }

  it('no settings anywhere: the defaults, said so; then didChangeConfiguration {settings: {ksym: ...}} is applied', async () => {
    const c = await startClient({}, undefined, { configuration: false, initializationOptions: { unrelated: true } });
    try {
      const s = await c.waitStatus(ready, 'first index');
      expect(s.settingsSource).toBe('defaults');
      expect(s.sources[0]).toBe('/proc/kallsyms');
      expect(c.logs.join('\n')).toContain('settings from defaults');
      await c.conn.sendNotification('workspace/didChangeConfiguration', { settings: { ksym: { kallsyms: [B], modules: [], btf: '' } } });
      const b = await c.waitStatus((x) => ready(x) && x.sources[0] === B, 'index of B');
      expect(b.symbols).toBe(4);
      expect(b.settingsSource).toBe('didChangeConfiguration {settings: {ksym: ...}}');
      expect(await c.hover('file:///x.log', 0, 0)).toBeUndefined(); // not open: nothing, and no crash
    } finally {
      await c.close();
    }
  });

  it('a client with workspace/configuration: its answer wins over initializationOptions, and says so', async () => {
    const c = await startClient({ kallsyms: [B], modules: [], btf: '' }, undefined, {
      initializationOptions: { settings: { ksym: flat } },
    });
    try {
      const s = await c.waitStatus(ready, 'first index');
      expect(s.sources).toEqual([B]);
      expect(s.settingsSource).toBe('workspace/configuration');
    } finally {
      await c.close();
    }
  });

  it('a configuration answer without ksym settings (null) falls back to initializationOptions', async () => {
    const c = await startClient(null as unknown as Record<string, unknown>, undefined, {
      initializationOptions: { settings: { ksym: flat } },
    });
    try {
      const s = await c.waitStatus(ready, 'first index');
      expect(s.sources).toEqual([A]);
      expect(s.settingsSource).toBe('initializationOptions {settings: {ksym: ...}}');
    } finally {
      await c.close();
    }
  });
});
