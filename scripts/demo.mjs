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
console.log(`\nTry: ${example()} · npx ksym search tvr · npx ksym btf "struct list_head" · npx ksym --help`);
process.exit(r.status ?? 1);

/**
 * A lookup example that is true of the symbols decoded above: a frame of this kernel's own
 * call traces, else a function of the System.map with its offset and size from ksym itself.
 */
function example() {
  const frame = ws.live ? ws.frames.find((f) => /\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(f.text))?.text : undefined;
  if (frame) return `npx ksym lookup ${frame}`;
  const src = ws.live ? [] : ['--kallsyms', ws.kallsyms];
  const q = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'lookup', ...src, '--json', 'do_syscall_64+0x10'], {
    encoding: 'utf8',
  });
  try {
    const [e] = JSON.parse(q.stdout);
    if (e?.name && e.size)
      return `npx ksym lookup ${src.map((a) => a.replace(ROOT + '/', '') + ' ').join('')}${e.name}+0x10/0x${e.size.toString(16)}`;
  } catch {
    /* no example */
  }
  return 'npx ksym lookup ADDRESS|NAME+0xOFF/0xSIZE';
}
