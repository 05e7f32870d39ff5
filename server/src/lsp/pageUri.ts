/**
 * Where things open: the `ksym:` page URIs (read-only virtual documents the client
 * shows, scheme PAGE_SCHEME in protocol.ts) and file locations.
 *
 * URI scheme (stable; names percent-encoded, query values too):
 *   ksym:/symbol/<object>/<name>?addr=<hex>   a kallsyms/System.map symbol; object is
 *                                             'vmlinux' or the module name
 *   ksym:/btf/<kind>/<name>[?id=<n>]          a BTF type: kind is struct, union, enum,
 *                                             typedef, func or var
 *   ksym:/ko/<module>/<name>?sym=<n>          a symbol of a module .ko (symtab index)
 */
import { fileURLToPath } from 'node:url';
import type { Location, Range } from 'vscode-languageserver';
import type { Btf } from '../core/btf/btf';
import { Kind } from '../core/btf/kinds';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import { OPEN_PREFIX, PAGE_SCHEME } from '../protocol';

export type KsymRef =
  | { type: 'symbol'; object: string; name: string; address?: bigint }
  | { type: 'btf'; kind: BtfPageKind; name: string; id?: number }
  | { type: 'ko'; module: string; name: string; sym?: number };

export type BtfPageKind = 'struct' | 'union' | 'enum' | 'typedef' | 'func' | 'var';
const BTF_PAGE_KINDS: BtfPageKind[] = ['struct', 'union', 'enum', 'typedef', 'func', 'var'];

/** encodeURIComponent plus the characters it leaves alone that matter in markdown links. */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function formatKsymUri(ref: KsymRef): string {
  switch (ref.type) {
    case 'symbol':
      return `${PAGE_SCHEME}:/symbol/${enc(ref.object)}/${enc(ref.name)}${ref.address !== undefined ? `?addr=${ref.address.toString(16)}` : ''}`;
    case 'btf':
      return `${PAGE_SCHEME}:/btf/${ref.kind}/${enc(ref.name)}${ref.id !== undefined ? `?id=${ref.id}` : ''}`;
    case 'ko':
      return `${PAGE_SCHEME}:/ko/${enc(ref.module)}/${enc(ref.name)}${ref.sym !== undefined ? `?sym=${ref.sym}` : ''}`;
  }
}

const PAGE_URI = new RegExp(`^${PAGE_SCHEME}:(?://)?/([^/?#]+)/([^/?#]+)/([^?#]+)(?:\\?([^#]*))?`);

/** Parse a `ksym:` URI (also as re-encoded by VS Code, e.g. `?addr%3D...`); undefined when it is not one. */
export function parseKsymUri(uri: string): KsymRef | undefined {
  try {
    const m = PAGE_URI.exec(uri);
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
/** The path of a `ksym:/open/` link (protocol.ts) to `file` (absolute) at 1-based `line`, its segments encoded as page names are. */
export function openPath(file: string, line: number): string {
  const segs = file.split('/').filter((p, i) => i > 0 || p !== '');
  return `${OPEN_PREFIX}L${Math.max(1, Math.floor(line))}/${segs.map(enc).join('/')}`;
}

export function fileUri(path: string): string {
  return (
    'file://' +
    path
      .split('/')
      .map((p) => encodeURIComponent(p))
      .join('/')
  );
}

/** The file path of a `file:` URI (a workspace folder, an open document); undefined for other schemes. */
export function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}
