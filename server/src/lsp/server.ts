/**
 * The ksym language server: wires the LSP connection to the handlers. Domain logic
 * lives in core/ and in the handlers of lsp/; this file only moves messages.
 */
import {
  CodeActionKind,
  MarkupKind,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Hover,
  type InitializeResult,
  type ServerCapabilities,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { pathToFileURL } from 'node:url';
import { moduleSources } from '../core/search/sources';
import { ReindexRequest, StatsRequest, StatusNotification, SymbolPageRequest } from '../protocol';
import { insertUnderKernelForm, sourceHoverPart } from './hover/source';
import { sourceDefinition } from './sourceDefinition';
import { servedView, wireSourceLines } from './sourceHandlers';
import { definition } from './definition';
import { codeActions, DiagnosticsScheduler } from './diagnostics';
import { documentSymbols } from './documentSymbols';
import { hoverWithModules } from './hover/hover';
import { vmlinuxTraceFacts } from './hover/traceFacts';
import type { LineSource } from './hover/kallsyms';
import { IndexService } from './indexService';
import { indexingError, indexingHover } from './indexing';
import { headlineMarkdown, kernelCodeActions, kernelDiagnostics } from './kernelHandlers';
import { KernelRegistry } from './kernelRegistry';
import { serverFetches } from './debuginfodFetches';
import { createGuardedConnection } from './transport';
import { uriToPath } from './pageUri';
import { chooseSettings, findSettings, parseSettings, type FoundSettings, type Settings } from './settings';
import { statsMarkdown } from './stats';
import { symbolPage } from './symbolPages';
import { prepareWorkspaceSymbolsSoon, workspaceSymbolsCancellable, type WorkspaceSymbolContext } from './workspaceSymbols';

/** The server version (package.json), set by the build (scripts/build.mjs, esbuild define). */
declare const KSYM_VERSION: string | undefined;

const CAPABILITIES: ServerCapabilities = {
  textDocumentSync: TextDocumentSyncKind.Incremental,
  hoverProvider: true,
  codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
  workspaceSymbolProvider: true,
  definitionProvider: true,
  inlayHintProvider: true,
  documentSymbolProvider: true,
};

/** What the client told us at initialize. */
interface ClientState {
  hasConfiguration: boolean;
  hasProgress: boolean;
  /** The client can be asked to refresh inlay hints (workspace/inlayHint/refresh). */
  hasInlayRefresh?: boolean;
  /** Called after new settings are applied (source lines: new roots or debug file, hints on/off). */
  onSettings?: () => void;
  workspaceFolder?: string;
  /** The settings found in initializationOptions, then the last ones pushed (didChangeConfiguration). */
  initSettings?: FoundSettings;
}

function createService(connection: Connection, client: ClientState): IndexService {
  return new IndexService({
    log: (m) => connection.console.log(m),
    status: (s) => void connection.sendNotification(StatusNotification, s),
    progress: async (title) => {
      if (!client.hasProgress) return { done: () => undefined };
      try {
        const p = await connection.window.createWorkDoneProgress();
        p.begin(title, undefined, undefined, false);
        return { done: () => p.done() };
      } catch {
        return { done: () => undefined };
      }
    },
  });
}

/** Initialize, configuration and the custom requests: the index life cycle. */
function wireLifecycle(connection: Connection, service: IndexService, client: ClientState, kernels: KernelRegistry): void {
  connection.onInitialize((params): InitializeResult => {
    client.hasConfiguration = !!params.capabilities.workspace?.configuration;
    client.hasProgress = !!params.capabilities.window?.workDoneProgress;
    client.hasInlayRefresh = !!params.capabilities.workspace?.inlayHint?.refreshSupport;
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    client.workspaceFolder = folder ? uriToPath(folder) : undefined;
    client.initSettings = findSettings(params.initializationOptions, 'initializationOptions');
    // Index what these settings name while the client answers initialize and the configuration request.
    setImmediate(() => service.prefetch(parseSettings(client.initSettings?.raw, client.workspaceFolder)));
    return { capabilities: CAPABILITIES, serverInfo: { name: 'ksym', version: typeof KSYM_VERSION === 'string' ? KSYM_VERSION : 'dev' } };
  });

  async function currentSettings(pushed?: FoundSettings): Promise<Settings> {
    if (pushed) client.initSettings = pushed;
    let configured: unknown;
    if (client.hasConfiguration) {
      try {
        configured = await connection.workspace.getConfiguration('ksym');
      } catch {
        /* keep what we have */
      }
    }
    return chooseSettings(configured, client.initSettings, client.workspaceFolder);
  }

  // The settings are kept to one kernel (kernelRegistry.ts keepOneKernel) before they are served.
  connection.onInitialized(async () => {
    void service.configure(kernels.configure(await currentSettings(), client.workspaceFolder));
    client.onSettings?.();
  });
  connection.onDidChangeConfiguration(async (change) => {
    const pushed = findSettings(change, 'didChangeConfiguration');
    void service.configure(kernels.configure(await currentSettings(pushed), client.workspaceFolder));
    client.onSettings?.();
  });
  connection.onRequest(ReindexRequest, async (token) => {
    await service.reindex('requested', { token, supersede: true });
    return service.status();
  });
  connection.onRequest(StatsRequest, () => ({ markdown: statsMarkdown(service) }));
  connection.onShutdown(() => service.dispose());
}

export function startServer(): void {
  const connection = createGuardedConnection();
  const documents = new TextDocuments(TextDocument);
  const client: ClientState = { hasConfiguration: false, hasProgress: false };
  const service = createService(connection, client);
  // debuginfod: a finished fetch recomputes the documents (onFetched, set below once they exist).
  let onFetched = () => undefined as void;
  const fetches = serverFetches(
    connection,
    () => client.hasProgress,
    () => onFetched(),
  );
  const kernels = new KernelRegistry(
    () => ({
      index: service.index,
      modules: service.modules,
      btf: service.btf,
      generation: service.servedGeneration,
      settings: service.current,
    }),
    (m) => connection.console.log(m),
    { fetches },
  );
  wireLifecycle(connection, service, client, kernels);
  const source = wireSourceLines(connection, documents, service, kernels, client, lineSource);

  const diagnostics = new DiagnosticsScheduler(
    (uri, diags) => void connection.sendDiagnostics({ uri, diagnostics: diags }),
    () => service.symposOptions(),
    (m) => connection.console.log(m),
    (doc) => kernelDiagnostics(kernels.context(doc)),
  );
  onFetched = () => {
    kernels.invalidate();
    diagnostics.refreshAll(documents.all());
    if (client.hasInlayRefresh) void connection.languages.inlayHint.refresh().catch(() => undefined);
  };
  // (not onShutdown: that handler is the index service's, one per connection)
  process.on('exit', () => fetches.dispose());
  service.onIndexChanged(() => {
    kernels.invalidate();
    diagnostics.refreshAll(documents.all());
    void diagnostics.scanWorkspaceKo(client.workspaceFolder);
  });
  // No diagnostics from an index that is not there yet: the first one is waited for.
  documents.onDidChangeContent((e) => void service.whenIndexed().then(() => diagnostics.schedule(e.document)));
  documents.onDidClose((e) => diagnostics.clear(e.document.uri));
  connection.onCodeAction((params) => [
    ...codeActions(params),
    ...kernelCodeActions(params, documents.get(params.textDocument.uri)?.languageId),
  ]);
  connection.onHover(async (params, token): Promise<Hover | null> => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return null;
    if (!(await service.firstIndex(token))) return token.isCancellationRequested ? null : indexingHover();
    const { line, character } = params.position;
    const klp = await diagnostics.hover(doc, line, character);
    if (klp) return klp;
    // The log's kernel: its own index, modules (load addresses learned from this log) and BTF.
    const k = await kernels.settled(doc);
    const ctx = { index: k.view.index, shift: k.shift, languageId: doc.languageId };
    const trace = vmlinuxTraceFacts(source.sources().openedElf(servedView(k)), k.view.btf?.vmlinux);
    const answer = await hoverWithModules(ctx, lineSource(doc), line, character, k.modules ?? k.view.modules, k.view.btf, trace);
    if (!answer) return null;
    // The source line (DWARF) under the kernel form; never holds the symbol answer up for the debug file's opening.
    // A [mod] frame (or an address in a module) is read in its module's DWARF even when only the module file resolved it.
    const modFrame = answer.token?.kind === 'frame' && answer.token.module !== undefined;
    const tok = answer.resolved || modFrame || answer.token?.kind === 'address' ? answer.token : undefined;
    const src = tok ? await sourceHoverPart(source.sources(), servedView(k), k.shift, lineSource(doc).line(line), tok) : undefined;
    if (src) answer.markdown = insertUnderKernelForm(answer.markdown, src);
    const head = headlineMarkdown(k);
    return {
      contents: { kind: MarkupKind.Markdown, value: head ? `${head}\n\n---\n\n${answer.markdown}` : answer.markdown },
      range: { start: { line: answer.line, character: answer.start }, end: { line: answer.line, character: answer.end } },
    };
  });

  const openFile = (f: string) => documents.get(pathToFileURL(f).toString()) !== undefined;
  const symbolContext = (): WorkspaceSymbolContext => ({
    index: service.index,
    btf: service.btf.vmlinux,
    modules: (service.modules?.loadedModules() ?? []).map((m) => ({ module: m.module, file: m.file })),
    cap: service.searchCap(),
    openFile,
  });
  let stopPrepare = (): void => undefined;
  service.onIndexChanged(() => {
    stopPrepare();
    stopPrepare = prepareWorkspaceSymbolsSoon(symbolContext);
  });
  connection.onWorkspaceSymbol(async (params, token) =>
    (await service.firstIndex(token))
      ? workspaceSymbolsCancellable(symbolContext(), params.query, token)
      : token.isCancellationRequested
        ? []
        : indexingError(),
  );

  connection.onDefinition(async (params, token) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return null;
    if (!(await service.firstIndex(token))) return token.isCancellationRequested ? null : indexingError();
    const lines = lineSource(doc);
    const n = params.position.line;
    const k = kernels.context(doc);
    const opts = {
      shift: k.shift,
      nextLine: n + 1 < lines.lineCount ? lines.line(n + 1) : undefined,
      kallsyms: doc.languageId === 'kallsyms',
      openFile,
    };
    const sym = definition(lines.line(n), params.position.character, k.view.index, k.view.btf?.vmlinux, opts);
    // A frame's source line first (when a source tree has it), the symbol's location second.
    const src = await sourceDefinition(source.sources(), servedView(k), k.shift, lines.line(n), opts.nextLine, params.position.character);
    return src ? [src, ...(sym ? [sym] : [])] : (sym ?? null);
  });

  connection.onDocumentSymbol((params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || doc.languageId !== 'kallsyms') return null;
    return documentSymbols(doc.getText(), { file: uriToPath(params.textDocument.uri) });
  });

  connection.onRequest(SymbolPageRequest, (p) => {
    const ctx = symbolContext();
    return symbolPage(p.uri, { index: ctx.index, btf: ctx.btf, modules: moduleSources(ctx) }) ?? null;
  });

  documents.onDidClose((e) => kernels.forget(e.document.uri));
  documents.listen(connection);
  connection.listen();
}

/** Line access without splitting the whole document. */
function lineSource(doc: TextDocument): LineSource {
  return {
    lineCount: doc.lineCount,
    line: (n) => doc.getText({ start: { line: n, character: 0 }, end: { line: n, character: Number.MAX_SAFE_INTEGER } }),
  };
}
