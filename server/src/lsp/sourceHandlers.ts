/**
 * Wiring of the source-line features (issue 15 §3) onto the connection: the debug-file
 * service kept in step with the settings, inlay hints after each frame, the Decode Log
 * request, and the refresh request sent when new lines are read. Small: the work is in
 * sourceLines.ts, inlayHints.ts, decodeLog.ts, hover/source.ts, sourceDefinition.ts.
 */
import type { Connection, TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DecodeLogRequest } from '../protocol';
import { decodeLog } from './decodeLog';
import type { LineSource } from './hover/kallsyms';
import type { IndexService } from './indexService';
import { inlayHints } from './inlayHints';
import { INDEXING_MESSAGE } from './indexing';
import type { DocContext, KernelRegistry } from './kernelRegistry';
import { uriToPath } from './pageUri';
import { SourceLineService, type ServedView } from './sourceLines';
import { vmlinuxDebugHook } from './debuginfodFetches';

/** Documents that get inlay hints (logs; a kallsyms dump or C file has no frames). */
const HINT_LANGUAGES = new Set(['kernel-log', 'log', 'plaintext']);

/** The view source lines are read with: the document's index and kernel, and its own module store (load addresses learned from the log). */
export function servedView(k: DocContext): ServedView {
  // The log's CPU: line build id is the vmlinux's when the kernel was chosen for the log (a known, different one is never chosen).
  const buildId = k.view.kernel?.buildId ?? (k.selection?.ok ? k.identity?.buildId?.value : undefined);
  return { index: k.view.index, kernel: k.view.kernel, modules: k.modules ?? k.view.modules, buildId };
}

export interface SourceWiring {
  /** The service, configured from the settings being served. */
  sources(): SourceLineService;
}

export function wireSourceLines(
  connection: Connection,
  documents: TextDocuments<TextDocument>,
  service: IndexService,
  kernels: KernelRegistry,
  client: { workspaceFolder?: string; hasInlayRefresh?: boolean; onSettings?: () => void },
  lineSource: (doc: TextDocument) => LineSource,
): SourceWiring {
  let refreshQueued = false;
  const refresh = () => {
    if (!client.hasInlayRefresh || refreshQueued) return;
    refreshQueued = true;
    setImmediate(() => {
      refreshQueued = false;
      void connection.languages.inlayHint.refresh().catch(() => undefined);
    });
  };
  const lines = new SourceLineService({
    log: (m) => connection.console.log(m),
    changed: refresh,
    vmlinuxDebug: vmlinuxDebugHook(() => kernels.debuginfod),
  });
  let hints = true;
  const sources = (): SourceLineService => {
    const s = service.current;
    lines.configure({ vmlinux: s?.vmlinux ?? '', sourceRoots: s?.sourceRoots ?? [], workspaceFolder: client.workspaceFolder });
    return lines;
  };
  // New settings: a new debug file or source tree applies now; shown hints are asked for again.
  let first = true;
  client.onSettings = () => {
    const before = lines.configKey();
    sources();
    const on = service.current?.inlayHints !== false;
    if (!first && (before !== lines.configKey() || on !== hints)) refresh();
    first = false;
    hints = on;
  };

  connection.languages.inlayHint.on(async (params, token) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || !HINT_LANGUAGES.has(doc.languageId) || service.current?.inlayHints === false) return null;
    if (!(await service.firstIndex(token))) return null; // no ⚠ from an index not built yet
    const k = await kernels.settled(doc);
    return inlayHints({ index: k.view.index, shift: k.shift, view: servedView(k), service: sources() }, lineSource(doc), params.range);
  });

  connection.onRequest(DecodeLogRequest, async (p, token) => {
    const doc = typeof p?.uri === 'string' ? documents.get(p.uri) : undefined;
    if (!doc) return null;
    if (!(await service.firstIndex(token))) return { content: INDEXING_MESSAGE, links: [] };
    const k = await kernels.settled(doc);
    const title = (doc.uri.startsWith('file:') ? uriToPath(doc.uri) : undefined) ?? doc.uri;
    return decodeLog({ index: k.view.index, shift: k.shift, view: servedView(k), service: sources(), title, token }, lineSource(doc));
  });

  connection.onShutdown(() => lines.dispose());
  return { sources };
}
