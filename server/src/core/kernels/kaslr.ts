/**
 * KASLR: the shift between a log's addresses and the addresses of a symbol index, and
 * where it applies. Pure.
 *
 * - With a `Kernel Offset: X from B` line the vmlinux shift is X minus the index's own
 *   offset (its `_text` minus B): a System.map (link-time addresses) and a kallsyms of
 *   another boot both line up.
 * - Without one it is inferred from frames printed with their address
 *   (`[<ffffffff8a2c3d4e>] foo+0x1e/0x40`): the symbol starts at address - offset for
 *   %pS and %pB alike, so each pair gives shift = address - offset - index(foo). All
 *   vmlinux pairs must agree on one constant: at least two distinct symbols, or one
 *   with no pair contradicting it. Any contradiction leaves the shift unknown (a
 *   partial agreement means another build, and a wrong shift is worse than none).
 * - Modules have their own load addresses: the vmlinux shift never applies to them.
 *   Each module's shift is learned the same way from its own frames (`[mod]`).
 * - The vmlinux shift applies only to addresses inside the kernel image
 *   ([_text, _end) of the index, moved by the shift): `AddressShift.shiftApplies`.
 */
import { scanLine } from '../log/scan';
import type { KaslrFact } from './identity';

/** What the KASLR inference needs from a symbol index: lookups by exact name. */
export interface SymbolLookup {
  /** Index addresses (and sizes when known) of vmlinux symbols named `name`. */
  vmlinux(name: string): ReadonlyArray<{ address: bigint; size?: number }>;
  /**
   * Index addresses of a module's symbols named `name` (a kallsyms snapshot has them;
   * undefined or empty when the index knows no addresses for the module).
   */
  module?(module: string, name: string): ReadonlyArray<{ address: bigint; size?: number }>;
  /** The vmlinux image in index addresses: [start, end). */
  imageRange(): { start: bigint; end: bigint } | undefined;
  /** `_text` in index addresses (for the `Kernel Offset:` line). */
  textStart?(): bigint | undefined;
  /** A module's symbols in index addresses: [lowest, highest + its size), undefined when none. */
  moduleRange?(module: string): { start: bigint; end: bigint } | undefined;
}

/** A frame printed together with its address on one log line. */
export interface FramePair {
  /** 1-based line and 0-based column of the frame name. */
  line: number;
  column: number;
  address: bigint;
  name: string;
  offset: number;
  size?: number;
  module?: string;
  unreliable: boolean;
}

const PSEUDO = /^(?:bpf|__builtin__\w+)$/;

/** Every frame printed with its runtime address, in log order (bounded). Never throws. */
export function framePairs(text: string, opts: { maxLines?: number; maxPairs?: number; maxLineLength?: number } = {}): FramePair[] {
  const maxLines = opts.maxLines ?? 2_000_000;
  const maxPairs = opts.maxPairs ?? 20_000;
  const maxLen = opts.maxLineLength ?? 4096;
  const out: FramePair[] = [];
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length && lineNo < maxLines && out.length < maxPairs) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    lineNo++;
    const line = text.slice(pos, Math.min(nl, pos + maxLen));
    pos = nl + 1;
    if (!line.includes('+0x') || !line.includes('[')) continue;
    for (const t of scanLine(line)) {
      if (t.kind !== 'frame' || t.address === undefined || t.offset === undefined) continue;
      out.push({
        line: lineNo,
        column: t.start,
        address: t.address,
        name: t.name,
        offset: t.offset,
        size: t.size,
        module: t.module,
        unreliable: t.unreliable,
      });
      if (out.length >= maxPairs) break;
    }
  }
  return out;
}

export type ShiftBasis =
  /** From the log's `Kernel Offset:` line. */
  | 'kernel-offset-line'
  /** At least two distinct symbols agree and none contradicts. */
  | 'confirmed'
  /** One symbol (one or more pairs of it), nothing contradicts. */
  | 'single';

export interface LearnedShift {
  shift: bigint;
  basis: ShiftBasis;
  /** Distinct symbol names that agree, in log order. */
  symbols: string[];
  /** Pairs that agree. */
  pairs: number;
  /** Line of the first agreeing pair (or of the Kernel Offset line). */
  line: number;
}

export interface ShiftFinding {
  learned?: LearnedShift;
  /** Why there is no shift, or what was odd: one short sentence each. */
  problems: string[];
  /** Frame names the index does not have (a sign of another kernel). */
  unknown: string[];
}

export interface KaslrInference {
  vmlinux: ShiftFinding;
  /** Per module (name as printed, `-` → `_`). */
  modules: Map<string, ShiftFinding>;
}

const hex = (v: bigint) => (v < 0n ? '-0x' + (-v).toString(16) : '0x' + v.toString(16));

function learn(
  pairs: FramePair[],
  candidates: (p: FramePair) => ReadonlyArray<{ address: bigint; size?: number }>,
  what: string,
): ShiftFinding {
  const problems: string[] = [];
  const unknown: string[] = [];
  const sizeNotes: string[] = [];
  // For every pair, the shifts it allows.
  const allowed: Array<{ p: FramePair; shifts: bigint[] }> = [];
  for (const p of pairs) {
    const all = candidates(p);
    if (all.length === 0) {
      if (!unknown.includes(p.name) && unknown.length < 50) unknown.push(p.name);
      continue;
    }
    const sized = p.size === undefined ? all : all.filter((c) => c.size === undefined || c.size === p.size);
    // Sizes narrow same-name candidates; they do not veto (a System.map has symbols
    // kallsyms drops, so its sizes can be shorter than the printed ones).
    if (sized.length === 0 && sizeNotes.length < 4) {
      const sz = all.map((c) => (c.size === undefined ? '?' : '0x' + c.size.toString(16))).join(', ');
      sizeNotes.push(`line ${p.line}: ${p.name} has size 0x${p.size!.toString(16)} in the log, ${sz} in the index`);
    }
    const start = p.address - BigInt(p.offset);
    allowed.push({ p, shifts: [...new Set((sized.length ? sized : all).map((c) => start - c.address))] });
  }
  if (allowed.length === 0) {
    if (pairs.length === 0) problems.push(`no ${what} frame is printed with its address`);
    else problems.push(`none of the ${what} frames printed with an address names a symbol of the index`);
    return { problems, unknown };
  }
  // Votes: distinct names per shift, from pairs with exactly one possible shift.
  const votes = new Map<bigint, Set<string>>();
  for (const a of allowed) {
    if (a.shifts.length !== 1) continue;
    let v = votes.get(a.shifts[0]);
    if (!v) votes.set(a.shifts[0], (v = new Set()));
    v.add(a.p.name);
  }
  if (votes.size === 0) {
    problems.push(`every ${what} frame with an address names a symbol the index has more than once: the shift is ambiguous`);
    return { problems, unknown };
  }
  const ranked = [...votes].sort((x, y) => y[1].size - x[1].size);
  const [shift, names] = ranked[0];
  const agreeing = allowed.filter((a) => a.shifts.includes(shift));
  const against = allowed.filter((a) => !a.shifts.includes(shift));
  if (against.length > 0) {
    problems.push(...sizeNotes);
    const first = against[0].p;
    const others = ranked.slice(1, 3).map(([s, n]) => `${hex(s)} (${[...n].slice(0, 3).join(', ')})`);
    problems.push(
      `${what} frames disagree on the shift: ${names.size} symbol(s) give ${hex(shift)} (${[...names].slice(0, 3).join(', ')}), ` +
        `${against.length} frame(s) do not (first: line ${first.line}, ${first.name}${others.length ? `; ${others.join(', ')}` : ''}): the index is not this log's kernel, no shift used`,
    );
    return { problems, unknown };
  }
  const symbols = [...new Set(agreeing.map((a) => a.p.name))];
  const basis: ShiftBasis = symbols.length >= 2 ? 'confirmed' : 'single';
  if (basis === 'single') problems.push(`${what} shift ${hex(shift)} rests on one symbol (${symbols[0]}) with no frame contradicting it`);
  if ((shift & 0xfffn) !== 0n) {
    return {
      problems: [`${what} frames imply a shift of ${hex(shift)}, which is not page aligned: the index is not this log's kernel`],
      unknown,
    };
  }
  problems.push(...sizeNotes);
  return { learned: { shift, basis, symbols, pairs: agreeing.length, line: agreeing[0].p.line }, problems, unknown };
}

/** Infer the vmlinux shift and each module's shift from frame/address pairs. */
export function inferKaslr(pairs: readonly FramePair[], lookup: SymbolLookup): KaslrInference {
  const vm = pairs.filter((p) => p.module === undefined);
  const vmlinux = learn(vm, (p) => lookup.vmlinux(p.name), 'vmlinux');
  const modules = new Map<string, ShiftFinding>();
  const byMod = new Map<string, FramePair[]>();
  for (const p of pairs) {
    if (p.module === undefined || PSEUDO.test(p.module)) continue;
    const m = p.module.replace(/-/g, '_');
    let l = byMod.get(m);
    if (!l) byMod.set(m, (l = []));
    l.push(p);
  }
  for (const [m, ps] of byMod) {
    // An index with no symbols of this module at all (a System.map, a snapshot taken without
    // it) says nothing about the log's kernel: the module is placed from its own .ko by the
    // module store, so there is no shift to learn here and nothing to report.
    if (!lookup.module || (lookup.moduleRange && lookup.moduleRange(m) === undefined)) {
      modules.set(m, { problems: [], unknown: [] });
      continue;
    }
    modules.set(
      m,
      learn(ps, (p) => lookup.module!(m, p.name), m),
    );
  }
  return { vmlinux, modules };
}

/**
 * The vmlinux shift from a `Kernel Offset:` line: the printed offset minus the index's
 * own offset (`_text` - `from`). `disabled` means 0 against an unrandomized index.
 */
export function shiftFromKernelOffset(k: KaslrFact, indexText: bigint | undefined, defaultFrom = 0xffffffff81000000n): bigint {
  const from = k.from ?? defaultFrom;
  const indexOffset = indexText !== undefined ? indexText - from : 0n;
  return k.offset - indexOffset;
}

export interface ToIndex {
  /** The address to look up in the index. */
  address: bigint;
  /** What was subtracted: the vmlinux shift, a module's own shift, or nothing. */
  applied: 'vmlinux' | 'module' | 'none';
  /** Why nothing was applied, when something might have been expected. */
  note?: string;
}

/**
 * Log address → index address. Built once per (log, index); the only place that decides
 * which shift an address gets.
 */
export class AddressShift {
  private readonly modules: ReadonlyMap<string, bigint>;

  constructor(
    /** The vmlinux shift (log - index), undefined when unknown. */
    readonly vmlinuxShift: bigint | undefined,
    /** The kernel image in index addresses. */
    readonly imageRange: { start: bigint; end: bigint } | undefined,
    modules: ReadonlyMap<string, bigint> = new Map(),
    /** How vmlinuxShift was found. */
    readonly basis?: ShiftBasis,
    /** Where each learned module's symbols are in the index (a bare address is placed in one by them). */
    private readonly moduleRanges: ReadonlyMap<string, { start: bigint; end: bigint }> = new Map(),
  ) {
    this.modules = modules;
  }

  /** The learned module a bare log address falls in (its index range moved by its shift). */
  moduleAt(logAddress: bigint): { module: string; shift: bigint } | undefined {
    for (const [m, s] of this.modules) {
      const r = this.moduleRanges.get(m);
      const a = logAddress - s;
      if (r && a >= r.start && a < r.end) return { module: m, shift: s };
    }
    return undefined;
  }

  /** Whether the vmlinux shift applies to this log address (inside the moved kernel image). */
  shiftApplies(logAddress: bigint): boolean {
    if (this.vmlinuxShift === undefined || this.imageRange === undefined) return false;
    const a = logAddress - this.vmlinuxShift;
    return a >= this.imageRange.start && a < this.imageRange.end;
  }

  /** A module's learned shift, if any (`-` and `_` are the same). */
  moduleShift(module: string): bigint | undefined {
    return this.modules.get(module.replace(/-/g, '_'));
  }

  /**
   * The index address for a log address. `module`: the module the log names for it
   * (`[mod]` frames): then only that module's own shift can apply, never the vmlinux one.
   */
  toIndex(logAddress: bigint, module?: string): ToIndex {
    if (module !== undefined) {
      const s = this.moduleShift(module);
      if (s !== undefined) return { address: logAddress - s, applied: 'module' };
      return { address: logAddress, applied: 'none', note: `no load address learned for ${module}` };
    }
    const inImage = this.shiftApplies(logAddress);
    if (inImage && this.vmlinuxShift !== 0n) return { address: logAddress - this.vmlinuxShift!, applied: 'vmlinux' };
    // Outside the image: inside a module whose load address the log taught, that module's shift.
    const m = inImage ? undefined : this.moduleAt(logAddress);
    if (m) return { address: logAddress - m.shift, applied: 'module' };
    if (this.vmlinuxShift === undefined) return { address: logAddress, applied: 'none', note: 'the KASLR shift is unknown' };
    if (this.vmlinuxShift === 0n) return { address: logAddress, applied: 'none' };
    return {
      address: logAddress,
      applied: 'none',
      note: this.imageRange
        ? 'outside the kernel image: the KASLR shift does not apply'
        : 'the kernel image range is unknown: the KASLR shift is not applied',
    };
  }
}

/**
 * The AddressShift for a log against an index: the `Kernel Offset:` line when present
 * (cross-checked with the frames: a disagreement is reported and the line's shift is
 * not used), else the inferred shift. Module shifts as learned.
 */
export function addressShift(
  kaslr: KaslrFact | undefined,
  inference: KaslrInference,
  lookup: SymbolLookup,
): { shift: AddressShift; problems: string[] } {
  const problems: string[] = [];
  let vm: bigint | undefined;
  let basis: ShiftBasis | undefined;
  const inferred = inference.vmlinux.learned;
  if (kaslr) {
    const fromLine = shiftFromKernelOffset(kaslr, lookup.textStart?.());
    if (inferred && inferred.shift !== fromLine) {
      problems.push(
        `the Kernel Offset line gives a shift of ${hex(fromLine)} but the frames give ${hex(inferred.shift)} (${inferred.symbols.slice(0, 3).join(', ')}): the index is not this log's kernel`,
      );
    } else {
      vm = fromLine;
      basis = 'kernel-offset-line';
    }
  } else if (inferred) {
    vm = inferred.shift;
    basis = inferred.basis;
  }
  if (!kaslr) problems.push(...inference.vmlinux.problems);
  const mods = new Map<string, bigint>();
  for (const [m, f] of inference.modules) {
    if (f.learned) mods.set(m, f.learned.shift);
    else problems.push(...f.problems);
  }
  return { shift: new AddressShift(vm, lookup.imageRange(), mods, basis, moduleRanges(mods, lookup)), problems };
}

/** The index ranges of the modules in `mods` (those the index has addresses for). */
export function moduleRanges(mods: ReadonlyMap<string, bigint>, lookup: SymbolLookup): Map<string, { start: bigint; end: bigint }> {
  const out = new Map<string, { start: bigint; end: bigint }>();
  for (const m of mods.keys()) {
    const r = lookup.moduleRange?.(m);
    if (r) out.set(m, r);
  }
  return out;
}
