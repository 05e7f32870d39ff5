/**
 * Read-only symbol pages: `ksym:/symbol/...`, `ksym:/btf/...`, `ksym:/ko/...` documents
 * served by the language server (`ksym/symbolPage`). Workspace symbol results and Go to
 * Definition point at them when a symbol has no file line to open.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { PAGE_SCHEME, SymbolPageRequest } from '../../server/src/protocol';

class SymbolPages implements vscode.TextDocumentContentProvider {
  constructor(private client: LanguageClient) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
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

export function registerSymbolPages(context: vscode.ExtensionContext, client: LanguageClient): void {
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(PAGE_SCHEME, new SymbolPages(client)),
    // Pages are markdown: show them with markdown highlighting.
    vscode.workspace.onDidOpenTextDocument((doc) => {
      if (doc.uri.scheme === PAGE_SCHEME && doc.languageId !== 'markdown') void vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    }),
  );
}
