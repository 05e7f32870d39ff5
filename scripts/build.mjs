// Bundles the VS Code client, the language server and the ksym CLI with esbuild.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: !process.argv.includes('--no-sourcemap'),
  logLevel: 'warning',
  minify: !process.argv.includes('--no-minify'),
  // The server reports the package version (serverInfo); lsp/server.ts declares it.
  define: { KSYM_VERSION: JSON.stringify(version) },
};

await Promise.all([
  build({ ...common, entryPoints: ['client/src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  // The server: dist/server.js is a small boot file that starts reading /proc/kallsyms on a
  // worker, then requires dist/server-main.js (the language server).
  build({ ...common, entryPoints: ['server/src/lsp/boot.ts'], outfile: 'dist/server.js', external: ['./server-main.js'] }),
  build({ ...common, entryPoints: ['server/src/lsp/main.ts'], outfile: 'dist/server-main.js' }),
  // The CLI: a small dispatcher (dist/cli.js) that requires the bundle of the command asked for
  // (`lsp`: dist/server.js); cli-btf.js imports cli-btfdecl.js only for declarations, not for `btf --stats`.
  build({
    ...common,
    entryPoints: ['server/src/cli/cli.ts'],
    outfile: 'dist/cli.js',
    external: ['./cli-*.js', './server.js'],
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({
    ...common,
    entryPoints: { 'cli-btf': 'server/src/cli/btf.ts', 'cli-btfdecl': 'server/src/cli/btfdecl.ts', 'cli-cmds': 'server/src/cli/cmds.ts' },
    outdir: 'dist',
    supported: { 'dynamic-import': false }, // import() of the sibling bundles as require(), not through the ESM loader
    plugins: [
      { name: 'cli-btfdecl', setup: (b) => b.onResolve({ filter: /^\.\/btfdecl$/ }, () => ({ path: './cli-btfdecl.js', external: true })) },
    ],
  }),
]);
chmodSync('dist/cli.js', 0o755);
