/**
 * F12 on a frame or an address (issue 15 §3): the source line of the instruction (of
 * addr - 1 for a stack entry), when the debug file gives one and the file is under a
 * source root. The symbol's own location (definition.ts) stays as the second answer.
 * F12 is asked for on purpose, so it waits for the debug file to be opened (bounded).
 * Never throws.
 */
import type { Location } from 'vscode-languageserver';
import { pathToFileURL } from 'node:url';
import type { ShiftMap } from '../core/log/resolve';
import { scanLine, scanWrapped, tokenAt, type LogToken } from '../core/log/scan';
import { lineRange } from './inlayHints';
import { queryForToken } from './sourceFrames';
import type { ServedView, SourceLineService, SourceState } from './sourceLines';

/** Longest F12 waits for the debug file (opening the 633 MB Debian vmlinux and verifying it takes ~0.2 s). */
const DEFINITION_WAIT_MS = 5000;

export async function sourceDefinition(
  service: SourceLineService,
  view: ServedView,
  shift: ShiftMap,
  lineText: string,
  nextLine: string | undefined,
  col: number,
): Promise<Location | undefined> {
  try {
    const tokens = scanLine(lineText);
    let tok: LogToken | undefined = tokenAt(tokens, col);
    if (!tok) {
      const w = scanWrapped(lineText, nextLine);
      if (w && col >= w.start) tok = w;
    }
    if (!tok || tok.kind === 'kaslr') return undefined;
    const q = queryForToken(view.index, shift, tokens, tok);
    if (!q) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const s = await Promise.race([
      service.resolve(view, q),
      new Promise<SourceState>((r) => (timer = setTimeout(() => r({ kind: 'unavailable', reason: 'timed out' }), DEFINITION_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (s.kind !== 'ready' || s.result.kind !== 'found') return undefined;
    const inner = s.result.frames[0];
    if (inner.line <= 0) return undefined;
    const abs = service.onDisk(inner, view);
    return abs ? { uri: pathToFileURL(abs).href, range: lineRange(inner.line, inner.column) } : undefined;
  } catch {
    return undefined;
  }
}
