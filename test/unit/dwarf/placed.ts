/**
 * A third oracle for relocatable objects (.o, .ko): an ld-placed copy with every
 * executable section at an address of its own (a linker script names each one), so that
 * llvm-symbolizer — which has no section selector and mixes the overlapping sections of
 * a raw object — reads one unambiguous address per (section, offset). Undefined symbols
 * resolve to 0 (--unresolved-symbols=ignore-all); only the DWARF matters here.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { fileSource } from '../../../server/src/core/dwarf/readFile';

export const PLACE_STRIDE = 0x1000000;

/** Link `obj` into `out` with each executable section at (i + 1) * PLACE_STRIDE; returns name → address. */
export function placeCopy(obj: string, out: string): Map<string, number> {
  const src = fileSource(obj);
  const elf = new ElfView(src);
  // section names of gcc and kernel objects are [\w.]+ (checked: anything else is left out)
  const execs = elf.sections.filter((s) => s.flags & 4 && s.size > 0 && s.type === 1 && /^[\w.]+$/.test(s.name));
  src.close?.();
  const names = [...new Set(execs.map((s) => s.name))];
  const base = new Map<string, number>();
  const lines = names.map((n, i) => {
    base.set(n, (i + 1) * PLACE_STRIDE);
    return `  ${n} 0x${((i + 1) * PLACE_STRIDE).toString(16)} : { *(${n}) }`;
  });
  const script = `${out}.ld`;
  writeFileSync(script, `SECTIONS {\n${lines.join('\n')}\n}\n`);
  execFileSync('ld', ['-o', out, '--unresolved-symbols=ignore-all', '--no-check-sections', '-e', '0', '-T', script, obj], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return base;
}
