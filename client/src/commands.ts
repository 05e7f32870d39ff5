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

  /**
   * The quick action of a log from another kernel: pick the kernel's directory (an extracted
   * -dbg package, a build tree, a kallsyms+version folder) and add it to ksym.kernels, so its
   * symbols, modules and BTF are used together for the logs it wrote. Resolves with the directory.
   */
  const chooseKernel = async (): Promise<string | undefined> => {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Use this kernel',
      title: 'Kernel Symbols: the directory of the kernel that wrote this log',
    });
    const dir = picked?.[0]?.fsPath;
    if (!dir) return undefined;
    const c = vscode.workspace.getConfiguration('ksym');
    const now = c.get<string[]>('kernels', []);
    if (!now.includes(dir)) await c.update('kernels', [...now, dir], vscode.ConfigurationTarget.Global);
    return dir;
  };

  /** "Use as kernel" on a kallsyms dump or System.map: index that file alone (one kernel, never mixed). */
  const useAsKernel = async (arg?: { path?: string; kind?: string }): Promise<string | undefined> => {
    const path = arg?.path ?? vscode.window.activeTextEditor?.document.uri.fsPath;
    if (!path) return undefined;
    const kind = arg?.kind ?? (/System\.map/i.test(path) ? 'system.map' : 'kallsyms');
    const c = vscode.workspace.getConfiguration('ksym');
    const target = vscode.ConfigurationTarget.Global;
    await c.update('kallsyms', kind === 'system.map' ? [] : [path], target);
    await c.update('systemMap', kind === 'system.map' ? [path] : [], target);
    return path;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('ksym.reindex', reindex),
    vscode.commands.registerCommand('ksym.showStats', showStats),
    vscode.commands.registerCommand('ksym.showOutput', showOutput),
    vscode.commands.registerCommand('ksym.chooseKernel', chooseKernel),
    vscode.commands.registerCommand('ksym.useAsKernel', useAsKernel),
  );
}
