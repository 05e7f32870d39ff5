/**
 * Which address of a log line gets a source line, and how (issue 15 §3): the frames and
 * addresses of a line resolved against the served index, each with the query for the
 * debug file (stack entries as return addresses: the line of addr - 1, like %pB; `RIP:`,
 * `pc :` and other exact instruction pointers at the address itself, like %pS) and the
 * ✓/⚠ mark against the kernel form. Shared by hover, F12, inlay hints and Decode Log.
 * Never throws.
 */
import { resolveAddressToken, resolveFrame, type ShiftMap } from '../core/log/resolve';
import { scanLine, type AddressToken, type FrameToken, type LogToken } from '../core/log/scan';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import type { FrameQuery } from './sourceLines';

export interface LineFrame {
  /** The frame (or, alone on its line, the address) the answer is for. */
  readonly start: number;
  readonly end: number;
  /** Where `(file:line)` goes in the decoded line: after `name+off/size`, before ` [mod]`. */
  readonly insertAt: number;
  readonly query?: FrameQuery;
  /** ✓ when the index prints what the log printed, ⚠ with the index's form when not (none for an address alone). */
  readonly mark?: { readonly ok: boolean; readonly text: string };
  /** The kernel form for this address (what %pS/%pB prints with this index). */
  readonly kernelText?: string;
}

/** The query for one token (a frame, or an address) of a line. */
export function queryForToken(index: SymbolIndex, shift: ShiftMap, tokens: readonly LogToken[], tok: LogToken): FrameQuery | undefined {
  try {
    if (tok.kind === 'frame') {
      const addr = tokens.find((x): x is AddressToken => x.kind === 'address' && x.frameAt === tok.start);
      const q = addr ? addressQuery(index, shift, addr, tok) : undefined;
      if (q && q.moduleAddress === undefined) return q;
      // A module frame is read in its module's DWARF by (section, offset), whether or not the index has the module.
      if (tok.module !== undefined && tok.offset !== undefined)
        return { address: 0n, returnAddress: tok.role === 'trace', symbol: tok.name, module: tok.module, moduleFrame: tok };
      if (addr) return q;
      const r = resolveFrame(index, tok);
      if (r.address === undefined || !r.kernel) return undefined;
      return { address: r.address, returnAddress: r.kernel.returnAddress, symbol: r.kernel.sym.name, module: r.kernel.sym.module };
    }
    if (tok.kind === 'address') {
      const frame =
        tok.frameAt !== undefined ? tokens.find((x): x is FrameToken => x.kind === 'frame' && x.start === tok.frameAt) : undefined;
      // A frame printed with its address: the frame's own resolution names the symbol when the address does not resolve.
      const q = addressQuery(index, shift, tok, frame);
      if ((q && q.moduleAddress === undefined) || !frame) return q;
      return (
        queryForToken(
          index,
          shift,
          tokens.filter((x) => x !== tok),
          frame,
        ) ?? q
      );
    }
  } catch {
    /* no query */
  }
  return undefined;
}

function addressQuery(index: SymbolIndex, shift: ShiftMap, t: AddressToken, frame?: FrameToken): FrameQuery | undefined {
  if (t.role === 'value') return undefined;
  const r = resolveAddressToken(index, t, shift, frame);
  // Not in the index: maybe inside a module whose load addresses are known (the log's own frames, kallsyms, sysfs).
  if (!r.kernel) return { address: t.address, returnAddress: t.role === 'trace', moduleAddress: t.address };
  const { sym, returnAddress } = r.kernel;
  const q = { address: r.address, returnAddress, symbol: sym.name, module: sym.module };
  if (sym.module === undefined) return q;
  // In a module: the printed frame when the log names one, else the index's symbol+offset (%pB offsets are already +1).
  const moduleFrame: FrameToken =
    frame?.module !== undefined && frame.offset !== undefined
      ? frame
      : {
          kind: 'frame',
          start: t.start,
          end: t.end,
          name: sym.name,
          offset: r.kernel.offset,
          module: sym.module,
          unreliable: false,
          role: returnAddress ? 'trace' : 'ip',
        };
  return { ...q, moduleFrame };
}

/** Every frame of a line (and every code address printed alone), in line order. */
export function lineFrames(index: SymbolIndex, shift: ShiftMap, line: string): LineFrame[] {
  try {
    const tokens = scanLine(line);
    const out: LineFrame[] = [];
    for (const t of tokens) {
      if (t.kind === 'frame') {
        if (t.offset === undefined) continue;
        const addr = tokens.find((x): x is AddressToken => x.kind === 'address' && x.frameAt === t.start);
        let mark: LineFrame['mark'];
        let kernelText: string | undefined;
        if (addr) {
          const r = resolveAddressToken(index, addr, shift, t);
          kernelText = r.kernel?.text;
          if (r.kernel) mark = r.matchesLog ? { ok: true, text: '✓' } : { ok: false, text: `⚠ index: ${r.kernel.text}` };
        }
        if (!mark) {
          const r = resolveFrame(index, t);
          kernelText ??= r.kernel?.text;
          if (r.kernel) mark = r.matchesLog ? { ok: true, text: '✓' } : { ok: false, text: `⚠ index: ${r.kernel.text}` };
          // A [mod] frame the index has no symbol for is the module file's to judge (the hover says it), not a ⚠ of the index.
          else if (r.problem && !(t.module !== undefined && r.candidates.length === 0)) mark = { ok: false, text: `⚠ ${r.problem}` };
        }
        const body = line.slice(t.start, t.end);
        const mod = t.module !== undefined ? body.lastIndexOf(' [') : -1;
        out.push({
          start: t.start,
          end: t.end,
          insertAt: mod > 0 ? t.start + mod : t.end,
          query: queryForToken(index, shift, tokens, t),
          mark,
          kernelText,
        });
      } else if (t.kind === 'address' && t.frameAt === undefined && t.role !== 'value') {
        const r = resolveAddressToken(index, t, shift);
        const q = addressQuery(index, shift, t);
        // An address the index does not place gets a hint only when a module's DWARF gives it a line.
        out.push({ start: t.start, end: t.end, insertAt: t.end, query: q, kernelText: r.kernel?.text });
      }
    }
    return out;
  } catch {
    return [];
  }
}
