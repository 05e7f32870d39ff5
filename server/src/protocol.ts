/**
 * Custom LSP messages shared by the language server and the VS Code client.
 * Plain data only: the client bundles this file too.
 */

/** Server -> client notification: index state, shown in the status bar. Sent once
 *  the first index is built (this is the "ready" signal tests wait for) and on every
 *  change after that. */
export const StatusNotification = 'ksym/status';

export type IndexState = 'indexing' | 'ready' | 'error';

export interface StatusParams {
  state: IndexState;
  /** Number of symbols in the index being served (the old one while reindexing). */
  symbols: number;
  /** Number of modules (distinct [mod] names, pseudo modules included). */
  modules: number;
  /** Distinct module names found in ksym.modules (.ko files, loaded on demand). */
  moduleFiles: number;
  /** Types in the vmlinux BTF (ksym.btf), 0 when none is loaded. */
  btfTypes: number;
  /** Human-readable list of the sources in use, e.g. "/proc/kallsyms". */
  sources: string[];
  /** Errors and warnings from the last (re)index, one line each. */
  messages: string[];
  /** Milliseconds the last index build took. */
  millis: number;
  /** Monotonic generation counter of the served index. */
  generation: number;
}

/** Client -> server request: rebuild the index from the current settings. */
export const ReindexRequest = 'ksym/reindex';

/** Client -> server request: statistics of the served index as markdown. */
export const StatsRequest = 'ksym/stats';
export interface StatsResult {
  markdown: string;
}

/** Client -> server request: content of a read-only `ksym:` symbol page. */
export const SymbolPageRequest = 'ksym/symbolPage';
export interface SymbolPageParams {
  uri: string;
}
export interface SymbolPageResult {
  content: string;
  languageId: string;
}
