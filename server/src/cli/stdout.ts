/**
 * Standard output written with write(2) directly. Creating `process.stdout` loads
 * Node's stream machinery (3-6 ms: a tty, file or pipe stream), which for a short
 * command like `ksym btf --stats` is a large part of its run time.
 */
import { writeSync } from 'node:fs';
import { inert } from './common';

/**
 * Write all of `text` to fd 1. A closed pipe (`ksym ... | head`) ends the process
 * quietly like the CLI's stdout error handler does; a non-blocking stdout that is full
 * hands the rest to process.stdout.
 */
export function writeStdout(text: string): void {
  // Escape sequences made inert (common.ts); --json output keeps valid JSON.
  const buf = Buffer.from(inert(text, process.argv.includes('--json')), 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(1, buf, off, buf.length - off);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN') process.exit(code === 'EPIPE' ? 0 : 2);
    process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 2));
    process.stdout.write(buf.subarray(off));
  }
}
