/**
 * Kernel Symbols: Decode Log: the active log decoded by the server (`ksym/decodeLog`:
 * every frame with its source line and inline chain, like decode_stacktrace.sh's
 * output) as a read-only virtual document (`ksym-decode:` scheme, no "save?" prompt),
 * with every location a link that opens the file at the line (a DocumentLinkProvider
 * over the ranges the server gives). Only with a live client.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DecodeLogRequest, type DecodeLogLink } from '../../server/src/protocol';

const DECODE_SCHEME = 'ksym-decode';

class DecodedLogs implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider, vscode.Disposable {
  private readonly docs = new Map<string, { content: string; links: DecodeLogLink[] }>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(uri: vscode.Uri, content: string, links: DecodeLogLink[]): void {
    this.docs.set(uri.toString(), { content, links });
    // Keep a few: each is a whole log.
    while (this.docs.size > 8) this.docs.delete(this.docs.keys().next().value as string);
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.docs.get(uri.toString())?.content ?? 'Run Kernel Symbols: Decode Log on a kernel log to decode it.';
  }

  provideDocumentLinks(doc: vscode.TextDocument): vscode.DocumentLink[] {
    const d = this.docs.get(doc.uri.toString());
    if (!d) return [];
    const out: vscode.DocumentLink[] = [];
    for (const l of d.links) {
      let target: vscode.Uri;
      try {
        target = vscode.Uri.parse(l.target, true);
      } catch {
        continue;
      }
      if (target.scheme !== 'file') continue; // the server only links files on disk
      const link = new vscode.DocumentLink(new vscode.Range(l.line, l.start, l.line, l.end), target);
      link.tooltip = 'Open the source line';
      out.push(link);
    }
    return out;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function registerDecodeLog(context: vscode.ExtensionContext, client: LanguageClient, output: vscode.OutputChannel): void {
  const logs = new DecodedLogs();
  context.subscriptions.push(
    logs,
    vscode.workspace.registerTextDocumentContentProvider(DECODE_SCHEME, logs),
    vscode.languages.registerDocumentLinkProvider({ scheme: DECODE_SCHEME }, logs),
  );

  /** Decodes the active editor's log; resolves with the decoded text (tests use it). */
  const decode = async (): Promise<string | undefined> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Kernel Symbols: open a kernel log to decode.');
      return undefined;
    }
    if (!client.isRunning()) {
      void vscode.window.showWarningMessage('Kernel Symbols: the language server is not running.');
      return undefined;
    }
    const source = editor.document.uri;
    let r;
    try {
      r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Kernel Symbols: decoding the log…' },
        (_p, token) => client.sendRequest(DecodeLogRequest, { uri: source.toString() }, token),
      );
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      output.appendLine(`[client] decode log failed: ${msg}`);
      void vscode.window.showErrorMessage(`Kernel Symbols: decode log failed: ${msg}`);
      return undefined;
    }
    if (!r) {
      void vscode.window.showWarningMessage('Kernel Symbols: this document is not a log the server has open.');
      return undefined;
    }
    const name = source.path.split('/').pop() || 'log';
    const uri = vscode.Uri.from({ scheme: DECODE_SCHEME, path: `/${name} (decoded)`, query: source.toString() });
    logs.set(uri, r.content, r.links);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'kernel-log');
    await vscode.window.showTextDocument(doc, { preview: false });
    return r.content;
  };

  context.subscriptions.push(vscode.commands.registerCommand('ksym.decodeLog', decode));
}
