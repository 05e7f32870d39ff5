// `npm run package`: build minified bundles and package ksym-<version>.vsix with @vscode/vsce.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, `${pkg.name}-${pkg.version}.vsix`);
execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--no-sourcemap'], { cwd: root, stdio: 'inherit' });
const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
execFileSync(
  process.execPath,
  [vsce, 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', out],
  { cwd: root, stdio: 'inherit' },
);
const list = execFileSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8' });
console.log(
  `\n${out}: ${(statSync(out).size / 1024).toFixed(0)} KiB, files:\n${list
    .trim()
    .split('\n')
    .map((f) => '  ' + f)
    .join('\n')}`,
);
