/**
 * `workspace/symbol`: the search engine's ranking (core/search/) over the kallsyms
 * index, BTF and loaded module `.ko` symbol tables, as LSP SymbolInformation objects.
 * Never throws.
 */
import { prepare } from '../core/search/corpus';
import { DEFAULT_CAP, search, type SearchHit } from '../core/search/ranking';
import { BtfSource, KallsymsSource, ModuleKoSource, searchSources, type SearchScope } from '../core/search/sources';
import { SymbolKind, type Location, type SymbolInformation } from 'vscode-languageserver';
import { btfUri, formatKsymUri, pageLocation, symbolLocation, type LocationOptions } from './pageUri';

export interface WorkspaceSymbolContext extends LocationOptions, SearchScope {
  /** Result cap (setting), default 100. */
  cap?: number;
}

/** How long after a reindex the search structures start being built (requests come first). */
export const PREPARE_DELAY_MS = 400;

/**
 * The search structures, built in the background after a reindex (so that the first Ctrl+T
 * is fast): it starts PREPARE_DELAY_MS
 * later and builds one source per event-loop turn, so that the requests an editor sends as
 * soon as the server is ready (didOpen, hover, inlay hints) are answered first instead of
 * waiting ~100 ms behind a search corpus nobody has asked for yet. A later call (the index
 * changed again) supersedes an earlier one. Never throws; returns a canceller.
 */
export function prepareWorkspaceSymbolsSoon(ctx: () => SearchScope, delayMs = PREPARE_DELAY_MS): () => void {
  let stopped = false;
  const timer = setTimeout(() => {
    let sources: ReturnType<typeof searchSources>;
    try {
      sources = searchSources(ctx());
    } catch {
      return;
    }
    let k = 0;
    const step = (): void => {
      if (stopped || k >= sources.length) return;
      try {
        prepare([sources[k++]]);
      } catch {
        return;
      }
      setImmediate(step);
    };
    step();
  }, delayMs);
  timer.unref?.();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function lspKind(hit: Pick<SearchHit, 'source' | 'id'>): SymbolKind {
  switch (hit.source.kind(hit.id)) {
    case 'function':
      return SymbolKind.Function;
    case 'struct':
    case 'union':
      return SymbolKind.Struct;
    case 'enum':
      return SymbolKind.Enum;
    case 'typedef':
      return SymbolKind.TypeParameter;
    default:
      return SymbolKind.Variable;
  }
}

/** Where a hit opens: its kallsyms line (file sources), else its `ksym:` page. */
function hitLocation(hit: Pick<SearchHit, 'source' | 'id'>, opts: LocationOptions = {}): Location {
  const src = hit.source;
  if (src instanceof KallsymsSource) return symbolLocation(src.index, hit.id, opts);
  if (src instanceof BtfSource) {
    const uri = btfUri(src.btf, src.ids[hit.id]);
    return pageLocation(uri ?? formatKsymUri({ type: 'btf', kind: 'struct', name: src.nameOf(hit.id) }));
  }
  const ko = src as ModuleKoSource;
  return pageLocation(formatKsymUri({ type: 'ko', module: ko.moduleName, name: ko.nameOf(hit.id), sym: ko.syms[hit.id] }));
}

/**
 * The label of a hit: its name; for an address query what the kernel prints for it, with the
 * query in front unless the form starts with it. Editors filter the results by the query
 * (VS Code fuzzy-matches it against the name), so the label must contain the query.
 */
function label(h: SearchHit, query: string): string {
  if (!h.form) return h.name;
  const q = query.trim();
  return h.form.startsWith(q) ? h.form : `${q} → ${h.form}`;
}

/** Module name, 'vmlinux' or 'btf'; 'vmlinux · BTF' for a symbol BTF also describes (one entry for both). */
function container(h: SearchHit): string {
  const c = h.source.container(h.id);
  return h.btf ? `${c} · BTF` : c;
}

/**
 * workspaceSymbols for a request that can be cancelled: the search structures of each
 * source are built one source per event-loop turn (the first query over a large index
 * builds them), the token checked between them; a cancelled request answers [].
 */
export async function workspaceSymbolsCancellable(
  ctx: WorkspaceSymbolContext,
  query: string,
  token: { readonly isCancellationRequested: boolean },
): Promise<SymbolInformation[]> {
  try {
    for (const s of searchSources(ctx)) {
      if (token.isCancellationRequested) return [];
      prepare([s]);
      await new Promise((r) => setImmediate(r));
    }
  } catch {
    return [];
  }
  return token.isCancellationRequested ? [] : workspaceSymbols(ctx, query);
}

/** The ranked hits as SymbolInformation (containerName: module name, 'vmlinux', 'vmlinux · BTF' or 'btf'). */
export function workspaceSymbols(ctx: WorkspaceSymbolContext, query: string): SymbolInformation[] {
  try {
    const hits = search(searchSources(ctx), query, { cap: ctx.cap ?? DEFAULT_CAP });
    return hits.map((h) => ({ name: label(h, query), kind: lspKind(h), containerName: container(h), location: hitLocation(h, ctx) }));
  } catch {
    return [];
  }
}
