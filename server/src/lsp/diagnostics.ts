/**
 * LSP glue for the livepatch sympos checks: debounced diagnostics per document,
 * livepatch `.ko` files in the workspace, hovers on `.klp.sym` references and quick
 * fixes. The checks themselves live in core/livepatch/checks.ts, the hover in hover/livepatch.ts.
 */
import { CodeAction, CodeActionKind, CodeActionParams, Diagnostic, DiagnosticSeverity, Hover, MarkupKind } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { pathToFileURL } from 'node:url';
import { diagnoseDocument, SymposDiagnostic, SymposFix, SymposOptions } from '../core/livepatch/checks';
import { hoverSympos } from './hover/livepatch';
import { checkLivepatchKo, findKoFiles } from '../core/livepatch/readKo';

const SEVERITY: Record<string, DiagnosticSeverity> = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, information: DiagnosticSeverity.Information };
const MAX_TEXT = 32 * 1024 * 1024;

export function toLsp(d: SymposDiagnostic): Diagnostic {
  return {
    range: { start: { line: d.line, character: d.column }, end: { line: d.endLine, character: d.endColumn } },
    severity: SEVERITY[d.severity] ?? DiagnosticSeverity.Information,
    code: d.code,
    source: 'ksym',
    message: d.message,
    data: { fixes: d.fixes },
  };
}

export class DiagnosticsScheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private versions = new Map<string, number>();
  private klpSeen = new Map<string, { version: number; has: boolean }>();

  constructor(
    private publish: (uri: string, diags: Diagnostic[]) => void,
    private options: () => SymposOptions,
    private log: (m: string) => void,
  ) {}

  schedule(doc: TextDocument, delay = 200): void {
    clearTimeout(this.timers.get(doc.uri));
    this.timers.set(
      doc.uri,
      setTimeout(() => void this.run(doc), delay),
    );
  }

  refreshAll(docs: TextDocument[]): void {
    for (const d of docs) this.schedule(d, 0);
  }

  clear(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.versions.delete(uri);
    this.klpSeen.delete(uri);
    this.publish(uri, []);
  }

  private async run(doc: TextDocument): Promise<void> {
    const version = doc.version;
    this.versions.set(doc.uri, version);
    try {
      if (!this.mentionsKlp(doc)) {
        this.publish(doc.uri, []);
        return;
      }
      const text = doc.getText();
      const diags = await diagnoseDocument(text, doc.languageId, this.options());
      if (this.versions.get(doc.uri) !== version) return; // a newer version is being checked
      this.publish(doc.uri, diags.map(toLsp));
    } catch (e) {
      this.log(`sympos check of ${doc.uri} failed: ${String(e)}`);
    }
  }

  /** Whether a document version mentions livepatch symbols at all (cached: hovers must not rescan big logs). */
  private mentionsKlp(doc: TextDocument): boolean {
    const c = this.klpSeen.get(doc.uri);
    if (c && c.version === doc.version) return c.has;
    const text = doc.getText();
    const has = text.length <= MAX_TEXT && /\.klp\.|klp_func|KLP_SYMPOS/.test(text);
    this.klpSeen.set(doc.uri, { version: doc.version, has });
    return has;
  }

  async hover(doc: TextDocument, line: number, col: number): Promise<Hover | undefined> {
    try {
      if (!this.mentionsKlp(doc)) return undefined;
      const text = doc.getText();
      const h = await hoverSympos(text, doc.languageId, line, col, this.options());
      if (!h) return undefined;
      return { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: { start: { line: h.line, character: h.column }, end: { line: h.endLine, character: h.endColumn } } };
    } catch {
      return undefined;
    }
  }

  /** Diagnostics for the livepatch .ko files of the workspace (bounded walk). */
  async scanWorkspaceKo(root: string | undefined): Promise<void> {
    if (!root) return;
    try {
      for (const f of await findKoFiles(root)) {
        const diags = await checkLivepatchKo(f, this.options());
        if (diags) this.publish(pathToFileURL(f).toString(), diags.map(toLsp));
      }
    } catch (e) {
      this.log(`workspace .ko scan failed: ${String(e)}`);
    }
  }
}

export function codeActions(params: CodeActionParams): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of params.context.diagnostics) {
    if (d.source !== 'ksym') continue;
    const fixes = ((d.data as { fixes?: SymposFix[] } | undefined)?.fixes ?? []).slice(0, 20);
    for (const f of fixes) {
      out.push({
        title: f.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: { changes: { [params.textDocument.uri]: [{ range: { start: { line: f.line, character: f.column }, end: { line: f.endLine, character: f.endColumn } }, newText: f.newText }] } },
      });
    }
  }
  return out;
}
