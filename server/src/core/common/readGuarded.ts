/**
 * The guarded reader: the one way core/ reads a file it did not write itself (symbol
 * tables, BTF, modules, logs, anything a setting, the workspace, the command line or a
 * download names). No dependencies beyond node:fs: dist/server.js (lsp/boot.ts) uses it
 * before the server bundle loads.
 *
 * What every read holds to:
 * - The type is checked before the file is opened (stat), and again on the open file
 *   (fstat): only regular files. Directories are EISDIR, devices, FIFOs and sockets
 *   ENOTREG. The open itself is O_NONBLOCK | O_NOCTTY, so a FIFO swapped in between
 *   the two checks (or renamed over a watched source) neither blocks the open nor a read:
 *   the fstat refuses it before anything is read.
 * - Files on procfs and sysfs (stat sizes of 0 or 4096 that are not their length) are
 *   refused unless the caller passes `pseudo: true` (the kallsyms and BTF sources, whose
 *   defaults live there). Those are read to their end, under the byte budget.
 * - The size is taken once and refused above `maxBytes` with a message that states
 *   the size and the limit (GuardedReadError code EFBIG). A regular file is read up to
 *   the size it had when opened: a file appended to while it is read gives what it held
 *   then, in bounded time; a file that shrinks gives what is left.
 * - A time budget (`timeMs`, default 10 s) is checked between chunks (ETIMEDOUT).
 *
 * API:
 *   openGuarded(file, opts) → GuardedFile: for big files read by offset (readAt / readExact),
 *     then close(). Reads past the size taken at open are refused.
 *   readGuardedSync(file, opts) → Uint8Array: the whole file, bounded as above.
 *   readGuardedText(file, opts) → string (UTF-8).
 * Errors: GuardedReadError (code ENOTREG | EFBIG | ETIMEDOUT | EPSEUDO, message without
 * the file: describeError() in errors.ts names it once), errno errors from the system
 * (ENOENT, EACCES, EISDIR), FormatError for a short readExact.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { FormatError } from './errors';

export type GuardCode = 'ENOTREG' | 'EFBIG' | 'ETIMEDOUT' | 'EPSEUDO' | 'EISDIR';

export class GuardedReadError extends Error {
  constructor(
    readonly file: string,
    readonly code: GuardCode,
    reason: string,
  ) {
    super(reason);
    this.name = 'GuardedReadError';
  }
}

export interface GuardOptions {
  /** Largest size accepted, in bytes (the stat size, and the bytes read for procfs/sysfs files). */
  maxBytes: number;
  /** What the file should be, for messages, after "a" ("kallsyms or System.map file", "module", "BTF file"). */
  what?: string;
  /** Time budget for the whole read, ms (default 10,000). */
  timeMs?: number;
  /** Allow files on procfs and sysfs (/proc/kallsyms, /sys/kernel/btf/vmlinux). */
  pseudo?: boolean;
}

export const DEFAULT_READ_MS = 10_000;
/** Bytes per read(2) between time checks. */
const CHUNK = 8 << 20;

export function formatBytes(n: number): string {
  if (n >= 2 ** 30 && n % 2 ** 30 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** Files on procfs or sysfs: their stat size is not their length. */
export function isPseudoPath(real: string): boolean {
  return real === '/proc' || real === '/sys' || real.startsWith('/proc/') || real.startsWith('/sys/');
}

function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function checkType(file: string, st: Stats, what: string): void {
  if (st.isDirectory()) throw new GuardedReadError(file, 'EISDIR', `is a directory, expected a ${what}`);
  if (!st.isFile()) throw new GuardedReadError(file, 'ENOTREG', `${kindOf(st)}, not a regular file: expected a ${what}`);
}

function tooBig(file: string, size: number, opts: GuardOptions, grew = false): GuardedReadError {
  const what = opts.what ?? 'file';
  const how = grew ? `grew past ${formatBytes(opts.maxBytes)} while being read` : `${formatBytes(size)} (${size} bytes)`;
  return new GuardedReadError(file, 'EFBIG', `${how}: more than the ${formatBytes(opts.maxBytes)} limit for a ${what}`);
}

/** An open, checked file: read it by offset. */
export interface GuardedFile {
  readonly file: string;
  readonly fd: number;
  /** The size at open (0 for most procfs files: see `pseudo`). */
  readonly size: number;
  /** On procfs/sysfs: the size is not the length; read to the end with readGuardedSync. */
  readonly pseudo: boolean;
  /** pread up to `len` bytes at `pos` into buf[off..]; the bytes read (short at the end of the file). */
  readAt(buf: Uint8Array, off: number, pos: number, len: number): number;
  /** Exactly `len` bytes at `pos`, or a FormatError naming `what`, the file and the offset. */
  readExact(pos: number, len: number, what?: string): Uint8Array;
  close(): void;
}

/**
 * Open `file` for reading after checking its type (stat before, fstat after an
 * O_NONBLOCK open) and its size against `opts.maxBytes`. Never blocks on a FIFO.
 */
export function openGuarded(file: string, opts: GuardOptions): GuardedFile {
  const what = opts.what ?? 'regular file';
  checkType(file, statSync(file), what);
  let pseudo = false;
  try {
    pseudo = isPseudoPath(realpathSync.native(file));
  } catch {
    /* the open reports it */
  }
  if (pseudo && !opts.pseudo) throw new GuardedReadError(file, 'EPSEUDO', `a procfs/sysfs file, not accepted here: expected a ${what}`);
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  let ok = false;
  try {
    const st = fstatSync(fd);
    checkType(file, st, what);
    if (st.size > opts.maxBytes) throw tooBig(file, st.size, opts);
    ok = true;
    const size = st.size;
    let open = true;
    const readAt = (buf: Uint8Array, off: number, pos: number, len: number): number => {
      if (!open) throw new Error(`${file}: read after close`);
      if (!pseudo) len = Math.max(0, Math.min(len, size - pos));
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, off + got, len - got, pos + got);
        if (n <= 0) break;
        got += n;
      }
      return got;
    };
    return {
      file,
      fd,
      size,
      pseudo,
      readAt,
      readExact(pos, len, part = 'data') {
        if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || (!pseudo && pos + len > size)) {
          throw new FormatError(
            file,
            Math.max(0, pos) || 0,
            `${part} (${len} bytes at 0x${pos.toString(16)}) extends past the end of the file (${size} bytes)`,
          );
        }
        const out = new Uint8Array(len);
        const got = readAt(out, 0, pos, len);
        if (got !== len)
          throw new FormatError(
            file,
            pos + got,
            `${part} (${len} bytes at 0x${pos.toString(16)}) extends past the end of the file (it shrank while being read?)`,
          );
        return out;
      },
      close() {
        if (!open) return;
        open = false;
        closeSync(fd);
      },
    };
  } finally {
    if (!ok) closeSync(fd);
  }
}

/** Read a whole open GuardedFile under the options' byte and time budgets. */
export function readAllGuarded(g: GuardedFile, opts: GuardOptions): Uint8Array {
  const t0 = Date.now();
  const budget = opts.timeMs ?? DEFAULT_READ_MS;
  const limit = opts.maxBytes;
  if (!g.pseudo && g.size > limit) throw tooBig(g.file, g.size, opts);
  // A regular file: up to the size it had at open. procfs/sysfs: to the end, at most limit + 1.
  const target = g.pseudo ? limit + 1 : g.size;
  // sysfs files that state their size (/sys/kernel/btf/vmlinux) get one buffer of exactly that size.
  let buf = Buffer.allocUnsafe(g.pseudo ? Math.min(target, g.size > 0 ? g.size : 8 << 20) : target);
  let n = 0;
  while (n < target) {
    if (n === buf.length && g.pseudo && n === g.size) {
      // Filled to the stated size: is there more? (read into a small probe, not a larger copy)
      const probe = Buffer.allocUnsafe(1 << 16);
      const more = readSync(g.fd, probe, 0, probe.length, null);
      if (more <= 0) break;
      const b = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, n + more), target));
      buf.copy(b, 0, 0, n);
      probe.copy(b, n, 0, Math.min(more, b.length - n));
      buf = b;
      n += Math.min(more, b.length - n);
      continue;
    }
    if (n === buf.length) {
      const b = Buffer.allocUnsafe(Math.min(buf.length * 2, target));
      buf.copy(b, 0, 0, n);
      buf = b;
    }
    const want = Math.min(buf.length - n, CHUNK);
    // procfs: sequential reads (seq_file); regular files: by position.
    let got: number;
    try {
      got = readSync(g.fd, buf, n, want, g.pseudo ? null : n);
    } catch (e) {
      // O_NONBLOCK: a procfs file that waits for data (/proc/kmsg) says so instead of blocking.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN')
        throw new GuardedReadError(g.file, 'ENOTREG', `would block waiting for data (like /proc/kmsg): not a file that can be read whole`);
      throw e;
    }
    if (got <= 0) break;
    n += got;
    if (Date.now() - t0 > budget)
      throw new GuardedReadError(
        g.file,
        'ETIMEDOUT',
        `reading took longer than ${budget} ms (${formatBytes(n)} read): a file that never ends?`,
      );
  }
  if (n > limit) throw tooBig(g.file, n, opts, true);
  // Keep a small result from pinning a large buffer.
  return n < buf.length / 2 ? Uint8Array.prototype.slice.call(buf, 0, n) : new Uint8Array(buf.buffer, buf.byteOffset, n);
}

/** The whole file, type- and size-checked, read under a byte and a time budget. */
export function readGuardedSync(file: string, opts: GuardOptions): Uint8Array {
  const g = openGuarded(file, opts);
  try {
    return readAllGuarded(g, opts);
  } finally {
    g.close();
  }
}

/** The whole file as UTF-8 text, as readGuardedSync. */
export function readGuardedText(file: string, opts: GuardOptions): string {
  const b = readGuardedSync(file, opts);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/**
 * All of an already open descriptor (standard input: a pipe, a terminal or a file), at most
 * `opts.maxBytes` (EFBIG past it). A pipe blocks until its writer writes or closes: only for
 * the user's own stdin, never for a path from a setting or a file.
 */
export function readFdBounded(fd: number, label: string, opts: GuardOptions): Uint8Array {
  const chunks: Buffer[] = [];
  let n = 0;
  for (;;) {
    const b = Buffer.allocUnsafe(1 << 20);
    let got: number;
    try {
      got = readSync(fd, b, 0, b.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // a non-blocking stdin: wait for data
        continue;
      }
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (got <= 0) break;
    chunks.push(b.subarray(0, got));
    n += got;
    if (n > opts.maxBytes) throw tooBig(label, n, opts, true);
  }
  const out = Buffer.concat(chunks, n);
  return new Uint8Array(out.buffer, out.byteOffset, n);
}

/** The real path of `file` (for deduplicating sources), or the path itself when it cannot be resolved. */
export function realPathOf(file: string): string {
  try {
    return realpathSync.native(file);
  } catch {
    return file;
  }
}
