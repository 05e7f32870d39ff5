/**
 * `ksym decode --json` (issue 16 §4): one object for a log, `kernel` (which kernel wrote
 * it, which candidate was used, the problems, the mismatch first) and `tokens` (every
 * frame and address with what the selected kernel's files say about it). Pure but for
 * the module lookups the caller passes (the module store is async).
 *
 * When the log's kernel is not among the candidates nothing is resolved: tokens keep
 * their position and text, `name` is null, and `sourceProblem` says why (a wrong answer
 * is worse than none).
 */
import { hexAddr } from '../common/addr';
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import { resolveAddressToken, resolveFrame } from '../log/resolve';
import { frameText, scanLine, type AddressToken, type FrameToken } from '../log/scan';
import type { LogKernel } from './forLog';
import type { AddressShift } from './kaslr';

export interface DecodedKernel {
  release: string | null;
  version: string | null;
  arch: string | null;
  buildId: string | null;
  kaslrOffset: string | null;
  /** The kernel directory or source used, `running`, or null (none matched). */
  selected: string | null;
  problems: string[];
}

export interface DecodedToken {
  /** 1-based. */
  line: number;
  /** 0-based UTF-16 column of the token. */
  column: number;
  text: string;
  kind: 'frame' | 'address' | 'ip';
  /** The address in the selected kernel's symbol table (the log's minus its shift), hex. */
  address: string | null;
  name: string | null;
  offset: number | null;
  size: number | null;
  module: string | null;
  /** Whether the selected kernel prints what the log printed (null: nothing to compare). */
  matchesLog: boolean | null;
  /** Source lines as in `ksym lookup --json` (issue 15), [] when none. */
  source: unknown[];
  sourceProblem?: string;
}

export interface DecodedLog {
  kernel: DecodedKernel;
  tokens: DecodedToken[];
}

/** What a module store says about a runtime address / a frame (the caller binds the store). */
export interface ModuleLookups {
  address(
    logAddress: bigint,
    returnAddress: boolean,
  ): Promise<{ text: string; name: string; offset: number; size: number; module: string } | undefined>;
  /**
   * A `[mod]` frame resolved in its module file (by name, offset and size); `problem` when
   * the module file cannot answer (not found, refused as another kernel's, unreadable).
   */
  frame?(
    frame: FrameToken,
  ): Promise<{ name: string; offset: number; size: number; module: string; matchesLog: boolean } | { problem: string } | undefined>;
}

/** A source answer as `ksym lookup --json` prints it (core/log/source.ts). */
export type TokenSourceAnswer = { source: unknown[]; sourceProblem?: string } | undefined;

/**
 * Source lines of a frame or address token (issue 15's producer), when debug info is
 * configured. `vmlinux`: the index address when the selected kernel's symbols placed the
 * token in vmlinux (then only that kernel's vmlinux debug file may answer); module tokens
 * are the caller's to place (its module store). Stack entries are return addresses.
 */
export type FrameSource = (
  token: FrameToken | AddressToken,
  resolved: { vmlinux?: bigint; symbol?: string; module?: string },
) => TokenSourceAnswer | Promise<TokenSourceAnswer>;

export interface DecodeOptions {
  lk: LogKernel;
  /** The selected candidate's name for `selected` (directory, `running`), null when none. */
  selected: string | null;
  /** The index of the selected kernel (unused when none is selected). */
  index: SymbolIndex;
  shift: AddressShift;
  shiftProblems: string[];
  modules?: ModuleLookups;
  source?: FrameSource;
  /** Why there are no source lines, when `source` is absent. */
  noSource?: string;
  maxTokens?: number;
}

const hex = (v: bigint) => (v < 0n ? '-0x' + (-v).toString(16) : '0x' + v.toString(16));

export async function decodeLog(text: string, o: DecodeOptions): Promise<DecodedLog> {
  const id = o.lk.identity;
  const sel = o.lk.selection;
  const problems: string[] = [];
  if (!sel.ok) problems.push(sel.message);
  problems.push(...sel.notes, ...id.conflicts, ...(sel.ok ? o.shiftProblems : []));
  const kernel: DecodedKernel = {
    release: id.release?.value ?? null,
    version: id.version?.value ?? null,
    arch: id.arch?.value ?? null,
    buildId: id.buildId?.value ?? null,
    kaslrOffset: id.kaslr
      ? hex(id.kaslr.value.offset)
      : o.shift.vmlinuxShift !== undefined && o.shift.vmlinuxShift !== 0n
        ? hex(o.shift.vmlinuxShift)
        : null,
    selected: sel.ok ? o.selected : null,
    problems,
  };
  const tokens: DecodedToken[] = [];
  const max = o.maxTokens ?? 1_000_000;
  const lines = text.split('\n');
  const digits = o.index.addressDigits;
  for (let n = 0; n < lines.length && tokens.length < max; n++) {
    const line = lines[n];
    const toks = scanLine(line);
    for (const t of toks) {
      if (t.kind === 'kaslr') continue;
      const base: DecodedToken = {
        line: n + 1,
        column: t.start,
        text: line.slice(t.start, t.end),
        kind: t.role === 'ip' ? 'ip' : t.kind === 'frame' ? 'frame' : 'address',
        address: null,
        name: null,
        offset: null,
        size: null,
        module: t.kind === 'frame' ? (t.module ?? null) : null,
        matchesLog: null,
        source: [],
      };
      if (!sel.ok) {
        base.sourceProblem = "not resolved: the log's kernel is not among the candidates";
        tokens.push(base);
        continue;
      }
      if (t.kind === 'frame') {
        const r = resolveFrame(o.index, t);
        if (r.address !== undefined && r.kernel) {
          base.address = hexAddr(r.address, digits);
          base.name = r.kernel.sym.name;
          base.offset = r.kernel.offset;
          base.size = r.kernel.sizeUnknown ? null : (r.kernel.sym.size ?? null);
          base.module = r.kernel.sym.module ?? t.module ?? null;
          const printedAt = t.address !== undefined ? o.shift.toIndex(t.address, t.module).address : undefined;
          base.matchesLog = !!r.matchesLog && (printedAt === undefined || printedAt === r.address);
        } else if (t.module && o.modules) {
          // By the printed address when the module's load address is known, else by name in its file.
          const m = t.address !== undefined ? await o.modules.address(t.address, t.role === 'trace') : undefined;
          const f = !m && o.modules.frame ? await o.modules.frame(t) : undefined;
          if (m && t.address !== undefined)
            Object.assign(base, {
              address: hexAddr(t.address, digits),
              name: m.name,
              offset: m.offset,
              size: m.size,
              module: m.module,
              matchesLog: m.text.replace(/ [0-9a-f]{16,}\]$/, ']') === frameText(t, { buildId: false }),
            });
          else if (f && 'problem' in f) base.sourceProblem = f.problem;
          else if (f) Object.assign(base, { name: f.name, offset: f.offset, size: f.size, module: f.module, matchesLog: f.matchesLog });
          else if (r.problem) base.sourceProblem = r.problem;
        } else if (r.problem) base.sourceProblem = r.problem;
        await addSource(o, t, base, r.kernel && !r.kernel.sym.module ? r.address : undefined);
      } else {
        const frame =
          t.frameAt !== undefined ? (toks.find((x) => x.kind === 'frame' && x.start === t.frameAt) as FrameToken | undefined) : undefined;
        const r = resolveAddressToken(o.index, t, o.shift, frame);
        if (r.kernel) {
          base.address = hexAddr(r.address, digits);
          base.name = r.kernel.sym.name;
          base.offset = r.kernel.offset;
          base.size = r.kernel.sizeUnknown ? null : (r.kernel.sym.size ?? null);
          base.module = r.kernel.sym.module ?? null;
          base.matchesLog = r.matchesLog ?? null;
        } else if (o.modules && r.applied !== 'vmlinux') {
          const m = await o.modules.address(t.address, t.role === 'trace');
          if (m) {
            const printed = frame && frame.offset !== undefined ? frameText(frame, { buildId: false }) : undefined;
            Object.assign(base, {
              address: hexAddr(t.address, digits),
              name: m.name,
              offset: m.offset,
              size: m.size,
              module: m.module,
              matchesLog: printed === undefined ? null : m.text.replace(/ [0-9a-f]{16,}\]$/, ']') === printed,
            });
          }
        }
        if (base.name === null) base.sourceProblem = r.note ?? 'no symbol covers this address';
        else await addSource(o, t, base, r.kernel && !r.kernel.sym.module ? r.address : undefined);
      }
      tokens.push(base);
    }
  }
  return { kernel, tokens };
}

/** A token's source lines (or why there are none) from the configured producer. */
async function addSource(o: DecodeOptions, t: FrameToken | AddressToken, base: DecodedToken, vmlinux: bigint | undefined): Promise<void> {
  if (!o.source) {
    if (o.noSource && !base.sourceProblem) base.sourceProblem = o.noSource;
    return;
  }
  if (base.name === null && vmlinux === undefined) return;
  const s = await o.source(t, { vmlinux, symbol: base.name ?? undefined, module: base.module ?? undefined });
  if (!s) return;
  base.source = s.source;
  if (s.sourceProblem) base.sourceProblem = s.sourceProblem;
  else delete base.sourceProblem;
}
