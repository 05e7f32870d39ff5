/**
 * Reading a whole source file. No dependencies: dist/server.js (boot.ts) uses it before the
 * server bundle loads.
 *
 * Synchronous: the index build that follows blocks the thread anyway, and procfs files (size
 * 0: /proc/kallsyms is generated on read, at most a page per read(2)) would otherwise cost a
 * thread-pool round trip per page: ~1,300 of them, 130 ms where the kernel itself needs 40 ms.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Largest source file read (a kallsyms text of 1 GiB is ~20 million symbols). */
export const MAX_SOURCE_BYTES = 1 << 30;

/** The file's bytes (up to MAX_SOURCE_BYTES + 1, so that the caller can tell it is too large). */
export function readWholeSync(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: 'EISDIR' });
    // Devices and pipes (/dev/zero, a FIFO) could stream forever: only regular files (procfs ones included).
    if (!st.isFile()) throw Object.assign(new Error(`${file}: not a regular file`), { code: 'ENOTREG' });
    let buf = Buffer.allocUnsafe(st.size > 0 ? Math.min(st.size + 1, MAX_SOURCE_BYTES + 1) : 8 << 20);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length > MAX_SOURCE_BYTES) break;
        const b = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_SOURCE_BYTES + 1));
        buf.copy(b, 0, 0, n);
        buf = b;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    // Keep a small result from pinning a large buffer.
    return n < buf.length / 2 ? Uint8Array.prototype.slice.call(buf, 0, n) : buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
