/**
 * `ksym decode`: a kernel log with every address and frame annotated ('  ⟶ ...'):
 * addresses with the kernel form (%pB in stack traces, %pS elsewhere), frames with
 * their address, and a warning when the log and the symbol table disagree. A
 * 'Kernel Offset:' line in the log is applied. Pure: text in, text out.
 */
import { hexAddr } from '../common/addr';
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import { identifyLog } from '../kernels/identity';
import type { AddressShift } from '../kernels/kaslr';
import { logShift } from '../kernels/logShift';
import { resolveAddressToken, resolveFrame } from './resolve';
import { frameText, scanLine, type FrameToken, type LogToken } from './scan';
import { sourceText, type SourceAnswer } from './source';

/**
 * Source lines for a frame (issue 15 §4): called for every frame with an offset, with the
 * index address when the index resolved it; stack entries (role 'trace') are return
 * addresses, looked up at addr - 1. undefined: no debug info configured.
 */
export type DecodeSource = (frame: FrameToken, resolved: { address?: bigint; symbol?: string }) => SourceAnswer | undefined;

/**
 * The verdict on a `[mod]` frame the index has no symbol for, from the module's own .ko
 * (`ksym decode --module`): e.g. '✓ drbd.ko .text+0x2661f'. undefined: no module file says.
 */
export type DecodeModuleFrame = (frame: FrameToken) => string | undefined;

/** Indentation of the inlined-frame lines under a log line. */
const INLINE_INDENT = '        ';

/** The notes for one frame token (none when it says nothing). */
function frameNotes(
  index: SymbolIndex,
  t: FrameToken,
  shift: AddressShift,
  notes: string[],
  src?: DecodeSource,
  extra?: string[],
  mod?: DecodeModuleFrame,
): void {
  if (t.offset === undefined) return;
  const r = resolveFrame(index, t);
  const hex = (a: bigint) => hexAddr(a, index.addressDigits);
  const shown = frameText(t, { buildId: false });
  const fromModule = t.module && r.address === undefined ? mod?.(t) : undefined;
  if (fromModule) {
    notes.push(fromModule);
  } else if (r.address !== undefined && r.kernel) {
    const printedAt = t.address !== undefined ? shift.toIndex(t.address, t.module).address : undefined;
    if (printedAt === r.address && r.matchesLog) notes.push('✓');
    else if (printedAt !== undefined && printedAt !== r.address) {
      notes.push(`⚠ ${shown} is ${hex(r.address)} in this index, the log printed ${hex(printedAt)}`);
    } else notes.push(`${shown} = ${hex(r.address)}${r.matchesLog ? '' : ` ⚠ index: ${r.kernel.text}`}`);
  } else if (r.candidates.length > 1) {
    notes.push(`${shown}: ambiguous (${r.candidates.map((c) => hex(c.address) + (c.module ? ` [${c.module}]` : '')).join(', ')})`);
  } else if (r.problem) {
    notes.push(`${shown}: ${r.problem}`);
  }
  if (src) {
    const a = src(t, { address: r.address, symbol: r.kernel?.sym.name });
    const st = a && sourceText(a.source);
    if (st) {
      notes.push(st.at);
      for (const l of st.inlined) extra?.push(`${INLINE_INDENT}${l}`);
    } else if (a?.sourceProblem) notes.push(`no source line: ${a.sourceProblem}`);
  }
}

function lineNotes(
  index: SymbolIndex,
  line: string,
  toks: LogToken[],
  shift: AddressShift,
  src?: DecodeSource,
  extra?: string[],
  mod?: DecodeModuleFrame,
): string[] {
  const notes: string[] = [];
  for (const t of toks) {
    if (t.kind === 'frame') frameNotes(index, t, shift, notes, src, extra, mod);
    else if (t.kind === 'address' && t.frameAt === undefined) {
      const r = resolveAddressToken(index, t, shift);
      if (r.kernel) notes.push(`${line.slice(t.start, t.end)} = ${r.kernel.text}`);
    } else if (t.kind === 'address' && t.frameAt !== undefined) {
      const frame = toks.find((x): x is FrameToken => x.kind === 'frame' && x.start === t.frameAt);
      const r = resolveAddressToken(index, t, shift, frame);
      if (r.kernel && !r.matchesLog) notes.push(`${line.slice(t.start, t.end)} = ${r.kernel.text}`);
    }
  }
  return notes;
}

/**
 * The log `input` annotated against `index` (`configuredShift`: KASLR offset when the log
 * has none). With `source`, every frame also gets its source line after the kernel form,
 * and one indented line per inlined frame (innermost first, outermost last) below it.
 */
export function decodeText(
  index: SymbolIndex,
  input: string,
  configuredShift?: bigint,
  source?: DecodeSource,
  moduleFrame?: DecodeModuleFrame,
): string {
  const lines = input.split('\n');
  // The vmlinux shift only inside the kernel image; a [mod] frame's address gets its module's own.
  const shift = logShift(input, index, identifyLog(input).kaslr?.value, configuredShift).shift;
  const out: string[] = [];
  for (const line of lines) {
    const extra: string[] = [];
    const notes = lineNotes(index, line, scanLine(line), shift, source, extra, moduleFrame);
    out.push(notes.length ? `${line}  ⟶ ${notes.join('; ')}` : line);
    out.push(...extra);
  }
  return out.join('\n');
}
