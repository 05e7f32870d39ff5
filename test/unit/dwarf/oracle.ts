/** Oracles for the DWARF tests: llvm-symbolizer (JSON) and addr2line, run once over many addresses. */
import { execFileSync, spawnSync } from 'node:child_process';
import { normalizePath } from '../../../server/src/core/dwarf/paths';
import type { SourceResult } from '../../../server/src/core/dwarf/reader';

export function haveTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export interface OracleFrame {
  function: string;
  file: string;
  line: number;
  column: number;
  discriminator: number;
}

/** llvm-symbolizer --inlining --output-style=JSON for each address (hex strings). */
export function llvmSymbolize(obj: string, addrs: string[]): OracleFrame[][] {
  const out = execFileSync('llvm-symbolizer', ['--inlining', '--output-style=JSON', `--obj=${obj}`], {
    input: addrs.join('\n') + '\n',
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const j = JSON.parse(l) as {
        Symbol: { FunctionName: string; FileName: string; Line: number; Column: number; Discriminator: number }[];
      };
      return j.Symbol.map((s) => ({
        function: s.FunctionName,
        file: s.FileName ? normalizePath(s.FileName) : '',
        line: s.Line,
        column: s.Column,
        discriminator: s.Discriminator,
      }));
    });
}

/** addr2line -f -i -e obj [-j section]: frames (function, file, line) per address. */
export function addr2line(obj: string, addrs: string[], section?: string): { function: string; file: string; line: number }[][] {
  const args = ['-f', '-i', '-a', '-e', obj, ...(section ? ['-j', section] : [])];
  const out = execFileSync('addr2line', args, { input: addrs.join('\n') + '\n', maxBuffer: 1 << 28, encoding: 'utf8' });
  const res: { function: string; file: string; line: number }[][] = [];
  const lines = out.split('\n');
  let cur: { function: string; file: string; line: number }[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^0x[0-9a-f]+$/.test(l)) {
      cur = [];
      res.push(cur);
      continue;
    }
    if (!cur || l === '') continue;
    const loc = lines[++i] ?? '';
    const m = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(loc);
    cur.push({ function: l, file: m ? normalizePath(m[1]) : loc, line: m && m[2] !== '?' ? Number(m[2]) : 0 });
  }
  return res;
}

/**
 * Compare ksym's chain with llvm-symbolizer's: undefined when equal, else a description.
 * llvm-symbolizer replaces the outermost frame's name with the symbol-table name
 * (put_pid.part.0 for DWARF put_pid); ksym does the same only when the caller passes the
 * symbol, so the outermost name is compared with addr2line instead. Where no DWARF
 * function covers an address llvm prints an empty (or symbol-table) name with the line
 * table's line: ksym says `no-function` (never borrowing a name) with the same line.
 */
export function diffLlvm(k: SourceResult, o: OracleFrame[]): string | undefined {
  const oNoFn = o.length === 0 || (o.length === 1 && (o[0].function === '??' || o[0].function === '' || o[0].file === ''));
  if (
    k.kind === 'no-function' &&
    k.line &&
    o.length === 1 &&
    `${k.line.file}:${k.line.line}:${k.line.column ?? 0}` === `${o[0].file}:${o[0].line}:${o[0].column}`
  ) {
    // Same line; llvm took the name from the symbol table (the caller checks with
    // llvm-dwarfdump --lookup that no subprogram DIE covers the address).
    return undefined;
  }
  if (k.kind !== 'found' && o.length === 1 && o[0].line === 0 && !o[0].file.includes('/')) return undefined; // llvm's STT_FILE/symbol fallback (crtstuff.c): no DWARF there
  if (k.kind !== 'found') {
    if (!oNoFn)
      return `ksym ${k.kind} (${'reason' in k ? k.reason : ''}), llvm ${o.map((f) => `${f.function}@${f.file}:${f.line}`).join(' < ')}`;
    if (o.length === 0 || o[0].file === '')
      return k.kind === 'no-function' && k.line ? `ksym has a line (${k.line.file}:${k.line.line}), llvm none` : undefined;
    if (k.kind !== 'no-function' || !k.line) return `ksym ${k.kind} without a line, llvm ${o[0].file}:${o[0].line}`;
    // llvm names the symbol-table symbol there (an alias or asm entry without a DWARF subprogram).
    const a = `${k.line.file}:${k.line.line}:${k.line.column ?? 0}`,
      b = `${o[0].file}:${o[0].line}:${o[0].column}`;
    return a === b ? undefined : `ksym no-function at ${a}, llvm ${b}`;
  }
  // No line-table row (e.g. the first byte of some .cold parts): llvm 14 prints the STT_FILE
  // symbol's bare name with line 0, a symbol-table fallback; ksym reports line 0 and no file.
  const last = o[o.length - 1];
  if (o.length === 1 && last.line === 0 && !last.file.includes('/') && k.frames.length === 1 && k.frames[0].line === 0) return undefined;
  if (oNoFn && o[0]?.file === '' && o[0]?.function !== '')
    return `ksym ${k.frames.map((f) => f.dwarfFunction).join(' < ')}, llvm has no DWARF here`;
  const n = k.frames.length;
  const kf = k.frames.map((f, i) => `${i === n - 1 ? '' : f.dwarfFunction}@${f.file}:${f.line}:${f.column ?? 0}`).join(' < ');
  const of = o.map((f, i) => `${i === o.length - 1 ? '' : f.function}@${f.file}:${f.line}:${f.column}`).join(' < ');
  return kf === of ? undefined : `ksym ${kf}\n  llvm ${of}`;
}
