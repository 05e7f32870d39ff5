/**
 * `ksym lookup` queries: an address (hex, 0x optional) or `name`, `name+0xoff`,
 * `name+0xoff/0xsize`, optionally followed by ` [module]` or ` [module BUILDID]`.
 * Addresses resolve like the kernel's %pS; a ` [mod]` query the kallsyms index cannot
 * answer is resolved in the module's .ko (the module store). Pure: the answers are
 * data, the CLI prints them.
 */
import { hexAddr, parseHexAddr } from '../common/addr';
import type { Resolution, SymbolIndex, SymbolInfo } from '../kallsyms/symbolIndex';
import type { ModuleStore } from '../modules/store';
import { resolveFrame } from './resolve';
import { scanLine, type FrameToken } from './scan';
import type { SourceAnswer, SourceLines } from './source';

export interface LookupEntry {
  query: string;
  address: string | null;
  name: string | null;
  offset: number | null;
  size: number | null;
  module: string | null;
  type: string | null;
  candidates: LookupEntry[];
  text?: string;
  /** Module .ko answers: the symbol's section and the section-relative offset, and its kept position. */
  section?: string;
  sectionOffset?: number;
  position?: number;
  /**
   * The query printed a size (`name+0xoff/0xsize`): whether it is the symbol's size in this
   * index (the kernel's: the distance to the next symbol). false means the frame comes from
   * another build than the index; absent when the query printed none or the size is unknown.
   */
  sizeMatches?: boolean;
  /** The size the query printed (with sizeMatches). */
  printedSize?: number;
}

/** Compare the size a query printed with the symbol's (sizeMatches, printedSize). */
function withPrintedSize(e: LookupEntry, printed: number | undefined): LookupEntry {
  if (printed === undefined || e.name === null || e.size === null) return e;
  return { ...e, sizeMatches: e.size === printed, printedSize: printed };
}

function entryOf(query: string, index: SymbolIndex, r: Resolution | undefined, address?: bigint): LookupEntry {
  const at = address ?? (r ? r.sym.address + BigInt(r.offset) - (r.returnAddress ? 1n : 0n) : undefined);
  return {
    query,
    address: at !== undefined ? hexAddr(at, index.addressDigits) : null,
    name: r?.sym.name ?? null,
    offset: r?.offset ?? null,
    size: r?.sym.size ?? null,
    module: r?.sym.module ?? null,
    type: r?.sym.type ?? null,
    candidates: [],
    text: r?.text,
  };
}

/**
 * A query that cannot name an address (a hex number wider than 64 bits, an offset or size
 * no symbol can have, a symbol plus offset past 2^64): the CLI's usage error, exit status 2.
 */
export class QueryError extends Error {
  constructor(
    readonly query: string,
    reason: string,
  ) {
    super(`${shown(query)}: ${reason}`);
    this.name = 'QueryError';
  }
}

/** A query as echoed in a message: at most 60 characters. */
function shown(q: string): string {
  return q.length <= 60 ? q : `${q.slice(0, 40)}…(${q.length} characters)`;
}

const ADDRESS_END = 1n << 64n;

function symEntry(query: string, index: SymbolIndex, s: SymbolInfo, off: number): LookupEntry {
  if (s.address + BigInt(off) >= ADDRESS_END)
    throw new QueryError(
      query,
      `${s.name}+0x${off.toString(16)} is past the end of the 64-bit address space (${s.name} is at 0x${s.address.toString(16)})`,
    );
  const r = index.resolve(s.address + BigInt(off));
  if (r && r.sym.id === s.id) return entryOf(query, index, r);
  return {
    query,
    address: hexAddr(s.address + BigInt(off), index.addressDigits),
    name: s.name,
    offset: off,
    size: s.size ?? null,
    module: s.module ?? null,
    type: s.type,
    candidates: [],
  };
}

const NAME_QUERY = /^(\.?[A-Za-z_$][\w.$]*)(?:\+(0x[0-9a-fA-F]+|\d+))?(?:\/(0x[0-9a-fA-F]+|\d+))?(?:\s*\[([\w-]+)(?:\s+[0-9a-f]+)?\])?$/;

/** One query against the kallsyms index; unresolved: name null (candidates when ambiguous). */
export function lookupQuery(index: SymbolIndex, query: string): LookupEntry {
  const q = query.trim();
  const isHex = /^(0x)?[0-9a-fA-F]+$/.test(q);
  if (isHex && (q.startsWith('0x') || q.length >= 8 || index.byNameAll(q).length === 0)) {
    const a = parseHexAddr(q);
    if (a === undefined) throw new QueryError(query, `${q.replace(/^0x/, '').length} hex digits: wider than a 64-bit address`);
    return entryOf(query, index, index.resolve(a), a);
  }
  const m = NAME_QUERY.exec(q);
  if (!m) return entryOf(query, index, undefined);
  // No symbol is 2^53 bytes long: larger offsets and sizes cannot be exact numbers, nor addresses.
  const num = (s: string | undefined, what: string) => {
    if (s === undefined) return undefined;
    const v = BigInt(s);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new QueryError(query, `${what} ${s.length > 24 ? `of ${s.length} characters` : s} is larger than any symbol (2^53 bytes)`);
    return Number(v);
  };
  const offset = num(m[2], 'offset') ?? 0;
  const frame: FrameToken = {
    kind: 'frame',
    start: 0,
    end: q.length,
    name: m[1],
    offset,
    size: num(m[3], 'size'),
    module: m[4],
    unreliable: false,
    role: 'ip',
  };
  const fr = resolveFrame(index, frame);
  if (fr.candidates.length === 1) return withPrintedSize(symEntry(query, index, fr.candidates[0], offset), frame.size);
  const e = entryOf(query, index, undefined);
  e.candidates = fr.candidates.map((c) => symEntry(query, index, c, offset));
  return e;
}

/**
 * A ` [mod]` query the kallsyms index cannot answer, resolved in the module's .ko:
 * undefined when the query names no module; `error` when the store cannot answer.
 */
export async function lookupInModule(
  store: ModuleStore,
  index: SymbolIndex,
  query: string,
): Promise<{ entry: LookupEntry } | { error: string } | undefined> {
  const m = NAME_QUERY.exec(query.trim());
  if (!m || !m[4]) return undefined;
  const tok = scanLine(` ${query.trim()}`).find((t): t is FrameToken => t.kind === 'frame');
  const frame: FrameToken = tok
    ? { ...tok, role: 'ip' }
    : { kind: 'frame', start: 0, end: 0, name: m[1], offset: 0, module: m[4], unreliable: false, role: 'ip' };
  if (frame.offset === undefined) frame.offset = 0;
  const r = await store.resolveModuleFrame(frame);
  if (!r.ok) return { error: r.error };
  const off = frame.offset ?? 0;
  const entry = (c: (typeof r.candidates)[number]): LookupEntry => ({
    query,
    address: c.address !== undefined ? hexAddr(c.address + BigInt(off), index.addressDigits) : null,
    name: c.name,
    offset: off,
    size: c.kernelSize,
    module: r.module,
    type: c.type,
    candidates: [],
    text: c.printed?.text,
    section: c.section,
    sectionOffset: c.value + off,
    position: c.keptPosition,
  });
  if (r.candidates.length === 1) return { entry: withPrintedSize(entry(r.candidates[0]), frame.size) };
  const e = entryOf(query, index, undefined);
  e.candidates = r.candidates.map(entry);
  return { entry: e };
}

/**
 * The source lines of a lookup answer (issue 15 §4): vmlinux answers through the vmlinux's
 * DWARF at the looked-up address (%pS: no return-address adjustment); module answers
 * through the module's .ko (section, offset) found by the module store. Every answer gets
 * a `source` array, `[]` with `sourceProblem` when nothing covers it.
 */
export async function lookupSource(e: LookupEntry, lines: SourceLines, store: ModuleStore | undefined): Promise<SourceAnswer> {
  if (e.name === null || (e.address === null && e.section === undefined))
    return {
      source: [],
      sourceProblem: e.candidates.length > 1 ? 'ambiguous: no single address to look up' : 'no symbol covers this address',
    };
  if (e.module === null) return lines.vmlinux(BigInt('0x' + e.address!.replace(/^0x/, '')), { returnAddress: false, symbol: e.name });
  if (!store)
    return { source: [], sourceProblem: `${e.name} is in module ${e.module}: give its .ko (with debug info) with --module FILE.ko|DIR` };
  const frame: FrameToken = {
    kind: 'frame',
    start: 0,
    end: 0,
    name: e.name,
    offset: e.offset ?? 0,
    module: e.module,
    unreliable: false,
    role: 'ip',
  };
  const r = await store.resolveModuleFrame(frame);
  if (!r.ok) return { source: [], sourceProblem: r.error };
  if (r.candidates.length !== 1)
    return { source: [], sourceProblem: `${r.candidates.length} symbols named ${e.name} in ${r.module}: ambiguous` };
  const c = r.candidates[0];
  return lines.module(
    { module: r.module, file: r.file, section: c.section, offset: c.value + (e.offset ?? 0) },
    { returnAddress: false, symbol: e.name },
  );
}
