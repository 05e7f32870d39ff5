// The guarded reader (core/common/readGuarded.ts) on every file type and size class:
// FIFOs (no writer: neither open nor read blocks), devices, directories, sockets,
// sparse giants, procfs files of stat size 0, files appended to or shrunk while read.
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  constants,
  readSync,
  fstatSync,
  writeFileSync,
  truncateSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError, FormatError } from '../../server/src/core/common/errors';
import { GuardedReadError, openGuarded, readAllGuarded, readFdBounded, readGuardedSync } from '../../server/src/core/common/readGuarded';

const dir = mkdtempSync(join(tmpdir(), 'ksym-guard-'));
const opts = { maxBytes: 1 << 20, what: 'test file' };

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).name;
  }
  return undefined;
}

function timed<T>(f: () => T): { ms: number; value?: T; error?: unknown } {
  const t0 = performance.now();
  try {
    const value = f();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

describe('type before open', () => {
  it('a FIFO with no writer: refused at once, the open never blocks', () => {
    const f = join(dir, 'f.fifo');
    execFileSync('mkfifo', [f]);
    const r = timed(() => readGuardedSync(f, opts));
    expect(r.error).toBeInstanceOf(GuardedReadError);
    expect((r.error as GuardedReadError).code).toBe('ENOTREG');
    expect(describeError(f, r.error)).toBe(`${f}: a FIFO (named pipe), not a regular file: expected a test file`);
    expect(r.ms).toBeLessThan(1000);
  });

  it('the open flags the reader uses (O_NONBLOCK) neither block the open nor the read of a FIFO without a writer', () => {
    // What protects a FIFO swapped in between stat and open: the open returns, fstat says FIFO.
    const f = join(dir, 'g.fifo');
    execFileSync('mkfifo', [f]);
    const r = timed(() => {
      const fd = openSync(f, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      try {
        expect(fstatSync(fd).isFIFO()).toBe(true);
        return readSync(fd, Buffer.alloc(16), 0, 16, null); // no writer: end of file at once
      } finally {
        closeSync(fd);
      }
    });
    expect(r.error).toBeUndefined();
    expect(r.value).toBe(0);
    expect(r.ms).toBeLessThan(1000);
  });

  it('devices, directories and sockets are refused without reading', async () => {
    expect(describeError('/dev/zero', timed(() => readGuardedSync('/dev/zero', opts)).error)).toBe(
      '/dev/zero: a character device, not a regular file: expected a test file',
    );
    expect(code(() => readGuardedSync('/dev/null', opts))).toBe('ENOTREG');
    expect(code(() => readGuardedSync(dir, opts))).toBe('EISDIR');
    const sock = join(dir, 's.sock');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    try {
      expect(describeError(sock, timed(() => readGuardedSync(sock, opts)).error)).toMatch(/a socket, not a regular file/);
    } finally {
      srv.close();
    }
    expect(code(() => readGuardedSync(join(dir, 'missing'), opts))).toBe('ENOENT');
  });

  it('procfs and sysfs only when the caller allows them; then read to the end (stat size 0)', () => {
    expect(code(() => readGuardedSync('/proc/self/status', opts))).toBe('EPSEUDO');
    expect(fstatSync(openSync('/proc/self/status', 'r')).size).toBe(0);
    const b = readGuardedSync('/proc/self/status', { ...opts, pseudo: true });
    expect(Buffer.from(b).toString()).toMatch(/^Name:/);
    // A symlink into /proc is judged by where it points.
    const l = join(dir, 'status.link');
    execFileSync('ln', ['-s', '/proc/self/status', l]);
    expect(code(() => readGuardedSync(l, opts))).toBe('EPSEUDO');
  });
});

describe('size limits, stated', () => {
  it('a 2 GiB sparse file is refused from its size, nothing read', () => {
    const f = join(dir, 'huge');
    const fd = openSync(f, 'w');
    ftruncateSync(fd, 2 ** 31);
    closeSync(fd);
    const before = process.memoryUsage().rss;
    const r = timed(() => readGuardedSync(f, { maxBytes: 1 << 30, what: 'kallsyms or System.map file' }));
    expect(describeError(f, r.error)).toBe(`${f}: 2 GiB (2147483648 bytes): more than the 1 GiB limit for a kallsyms or System.map file`);
    expect(r.ms).toBeLessThan(500);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('a procfs file past the limit: EFBIG, read no further than the limit', () => {
    const r = timed(() => readGuardedSync('/proc/self/maps', { maxBytes: 16, what: 'map', pseudo: true }));
    expect((r.error as GuardedReadError).code).toBe('EFBIG');
    expect((r.error as Error).message).toMatch(/grew past 16 bytes while being read: more than the 16 bytes limit for a map/);
  });

  it('the time budget', () => {
    const r = timed(() => readGuardedSync('/proc/self/maps', { maxBytes: 1 << 20, pseudo: true, timeMs: -1 }));
    expect((r.error as GuardedReadError).code).toBe('ETIMEDOUT');
  });
});

describe('files that change while read', () => {
  it('appended to after open: the bytes it held at open', () => {
    const f = join(dir, 'growing');
    writeFileSync(f, 'a'.repeat(1000));
    const g = openGuarded(f, opts);
    try {
      appendFileSync(f, 'b'.repeat(5000));
      const b = readAllGuarded(g, opts);
      expect(b.length).toBe(1000);
      expect(Buffer.from(b).toString()).toBe('a'.repeat(1000));
    } finally {
      g.close();
    }
  });

  it('appended to by another process all the time: ends, in bounded time', () => {
    const f = join(dir, 'appended');
    writeFileSync(f, 'x'.repeat(1 << 20));
    const writer = execFileSync('sh', [
      '-c',
      `(i=0; while [ $i -lt 2000 ]; do printf '%01024d' 0 >> '${f}'; i=$((i+1)); done) >/dev/null 2>&1 & echo $!`,
    ])
      .toString()
      .trim();
    try {
      const r = timed(() => readGuardedSync(f, { maxBytes: 64 << 20 }));
      expect(r.error).toBeUndefined();
      expect(r.value!.length).toBeGreaterThanOrEqual(1 << 20);
      expect(r.ms).toBeLessThan(2000);
    } finally {
      try {
        process.kill(Number(writer));
      } catch {
        /* done */
      }
    }
  });

  it('shrunk after open: readExact says where the data ended, readAll gives what is left', () => {
    const f = join(dir, 'shrinking');
    writeFileSync(f, 'z'.repeat(4096));
    const g = openGuarded(f, opts);
    try {
      truncateSync(f, 100);
      expect(() => g.readExact(0, 4096, 'header')).toThrow(FormatError);
      expect(() => g.readExact(0, 4096, 'header')).toThrow(/header \(4096 bytes at 0x0\) extends past the end of the file/);
      expect(readAllGuarded(g, opts).length).toBe(100);
    } finally {
      g.close();
    }
  });

  it('reads by offset stay inside the size taken at open', () => {
    const f = join(dir, 'offsets');
    writeFileSync(f, Buffer.from([...Array(256).keys()]));
    const g = openGuarded(f, opts);
    try {
      expect([...g.readExact(250, 6)]).toEqual([250, 251, 252, 253, 254, 255]);
      expect(() => g.readExact(250, 7)).toThrow(/extends past the end of the file \(256 bytes\)/);
      expect(() => g.readExact(2 ** 60, 1)).toThrow(FormatError);
      expect(() => g.readExact(-1, 1)).toThrow(FormatError);
    } finally {
      g.close();
    }
    expect(() => g.readExact(0, 1)).toThrow(/read after close/);
  });
});

describe('standard input', () => {
  it('a descriptor is read to its end under the byte limit', () => {
    const f = join(dir, 'stdin-like');
    writeFileSync(f, 'y'.repeat(3000));
    const fd = openSync(f, 'r');
    try {
      expect(readFdBounded(fd, '<stdin>', opts).length).toBe(3000);
    } finally {
      closeSync(fd);
    }
    const fd2 = openSync(f, 'r');
    try {
      expect(() => readFdBounded(fd2, '<stdin>', { maxBytes: 100 })).toThrow(/grew past 100 bytes/);
    } finally {
      closeSync(fd2);
    }
  });
});

afterAll(() => execFileSync('rm', ['-rf', dir]));
