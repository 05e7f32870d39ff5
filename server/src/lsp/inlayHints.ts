/**
 * The whole log at a glance (issue 15 §3): an inlay hint after each frame of the visible
 * range: ✓ when the index prints what the log printed (⚠ with the index's form when not),
 * then the source line `file:line` (a link to the file when it is under a source root;
 * the inline chain in the tooltip). Lines not read yet are left out, never guessed: the
 * lookups are queued and the server asks the client to refresh the hints when they are
 * done (SourceLineService `changed`). Never throws.
 */
import { InlayHintKind, MarkupKind, type InlayHint, type InlayHintLabelPart, type Range } from 'vscode-languageserver';
import { pathToFileURL } from 'node:url';
import type { ShiftMap } from '../core/log/resolve';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import type { LineSource } from './hover/kallsyms';
import { shownPath, sourceResultMarkdown } from './hover/source';
import { lineFrames } from './sourceFrames';
import type { ServedView, SourceLineService } from './sourceLines';

/** Most hints in one answer (a visible range is far smaller). */
const MAX_HINTS = 2000;
/** Longest line scanned for frames. */
const MAX_LINE = 4096;

export interface InlayContext {
  index: SymbolIndex;
  shift: ShiftMap;
  view: ServedView;
  service: SourceLineService;
}

export function inlayHints(ctx: InlayContext, doc: LineSource, range: Range): InlayHint[] {
  try {
    return inlayHintsUnsafe(ctx, doc, range);
  } catch {
    return [];
  }
}

function inlayHintsUnsafe(ctx: InlayContext, doc: LineSource, range: Range): InlayHint[] {
  const out: InlayHint[] = [];
  const first = Math.max(0, range.start.line);
  const last = Math.min(doc.lineCount - 1, range.end.line);
  for (let n = first; n <= last && out.length < MAX_HINTS; n++) {
    const l = doc.line(n);
    if (l.length > MAX_LINE || (!l.includes('+0x') && !l.includes('[<'))) continue;
    for (const f of lineFrames(ctx.index, ctx.shift, l)) {
      const label: InlayHintLabelPart[] = [];
      if (f.mark) label.push({ value: f.mark.text });
      let tooltip: string | undefined;
      if (f.query) {
        const s = ctx.service.peek(ctx.view, f.query);
        if (s.kind === 'ready' && s.result.kind === 'found') {
          const inner = s.result.frames[0];
          const abs = inner.line > 0 ? ctx.service.onDisk(inner, ctx.view) : undefined;
          const part: InlayHintLabelPart = { value: shownPath(inner) };
          if (abs) part.location = { uri: pathToFileURL(abs).href, range: lineRange(inner.line, inner.column) };
          label.push(part);
          const more = s.result.frames.length - 1;
          if (more > 0) label.push({ value: `+${more} inlined` });
          tooltip = sourceResultMarkdown(s.result, ctx.service, ctx.view);
        } else if (s.kind === 'ready' && s.result.kind === 'no-function') {
          label.push({ value: 'no DWARF function' });
          tooltip = sourceResultMarkdown(s.result, ctx.service, ctx.view);
        }
      }
      if (label.length === 0) continue;
      // Parts are separated by a space in the rendered hint.
      const spaced: InlayHintLabelPart[] = label.map((p, i) => (i === 0 ? p : { ...p, value: ` ${p.value}` }));
      const hint: InlayHint = { position: { line: n, character: f.end }, label: spaced, kind: InlayHintKind.Parameter, paddingLeft: true };
      if (tooltip) hint.tooltip = { kind: MarkupKind.Markdown, value: tooltip };
      out.push(hint);
    }
  }
  return out;
}

/** LSP range of a 1-based line (and column). */
export function lineRange(line: number, column: number | null): Range {
  const l = Math.max(0, line - 1);
  const c = column ? column - 1 : 0;
  return { start: { line: l, character: c }, end: { line: l, character: c } };
}
