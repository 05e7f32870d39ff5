/**
 * Custom LSP messages shared by the language server and the VS Code client: each is
 * defined once, as a typed RequestType / NotificationType carrying its params and result
 * (as vscode-eslint's customMessages.ts does), so neither side guesses. Plain data
 * otherwise: the client bundles this file too.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

/** The scheme of the read-only symbol pages (`ksym:/symbol/...`, `ksym:/btf/...`, `ksym:/ko/...`). */
export const PAGE_SCHEME = 'ksym';

/**
 * `ksym:/open/L<line>/<absolute path>`: a link in a symbol page to a file at a line. The
 * markdown preview that shows the pages refuses `file:` links (markdown-it's validateLink)
 * and drops a click on a link with a scheme it does not know; a relative link is resolved
 * against the page's own URI (`ksym:/symbol/<object>/<name>`) and opened with `vscode.open`.
 * The server writes them (lsp/pageUri.ts openPath); the client turns the opened
 * `ksym:/open/` tab into the file's editor at that line (client/src/pages.ts). The line
 * sits in the path: the query and fragment do not survive the preview's resolution.
 */
export const OPEN_PREFIX = '/open/';
const OPEN_PATH = new RegExp(`^${OPEN_PREFIX}L(\\d{1,9})(/.+)$`);

/** The file and line of an open link, from its decoded path (as `vscode.Uri.path` gives it); undefined when it is not one. */
export function parseOpenPath(path: string): { file: string; line: number } | undefined {
  const m = OPEN_PATH.exec(path);
  if (!m || m[2].includes('\0')) return undefined;
  return { file: m[2], line: Math.max(1, Number(m[1])) };
}

export type IndexState = 'indexing' | 'ready' | 'error';

export interface StatusParams {
  state: IndexState;
  /** Number of symbols in the index being served (the old one while reindexing). */
  symbols: number;
  /** Number of modules (distinct [mod] names, pseudo modules included). */
  modules: number;
  /** How many of `modules` are pseudo modules ([bpf], [__builtin__ftrace], ...), not loaded .ko modules. */
  pseudoModules?: number;
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
  /**
   * Where the settings being served came from: 'workspace/configuration',
   * 'initializationOptions {settings: {ksym: ...}}', 'didChangeConfiguration {settings: {ksym: ...}}', ..., or 'defaults'.
   */
  settingsSource?: string;
}

/**
 * Server -> client: index state, shown in the status bar. Sent once the first index is
 * built (this is the "ready" signal tests wait for) and on every change after that.
 */
export const StatusNotification = new NotificationType<StatusParams>('ksym/status');

/** Client -> server: rebuild the index from the current settings; the status after it. */
export const ReindexRequest = new RequestType0<StatusParams, void>('ksym/reindex');

export interface StatsResult {
  markdown: string;
}

/** Client -> server: statistics of the served index as markdown. */
export const StatsRequest = new RequestType0<StatsResult, void>('ksym/stats');

export interface SymbolPageParams {
  uri: string;
}

export interface SymbolPageResult {
  content: string;
  languageId: string;
}

/** Client -> server: content of a read-only `ksym:` symbol page (null: no such symbol). */
export const SymbolPageRequest = new RequestType<SymbolPageParams, SymbolPageResult | null, void>('ksym/symbolPage');

export interface DecodeLogParams {
  /** The log document (open in the editor). */
  uri: string;
}

/** A link in the decoded log: `line` (0-based) from `start` to `end` opens `target` (a file URI with `#L<line>`). */
export interface DecodeLogLink {
  line: number;
  start: number;
  end: number;
  target: string;
}

export interface DecodeLogResult {
  content: string;
  links: DecodeLogLink[];
}

/** Client -> server: the log with every frame's source line and inline chain (Kernel Symbols: Decode Log); null: no such document. */
export const DecodeLogRequest = new RequestType<DecodeLogParams, DecodeLogResult | null, void>('ksym/decodeLog');

/**
 * Client command behind the hover's "Copy" links: one argument, the snippet text. Registered by
 * the client only while it runs, hidden from the palette; the hover is trusted for this command only.
 */
export const COPY_SNIPPET_COMMAND = 'ksym.copySnippet';
