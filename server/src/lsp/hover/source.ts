/**
 * The source line of a hovered frame or address (issue 15 §3), said under the kernel
 * form: the innermost location (`fs/read_write.c:451`, the line of the instruction; of
 * addr - 1 for a stack entry), then the inline chain ("inlined into X at file:line",
 * outermost last). Each location found under a source root is a link that opens the file
 * at the line (a file URI with `#L<line>`, which VS Code and the markdown renderers open
 * at the line; no command link, so nothing needs trusted markdown). Every name and path
 * comes from the debug file: escaped with markdown.ts. Never throws.
 */
import { pathToFileURL } from 'node:url';
import type { SourceFrame, SourceResult } from '../../core/dwarf/reader';
import type { ShiftMap } from '../../core/log/resolve';
import { scanLine, type LogToken } from '../../core/log/scan';
import { code, text } from '../markdown';
import { queryForToken } from '../sourceFrames';
import type { ServedView, SourceLineService, SourceState } from '../sourceLines';

/** How long a hover waits for a unit decode once the debug file is open (the symbol answer never waits for the opening). */
export const HOVER_WAIT_MS = 30;

/** A file URI that opens `file` at `line` (1-based), safe as a markdown link destination. */
export function fileLink(file: string, line: number, column?: number | null): string {
  const u = pathToFileURL(file).href.replace(/[()<>\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
  return `${u}#L${line}${column ? `,${column}` : ''}`;
}

/** `file:line` as recorded, relative to the tree when it can be placed. */
export function shownPath(f: Pick<SourceFrame, 'path' | 'file' | 'line'>): string {
  return `${f.path ?? f.file}:${f.line}`;
}

/** One location: a link when the file is under a source root, else inert code. */
function locationMarkdown(f: SourceFrame, service: SourceLineService, view: ServedView): { md: string; linked: boolean } {
  const shown = shownPath(f);
  const disc = f.discriminator ? ` (discriminator ${f.discriminator})` : '';
  const abs = f.line > 0 ? service.onDisk(f, view) : undefined;
  if (!abs) return { md: `${code(shown)}${disc}`, linked: false };
  return { md: `[${text(shown)}](${fileLink(abs, f.line, f.column)})${disc}`, linked: true };
}

/** The source part of a hover for a reader result. */
export function sourceResultMarkdown(r: SourceResult, service: SourceLineService, view: ServedView): string {
  if (r.kind === 'found') {
    const lines: string[] = [];
    let anyLinked = false;
    let anyPath = false;
    r.frames.forEach((f, i) => {
      const loc = locationMarkdown(f, service, view);
      anyLinked ||= loc.linked;
      anyPath ||= f.line > 0;
      if (i === 0) lines.push(`**source** ${loc.md}${r.frames.length > 1 ? ` in ${code(f.function)}` : ''}`);
      else lines.push(`↳ inlined into ${code(f.function)} at ${loc.md}`);
    });
    if (anyPath && !anyLinked) {
      const roots = service.sourceRoots(view);
      lines.push(
        roots.length
          ? `(not found under ${roots.map((x) => code(x)).join(', ')}: paths are relative to the kernel source tree)`
          : '(paths relative to the kernel source tree: set `ksym.sourceRoots` to a kernel source tree, or open one as the workspace, to open them)',
      );
    }
    return lines.join('  \n');
  }
  if (r.kind === 'no-function') {
    const at = r.line ? `; the line table says ${code(shownPath(r.line))}` : '';
    return `**source**: no DWARF function covers this address in ${code(r.unit)}${at} (not borrowing the next function's)`;
  }
  return `**source**: ${text(r.reason)}`;
}

/** The source part for a state: the answer, "reading…", or why there is none. */
export function sourceStateMarkdown(s: SourceState, service: SourceLineService, view: ServedView): string {
  if (s.kind === 'ready') return sourceResultMarkdown(s.result, service, view);
  if (s.kind === 'pending') return '**source line**: reading debug info… (hover again in a moment)';
  return `**source line**: ${text(s.reason)}`;
}

/**
 * Put `part` under the kernel form of a hover's markdown: the first paragraph, or a module
 * file's `kernel form` paragraph.
 */
export function insertUnderKernelForm(markdown: string, part: string): string {
  // A module file's answer (hover/modules.ts) says which file first, then its kernel form.
  const k = markdown.startsWith('kernel form') ? 0 : markdown.indexOf('\n\nkernel form');
  const i = k < 0 ? markdown.indexOf('\n\n') : markdown.indexOf('\n\n', k + 2);
  return i < 0 ? `${markdown}\n\n${part}` : `${markdown.slice(0, i)}\n\n${part}${markdown.slice(i)}`;
}

/**
 * The source part of a hover on `tok` (a frame or an address of `lineText`), or undefined
 * when the token names no code address. Answers at once while the debug file is being
 * opened ("reading debug info…"); once it is open, waits at most HOVER_WAIT_MS for the
 * unit of the address to be decoded.
 */
export async function sourceHoverPart(
  service: SourceLineService,
  view: ServedView,
  shift: ShiftMap,
  lineText: string,
  tok: LogToken,
): Promise<string | undefined> {
  try {
    if (tok.kind !== 'frame' && tok.kind !== 'address') return undefined;
    const q = queryForToken(view.index, shift, scanLine(lineText), tok);
    if (!q) return undefined;
    let s = service.peek(view, q);
    // An address the index does not place: whether a module holds it is known at once (its file is loaded by then).
    if (s.kind === 'pending' && (!s.opening || q.moduleAddress !== undefined)) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([s.done, new Promise<void>((r) => (timer = setTimeout(r, HOVER_WAIT_MS)))]);
      clearTimeout(timer);
      s = service.peek(view, q);
    }
    if (s.kind === 'unavailable' && !s.reason) return undefined;
    return sourceStateMarkdown(s, service, view);
  } catch {
    return undefined;
  }
}
