// `npm run start:cli`: the command-line demo. Builds the same demo log as the editor
// workspace (this kernel's own call traces from /proc/<pid>/stack with their addresses,
// or a corpus log when this kernel's symbols are not readable) and decodes it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeDemoWorkspace } from './demo-workspace.mjs';
import { CACHE, ROOT } from './editor-setup.mjs';

const ws = makeDemoWorkspace(join(CACHE, 'demo-cli'));
const args = ws.live ? ['decode', ws.log] : ['decode', '--kallsyms', ws.kallsyms, ws.log];
console.log(
  ws.live
    ? `Demo log from this kernel: ${ws.log}\n`
    : "This kernel's symbols are not readable (run as root or lower kernel.kptr_restrict): decoding a corpus log against the corpus System.map.\n",
);
console.log(`$ ksym ${args.map((a) => a.replace(ROOT + '/', '')).join(' ')}\n`);
const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], { stdio: 'inherit' });
console.log('\nTry: npx ksym lookup do_syscall_64+0x71/0x280 · npx ksym search tvr · npx ksym btf "struct list_head" · npx ksym --help');
process.exit(r.status ?? 1);
