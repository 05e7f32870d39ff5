/**
 * Reading a whole source file. No dependencies: dist/server.js (boot.ts) uses it before the
 * server bundle loads.
 *
 * Synchronous: the index build that follows blocks the thread anyway, and procfs files (size
 * 0: /proc/kallsyms is generated on read, at most a page per read(2)) would otherwise cost a
 * thread-pool round trip per page: ~1,300 of them, 130 ms where the kernel itself needs 40 ms.
 */
import { readGuardedSync } from '../common/readGuarded';

/** The running kernel's symbol table: the default source of the CLI and the language server. */
export const DEFAULT_KALLSYMS = '/proc/kallsyms';

/** Largest source file read (a kallsyms text of 1 GiB is ~20 million symbols). */
const MAX_SOURCE_BYTES = 1 << 30;

/**
 * The file's bytes, through the guarded reader (core/common/readGuarded.ts): regular files
 * and procfs/sysfs files only, never a FIFO or a device, at most MAX_SOURCE_BYTES, in a
 * time budget. Throws GuardedReadError (EFBIG, ENOTREG, ...) or an errno error.
 */
export function readWholeSync(file: string): Uint8Array {
  return readGuardedSync(file, { maxBytes: MAX_SOURCE_BYTES, what: 'kallsyms or System.map file', pseudo: true });
}
