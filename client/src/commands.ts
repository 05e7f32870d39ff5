/**
 * The extension's commands: ksym.reindex, ksym.showStats, ksym.showOutput.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { ReindexRequest, StatsRequest, type StatsResult, type StatusParams } from '../../server/src/protocol';

/** Read-only virtual document the statistics are shown in (no "save?" prompt). */
const STATS_SCHEME = 'ksym-stats';
const STATS_URI = vscode.Uri.from({ scheme: STATS_SCHEME, path: '/Kernel Symbols Statistics.md' });

class StatsDocument implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private markdown = '';
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(markdown: string): void {
    this.markdown = markdown;
    this.changed.fire(STATS_URI);
  }

  provideTextDocumentContent(): string {
    return this.markdown;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export interface CommandDeps {
  client: LanguageClient;
  output: vscode.OutputChannel;
}

function serverNotRunning(output: vscode.OutputChannel): undefined {
  void vscode.window.showWarningMessage('Kernel Symbols: the language server is not running.', 'Show Output').then((choice) => {
    if (choice) output.show(true);
  });
  return undefined;
}

function requestFailed(what: string, err: unknown, output: vscode.OutputChannel): undefined {
  const msg = err instanceof Error ? err.message : String(err);
  output.appendLine(`[client] ${what} failed: ${msg}`);
  void vscode.window.showErrorMessage(`Kernel Symbols: ${what} failed: ${msg}`);
  return undefined;
}

export function registerCommands(context: vscode.ExtensionContext, { client, output }: CommandDeps): void {
  const stats = new StatsDocument();
  context.subscriptions.push(stats, vscode.workspace.registerTextDocumentContentProvider(STATS_SCHEME, stats));

  /** Rebuilds the index; resolves with the server's reply (tests use it). */
  const reindex = async (): Promise<StatusParams | undefined> => {
    if (!client.isRunning()) return serverNotRunning(output);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Kernel Symbols: reindexing…' },
        () => client.sendRequest(ReindexRequest),
      );
    } catch (err) {
      return requestFailed('reindex', err, output);
    }
  };

  /** Opens the statistics as a markdown preview; resolves with the markdown. */
  const showStats = async (): Promise<string | undefined> => {
    if (!client.isRunning()) return serverNotRunning(output);
    let result: StatsResult;
    try {
      result = await client.sendRequest(StatsRequest);
    } catch (err) {
      return requestFailed('index statistics', err, output);
    }
    stats.set(result.markdown);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', STATS_URI);
    } catch {
      // Markdown extension disabled: show the source instead.
      const doc = await vscode.workspace.openTextDocument(STATS_URI);
      await vscode.window.showTextDocument(doc, { preview: true });
    }
    return result.markdown;
  };

  const showOutput = (): void => output.show(true);

  context.subscriptions.push(
    vscode.commands.registerCommand('ksym.reindex', reindex),
    vscode.commands.registerCommand('ksym.showStats', showStats),
    vscode.commands.registerCommand('ksym.showOutput', showOutput),
  );
}
