// Runs code-server (a real VS Code) on 127.0.0.1 with a fresh profile and the packaged
// extension installed. Used by `npm start` and the end-to-end tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureCodeServer, ensureNode24 } from './editor-setup.mjs';

export const TEST_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'editor.hover.delay': 100,
  'chat.disableAIFeatures': true,
  'workbench.tips.enabled': false,
  'window.commandCenter': false,
  'workbench.enableExperiments': false,
  // the secondary side bar (chat) opens empty beside the editors otherwise
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function env(profile) {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(profile, 'xdg-config'),
    XDG_DATA_HOME: join(profile, 'xdg-data'),
    XDG_CACHE_HOME: join(profile, 'xdg-cache'),
    HOME: join(profile, 'home'),
  };
}

/** trust: keep VS Code's workspace trust (Restricted Mode) on, as a desktop VS Code has it. */
function args(profile, { trust = false } = {}) {
  return [
    '--auth',
    'none',
    '--user-data-dir',
    join(profile, 'user'),
    '--extensions-dir',
    join(profile, 'ext'),
    '--disable-telemetry',
    '--disable-update-check',
    ...(trust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
}

/** Install a .vsix into the profile's extension dir. */
export function installExtension(profile, vsix) {
  const node = ensureNode24();
  const cs = ensureCodeServer();
  for (const d of ['user/User', 'ext', 'home', 'xdg-config', 'xdg-data', 'xdg-cache']) mkdirSync(join(profile, d), { recursive: true });
  execFileSync(node, [cs, ...args(profile), '--install-extension', vsix, '--force'], {
    env: env(profile),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function writeUserSettings(profile, settings) {
  mkdirSync(join(profile, 'user/User'), { recursive: true });
  writeFileSync(join(profile, 'user/User/settings.json'), JSON.stringify({ ...TEST_SETTINGS, ...settings }, null, 2));
}

/** Start code-server; resolves when /healthz answers. */
export async function startCodeServer(profile, { port, log, trust } = {}) {
  const node = ensureNode24();
  const cs = ensureCodeServer();
  port = port ?? (await freePort());
  const proc = spawn(node, [cs, ...args(profile, { trust }), '--bind-addr', `127.0.0.1:${port}`], {
    env: env(profile),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output = [];
  const collect = (d) => {
    output.push(String(d));
    log?.(String(d));
  };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited (${proc.exitCode}): ${output.join('')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer /healthz: ${output.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    proc,
    output,
    stop() {
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}
