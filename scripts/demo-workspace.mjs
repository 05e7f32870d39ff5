// Generates a demo workspace from the running kernel, so every feature has real data:
//   oops-this-kernel.oops  call traces of this kernel (/proc/<pid>/stack, the kernel's own
//                          %pB output) with their real return addresses, a RIP: line and
//                          a module-free x86 layout
//   this-kernel.kallsyms   a snapshot of /proc/kallsyms
//   livepatch-sample.c     a klp_func/klp_object livepatch source using positions
// Falls back to the shared corpus (System.map + a real oops) when this kernel's symbols
// are not readable. Used by scripts/start-editor.mjs and the end-to-end tests.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './editor-setup.mjs';

const CLI = join(ROOT, 'dist/cli.js');

export function liveKallsymsReadable() {
  try {
    const head = readFileSync('/proc/kallsyms', 'latin1').slice(0, 17);
    return /^[0-9a-f]{16} /.test(head) && !/^0{16}/.test(head);
  } catch {
    return false;
  }
}

function stacks() {
  const result = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const frames = [...readFileSync(`/proc/${pid}/stack`, 'latin1').matchAll(/^\[<[0-9a-f]+>\] (\S+)$/gm)].map((m) => m[1]);
      const comm = readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
      if (frames.length >= 3) result.push({ pid, comm, frames });
    } catch {
      /* gone or not permitted */
    }
  }
  return result;
}

function lookup(queries, extra = []) {
  const out = execFileSync(process.execPath, [CLI, 'lookup', '--json', ...extra, ...queries], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 26,
  }).toString();
  return JSON.parse(out || '[]');
}

/** Returns {dir, log, kallsyms, live, frames: [{line, text, address}]}. */
export function makeDemoWorkspace(dir) {
  mkdirSync(dir, { recursive: true });
  const live = liveKallsymsReadable();
  const info = { dir, live, log: join(dir, 'oops-this-kernel.oops'), kallsyms: join(dir, 'this-kernel.kallsyms'), frames: [] };
  if (live) {
    writeFileSync(info.kallsyms, readFileSync('/proc/kallsyms'));
    const seen = new Set();
    const chosen = stacks()
      .filter((s) => {
        const k = s.frames.join('|');
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .slice(0, 4);
    const queries = [...new Set(chosen.flatMap((s) => s.frames))];
    const addr = new Map(
      lookup(queries)
        .filter((e) => e.address)
        .map((e) => [e.query, e.address]),
    );
    const release = readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim();
    const lines = [`[    0.000000] Linux version ${release} (ksym demo: call traces of the running kernel, from /proc/<pid>/stack)`];
    let t = 100;
    const ts = () => `[${(t++).toFixed(6).padStart(12)}]`;
    // A RIP line: the exact address of a real function + 0x10 (printed with %pS).
    const rip = lookup(['do_syscall_64+0x10'])[0];
    if (rip?.address) lines.push(`${ts()} RIP: 0010:${rip.name}+0x10/0x${rip.size.toString(16)}`, `${ts()} RIP: 0010:[<${rip.address}>]`);
    for (const s of chosen) {
      lines.push(`${ts()} task:${s.comm} state:S pid:${s.pid}`, `${ts()} Call Trace:`, `${ts()}  <TASK>`);
      for (const f of s.frames) {
        const a = addr.get(f);
        const text = a ? `${ts()}  [<${a}>] ${f}` : `${ts()}  ${f}`;
        info.frames.push({ line: lines.length, text: f, address: a });
        lines.push(text);
      }
      lines.push(`${ts()}  </TASK>`);
    }
    writeFileSync(info.log, lines.join('\n') + '\n');
  } else {
    const map = resolve(ROOT, '../shared/corpus/debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64');
    const oops = resolve(ROOT, '../shared/corpus/oops/03-x86_64-4.4-oldfmt-gpf-qmark-rip-brackets.txt');
    if (existsSync(map)) copyFileSync(map, info.kallsyms);
    if (existsSync(oops)) copyFileSync(oops, info.log);
    mkdirSync(join(dir, '.vscode'), { recursive: true });
    writeFileSync(join(dir, '.vscode/settings.json'), JSON.stringify({ 'ksym.kallsyms': [], 'ksym.systemMap': [info.kallsyms] }, null, 2));
  }
  writeFileSync(
    join(dir, 'livepatch-sample.c'),
    `// A livepatch in the style of samples/livepatch/livepatch-sample.c.
#include <linux/module.h>
#include <linux/livepatch.h>

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
\tseq_printf(m, "%s\\n", "this has been live patched");
\treturn 0;
}

static struct klp_func funcs[] = {
\t{
\t\t.old_name = "cmdline_proc_show",
\t\t.new_func = livepatch_cmdline_proc_show,
\t},
\t{
\t\t/* paravirt_read_msr has many copies in vmlinux: position 0 is ambiguous */
\t\t.old_name = "paravirt_read_msr",
\t\t.new_func = livepatch_cmdline_proc_show,
\t\t.old_sympos = 0,
\t}, { }
};

static struct klp_object objs[] = {
\t{
\t\t/* name being NULL means vmlinux */
\t\t.funcs = funcs,
\t}, { }
};

static struct klp_patch patch = {
\t.mod = THIS_MODULE,
\t.objs = objs,
};
`,
  );
  return info;
}
