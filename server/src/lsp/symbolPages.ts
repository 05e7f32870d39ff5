/**
 * Symbol pages (read-only virtual documents behind `ksym:` URIs) and go to definition.
 *
 * URI scheme (stable; names percent-encoded, query values too):
 *   ksym:/symbol/<object>/<name>?addr=<hex>   a kallsyms/System.map symbol; object is
 *                                             'vmlinux' or the module name
 *   ksym:/btf/<kind>/<name>[?id=<n>]          a BTF type: kind is struct, union, enum,
 *                                             typedef, func or var
 *   ksym:/ko/<module>/<name>?sym=<n>          a symbol of a module .ko (symtab index)
 * The page is markdown. Never throws.
 */
import { hexAddr } from '../core/common/addr';
import { Btf, Kind } from '../core/btf';
import { scanLine, scanWrapped, tokenAt, type FrameToken, type LogToken } from '../core/log/scan';
import { resolveAddressToken, resolveFrame } from '../core/log/resolve';
import { kernelForm, SymbolIndex } from '../core/kallsyms/symbolIndex';
import type { ModuleKoSource } from '../core/search/sources';
import { symbolDetails } from './hover/kallsyms';
import { code, hex, text } from './markdown';

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
/** An LSP Location. */
export interface Location {
  uri: string;
  range: Range;
}

export type KsymRef =
  | { type: 'symbol'; object: string; name: string; address?: bigint }
  | { type: 'btf'; kind: BtfPageKind; name: string; id?: number }
  | { type: 'ko'; module: string; name: string; sym?: number };

export type BtfPageKind = 'struct' | 'union' | 'enum' | 'typedef' | 'func' | 'var';
const BTF_PAGE_KINDS: BtfPageKind[] = ['struct', 'union', 'enum', 'typedef', 'func', 'var'];

export const KSYM_SCHEME = 'ksym';

/** encodeURIComponent plus the characters it leaves alone that matter in markdown links. */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function formatKsymUri(ref: KsymRef): string {
  switch (ref.type) {
    case 'symbol':
      return `ksym:/symbol/${enc(ref.object)}/${enc(ref.name)}${ref.address !== undefined ? `?addr=${ref.address.toString(16)}` : ''}`;
    case 'btf':
      return `ksym:/btf/${ref.kind}/${enc(ref.name)}${ref.id !== undefined ? `?id=${ref.id}` : ''}`;
    case 'ko':
      return `ksym:/ko/${enc(ref.module)}/${enc(ref.name)}${ref.sym !== undefined ? `?sym=${ref.sym}` : ''}`;
  }
}

/** Parse a `ksym:` URI (also as re-encoded by VS Code, e.g. `?addr%3D...`); undefined when it is not one. */
export function parseKsymUri(uri: string): KsymRef | undefined {
  try {
    const m = /^ksym:(?:\/\/)?\/([^/?#]+)\/([^/?#]+)\/([^?#]+)(?:\?([^#]*))?/.exec(uri);
    if (!m) return undefined;
    const [, type, a, b, q] = m;
    const params = new Map<string, string>();
    for (const kv of decodeURIComponent(q ?? '').split('&')) {
      const e = kv.indexOf('=');
      if (e > 0) params.set(kv.slice(0, e), kv.slice(e + 1));
    }
    const first = decodeURIComponent(a);
    const name = decodeURIComponent(b);
    if (!name) return undefined;
    if (type === 'symbol') {
      const addr = params.get('addr');
      const address = addr && /^(0x)?[0-9a-fA-F]{1,16}$/.test(addr) ? BigInt('0x' + addr.replace(/^0x/, '')) : undefined;
      return { type: 'symbol', object: first, name, address };
    }
    if (type === 'btf') {
      if (!BTF_PAGE_KINDS.includes(first as BtfPageKind)) return undefined;
      const id = params.get('id');
      return { type: 'btf', kind: first as BtfPageKind, name, id: id && /^\d+$/.test(id) ? Number(id) : undefined };
    }
    if (type === 'ko') {
      const sym = params.get('sym');
      return { type: 'ko', module: first, name, sym: sym && /^\d+$/.test(sym) ? Number(sym) : undefined };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

export function symbolUri(index: SymbolIndex, i: number): string {
  return formatKsymUri({ type: 'symbol', object: index.moduleOf(i) ?? 'vmlinux', name: index.nameOf(i), address: index.addressOf(i) });
}

export function btfPageKind(btf: Btf, id: number): BtfPageKind | undefined {
  switch (btf.kindOf(id)) {
    case Kind.STRUCT:
      return 'struct';
    case Kind.UNION:
      return 'union';
    case Kind.ENUM:
    case Kind.ENUM64:
      return 'enum';
    case Kind.TYPEDEF:
      return 'typedef';
    case Kind.FUNC:
      return 'func';
    case Kind.VAR:
      return 'var';
    case Kind.FWD:
      return btf.kflagOf(id) ? 'union' : 'struct';
    default:
      return undefined;
  }
}

export function btfUri(btf: Btf, id: number): string | undefined {
  const kind = btfPageKind(btf, id);
  return kind ? formatKsymUri({ type: 'btf', kind, name: btf.nameOf(id), id }) : undefined;
}

const ZERO: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

export interface LocationOptions {
  /**
   * Whether a symbol from this kallsyms/System.map file is shown at its line in that
   * file (default: always). E.g. `(f) => openDocuments.has(f)`, or `(f) => !f.startsWith('/proc/')`.
   */
  openFile?: (file: string) => boolean;
}

/** Where symbol i is: its line in the source file, or its symbol page. */
export function symbolLocation(index: SymbolIndex, i: number, opts: LocationOptions = {}): Location {
  const file = index.sources[index.src[i]]?.file;
  const line = index.line[i];
  if (file && line > 0 && (opts.openFile ? opts.openFile(file) : true)) {
    const nameStart = index.addressDigits + 3;
    return {
      uri: fileUri(file),
      range: { start: { line: line - 1, character: nameStart }, end: { line: line - 1, character: nameStart + index.nameLen[i] } },
    };
  }
  return { uri: symbolUri(index, i), range: ZERO };
}

export function pageLocation(uri: string): Location {
  return { uri, range: ZERO };
}

/** file:// URI of an absolute path (percent-encoding what must be). */
export function fileUri(path: string): string {
  return 'file://' + path.split('/').map((p) => encodeURIComponent(p)).join('/');
}

// ---- pages -----------------------------------------------------------------------------------

export interface PageContext {
  index: SymbolIndex;
  btf?: Btf;
  /** Module .ko sources (for ksym:/ko/ pages). */
  modules?: readonly ModuleKoSource[];
}

export interface PageContent {
  content: string;
  languageId: 'markdown';
}

/** The content of a `ksym:` URI; undefined for an unknown URI or symbol. */
export function symbolPage(uri: string, ctx: PageContext): PageContent | undefined {
  try {
    const ref = parseKsymUri(uri);
    if (!ref) return undefined;
    const md = ref.type === 'symbol' ? kallsymsPage(ctx, ref) : ref.type === 'btf' ? btfPage(ctx, ref) : koPage(ctx, ref);
    return md === undefined ? undefined : { content: md, languageId: 'markdown' };
  } catch (e) {
    return { content: `ksym: internal error while rendering ${text(uri)}: ${text(String(e))}\n`, languageId: 'markdown' };
  }
}

function link(label: string, uri: string): string {
  return `[${code(label)}](${uri})`;
}

function fence(body: string, lang: string): string {
  let longest = 2;
  for (const m of body.matchAll(/`{3,}/g)) longest = Math.max(longest, m[0].length);
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${body.replace(/\n$/, '')}\n${f}`;
}

/** Find the kallsyms symbol of a page reference. */
export function findSymbol(index: SymbolIndex, ref: { object: string; name: string; address?: bigint }): number | undefined {
  const ids = index.byNameAll(ref.name).filter((i) => (index.moduleOf(i) ?? 'vmlinux') === ref.object);
  if (ref.address !== undefined) return ids.find((i) => index.addressOf(i) === ref.address);
  return ids[0];
}

function kallsymsPage(ctx: PageContext, ref: Extract<KsymRef, { type: 'symbol' }>): string | undefined {
  const { index } = ctx;
  const i = findSymbol(index, ref);
  if (i === undefined) {
    return `# ${text(ref.name)}\n\n${code(ref.name)}${ref.address !== undefined ? ` at ${code(hexAddr(ref.address, index.addressDigits))}` : ''} in ${code(ref.object)} is not in the current index (reindexed, or a module unloaded?).\n`;
  }
  const s = index.info(i);
  const d = index.addressDigits;
  const out: string[] = [];
  out.push(`# ${text(s.name)}`);
  out.push(`Kernel form: ${code(kernelForm(s.name, 0, s.size, s.module, s.moduleKind))} at ${code(hexAddr(s.address, d))}`);
  out.push(symbolDetails(index, s));
  const aliases = index.aliases(i);
  if (aliases.length > 1) {
    out.push(`## Aliases at ${code(hexAddr(s.address, d))}\n\n${aliases.map((j) => `- ${j === i ? `**${code(index.nameOf(j))}** (this symbol)` : link(index.nameOf(j), symbolUri(index, j))} · ${code(String.fromCharCode(index.type[j]))} · ${code(index.moduleOf(j) ?? 'vmlinux')}${j === index.firstAlias(i) ? ' · printed by the kernel (first in kallsyms order)' : ''}`).join('\n')}`);
  }
  const same = index.byNameAll(s.name);
  if (same.length > 1) {
    const rows = same.slice(0, 200).map((j) => {
      const pos = index.sameName(j);
      const me = j === i ? ' ← this' : '';
      return `| ${link(hexAddr(index.addressOf(j), d), symbolUri(index, j))} | ${code(String.fromCharCode(index.type[j]))} | ${code(index.moduleOf(j) ?? 'vmlinux')} | ${pos.position}/${pos.inObject.length}${me} |`;
    });
    out.push(`## ${same.length} symbols named ${code(s.name)}\n\n| address | type | object | livepatch sympos |\n|---|---|---|---|\n${rows.join('\n')}${same.length > 200 ? `\n\n…and ${same.length - 200} more` : ''}`);
  }
  if (ctx.btf) {
    const ids = ctx.btf.idsByName(s.name).filter((id) => ctx.btf!.kindOf(id) === Kind.FUNC || ctx.btf!.kindOf(id) === Kind.VAR);
    if (ids.length > 0) {
      const decls = ids.map((id) => ctx.btf!.declaration(id, { layout: true })).join('\n');
      out.push(`## BTF\n\n${fence(decls, 'c')}\n\n${ids.map((id) => link(`BTF [${id}]`, btfUri(ctx.btf!, id)!)).join(' · ')}`);
    }
  }
  const prev = neighbour(index, i, -1);
  const next = neighbour(index, i, +1);
  const nb: string[] = [];
  if (prev !== undefined) nb.push(`- previous: ${link(index.nameOf(prev), symbolUri(index, prev))} at ${code(hexAddr(index.addressOf(prev), d))}`);
  if (next !== undefined) nb.push(`- next: ${link(index.nameOf(next), symbolUri(index, next))} at ${code(hexAddr(index.addressOf(next), d))}`);
  if (nb.length) out.push(`## Neighbours\n\n${nb.join('\n')}`);
  const src = index.sources[index.src[i]];
  if (src) out.push(`Source: [${text(src.file)}:${s.line}](${fileUri(src.file)}#L${s.line})`);
  return out.join('\n\n') + '\n';
}

/** Previous/next symbol of the same object at a different address (first alias there). */
export function neighbour(index: SymbolIndex, i: number, dir: -1 | 1): number | undefined {
  const m = index.mod[i];
  const h = index.hi[i];
  const l = index.lo[i];
  let j = i + dir;
  while (j >= 0 && j < index.count && (index.mod[j] !== m || (index.hi[j] === h && index.lo[j] === l))) j += dir;
  if (j < 0 || j >= index.count) return undefined;
  return index.firstAlias(j);
}

function btfIds(btf: Btf, ref: Extract<KsymRef, { type: 'btf' }>): number[] {
  if (ref.id !== undefined && btf.has(ref.id) && btf.nameOf(ref.id) === ref.name) return [ref.id];
  const all = btf.idsByName(ref.name).filter((id) => btfPageKind(btf, id) === ref.kind);
  const defs = all.filter((id) => btf.kindOf(id) !== Kind.FWD);
  return defs.length ? defs : all;
}

function btfPage(ctx: PageContext, ref: Extract<KsymRef, { type: 'btf' }>): string | undefined {
  const btf = ctx.btf;
  const title = `# ${ref.kind === 'func' || ref.kind === 'var' ? '' : ref.kind + ' '}${text(ref.name)}`;
  if (!btf) return `${title}\n\nNo BTF is loaded (/sys/kernel/btf/vmlinux or the ksym.btf setting).\n`;
  const ids = btfIds(btf, ref);
  if (ids.length === 0) return `${title}\n\n${code(`${ref.kind} ${ref.name}`)} is not in ${code(btf.file)}.\n`;
  const out: string[] = [title];
  for (const id of ids) {
    const k = btf.kindOf(id);
    const size = k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64 ? ` · ${btf.sizeOrType(id)} bytes` : '';
    out.push(`BTF ${code(btf.kindName(id))} [${id}]${size} · ${code(btf.file)}${btf.isKfunc(id) ? ' · kfunc' : ''}`);
    out.push(fence(btf.declaration(id, { layout: true }), 'c'));
  }
  if (ref.kind === 'func' || ref.kind === 'var') {
    const syms = ctx.index.byNameAll(ref.name);
    if (syms.length) out.push(`## Symbols\n\n${syms.slice(0, 50).map((j) => `- ${link(`${ctx.index.nameOf(j)}`, symbolUri(ctx.index, j))} at ${code(hexAddr(ctx.index.addressOf(j), ctx.index.addressDigits))} in ${code(ctx.index.moduleOf(j) ?? 'vmlinux')}`).join('\n')}`);
  }
  return out.join('\n\n') + '\n';
}

function koPage(ctx: PageContext, ref: Extract<KsymRef, { type: 'ko' }>): string | undefined {
  const src = ctx.modules?.find((m) => m.moduleName === ref.module);
  const title = `# ${text(ref.name)} [${text(ref.module)}.ko]`;
  if (!src) return `${title}\n\nModule ${code(ref.module)} is not loaded in the module store.\n`;
  const entries = src.exact(ref.name);
  const e = ref.sym !== undefined ? entries.find((x) => src.syms[x] === ref.sym) ?? entries[0] : entries[0];
  if (e === undefined) return `${title}\n\n${code(ref.name)} is not in ${code(src.file ?? ref.module)}.\n`;
  const m = src.module;
  const s = m.symbol(src.syms[e]);
  const out = [title, `${code(s.type)} · ${code(s.binding)} · ${code(s.elfType)} · section ${code(s.section)}+${code(hex(s.value))} · size ${code(hex(s.size))}${s.kept ? '' : ' · init only (dropped after the module init)'}`];
  if (entries.length > 1) out.push(`${entries.length} symbols named ${code(ref.name)} in this module; this is number ${entries.indexOf(e) + 1}`);
  if (src.file) out.push(`File: ${code(src.file)}`);
  const live = ctx.index.byNameAll(ref.name).filter((j) => ctx.index.moduleOf(j) === ref.module);
  if (live.length) out.push(`In the kallsyms index: ${live.map((j) => link(hexAddr(ctx.index.addressOf(j), ctx.index.addressDigits), symbolUri(ctx.index, j))).join(', ')}`);
  return out.join('\n\n') + '\n';
}

// ---- go to definition ------------------------------------------------------------------------

export interface DefinitionOptions extends LocationOptions {
  /** KASLR shift subtracted from log addresses (as for hover). */
  shift?: bigint;
  /** The next line, for frames wrapped over two lines. */
  nextLine?: string;
  /** The document is a kallsyms/System.map file. */
  kallsyms?: boolean;
}

const KALLSYMS_LINE = /^([0-9a-fA-F]{1,16}) ([A-Za-z?-]) (\S+)(?:\s+\[([^\]\s]+)\])?/;
const WORD = /\.?[A-Za-z_$][\w.$]*/g;

/**
 * F12 at (line text, column): a frame, an address, a symbol name or `struct X` →
 * the symbol's location (its kallsyms line when from a file, else its `ksym:` page)
 * or the BTF page. Undefined when nothing is there. Never throws.
 */
export function definition(docLine: string, col: number, index: SymbolIndex, btf?: Btf, opts: DefinitionOptions = {}): Location | undefined {
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
    if (i !== undefined) return { uri: symbolUri(index, i), range: ZERO };
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
    const frame = t.frameAt !== undefined ? (tokens.find((x) => x.kind === 'frame' && x.start === t.frameAt) as FrameToken | undefined) : undefined;
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
      const pick = bids.find((id) => btfPageKind(btf, id) !== undefined && btf.kindOf(id) !== Kind.FWD) ?? bids.find((id) => btfPageKind(btf, id) !== undefined);
      const uri = pick !== undefined ? btfUri(btf, pick) : undefined;
      if (uri) return pageLocation(uri);
    }
    return undefined;
  }
  return undefined;
}
