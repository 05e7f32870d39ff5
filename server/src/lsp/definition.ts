/**
 * Go to definition (F12) at a position in a kernel log, a kallsyms/System.map file or
 * any text: a frame, an address, a symbol name or `struct X` → the symbol's location (its
 * kallsyms line when from a file, else its `ksym:` page) or the BTF page. Never throws.
 */
import type { Location } from 'vscode-languageserver';
import type { Btf } from '../core/btf/btf';
import { Kind } from '../core/btf/kinds';
import { KALLSYMS_LINE, SYMBOL_WORD } from '../core/kallsyms/parse';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import { resolveAddressToken, resolveFrame, type ShiftMap } from '../core/log/resolve';
import { scanLine, scanWrapped, tokenAt, type FrameToken, type LogToken } from '../core/log/scan';
import { btfPageKind, btfUri, pageLocation, symbolLocation, symbolUri, type LocationOptions } from './pageUri';

export interface DefinitionOptions extends LocationOptions {
  /** Which shift each log address gets (as for hover: never the vmlinux shift on a module address). */
  shift?: ShiftMap;
  /** The next line, for frames wrapped over two lines. */
  nextLine?: string;
  /** The document is a kallsyms/System.map file. */
  kallsyms?: boolean;
}

const WORD = new RegExp(SYMBOL_WORD.source, 'g');

/**
 * F12 at (line text, column): a frame, an address, a symbol name or `struct X` →
 * the symbol's location (its kallsyms line when from a file, else its `ksym:` page)
 * or the BTF page. Undefined when nothing is there. Never throws.
 */
export function definition(
  docLine: string,
  col: number,
  index: SymbolIndex,
  btf?: Btf,
  opts: DefinitionOptions = {},
): Location | undefined {
  try {
    return definitionUnsafe(docLine, col, index, btf, opts);
  } catch {
    return undefined;
  }
}

function definitionUnsafe(l: string, col: number, index: SymbolIndex, btf: Btf | undefined, opts: DefinitionOptions): Location | undefined {
  const km = KALLSYMS_LINE.exec(l);
  if (km && (opts.kallsyms || col >= km[1].length + 3)) {
    const addr = BigInt('0x' + km[1]);
    const i = index.byNameAll(km[3]).find((j) => index.addressOf(j) === addr && index.moduleOf(j) === km[4]);
    if (i !== undefined && col >= km[1].length + 3) return symbolLocation(index, i, opts);
    if (i !== undefined) return pageLocation(symbolUri(index, i));
  }
  const tokens = scanLine(l);
  let tok: LogToken | undefined = tokenAt(tokens, col);
  if (!tok) {
    const w = scanWrapped(l, opts.nextLine);
    if (w && col >= w.start) tok = w;
  }
  if (tok?.kind === 'frame') {
    const r = resolveFrame(index, tok);
    const c = r.candidates[0] ?? r.sameName[0];
    if (c) return symbolLocation(index, c.id, opts);
  } else if (tok?.kind === 'address') {
    const t = tok;
    const frame =
      t.frameAt !== undefined ? (tokens.find((x) => x.kind === 'frame' && x.start === t.frameAt) as FrameToken | undefined) : undefined;
    const r = resolveAddressToken(index, t, opts.shift ?? 0n, frame);
    if (r.kernel) return symbolLocation(index, r.kernel.sym.id, opts);
  }
  WORD.lastIndex = 0;
  for (let m = WORD.exec(l); m; m = WORD.exec(l)) {
    if (col < m.index || col > m.index + m[0].length) continue;
    const word = m[0].replace(/\.$/, '');
    const before = l.slice(0, m.index);
    const tag = /\b(struct|union|enum)\s+$/.exec(before);
    if (tag && btf) {
      const ids = btf.idsByName(`${tag[1]} ${word}`);
      const def = ids.find((id) => btf.kindOf(id) !== Kind.FWD) ?? ids[0];
      const uri = def !== undefined ? btfUri(btf, def) : undefined;
      if (uri) return pageLocation(uri);
    }
    const ids = index.byNameAll(word);
    if (ids.length) {
      const best = ids.find((j) => index.mod[j] === 0) ?? ids[0];
      return symbolLocation(index, best, opts);
    }
    if (btf) {
      const bids = btf.idsByName(word);
      const pick =
        bids.find((id) => btfPageKind(btf, id) !== undefined && btf.kindOf(id) !== Kind.FWD) ??
        bids.find((id) => btfPageKind(btf, id) !== undefined);
      const uri = pick !== undefined ? btfUri(btf, pick) : undefined;
      if (uri) return pageLocation(uri);
    }
    return undefined;
  }
  return undefined;
}
