/**
 * `ksym.copySnippet`: the hover's "Copy bpftrace probe" / "Copy libbpf skeleton" links. Takes
 * one string argument and puts it on the clipboard; anything else is ignored. Registered only
 * while a client runs (the hover that carries the links comes from it).
 */
import * as vscode from 'vscode';
import { COPY_SNIPPET_COMMAND } from '../../server/src/protocol';

/** The links carry at most 16 KiB (server/src/lsp/hover/copyLink.ts); more is not ours. */
const MAX_SNIPPET = 16 * 1024;

export function registerCopySnippet(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(COPY_SNIPPET_COMMAND, async (snippet: unknown) => {
      if (typeof snippet !== 'string' || snippet.length === 0 || snippet.length > MAX_SNIPPET) return false;
      await vscode.env.clipboard.writeText(snippet);
      vscode.window.setStatusBarMessage('Kernel Symbols: snippet copied', 3000);
      return true;
    }),
  );
}
