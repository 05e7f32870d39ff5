/**
 * LSP glue for the livepatch sympos checks: debounced diagnostics per document,
 * livepatch `.ko` files in the workspace, hovers on `.klp.sym` references and quick
 * fixes. The checks themselves live in core/livepatch/checks.ts, the hover in hover/livepatch.ts.
 */
import {
  CodeAction,
  CodeActionKind,
  CodeActionParams,
  Diagnostic,
  DiagnosticSeverity,
  Hover,
  MarkupKind,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { diagnoseDocument, SymposDiagnostic, SymposFix, SymposOptions } from '../core/livepatch/checks';
import { hoverSympos } from './hover/livepatch';
import { checkLivepatchKo, findKoFiles } from '../core/livepatch/readKo';

const SEVERITY: Record<string, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};
const MAX_TEXT = 32 * 1024 * 1024;
/** Unreadable workspace .ko files that get a diagnostic of their own (the rest: one log line). */
const MAX_UNREADABLE_KO = 20;

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
    /** Log-wide diagnostics published with the livepatch ones (the log's kernel). */
    private extra: (doc: TextDocument) => Diagnostic[] = () => [],
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
      let extra: Diagnostic[] = [];
      try {
        extra = this.extra(doc);
      } catch (e) {
        this.log(`log diagnostics of ${doc.uri} failed: ${String(e)}`);
      }
      if (!this.mentionsKlp(doc)) {
        this.publish(doc.uri, extra);
        return;
      }
      const text = doc.getText();
      const diags = await diagnoseDocument(text, doc.languageId, this.options());
      if (this.versions.get(doc.uri) !== version) return; // a newer version is being checked
      this.publish(doc.uri, [...extra, ...diags.map(toLsp)]);
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
      return {
        contents: { kind: MarkupKind.Markdown, value: h.markdown },
        range: { start: { line: h.line, character: h.column }, end: { line: h.endLine, character: h.endColumn } },
      };
    } catch {
      return undefined;
    }
  }

  /** Diagnostics for the livepatch .ko files of the workspace (bounded walk). */
  /** Unreadable workspace .ko files by path, with the size and mtime they had: not read again while unchanged. */
  private koUnreadable = new Map<string, { stamp: string; diags: Diagnostic[] }>();
  private koScan?: Promise<void>;
  private koAgain = false;

  /**
   * Check the livepatch .ko files of the workspace (on every index change). Scans
   * coalesce (one running, one more queued); an unreadable file (a broken or hostile
   * `evil.ko.gz`) is read once per change of its size or mtime; at most
   * MAX_UNREADABLE_KO of them get an error diagnostic, the rest one summary line in the log.
   */
  scanWorkspaceKo(root: string | undefined): Promise<void> {
    if (!root) return Promise.resolve();
    if (this.koScan) {
      this.koAgain = true;
      return this.koScan;
    }
    const run = async () => {
      try {
        do {
          this.koAgain = false;
          await this.scanKoOnce(root);
        } while (this.koAgain);
      } finally {
        this.koScan = undefined;
      }
    };
    this.koScan = run();
    return this.koScan;
  }

  private async scanKoOnce(root: string): Promise<void> {
    try {
      let unreadable = 0;
      const summary: string[] = [];
      for (const f of await findKoFiles(root)) {
        const uri = pathToFileURL(f).toString();
        let stamp = '';
        try {
          const st = statSync(f);
          stamp = `${st.size}:${st.mtimeMs}`;
        } catch {
          /* checkLivepatchKo reports it */
        }
        const seen = this.koUnreadable.get(f);
        let diags: Diagnostic[] | undefined;
        if (seen && seen.stamp === stamp) diags = seen.diags;
        else {
          diags = (await checkLivepatchKo(f, this.options()))?.map(toLsp);
          if (diags?.some((d) => d.code === 'klp-unreadable')) this.koUnreadable.set(f, { stamp, diags });
          else this.koUnreadable.delete(f);
        }
        if (!diags) continue;
        if (diags.some((d) => d.code === 'klp-unreadable') && ++unreadable > MAX_UNREADABLE_KO) {
          if (summary.length < 3) summary.push(f);
          this.publish(uri, []);
          continue;
        }
        this.publish(uri, diags);
      }
      if (unreadable > MAX_UNREADABLE_KO) {
        this.log(
          `workspace .ko scan: ${unreadable} module files could not be read; diagnostics on the first ` +
            `${MAX_UNREADABLE_KO} only (also ${summary.join(', ')}, ...)`,
        );
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
        edit: {
          changes: {
            [params.textDocument.uri]: [
              {
                range: { start: { line: f.line, character: f.column }, end: { line: f.endLine, character: f.endColumn } },
                newText: f.newText,
              },
            ],
          },
        },
      });
    }
  }
  return out;
}
