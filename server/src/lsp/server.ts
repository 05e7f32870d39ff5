/**
 * The ksym language server: wires the LSP connection to the handlers. Domain logic
 * lives in core/ and in the handlers of lsp/; this file only moves messages.
 */
import {
  CodeActionKind,
  DocumentSymbol as LspDocumentSymbol,
  SymbolInformation,
  createConnection,
  Hover,
  InitializeResult,
  MarkupKind,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { hoverWithModules, LineSource } from './hover/kallsyms';
import { IndexService } from './indexService';
import { parseSettings, type Settings } from './settings';
import { ReindexRequest, StatsRequest, StatsResult, StatusNotification, StatusParams, SymbolPageParams, SymbolPageRequest, SymbolPageResult } from '../protocol';
import { statsMarkdown } from './stats';
import { codeActions, DiagnosticsScheduler } from './diagnostics';
import { moduleSources } from '../core/search/sources';
import { prepareWorkspaceSymbols, workspaceSymbols } from './workspaceSymbols';
import { definition, symbolPage } from './symbolPages';
import { documentSymbols } from './documentSymbols';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  const documents = new TextDocuments(TextDocument);
  let hasConfigurationCapability = false;
  let hasProgress = false;
  let workspaceFolder: string | undefined;
  let initSettings: unknown;

  const service = new IndexService({
    log: (m) => connection.console.log(m),
    status: (s: StatusParams) => void connection.sendNotification(StatusNotification, s),
    progress: async (title) => {
      if (!hasProgress) return { done: () => undefined };
      try {
        const p = await connection.window.createWorkDoneProgress();
        p.begin(title, undefined, undefined, false);
        return { done: () => p.done() };
      } catch {
        return { done: () => undefined };
      }
    },
  });

  connection.onInitialize((params): InitializeResult => {
    hasConfigurationCapability = !!params.capabilities.workspace?.configuration;
    hasProgress = !!params.capabilities.window?.workDoneProgress;
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    if (folder?.startsWith('file://')) workspaceFolder = decodeURIComponent(folder.slice(7));
    initSettings = (params.initializationOptions as { settings?: unknown } | undefined)?.settings ?? params.initializationOptions;
    // Index what these settings name while the client answers initialize and the configuration request.
    setImmediate(() => service.prefetch(parseSettings(initSettings, workspaceFolder)));
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        workspaceSymbolProvider: true,
        definitionProvider: true,
        documentSymbolProvider: true,
      },
      serverInfo: { name: 'ksym', version: '0.1.0' },
    };
  });

  async function currentSettings(pushed?: unknown): Promise<Settings> {
    let raw: unknown = pushed ?? initSettings;
    if (hasConfigurationCapability) {
      try {
        raw = await connection.workspace.getConfiguration('ksym');
      } catch {
        /* keep what we have */
      }
    }
    return parseSettings(raw, workspaceFolder);
  }

  connection.onInitialized(async () => {
    service.configure(await currentSettings());
  });

  connection.onDidChangeConfiguration(async (change) => {
    const pushed = (change.settings as { ksym?: unknown } | undefined)?.ksym;
    service.configure(await currentSettings(pushed));
  });

  connection.onRequest(ReindexRequest, async () => {
    await service.reindex('requested');
    return service.status();
  });

  connection.onRequest(StatsRequest, (): StatsResult => ({ markdown: statsMarkdown(service) }));

  const diagnostics = new DiagnosticsScheduler(
    (uri, diags) => void connection.sendDiagnostics({ uri, diagnostics: diags }),
    () => service.symposOptions(),
    (m) => connection.console.log(m),
  );
  service.onIndexChanged(() => {
    diagnostics.refreshAll(documents.all());
    void diagnostics.scanWorkspaceKo(workspaceFolder);
  });
  documents.onDidChangeContent((e) => diagnostics.schedule(e.document));
  documents.onDidClose((e) => diagnostics.clear(e.document.uri));
  connection.onCodeAction((params) => codeActions(params));

  connection.onHover(async (params): Promise<Hover | null> => {
    const doc = documents.get(params.textDocument.uri);
    const idx = service.index;
    if (!doc) return null;
    const klp = await diagnostics.hover(doc, params.position.line, params.position.character);
    if (klp) return klp;
    const lines = lineSource(doc);
    const answer = await hoverWithModules(
      { index: idx, shift: service.shiftFor(doc.uri, doc.version, () => doc.getText()), languageId: doc.languageId },
      lines,
      params.position.line,
      params.position.character,
      service.modules,
      service.btf,
    );
    if (!answer) return null;
    return {
      contents: { kind: MarkupKind.Markdown, value: answer.markdown },
      range: { start: { line: answer.line, character: answer.start }, end: { line: answer.line, character: answer.end } },
    };
  });

  const openFile = (f: string) => documents.get(pathToFileURL(f).toString()) !== undefined;
  const symbolContext = () => ({
    index: service.index,
    btf: service.btf.vmlinux,
    modules: (service.modules?.loadedModules() ?? []).map((m) => ({ module: m.module, file: m.file })),
    cap: service.searchCap(),
    openFile,
  });
  service.onIndexChanged(() => setImmediate(() => prepareWorkspaceSymbols(symbolContext())));

  connection.onWorkspaceSymbol((params) => workspaceSymbols(symbolContext(), params.query) as SymbolInformation[]);

  connection.onDefinition((params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return null;
    const lines = lineSource(doc);
    const n = params.position.line;
    return (
      definition(lines.line(n), params.position.character, service.index, service.btf.vmlinux, {
        shift: service.shiftFor(doc.uri, doc.version, () => doc.getText()),
        nextLine: n + 1 < lines.lineCount ? lines.line(n + 1) : undefined,
        kallsyms: doc.languageId === 'kallsyms',
        openFile,
      }) ?? null
    );
  });

  connection.onDocumentSymbol((params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || doc.languageId !== 'kallsyms') return null;
    const file = params.textDocument.uri.startsWith('file://') ? fileURLToPath(params.textDocument.uri) : undefined;
    return documentSymbols(doc.getText(), { file }) as LspDocumentSymbol[];
  });

  connection.onRequest(SymbolPageRequest, (p: SymbolPageParams): SymbolPageResult | null => {
    const ctx = symbolContext();
    return symbolPage(p.uri, { index: ctx.index, btf: ctx.btf, modules: moduleSources(ctx) }) ?? null;
  });

  documents.onDidClose((e) => service.forget(e.document.uri));
  documents.listen(connection);
  connection.onShutdown(() => service.dispose());
  connection.listen();
}

/** Line access without splitting the whole document. */
function lineSource(doc: TextDocument): LineSource {
  return {
    lineCount: doc.lineCount,
    line: (n) => doc.getText({ start: { line: n, character: 0 }, end: { line: n, character: Number.MAX_SAFE_INTEGER } }),
  };
}
