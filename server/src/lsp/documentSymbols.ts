/**
 * Outline (`textDocument/documentSymbol`) of a kallsyms or System.map document:
 * one group per object (vmlinux first, then each module in order of appearance),
 * each holding its symbols in file order. Parsed from bytes with the index's own
 * parser (no string splitting). Large groups are capped: the first `maxPerGroup`
 * symbols are listed and a last child says how many were left out (use workspace
 * symbol search for the rest). Never throws.
 */
import { parseKallsymsInto, sourceKind, SourceKind, SymbolColumns } from '../core/kallsyms/parse';
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';

export interface DocumentSymbolOptions {
  /** Symbols listed per group (default 5000). */
  maxPerGroup?: number;
  /** Symbols listed in all (default 20000). */
  maxTotal?: number;
  /** 'system.map' or 'kallsyms' (default: from the file name). */
  kind?: SourceKind;
  /** File name (for the kind guess). */
  file?: string;
}

const DEFAULT_MAX_PER_GROUP = 5000;
const DEFAULT_MAX_TOTAL = 20000;

interface GroupAcc {
  mod: number;
  first: number;
  last: number;
  lastEnd: number;
  count: number;
  children: DocumentSymbol[];
}

export function documentSymbols(text: string, opts: DocumentSymbolOptions = {}): DocumentSymbol[] {
  try {
    return documentSymbolsUnsafe(text, opts);
  } catch {
    return [];
  }
}

function documentSymbolsUnsafe(text: string, opts: DocumentSymbolOptions): DocumentSymbol[] {
  const maxPer = opts.maxPerGroup ?? DEFAULT_MAX_PER_GROUP;
  const maxTotal = opts.maxTotal ?? DEFAULT_MAX_TOTAL;
  const kind: SourceKind = opts.kind ?? (opts.file ? sourceKind(opts.file) : 'kallsyms');
  // latin1: one byte per UTF-16 unit, so line numbers and columns are preserved.
  const bytes = Buffer.from(text, 'latin1');
  const cols = new SymbolColumns(Math.ceil(bytes.length / 32) + 16);
  parseKallsymsInto(cols, bytes, opts.file ?? 'document', kind, 0);
  // Line starts.
  let lines = 1;
  for (let p = 0; p < bytes.length; p++) if (bytes[p] === 0x0a) lines++;
  const lineStart = new Uint32Array(lines + 1);
  let ln = 1;
  for (let p = 0; p < bytes.length; p++) if (bytes[p] === 0x0a) lineStart[ln++] = p + 1;
  lineStart[lines] = bytes.length + 1;
  const lineEnd = (l: number) => {
    let e = lineStart[l + 1] - 1;
    if (e > lineStart[l] && bytes[e - 1] === 0x0d) e--;
    return e - lineStart[l];
  };
  const groups = new Map<number, GroupAcc>();
  let listed = 0;
  for (let k = 0; k < cols.n; k++) {
    const line = cols.line[k] - 1;
    if (line < 0 || line >= lines) continue;
    const m = cols.mod[k];
    let g = groups.get(m);
    const end = lineEnd(line);
    if (!g) groups.set(m, (g = { mod: m, first: line, last: line, lastEnd: end, count: 0, children: [] }));
    if (line < g.first) g.first = line;
    if (line >= g.last) {
      g.last = line;
      g.lastEnd = end;
    }
    g.count++;
    if (g.children.length >= maxPer || listed >= maxTotal) continue;
    listed++;
    // The name follows 'ADDR T ' (whitespace runs tolerated).
    const s = lineStart[line];
    let p = s;
    const e = s + end;
    while (p < e && bytes[p] !== 0x20 && bytes[p] !== 0x09) p++;
    while (p < e && (bytes[p] === 0x20 || bytes[p] === 0x09)) p++;
    const type = bytes[p];
    p++;
    while (p < e && (bytes[p] === 0x20 || bytes[p] === 0x09)) p++;
    const nameCol = p - s;
    const len = cols.nameLen[k];
    const t = type | 0x20;
    g.children.push({
      name: text.substr(s + nameCol, len),
      detail: String.fromCharCode(type),
      kind: t === 0x74 || t === 0x77 ? SymbolKind.Function : SymbolKind.Variable,
      range: { start: { line, character: 0 }, end: { line, character: end } },
      selectionRange: { start: { line, character: nameCol }, end: { line, character: nameCol + len } },
    });
  }
  const out: DocumentSymbol[] = [];
  const ordered = [...groups.values()].sort((a, b) => (a.mod === 0 ? -1 : b.mod === 0 ? 1 : a.first - b.first));
  for (const g of ordered) {
    const name = g.mod === 0 ? 'vmlinux' : cols.modules[g.mod];
    const children = g.children;
    if (g.count > children.length) {
      const at = children.length ? children[children.length - 1].range.end.line : g.first;
      const r = { start: { line: at, character: 0 }, end: { line: at, character: 0 } };
      children.push({
        name: `… ${g.count - children.length} more symbols (outline capped; use Go to Symbol in Workspace)`,
        kind: SymbolKind.Variable,
        range: r,
        selectionRange: r,
      });
    }
    const range = { start: { line: g.first, character: 0 }, end: { line: g.last, character: g.lastEnd } };
    out.push({
      name,
      detail: `${g.count} symbols`,
      kind: g.mod === 0 ? SymbolKind.Package : SymbolKind.Module,
      range,
      selectionRange: { start: range.start, end: range.start },
      children,
    });
  }
  return out;
}
