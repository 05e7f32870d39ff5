/**
 * LSP glue for "every log against its own kernel" (kernelRegistry.ts): the log-wide
 * diagnostic at the top of the log, the hover headline said before any symbol answer,
 * and the code actions (pick a kernel directory; "Use as kernel" on a kallsyms dump or
 * System.map). Never throws.
 */
import { CodeAction, CodeActionKind, type CodeActionParams, type Diagnostic, DiagnosticSeverity } from 'vscode-languageserver/node';
import { describeKernel } from '../core/kernels/kernels';
import { fetchingText } from './debuginfodFetches';
import type { DocContext } from './kernelRegistry';
import { text } from './markdown';
import { uriToPath } from './pageUri';

/** Commands the client implements (client/src/commands.ts). */
export const CHOOSE_KERNEL_COMMAND = 'ksym.chooseKernel';
export const USE_AS_KERNEL_COMMAND = 'ksym.useAsKernel';

const SEVERITY = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, info: DiagnosticSeverity.Information };
/** The diagnostic code of the log-wide kernel diagnostics. */
export const KERNEL_CODE = 'log-kernel';

/** The log-wide diagnostics: the mismatch (on the fact's line), notes, conflicts. */
export function kernelDiagnostics(ctx: DocContext): Diagnostic[] {
  try {
    return ctx.diagnostics
      .filter((d) => d.severity !== 'info' || !ctx.selection?.ok)
      .map((d) => ({
        range: { start: { line: Math.max(0, d.line - 1), character: d.start }, end: { line: Math.max(0, d.line - 1), character: d.end } },
        severity: SEVERITY[d.severity],
        source: 'ksym',
        code: KERNEL_CODE,
        message: d.message,
        data: { kernel: d.severity === 'error' ? 'mismatch' : 'note' },
      }));
  } catch {
    return [];
  }
}

/** Markdown said before the symbol answer: the mismatch, or which kernel answered. */
export function headlineMarkdown(ctx: DocContext): string | undefined {
  const kernel = kernelHeadline(ctx);
  // debuginfod: what is being fetched (bytes so far, live) and what could not be.
  const fetch = [
    ...(ctx.fetching ?? []).filter((f) => f.status === 'fetching' || f.status === 'checking').map((f) => `⏳ ${text(fetchingText(f))}`),
    ...(ctx.fetchProblems ?? []).map((p) => `⚠ ${text(p)}`),
  ];
  if (!fetch.length) return kernel;
  return [kernel, ...fetch].filter((x) => x !== undefined).join('\n\n');
}

function kernelHeadline(ctx: DocContext): string | undefined {
  if (ctx.headline) return `**⚠ ${text(ctx.headline)}**: the answers below are from ksym's index, not from the log's kernel.`;
  const sel = ctx.selection;
  if (sel?.ok && !ctx.view.configured) {
    const by = sel.by === 'build-id' ? 'build id' : sel.by === 'release+version' ? 'release and build string' : sel.by;
    const building = ctx.view.problems.find((p) => p.startsWith('building'));
    return `Kernel ${text(describeKernel(sel.kernel))} (${text(sel.kernel.dir)}), matched by ${by}${building ? `: ${text(building)}…` : ''}`;
  }
  return undefined;
}

function isSymbolFile(uri: string, languageId: string): 'kallsyms' | 'system.map' | undefined {
  if (!uri.startsWith('file:')) return undefined;
  const base = uri.slice(uri.lastIndexOf('/') + 1);
  if (/^System\.map/i.test(base)) return 'system.map';
  if (languageId === 'kallsyms' || /kallsyms/i.test(base)) return 'kallsyms';
  return undefined;
}

/** Code actions of the kernel features (the livepatch fixes are in diagnostics.ts). */
export function kernelCodeActions(params: CodeActionParams, languageId: string | undefined): CodeAction[] {
  const out: CodeAction[] = [];
  try {
    const mismatch = params.context.diagnostics.filter((d) => d.source === 'ksym' && d.code === KERNEL_CODE);
    if (mismatch.length > 0) {
      out.push({
        title: 'Choose the kernel directory of this log (symbols, modules and BTF together)…',
        kind: CodeActionKind.QuickFix,
        diagnostics: mismatch,
        isPreferred: true,
        command: { title: 'Choose kernel directory', command: CHOOSE_KERNEL_COMMAND, arguments: [params.textDocument.uri] },
      });
    }
    const kind = languageId ? isSymbolFile(params.textDocument.uri, languageId) : undefined;
    const path = kind ? uriToPath(params.textDocument.uri) : undefined;
    if (kind && path) {
      out.push({
        title: `Use as kernel: index ${path.slice(path.lastIndexOf('/') + 1)} (${kind === 'system.map' ? 'ksym.systemMap' : 'ksym.kallsyms'})`,
        kind: CodeActionKind.Empty,
        command: { title: 'Use as kernel', command: USE_AS_KERNEL_COMMAND, arguments: [{ path, kind }] },
      });
    }
  } catch {
    /* never throw from a handler */
  }
  return out;
}
