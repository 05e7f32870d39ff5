// Hostile inputs made on the spot, shared by the attack bench (bench/attacks.mjs) and the
// hostile CLI tests (test/hostile/cli.test.ts): a small valid kallsyms text to run against,
// FIFOs with no writer, sparse giants and decompression bombs.
import { closeSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A small, valid kallsyms text: five symbols, _stext/_text to _etext. */
export const SMALL_KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T _text',
  'ffffffff81001000 T schedule',
  'ffffffff81001100 t helper',
  'ffffffff81002000 T _etext',
];

/** Makers of hostile files under `dir`; each returns the file's path. */
export function hostileFiles(dir) {
  return {
    /** `lines` (default SMALL_KALLSYMS) as a kallsyms file. */
    kallsyms(name, lines = SMALL_KALLSYMS) {
      const f = join(dir, name);
      writeFileSync(f, lines.join('\n') + '\n');
      return f;
    },
    /** A FIFO nobody writes to. */
    fifo(name) {
      const f = join(dir, name);
      execFileSync('mkfifo', [f]);
      return f;
    },
    /** A sparse file of `size` bytes (no blocks on disk). */
    sparse(name, size) {
      const f = join(dir, name);
      const fd = openSync(f, 'w');
      ftruncateSync(fd, size);
      closeSync(fd);
      return f;
    },
    /** A compressed stream of `mib` MiB of zeros, made by the system tool (streaming). */
    bomb(name, tool, mib = 256) {
      const f = join(dir, name);
      execFileSync('sh', ['-c', `head -c ${mib}M /dev/zero | ${tool} > '${f}'`]);
      return f;
    },
  };
}
