/** Raw ELF section bytes for tests: what a debuginfod server answers for `/section/NAME`. */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

/** A section's raw bytes at the offset and size `readelf -SW` gives: what debuginfod answers for /section/NAME. */
export function sectionBytes(elf: string, name: string): Uint8Array {
  const t = execFileSync('readelf', ['-SW', elf], { encoding: 'utf8' });
  const m = new RegExp(`\\] ${name.replace('.', '\\.')}\\s+\\S+\\s+[0-9a-f]+ ([0-9a-f]+) ([0-9a-f]+)`).exec(t);
  if (!m) throw new Error(`${elf}: no section ${name}`);
  const off = parseInt(m[1], 16);
  const size = parseInt(m[2], 16);
  const b = Buffer.alloc(size);
  const fd = openSync(elf, 'r');
  try {
    readSync(fd, b, 0, size, off);
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(b.buffer, b.byteOffset, size);
}
