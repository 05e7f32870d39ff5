/**
 * Kernel Symbols: Decode Log (issue 15 §3): the log with every frame's source line, as a
 * read-only document, in the part decode_stacktrace.sh's output plays: each frame becomes
 * `name+off/size (file:line) [mod]` (the line of the instruction; of addr - 1 for a stack
 * entry), followed by one indented line per inlined frame, innermost first, outermost
 * last (`f inlined into g at file:line`, the form `ksym decode` prints). A frame the index
 * prints differently is marked ⚠ with the index's form. Every location under a source
 * root comes with a link (the client's DocumentLinkProvider turns them into links).
 * Never throws.
 */
import { pathToFileURL } from 'node:url';
import type { SourceFrame } from '../core/dwarf/reader';
import type { ShiftMap } from '../core/log/resolve';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import type { DecodeLogLink, DecodeLogResult } from '../protocol';
import type { LineSource } from './hover/kallsyms';
import { shownPath } from './hover/source';
import { lineFrames, type LineFrame } from './sourceFrames';
import type { ServedView, SourceLineService, SourceState } from './sourceLines';

/** Lines of a log decoded (the rest is cut, and said). */
const MAX_LINES = 200_000;
/** Frames given source lines. */
const MAX_FRAMES = 20_000;
const INDENT = '    ';

export interface DecodeContext {
  index: SymbolIndex;
  shift: ShiftMap;
  view: ServedView;
  service: SourceLineService;
  /** The log's name, for the header. */
  title: string;
  /** The request's cancellation ($/cancelRequest): checked per line, the event loop given a turn every YIELD_LINES lines. */
  token?: { readonly isCancellationRequested: boolean };
}

/** Lines decoded between two event-loop turns (when the request can be cancelled). */
const YIELD_LINES = 2000;
const CANCELLED: DecodeLogResult = { content: 'Kernel Symbols: decoding cancelled', links: [] };

export async function decodeLog(ctx: DecodeContext, doc: LineSource): Promise<DecodeLogResult> {
  try {
    return await decodeLogUnsafe(ctx, doc);
  } catch (e) {
    return { content: `Kernel Symbols: decoding failed: ${String(e)}`, links: [] };
  }
}

async function decodeLogUnsafe(ctx: DecodeContext, doc: LineSource): Promise<DecodeLogResult> {
  const out: string[] = [];
  const links: DecodeLogLink[] = [];
  const n = Math.min(doc.lineCount, MAX_LINES);
  let frames = 0;
  let found = 0;
  let firstProblem: string | undefined;
  /** Per module of the log: its debug file, or why it has none. */
  const moduleDebug = new Map<string, string>();
  /** Whether any frame asked the vmlinux (a log of module frames only has no vmlinux line to explain). */
  let askedVmlinux = false;
  const body: string[] = [];
  const bodyLinks: DecodeLogLink[] = [];
  for (let i = 0; i < n; i++) {
    if (ctx.token) {
      if (i > 0 && i % YIELD_LINES === 0) await new Promise((r) => setImmediate(r));
      if (ctx.token.isCancellationRequested) return CANCELLED;
    }
    const l = doc.line(i);
    const fs = l.length <= 4096 && (l.includes('+0x') || l.includes('[<')) ? lineFrames(ctx.index, ctx.shift, l) : [];
    if (fs.length === 0) {
      body.push(l);
      continue;
    }
    const states: (SourceState | undefined)[] = [];
    for (const f of fs) {
      if (!f.query || frames >= MAX_FRAMES) states.push(undefined);
      else {
        frames++;
        const s = await ctx.service.resolve(ctx.view, f.query);
        // An address no module with known load addresses contains is not a frame to count.
        if (s.kind === 'unavailable' && !s.reason) frames--;
        states.push(s);
        const m = f.query.moduleFrame?.module ?? f.query.module;
        if (m === undefined && f.query.moduleAddress === undefined) askedVmlinux = true;
        if (m !== undefined && !moduleDebug.has(m) && (s.kind === 'ready' || s.kind === 'unavailable'))
          moduleDebug.set(m, s.kind === 'ready' ? s.debugFile : `none: ${s.reason}`);
      }
    }
    const row = body.length;
    const extra: { text: string; link?: Omit<DecodeLogLink, 'line'> }[] = [];
    let line = '';
    let pos = 0;
    const rowLinks: DecodeLogLink[] = [];
    const warn: string[] = [];
    fs.forEach((f: LineFrame, k) => {
      const s = states[k];
      line += l.slice(pos, f.insertAt);
      pos = f.insertAt;
      if (f.mark && !f.mark.ok) warn.push(f.mark.text);
      if (!s) return;
      if (s.kind === 'unavailable') {
        if (f.query?.module === undefined && f.query?.moduleAddress === undefined) firstProblem ??= s.reason;
        return;
      }
      if (s.kind !== 'ready') return;
      const r = s.result;
      if (r.kind === 'found') {
        found++;
        const inner = r.frames[0];
        const shown = shownPath(inner);
        const start = line.length + 2;
        line += ` (${shown})`;
        const t = target(ctx, inner);
        if (t) rowLinks.push({ line: row, start, end: start + shown.length, target: t });
        for (let j = 0; j + 1 < r.frames.length; j++) {
          const outer = r.frames[j + 1];
          const head = `${INDENT}${r.frames[j].function} inlined into ${outer.function} at `;
          const loc = shownPath(outer);
          const lt = target(ctx, outer);
          extra.push({ text: head + loc, link: lt ? { start: head.length, end: head.length + loc.length, target: lt } : undefined });
        }
      } else if (r.kind === 'no-function') {
        line += ' (no DWARF function here)';
      } else {
        firstProblem ??= r.reason;
      }
    });
    line += l.slice(pos);
    if (warn.length) line += `  ⟶ ${warn.join('; ')}`;
    body.push(line);
    bodyLinks.push(...rowLinks);
    for (const e of extra) {
      if (e.link) bodyLinks.push({ line: body.length, ...e.link });
      body.push(e.text);
    }
  }
  // Header: what the lines come from.
  const roots = ctx.service.sourceRoots(ctx.view);
  const dbg = ctx.service.debugState(ctx.view);
  out.push(`Decoded by ksym: ${ctx.title}`);
  if (dbg.kind === 'open') out.push(`debug info: ${dbg.file} (${dbg.detail ?? 'verified'})`);
  else if (askedVmlinux || moduleDebug.size === 0) out.push(`debug info: none: ${dbg.reason ?? firstProblem ?? 'not read'}`);
  for (const [m, d] of moduleDebug) out.push(`debug info of [${m}]: ${d}`);
  out.push(
    roots.length
      ? `source tree: ${roots.join(', ')}`
      : 'source tree: none (paths are relative to the kernel source tree; set ksym.sourceRoots to open them)',
  );
  out.push(`${found} of ${frames} frames with a source line${doc.lineCount > n ? `; only the first ${n} lines decoded` : ''}`);
  out.push('');
  const shiftRows = out.length;
  for (const k of bodyLinks) links.push({ ...k, line: k.line + shiftRows });
  out.push(...body);
  return { content: out.join('\n'), links };
}

function target(ctx: DecodeContext, f: SourceFrame): string | undefined {
  if (f.line <= 0) return undefined;
  const abs = ctx.service.onDisk(f, ctx.view);
  return abs ? `${pathToFileURL(abs).href}#L${f.line}${f.column ? `,${f.column}` : ''}` : undefined;
}
