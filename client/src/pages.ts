/**
 * Read-only symbol pages: `ksym:/symbol/...`, `ksym:/btf/...`, `ksym:/ko/...` documents
 * served by the language server (`ksym/symbolPage`), shown rendered in the markdown preview.
 * Workspace symbol results and Go to Definition point at them when a symbol has no file
 * line to open.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { PAGE_SCHEME, parseOpenPath, SymbolPageRequest } from '../../server/src/protocol';

class SymbolPages implements vscode.TextDocumentContentProvider {
  constructor(private client: LanguageClient) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const open = parseOpenPath(uri.path);
    if (open) return `Opening ${open.file}:${open.line}…`; // the tab is replaced by the file (openLink)
    if (!this.client.isRunning()) return 'The Kernel Symbols language server is not running.';
    try {
      const r = await this.client.sendRequest(SymbolPageRequest, { uri: uri.toString(true) }, token);
      if (!r) return `No such symbol: ${uri.toString(true)}`;
      return r.content;
    } catch (e) {
      return `Kernel Symbols: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

/**
 * A page opened as text (F12, a workspace symbol, a link in another page) is shown rendered,
 * as the statistics are: the markdown preview takes the text tab's place. Without the
 * markdown extension the text stays (with markdown highlighting).
 */
async function showRendered(tab: vscode.Tab): Promise<void> {
  const input = tab.input;
  if (!(input instanceof vscode.TabInputText) || input.uri.scheme !== PAGE_SCHEME) return;
  if (parseOpenPath(input.uri.path)) return openLink(tab, input.uri);
  const doc = await vscode.workspace.openTextDocument(input.uri);
  if (doc.languageId !== 'markdown') await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
  try {
    await vscode.commands.executeCommand('markdown.showPreview', input.uri);
  } catch {
    return; // markdown extension disabled: keep the source
  }
  // The text tab, wherever it is now (opening the preview may have moved it).
  for (const g of vscode.window.tabGroups.all)
    for (const t of g.tabs)
      if (t.input instanceof vscode.TabInputText && t.input.uri.toString() === input.uri.toString()) await vscode.window.tabGroups.close(t);
}

/**
 * A `ksym:/open/L<line>/<path>` link clicked in a page (the preview opens it with
 * `vscode.open`, as a text tab of this scheme): that tab closes, and the file opens at the
 * line, in the group the tab was in.
 */
async function openLink(tab: vscode.Tab, uri: vscode.Uri): Promise<void> {
  const open = parseOpenPath(uri.path);
  if (!open) return;
  const column = tab.group.viewColumn;
  await vscode.window.tabGroups.close(tab);
  const at = new vscode.Position(open.line - 1, 0);
  const file = vscode.Uri.file(open.file);
  try {
    // Regular files only: a FIFO or a device at that path would block the editor's read.
    const st = await vscode.workspace.fs.stat(file);
    if (!(st.type & vscode.FileType.File)) {
      void vscode.window.showWarningMessage(`Kernel Symbols: ${open.file} is not a regular file; not opened`);
      return;
    }
    await vscode.window.showTextDocument(file, { viewColumn: column, selection: new vscode.Range(at, at) });
  } catch (e) {
    void vscode.window.showWarningMessage(`Kernel Symbols: cannot open ${open.file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function registerSymbolPages(context: vscode.ExtensionContext, client: LanguageClient): void {
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(PAGE_SCHEME, new SymbolPages(client)),
    // Pages are markdown: show them with markdown highlighting.
    vscode.workspace.onDidOpenTextDocument((doc) => {
      if (doc.uri.scheme === PAGE_SCHEME && !parseOpenPath(doc.uri.path) && doc.languageId !== 'markdown')
        void vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    }),
    vscode.window.tabGroups.onDidChangeTabs((e) => {
      for (const tab of e.opened) void showRendered(tab).catch(() => undefined);
    }),
  );
}
