/**
 * Status bar item fed by the server's `ksym/status` notification, plus the
 * one-time warning shown when the index goes into the error state.
 */
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/protocol';
import { moduleCount } from './statusText';
import { restrictedSummary } from './trustpaths';

const SHOW_STATS_COMMAND = 'ksym.showStats';
const MANAGE_TRUST = 'Manage Workspace Trust';

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Status bar text for a status (exported for tests). */
function statusText(s: StatusParams): string {
  switch (s.state) {
    case 'indexing':
      return '$(sync~spin) ksym: indexing…';
    case 'ready':
      return `$(symbol-function) ksym: ${formatCount(s.symbols)} symbols`;
    case 'error':
      return '$(error) ksym: error';
  }
}

function statusTooltip(s: StatusParams): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown('**Kernel Symbols**: ');
  if (s.state === 'indexing') {
    md.appendText(s.symbols > 0 ? `reindexing (serving ${formatCount(s.symbols)} symbols meanwhile)` : 'indexing…');
  } else if (s.state === 'error') {
    md.appendText(s.symbols > 0 ? `index failed (serving ${formatCount(s.symbols)} symbols from before)` : 'index failed');
  } else {
    md.appendText(`${formatCount(s.symbols)} symbols${moduleCount(s)}, indexed in ${formatCount(Math.round(s.millis))} ms`);
  }
  md.appendMarkdown('\n\n');
  if (s.sources.length) {
    md.appendMarkdown('Sources:\n');
    for (const src of s.sources) md.appendMarkdown('- ').appendText(src).appendMarkdown('\n');
    md.appendMarkdown('\n');
  }
  if (s.messages.length) {
    md.appendMarkdown(s.state === 'error' ? 'Errors:\n' : 'Messages:\n');
    for (const msg of s.messages) md.appendMarkdown('- ').appendText(msg).appendMarkdown('\n');
    md.appendMarkdown('\n');
  }
  md.appendMarkdown(`Generation ${s.generation}. Click for index statistics.`);
  return md;
}

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('ksym.status', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'Kernel Symbols';
    this.item.command = SHOW_STATS_COMMAND;
  }

  update(s: StatusParams): void {
    this.item.text = statusText(s);
    this.item.tooltip = statusTooltip(s);
    this.item.backgroundColor = s.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }

  /** The server went away: the last status no longer holds. */
  serverStopped(): void {
    this.item.text = '$(error) ksym: stopped';
    this.item.tooltip = 'Kernel Symbols: the language server is not running. Click for details.';
    this.item.command = 'ksym.showOutput';
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    this.item.show();
  }

  /** The server is back; the next status will fill the item in. */
  serverStarted(): void {
    this.item.command = SHOW_STATS_COMMAND;
  }

  dispose(): void {
    this.item.dispose();
  }
}

/**
 * Shows a warning once each time the state becomes `error` (not again for
 * repeated error statuses; again after a ready/indexing status in between).
 */
export class ErrorNotifier {
  private lastState: StatusParams['state'] | undefined;

  update(s: StatusParams): void {
    const entered = s.state === 'error' && this.lastState !== 'error';
    this.lastState = s.state;
    if (!entered) return;
    // Restricted Mode alone: one short sentence and the way out, not the full messages.
    const restricted = restrictedSummary(s.messages);
    if (restricted) {
      void vscode.window.showWarningMessage(`Kernel Symbols: ${restricted}`, MANAGE_TRUST, 'Show Output').then((choice) => {
        if (choice === MANAGE_TRUST) void vscode.commands.executeCommand('workbench.trust.manage');
        else if (choice === 'Show Output') void vscode.commands.executeCommand('ksym.showOutput');
      });
      return;
    }
    const detail = s.messages.length ? s.messages.join('; ') : 'no details from the server';
    // The index in use (the previous one after a failed reindex, the default in Restricted Mode) still serves.
    const serving = s.symbols > 0 ? ` (${s.symbols.toLocaleString('en-US')} symbols are served meanwhile)` : '';
    void vscode.window.showWarningMessage(`Kernel Symbols: ${detail}${serving}`, 'Show Output', 'Reindex').then((choice) => {
      if (choice === 'Show Output') void vscode.commands.executeCommand('ksym.showOutput');
      else if (choice === 'Reindex') void vscode.commands.executeCommand('ksym.reindex');
    });
  }
}
