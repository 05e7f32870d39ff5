/**
 * Entry point: wires the language client, status bar, commands and context key.
 */
import * as vscode from 'vscode';
import { type LanguageClient, State } from 'vscode-languageclient/node';
import { StatusNotification, type StatusParams } from '../../server/src/protocol';
import { type KsymApi, StatusWatcher } from './api';
import { createClient } from './client';
import { registerCommands } from './commands';
import { registerCopySnippet } from './copySnippet';
import { registerDecodeLog } from './decodeLog';
import { registerSymbolPages } from './pages';
import { ErrorNotifier, StatusBar } from './status';

export type { KsymApi } from './api';

const RUNNING_CONTEXT = 'ksym.serverRunning';

let client: LanguageClient | undefined;

function setRunning(running: boolean): void {
  void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT, running);
}

export async function activate(context: vscode.ExtensionContext): Promise<KsymApi> {
  const output = vscode.window.createOutputChannel('Kernel Symbols');
  const trace = vscode.window.createOutputChannel('Kernel Symbols (LSP trace)');
  const watcher = new StatusWatcher();
  const statusBar = new StatusBar();
  const notifier = new ErrorNotifier();
  context.subscriptions.push(output, trace, watcher, statusBar);

  const c = createClient(context, output, trace);
  client = c;

  c.onNotification(StatusNotification, (s: StatusParams) => {
    watcher.update(s);
    statusBar.update(s);
    notifier.update(s);
  });

  setRunning(false);
  let wasRunning = false;
  context.subscriptions.push(
    c.onDidChangeState(({ newState }) => {
      const running = newState === State.Running;
      setRunning(running);
      if (running) statusBar.serverStarted();
      else if (wasRunning && newState === State.Stopped) {
        statusBar.serverStopped();
        watcher.fail(new Error('Kernel Symbols language server stopped'));
      }
      wasRunning = running;
    }),
  );

  // Trusting the workspace lifts Restricted Mode: the server pulls the settings again.
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (c.isRunning()) void c.sendNotification('workspace/didChangeConfiguration', { settings: null });
    }),
  );

  registerCommands(context, { client: c, output });
  registerSymbolPages(context, c);
  registerDecodeLog(context, c, output);
  registerCopySnippet(context);

  try {
    await c.start();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    output.appendLine(`[client] failed to start the language server: ${msg}`);
    statusBar.serverStopped();
    watcher.fail(err);
    void vscode.window.showErrorMessage(`Kernel Symbols: the language server failed to start: ${msg}`, 'Show Output').then((choice) => {
      if (choice) output.show(true);
    });
  }

  return {
    client: c,
    onReady: watcher.onReady,
    lastStatus: () => watcher.lastStatus(),
    onStatus: watcher.onStatus,
  };
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  setRunning(false);
  if (!c) return;
  try {
    await c.stop();
  } catch {
    // Already stopped or never started.
  }
}
