/**
 * The file-backed ByteSource: opened once, read by offset (pread), never read whole.
 * The only file of core/dwarf that touches node:fs.
 */
import { closeSync, fstatSync, openSync, readSync, existsSync, statSync, readFileSync } from 'node:fs';
import { FormatError } from '../common/errors';
import type { ByteSource } from './source';
import { DwarfReader, type DwarfReaderOptions } from './reader';

export function fileSource(path: string): ByteSource {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new FormatError(path, 0, `cannot open: ${e instanceof Error ? e.message : String(e)}`);
  }
  const size = fstatSync(fd).size;
  return {
    name: path,
    size,
    read(offset: number, length: number): Uint8Array {
      if (fd === undefined) throw new FormatError(path, offset, 'read after close');
      const ub = Buffer.allocUnsafeSlow(length);
      const buf = new Uint8Array(ub.buffer, ub.byteOffset, length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n <= 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Open a debug file's DWARF by path. Throws FormatError. */
export function readDwarfFile(path: string, opts?: DwarfReaderOptions): DwarfReader {
  const src = fileSource(path);
  try {
    return DwarfReader.open(src, opts);
  } catch (e) {
    src.close?.();
    throw e;
  }
}

/** File-system probes for locate.ts (kept here: the only node:fs user). */
export const nodeProbe = {
  isFile(p: string): boolean {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  },
  isDir(p: string): boolean {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  exists: existsSync,
  readSmall(p: string): Uint8Array | undefined {
    try {
      return readFileSync(p);
    } catch {
      return undefined;
    }
  },
};
