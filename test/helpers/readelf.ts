/** `readelf -sW` as the oracle for module symbol tables (one parser for every test). */
import { execFileSync } from 'node:child_process';

export interface ReadelfSym {
  num: number;
  value: number;
  size: number;
  type: string;
  bind: string;
  vis: string;
  /** readelf's Ndx: a number, or UND/ABS/COM. */
  ndx: string;
  name: string;
}

/** Rows of the `.symtab` table, in symtab order. */
export function readelfSymbols(path: string): ReadelfSym[] {
  const text = execFileSync('readelf', ['-sW', path], { maxBuffer: 1 << 28 }).toString();
  const out: ReadelfSym[] = [];
  let inSymtab = false;
  for (const line of text.split('\n')) {
    if (line.startsWith("Symbol table '")) inSymtab = line.startsWith("Symbol table '.symtab'");
    if (!inSymtab) continue;
    const m = /^\s*(\d+): ([0-9a-f]+)\s+(0x[0-9a-f]+|\d+) (\S+)\s+(\S+)\s+(\S+)\s+(UND|ABS|COM|\d+) ?(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      num: +m[1],
      value: parseInt(m[2], 16),
      size: m[3].startsWith('0x') ? parseInt(m[3], 16) : +m[3],
      type: m[4],
      bind: m[5],
      vis: m[6],
      ndx: m[7],
      name: m[8],
    });
  }
  return out;
}

/** Symtab indices of the defined symbols named `name`, in symtab order. */
export function readelfIndices(path: string, name: string): number[] {
  return readelfSymbols(path)
    .filter((s) => s.name === name && s.ndx !== 'UND')
    .map((s) => s.num);
}
