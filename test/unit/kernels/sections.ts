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

export interface Sym {
  name: string;
  value: bigint;
  size?: bigint;
  type?: number;
  bind?: number;
  shndx?: number;
}

/** A .symtab/.strtab pair: entry 0 zero, then `syms` in order (ELF64 or ELF32, either byte order). */
export function sections(syms: Sym[], o: { elfClass?: 32 | 64; bigEndian?: boolean } = {}): { symtab: Uint8Array; strtab: Uint8Array } {
  const is64 = (o.elfClass ?? 64) === 64;
  const ent = is64 ? 24 : 16;
  const le = !o.bigEndian;
  const names: number[] = [0];
  const offs: number[] = [];
  for (const s of syms) {
    offs.push(names.length);
    names.push(...Buffer.from(s.name, 'latin1'), 0);
  }
  const symtab = new Uint8Array(ent * (syms.length + 1));
  const dv = new DataView(symtab.buffer);
  syms.forEach((s, k) => {
    const b = (k + 1) * ent;
    const info = ((s.bind ?? 1) << 4) | (s.type ?? 2);
    dv.setUint32(b, offs[k], le);
    if (is64) {
      symtab[b + 4] = info;
      dv.setUint16(b + 6, s.shndx ?? 1, le);
      dv.setBigUint64(b + 8, s.value, le);
      dv.setBigUint64(b + 16, s.size ?? 0n, le);
    } else {
      dv.setUint32(b + 4, Number(s.value), le);
      dv.setUint32(b + 8, Number(s.size ?? 0n), le);
      symtab[b + 12] = info;
      dv.setUint16(b + 14, s.shndx ?? 1, le);
    }
  });
  return { symtab, strtab: Uint8Array.from(names) };
}
