/**
 * `workspace/symbol`: the search engine's ranking (core/search.ts) over the kallsyms
 * index, BTF and loaded module `.ko` symbol tables, as LSP SymbolInformation objects.
 * Never throws.
 */
import type { Btf } from '../core/btf';
import { BtfSource, DEFAULT_CAP, KallsymsSource, ModuleKoSource, prepare, search, SearchHit, SearchSource } from '../core/search';
import type { ModuleSymbols } from '../core/module';
import type { SymbolIndex } from '../core/symindex';
import { btfUri, formatKsymUri, Location, LocationOptions, pageLocation, symbolLocation } from './symbolPage';

/** LSP SymbolKind numbers. */
export const SymbolKind = {
  Module: 2,
  Package: 4,
  Enum: 10,
  Function: 12,
  Variable: 13,
  Struct: 23,
  TypeParameter: 26,
} as const;

export interface WorkspaceSymbol {
  name: string;
  kind: number;
  /** Module name, 'vmlinux' or 'btf'. */
  containerName: string;
  location: Location;
}

export interface WorkspaceSymbolContext extends LocationOptions {
  index: SymbolIndex;
  btf?: Btf;
  /** Parsed module .ko symbol tables (e.g. those the module store has loaded). */
  modules?: ReadonlyArray<{ module: ModuleSymbols; file?: string }>;
  /** Result cap (setting), default 100. */
  cap?: number;
}

// Sources are cached per object so the search corpora are built once per index/BTF/module.
const kallsymsSources = new WeakMap<SymbolIndex, KallsymsSource>();
const btfSources = new WeakMap<Btf, BtfSource>();
const koSources = new WeakMap<ModuleSymbols, ModuleKoSource>();

/** The search sources of a context, in tie order (kallsyms, BTF, modules). */
export function searchSources(ctx: Pick<WorkspaceSymbolContext, 'index' | 'btf' | 'modules'>): SearchSource[] {
  const out: SearchSource[] = [];
  let k = kallsymsSources.get(ctx.index);
  if (!k) kallsymsSources.set(ctx.index, (k = new KallsymsSource(ctx.index)));
  out.push(k);
  if (ctx.btf) {
    let b = btfSources.get(ctx.btf);
    if (!b) btfSources.set(ctx.btf, (b = new BtfSource(ctx.btf)));
    out.push(b);
  }
  for (const m of ctx.modules ?? []) {
    let s = koSources.get(m.module);
    if (!s) koSources.set(m.module, (s = new ModuleKoSource(m.module, m.module.name, m.file)));
    out.push(s);
  }
  return out;
}

/** Module .ko sources of a context (for symbol pages). */
export function moduleSources(ctx: Pick<WorkspaceSymbolContext, 'index' | 'btf' | 'modules'>): ModuleKoSource[] {
  return searchSources(ctx).filter((s): s is ModuleKoSource => s instanceof ModuleKoSource);
}

/** Build the search structures now (call after a reindex so the first Ctrl+T is fast). */
export function prepareWorkspaceSymbols(ctx: Pick<WorkspaceSymbolContext, 'index' | 'btf' | 'modules'>): void {
  prepare(searchSources(ctx));
}

export function lspKind(hit: Pick<SearchHit, 'source' | 'id'>): number {
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
export function hitLocation(hit: Pick<SearchHit, 'source' | 'id'>, opts: LocationOptions = {}): Location {
  const src = hit.source;
  if (src instanceof KallsymsSource) return symbolLocation(src.index, hit.id, opts);
  if (src instanceof BtfSource) {
    const uri = btfUri(src.btf, src.ids[hit.id]);
    return pageLocation(uri ?? formatKsymUri({ type: 'btf', kind: 'struct', name: src.nameOf(hit.id) }));
  }
  const ko = src as ModuleKoSource;
  return pageLocation(formatKsymUri({ type: 'ko', module: ko.moduleName, name: ko.nameOf(hit.id), sym: ko.syms[hit.id] }));
}

export function workspaceSymbols(ctx: WorkspaceSymbolContext, query: string): WorkspaceSymbol[] {
  try {
    const hits = search(searchSources(ctx), query, { cap: ctx.cap ?? DEFAULT_CAP });
    return hits.map((h) => ({ name: h.name, kind: lspKind(h), containerName: h.source.container(h.id), location: hitLocation(h, ctx) }));
  } catch {
    return [];
  }
}
