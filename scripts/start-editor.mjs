// `npm start`: build and package the extension, install it into a real VS Code
// (code-server, installed on first use into .cache/), generate a demo workspace from the
// running kernel, and serve it on 127.0.0.1 until interrupted (Ctrl+C).
// KSYM_PORT picks the port (default 8123). KSYM_START=cli runs the CLI demo instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, ROOT } from './editor-setup.mjs';

if (process.env.KSYM_START === 'cli') {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/demo.mjs')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const say = (m) => console.log(`ksym: ${m}`);
let cs;
try {
  const { ensureCodeServer } = await import('./editor-setup.mjs');
  say('preparing the editor (code-server is installed into .cache/ on first use: a few minutes, ~600 MB)...');
  ensureCodeServer();
  cs = await import('./code-server.mjs');
} catch (e) {
  console.error(`\nksym: the real editor could not be set up: ${e.message}`);
  console.error('It needs: root (or the Debian packages libkrb5-dev python3 make g++ installed), and the npm registry.');
  console.error('Install them with: sudo apt-get install -y libkrb5-dev python3 make g++  — then run npm start again.');
  console.error('Meanwhile, the command-line demo:\n');
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/demo.mjs')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

execFileSync(process.execPath, [join(ROOT, 'scripts/package.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
const pkg = JSON.parse((await import('node:fs')).readFileSync(join(ROOT, 'package.json'), 'utf8'));
const vsix = join(ROOT, `${pkg.name}-${pkg.version}.vsix`);
const profile = join(CACHE, 'editor-profile');
mkdirSync(profile, { recursive: true });
const { makeDemoWorkspace } = await import('./demo-workspace.mjs');
const ws = makeDemoWorkspace(join(CACHE, 'demo-workspace'));
cs.installExtension(profile, vsix);
cs.writeUserSettings(profile, { 'workbench.startupEditor': 'none', 'editor.hover.delay': 300 });
const server = await cs.startCodeServer(profile, { port: Number(process.env.KSYM_PORT ?? 8123) });
const url = `${server.url}/?folder=${encodeURIComponent(ws.dir)}`;
console.log(`
Kernel Symbols is running in VS Code (code-server) at:

    ${url}

The demo workspace (${ws.dir}) was generated from ${ws.live ? 'this kernel' : "the shared corpus (this kernel's symbols are not readable: run as root)"}:
  oops-this-kernel.oops   hover addresses and frames; F12 on a frame; Ctrl+T (or '#' in Ctrl+P) to search
  this-kernel.kallsyms    hover lines; the outline groups symbols by module
  livepatch-sample.c      a klp_func position the kernel would refuse (Problems panel, quick fixes)
Press Ctrl+C to stop.`);
const stop = () => {
  server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.proc.on('exit', (code) => {
  console.error(`code-server exited (${code})`);
  process.exit(1);
});
