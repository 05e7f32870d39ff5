/**
 * The file-backed ByteSource and the file-system side of locating debug files: opened
 * once through the guarded reader (regular files only, no FIFO can block, a size bound),
 * read by offset (pread), never read whole. The only file of core/dwarf that touches
 * node:fs.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../common/errors';
import { openGuarded, readGuardedSync } from '../common/readGuarded';
import type { ByteSource } from './source';
import { DwarfReader, type DwarfReaderOptions } from './reader';
import type { Candidate } from './locate';

/** Largest debug file accepted (a vmlinux with DWARF is 0.6–1.5 GB). */
const MAX_DEBUG_FILE = 8 * 1024 ** 3;

/** `maxBytes`: the largest file accepted (a debuginfod download's own limit; default MAX_DEBUG_FILE). */
export function fileSource(path: string, maxBytes = MAX_DEBUG_FILE): ByteSource {
  let g: ReturnType<typeof openGuarded> | undefined;
  try {
    g = openGuarded(path, { maxBytes, what: 'debug file (vmlinux or .ko)' });
  } catch (e) {
    throw new FormatError(path, 0, `cannot open: ${e instanceof Error ? e.message : String(e)}`);
  }
  const size = g.size;
  return {
    name: path,
    size,
    read(offset: number, length: number): Uint8Array {
      if (!g) throw new FormatError(path, offset, 'read after close');
      // Small reads (unit and line-program headers, parsed and dropped) come from Node's
      // shared pool instead of an ArrayBuffer each; large ones (units, sections, which the
      // caches keep) get their own buffer so that no pool slab is kept alive by them.
      const ub = length < 4096 ? Buffer.allocUnsafe(length) : Buffer.allocUnsafeSlow(length);
      const buf = new Uint8Array(ub.buffer, ub.byteOffset, length);
      const got = g.readAt(buf, 0, offset, length);
      return got === length ? buf : buf.subarray(0, got);
    },
    readInto(buf: Uint8Array, at: number, offset: number, length: number): number {
      if (!g) throw new FormatError(path, offset, 'read after close');
      return g.readAt(buf, at, offset, length);
    },
    close(): void {
      g?.close();
      g = undefined;
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

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** File-system probes for locate.ts candidates. */
export const nodeProbe = {
  isFile,
  isDir,
  /** Small files only (/sys/kernel/notes, /sys/module/X/notes/.note.gnu.build-id). */
  readSmall(p: string, max = 1 << 16): Uint8Array | undefined {
    try {
      // Guarded: a FIFO or a device is refused unread, a file over `max` bytes is not read at all.
      return readGuardedSync(p, { maxBytes: max, pseudo: true, what: 'notes file' });
    } catch {
      return undefined;
    }
  },
};

/** The first candidate that is a regular file, and what was tried. */
export function firstExisting(cands: readonly Candidate[]): { found?: Candidate; tried: Candidate[] } {
  const tried: Candidate[] = [];
  for (const c of cands) {
    tried.push(c);
    if (isFile(c.path)) return { found: c, tried };
  }
  return { tried };
}

/** Files named one of `names` below `dir` (depth-bounded, symlinked directories not followed), first match in sorted order. */
export function findByName(dir: string, names: readonly string[], maxDepth = 8, maxEntries = 200_000): string | undefined {
  const want = new Set(names);
  let seen = 0;
  const walk = (d: string, depth: number): string | undefined => {
    if (depth > maxDepth || seen > maxEntries) return undefined;
    let ents;
    try {
      ents = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      return undefined;
    }
    seen += ents.length;
    for (const e of ents) if (e.isFile() && want.has(e.name)) return join(d, e.name);
    for (const e of ents)
      if (e.isDirectory()) {
        const r = walk(join(d, e.name), depth + 1);
        if (r) return r;
      }
    return undefined;
  };
  return isDir(dir) ? walk(dir, 0) : undefined;
}
