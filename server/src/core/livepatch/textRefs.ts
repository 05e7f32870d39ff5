/**
 * Finds livepatch names in any text (logs, kallsyms, readelf/nm output, C,
 * assembler, build logs): every `.klp.sym.OBJ.SYMBOL,POS` and every
 * `.klp.rela.OBJ.SECTION`, with 0-based line/column ranges. Pure.
 */
import { Finding, KlpRelaName, KlpSymName, parseKlpRelaName, parseKlpSymName } from './sympos';

/** 0-based positions; columns count UTF-16 code units (LSP default). */
export interface TextRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface KlpTextRef {
  kind: 'sym' | 'rela';
  /** The name as written. */
  name: string;
  /** Offsets of the name in the text. */
  start: number;
  end: number;
  range: TextRange;
  /** `.klp.sym`: the kernel's reading (undefined when it would refuse the name). */
  sym?: KlpSymName;
  /** Range of the position digits (`.klp.sym` only, when present). */
  posRange?: TextRange;
  /** Where ",POS" would be inserted when the position is missing. */
  insertPos?: TextRange;
  /** Range of the symbol name part. */
  symbolRange?: TextRange;
  rela?: KlpRelaName;
  /** Name-level findings (format, lengths, '-'). */
  findings: Finding[];
}

/** Offsets of line starts (handles \n, \r\n and \r). */
export function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) out.push(i + 1);
    else if (c === 0x0d) {
      if (text.charCodeAt(i + 1) === 0x0a) i++;
      out.push(i + 1);
    }
  }
  return out;
}

/** 0-based line/column of a text offset. */
function positionAt(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0,
    hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= offset) lo = mid + 1;
    else hi = mid;
  }
  const line = Math.max(0, lo - 1);
  return { line, column: offset - starts[line] };
}

export function rangeOf(starts: readonly number[], start: number, end: number): TextRange {
  const a = positionAt(starts, start);
  const b = positionAt(starts, end);
  return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
}

/** Characters that end a name in free text (white space, quotes, brackets, separators). */
function isStop(c: number): boolean {
  if (c <= 0x20 || c === 0x7f) return true;
  switch (c) {
    case 0x22: // "
    case 0x27: // '
    case 0x60: // `
    case 0x28:
    case 0x29: // ( )
    case 0x5b:
    case 0x5d: // [ ]
    case 0x7b:
    case 0x7d: // { }
    case 0x3c:
    case 0x3e: // < >
    case 0x3b: // ;
    case 0x7c: // |
    case 0x5c: // backslash
      return true;
  }
  return false;
}

const SYM = '.klp.sym.';
const RELA = '.klp.rela.';

/** Every `.klp.sym` / `.klp.rela` name in the text, in text order. */
export function findKlpRefs(text: string, starts: readonly number[] = lineStarts(text)): KlpTextRef[] {
  const out: KlpTextRef[] = [];
  let from = 0;
  for (;;) {
    const at = text.indexOf('.klp.', from);
    if (at < 0) break;
    from = at + 5;
    if (text.startsWith(SYM, at)) {
      // OBJ up to '.', SYMBOL up to ',', then digits (and name characters glued to them).
      let p = at + SYM.length;
      while (p < text.length && !isStop(text.charCodeAt(p)) && text.charCodeAt(p) !== 0x2e && text.charCodeAt(p) !== 0x2c) p++;
      if (p < text.length && text.charCodeAt(p) === 0x2e) {
        p++;
        while (p < text.length && !isStop(text.charCodeAt(p)) && text.charCodeAt(p) !== 0x2c) p++;
      }
      let insert = p;
      if (p < text.length && text.charCodeAt(p) === 0x2c && p + 1 < text.length && /[0-9]/.test(text[p + 1])) {
        p++;
        insert = -1;
        while (p < text.length && /[0-9]/.test(text[p])) p++;
        while (p < text.length && /[A-Za-z0-9_.$]/.test(text[p])) p++;
      }
      const name = text.slice(at, p);
      const parsed = parseKlpSymName(name);
      const ref: KlpTextRef = { kind: 'sym', name, start: at, end: p, range: rangeOf(starts, at, p), findings: parsed.findings };
      if (parsed.parsed) {
        ref.sym = parsed.parsed;
        ref.posRange = rangeOf(starts, at + parsed.parsed.posStart, at + parsed.parsed.posEnd);
        ref.symbolRange = rangeOf(starts, at + parsed.parsed.symStart, at + parsed.parsed.symStart + parsed.parsed.symbol.length);
      } else if (insert >= 0) {
        ref.insertPos = rangeOf(starts, insert, insert);
      }
      out.push(ref);
      from = p;
    } else if (text.startsWith(RELA, at)) {
      let p = at + RELA.length;
      while (p < text.length && !isStop(text.charCodeAt(p)) && text.charCodeAt(p) !== 0x2c) p++;
      const name = text.slice(at, p);
      const parsed = parseKlpRelaName(name);
      out.push({ kind: 'rela', name, start: at, end: p, range: rangeOf(starts, at, p), rela: parsed.parsed, findings: parsed.findings });
      from = p;
    }
  }
  return out;
}
