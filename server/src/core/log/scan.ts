/**
 * Kernel log tokenizer: finds addresses and symbolic frames in one line of a kernel
 * log (x86, arm64, arm32, riscv, ppc64, s390 formats), without any index.
 * Works line by line so that hover on a 100 MB log only scans the hovered line.
 */

export type FrameRole =
  /** Exact instruction pointer (%pS): RIP:, pc :, epc :, NIP, PC is at, Krnl PSW. */
  | 'ip'
  /** Link register / return address register printed with %pS: lr :, ra :, LR, LR is at. */
  | 'lr'
  /** A stack-trace entry (%pB: a return address). */
  | 'trace';

export interface FrameToken {
  kind: 'frame';
  start: number;
  end: number;
  name: string;
  /** Offset as printed; undefined for a bare `(name)` (arm32 %ps). */
  offset?: number;
  size?: number;
  module?: string;
  buildId?: string;
  /** Printed with a leading `? ` (unreliable guess from the stack scan). */
  unreliable: boolean;
  role: FrameRole;
  /** The raw address printed on the same line for this frame, when there is one. */
  address?: bigint;
}

export interface AddressToken {
  kind: 'address';
  start: number;
  end: number;
  address: bigint;
  /** Digits as printed (8 for 32-bit logs, 16 for 64-bit). */
  digits: number;
  role: FrameRole | 'value';
  /** Start column of the frame this address is printed for, on the same line. */
  frameAt?: number;
}

export interface KaslrToken {
  kind: 'kaslr';
  start: number;
  end: number;
  /** Offset to subtract from log addresses (0 when "disabled"). */
  offset: bigint;
}

export type LogToken = FrameToken | AddressToken | KaslrToken;

/**
 * A frame as the kernel prints it, `name+0xoff/0xsize [mod BUILDID]`, without the parts
 * the frame lacks. `buildId: false`: without the build id, as a kallsyms index prints it.
 */
export function frameText(
  f: Pick<FrameToken, 'name' | 'offset' | 'size' | 'module' | 'buildId'>,
  opts: { buildId?: boolean } = {},
): string {
  let s = f.name;
  if (f.offset !== undefined) s += `+0x${f.offset.toString(16)}`;
  if (f.size !== undefined) s += `/0x${f.size.toString(16)}`;
  if (f.module) s += f.buildId && opts.buildId !== false ? ` [${f.module} ${f.buildId}]` : ` [${f.module}]`;
  return s;
}

// `? ` prefix, optional ELFv1 dot, name, +0xoff, optional /0xsize, optional [mod buildid].
const FRAME =
  /(\?\s+)?(?<![\w.$])(\.?[A-Za-z_$][\w.$]*)\+0x([0-9a-fA-F]+)(?:\/0x([0-9a-fA-F]+))?(?:\s+\[([\w-]+)(?:\s+([0-9a-f]{16,64}))?\])?/g;
const BRACKET_ADDR = /\[<([0-9a-fA-F]{8,16})>\]/g;
const BARE_ADDR = /(?<![\w.$+/])(?:0x)?([0-9a-fA-F]{16}|(?<=0x)[0-9a-fA-F]{1,16})(?![\w$])/g;
const PAREN_NAME = /\((\.?[A-Za-z_$][\w.$]*)\)/g;
const KASLR = /Kernel Offset: (?:0x([0-9a-fA-F]+) from 0x[0-9a-fA-F]+|(disabled))/;
const IP_LINE =
  /(?:\b(?:in|at) (?=\.?[A-Za-z_$][\w.$]*\+0x)|\bRIP: [0-9a-fA-F]{4}:|\bpc\s*:|\bepc\s*:|\bNIP\s*[:[]|\bPC is at\b|\bKrnl PSW\s*:|\bIP:|\bEIP:|Faulting instruction address:)/;
const LR_LINE = /(?:\blr\s*:|(?:^|\s)ra\s*:|\bLR\s*[:[]|\bLR is at\b)/;

function roleOfLine(line: string): FrameRole {
  if (IP_LINE.test(line)) return 'ip';
  if (LR_LINE.test(line)) return 'lr';
  return 'trace';
}

/** Tokenize one log line. Never throws; columns are UTF-16 offsets in `line`. */
export function scanLine(line: string): LogToken[] {
  const out: LogToken[] = [];
  if (line.length === 0) return out;
  if (line.length > 8192) line = line.slice(0, 8192); // pathological lines: scan the head only

  const k = KASLR.exec(line);
  if (k) {
    out.push({ kind: 'kaslr', start: k.index, end: k.index + k[0].length, offset: k[2] ? 0n : BigInt('0x' + k[1]) });
    return out;
  }
  const lineRole = roleOfLine(line);
  const taken: [number, number][] = [];
  const overlaps = (s: number, e: number) => taken.some(([a, b]) => s < b && e > a);

  // arm32: "[<where>] (func) from [<from>] (caller+0x../0x..)": `from` is printed with %pS.
  const arm32From = /\bfrom \[<[0-9a-fA-F]{8,16}>\]/.test(line);

  FRAME.lastIndex = 0;
  for (let m = line.includes('+0x') ? FRAME.exec(line) : null; m; m = FRAME.exec(line)) {
    const start = m.index + (m[1] ? m[1].length : 0);
    const name = m[2];
    const tok: FrameToken = {
      kind: 'frame',
      start,
      end: m.index + m[0].length,
      name,
      offset: parseInt(m[3], 16),
      size: m[4] !== undefined ? parseInt(m[4], 16) : undefined,
      module: m[5],
      buildId: m[6],
      unreliable: !!m[1],
      role: arm32From ? 'lr' : lineRole,
    };
    if (!Number.isSafeInteger(tok.offset!) || (tok.size !== undefined && !Number.isSafeInteger(tok.size))) continue;
    out.push(tok);
    taken.push([m.index, tok.end]);
  }
  PAREN_NAME.lastIndex = 0;
  for (let m = PAREN_NAME.exec(line); m; m = PAREN_NAME.exec(line)) {
    const s = m.index + 1;
    const e = s + m[1].length;
    if (overlaps(s, e)) continue;
    // Only the arm32 backtrace form "(func) from" and s390 "(func+...)" are symbols; skip prose.
    if (!/^\s*from\b/.test(line.slice(m.index + m[0].length)) && !/\]\s*$/.test(line.slice(0, m.index))) continue;
    out.push({ kind: 'frame', start: s, end: e, name: m[1], unreliable: false, role: lineRole });
    taken.push([s, e]);
  }

  BRACKET_ADDR.lastIndex = 0;
  for (let m = BRACKET_ADDR.exec(line); m; m = BRACKET_ADDR.exec(line)) {
    const s = m.index + 2;
    const e = s + m[1].length;
    out.push({ kind: 'address', start: s, end: e, address: BigInt('0x' + m[1]), digits: m[1].length, role: lineRole });
    taken.push([m.index, m.index + m[0].length]);
  }
  BARE_ADDR.lastIndex = 0;
  for (let m = BARE_ADDR.exec(line); m; m = BARE_ADDR.exec(line)) {
    const s = m.index;
    const e = m.index + m[0].length;
    if (overlaps(s, e)) continue;
    out.push({ kind: 'address', start: s, end: e, address: BigInt('0x' + m[1]), digits: m[1].length, role: 'value' });
    taken.push([s, e]);
  }
  pairAddresses(line, out, lineRole);
  out.sort((a, b) => a.start - b.start);
  return out;
}

/**
 * Attach each frame to the raw address printed for it on the same line:
 * `[<A>] ? f+0x1/0x2` (x86 old, riscv, s390), `[sp] [A] f+...` (ppc: the last bracket
 * before the frame), `NIP [A] f+...`, `RIP: 0010:[<A>]  [<A>] f+...`, arm32 `[<A>] (f) from`.
 */
function pairAddresses(line: string, toks: LogToken[], lineRole: FrameRole): void {
  const frames = toks.filter((t): t is FrameToken => t.kind === 'frame').sort((a, b) => a.start - b.start);
  const addrs = toks.filter((t): t is AddressToken => t.kind === 'address').sort((a, b) => a.start - b.start);
  // ppc "[c000000010f930b0] [c000000008068df8] .foo+0x..": plain [hex] brackets.
  const ppc = /\[([0-9a-fA-F]{16})\]\s+\[([0-9a-fA-F]{16})\]\s+\.?[A-Za-z_$]/.exec(line);
  if (ppc) {
    for (const a of addrs) {
      if (line.slice(a.start, a.end) === ppc[1]) a.role = 'value'; // stack pointer
      if (line.slice(a.start, a.end) === ppc[2]) a.role = lineRole;
    }
  }
  // Bare 16-digit values on a line like "NIP:  c00000000022d79c LR: ..." stay values;
  // NIP [A] / LR [A] (plain brackets) are addresses of the frame after them.
  const plain = /\b(NIP|LR)\s*\[([0-9a-fA-F]{8,16})\]/.exec(line);
  if (plain) {
    for (const a of addrs) if (line.slice(a.start, a.end) === plain[2]) a.role = plain[1] === 'NIP' ? 'ip' : 'lr';
  }
  for (const f of frames) {
    // The nearest bracketed address before the frame, with nothing but brackets, spaces, `?`, `(` or `from` between.
    let best: AddressToken | undefined;
    for (const a of addrs) {
      if (a.end > f.start) break;
      const between = line.slice(a.end, f.start);
      if (/^[\]>\s?(]*$/.test(between) || /^>\]\s*\(?$/.test(between) || /^\]\s+$/.test(between)) best = a;
    }
    if (best && (best.role !== 'value' || (ppc && line.slice(best.start, best.end) === ppc[2]))) {
      f.address = best.address;
      best.role = f.role;
      best.frameAt = f.start;
      // Old x86 `RIP: 0010:[<A>]  [<B>] f+off/size`: A (regs->ip) is printed for the same frame, so
      // it is checked against it too (B is printk_address's copy of the same value).
      const b = best;
      const first = addrs.find((a) => a.end < b.start && /^>\]\s+\[<$/.test(line.slice(a.end, b.start)));
      if (first && /\bRIP:?\s*[0-9a-fA-F]{4}:\[<$/.test(line.slice(0, first.start))) {
        first.role = f.role;
        first.frameAt = f.start;
      }
    }
  }
}

/**
 * Lines wrapped mid-token: when `line` ends (or `next` starts) in the middle of a frame,
 * join them and return the frame token that crosses the boundary, with columns
 * relative to `line` (end may exceed line.length).
 */
export function scanWrapped(line: string, next: string | undefined): FrameToken | undefined {
  if (next === undefined || /^\s|^\[\s*\d+\.\d+\]/.test(next) || /\s$/.test(line) || line.length === 0) return undefined;
  const joined = line + next;
  for (const t of scanLine(joined)) {
    if (t.kind === 'frame' && t.start < line.length && t.end > line.length) return t;
  }
  return undefined;
}

/** Find the document-wide KASLR offset in the first `maxLines` lines that carry one. */
export function findKaslrOffset(lines: Iterable<string>): bigint | undefined {
  for (const l of lines) {
    if (!l.includes('Kernel Offset:')) continue;
    const t = scanLine(l)[0];
    if (t && t.kind === 'kaslr') return t.offset;
  }
  return undefined;
}

/** The token covering column `col`, if any. */
export function tokenAt(tokens: LogToken[], col: number): LogToken | undefined {
  for (const t of tokens) if (col >= t.start && col < t.end) return t;
  // Cursor just after a token (end of word) still counts.
  for (const t of tokens) if (col === t.end) return t;
  return undefined;
}
