/**
 * The `ksym` commands that work on symbol tables: lookup, decode, stats, symbols,
 * check, search (bundled as dist/cli-cmds.js, loaded by the dispatcher in cli.ts).
 * Thin: parsing arguments and printing; the work is done by core/ and loader.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hexAddr, parseHexAddr } from './core/addr';
import { findKaslrOffset, FrameToken, scanLine } from './core/logscan';
import { frameText, kaslrShift, resolveAddressToken, resolveFrame } from './core/resolve';
import { buildIndex, Resolution, SymbolIndex, SymbolInfo } from './core/symindex';
import { ModuleStore } from './modstore';
import { parseModule } from './core/module';
import { readModuleBytes } from './core/decompress';
import { describeError } from './loader';
import { cmdCheck } from './check';
import { cmdSearch } from './searchcli';
import { loadIndex, sourceKind, SourceSpec } from './loader';
import { statsText } from './handlers/stats';
import { DEFAULT_KALLSYMS } from './service';
import { exitOnClosedStdout, fail, failUsage, help, UsageError } from './clicommon';

async function loadOrExit(files: string[] | undefined, optional = false): Promise<SymbolIndex> {
  const specs: SourceSpec[] = (files && files.length ? files : [DEFAULT_KALLSYMS]).map((file) => ({ file, kind: sourceKind(file) }));
  const r = await loadIndex(specs);
  if (!r.index && optional && !(files && files.length)) return buildIndex([]);
  for (const w of r.warnings) process.stderr.write(`ksym: warning: ${w}\n`);
  if (!r.index) fail(2, r.errors.map((e) => `ksym: ${e}`).join('\n'));
  for (const e of r.errors) process.stderr.write(`ksym: ${e}\n`);
  return r.index;
}

interface LookupEntry {
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
}

function entryOf(query: string, index: SymbolIndex, r: Resolution | undefined, address?: bigint): LookupEntry {
  return {
    query,
    address: address !== undefined ? hexAddr(address, index.addressDigits) : r ? hexAddr(r.sym.address + BigInt(r.offset) - (r.returnAddress ? 1n : 0n), index.addressDigits) : null,
    name: r?.sym.name ?? null,
    offset: r?.offset ?? null,
    size: r?.sym.size ?? null,
    module: r?.sym.module ?? null,
    type: r?.sym.type ?? null,
    candidates: [],
    text: r?.text,
  };
}

function symEntry(query: string, index: SymbolIndex, s: SymbolInfo, off: number): LookupEntry {
  const r = index.resolve(s.address + BigInt(off));
  if (r && r.sym.id === s.id) return entryOf(query, index, r);
  return { query, address: hexAddr(s.address + BigInt(off), index.addressDigits), name: s.name, offset: off, size: s.size ?? null, module: s.module ?? null, type: s.type, candidates: [] };
}

const NAME_QUERY = /^(\.?[A-Za-z_$][\w.$]*)(?:\+(0x[0-9a-fA-F]+|\d+))?(?:\/(0x[0-9a-fA-F]+|\d+))?(?:\s*\[([\w-]+)(?:\s+[0-9a-f]+)?\])?$/;

export function lookupQuery(index: SymbolIndex, query: string): LookupEntry {
  const q = query.trim();
  const isHex = /^(0x)?[0-9a-fA-F]+$/.test(q);
  if (isHex && (q.startsWith('0x') || q.length >= 8 || index.byNameAll(q).length === 0)) {
    const a = parseHexAddr(q);
    if (a === undefined) return entryOf(query, index, undefined);
    return entryOf(query, index, index.resolve(a), a);
  }
  const m = NAME_QUERY.exec(q);
  if (!m) return entryOf(query, index, undefined);
  const num = (s: string | undefined) => (s === undefined ? undefined : s.startsWith('0x') ? parseInt(s, 16) : parseInt(s, 10));
  const frame: FrameToken = { kind: 'frame', start: 0, end: q.length, name: m[1], offset: num(m[2]) ?? 0, size: num(m[3]), module: m[4], unreliable: false, role: 'ip' };
  const fr = resolveFrame(index, frame);
  if (fr.candidates.length === 1) return symEntry(query, index, fr.candidates[0], frame.offset!);
  const e = entryOf(query, index, undefined);
  e.candidates = fr.candidates.map((c) => symEntry(query, index, c, frame.offset!));
  return e;
}

/** A ` [mod]` query the kallsyms index cannot answer, resolved in the module's .ko. */
async function lookupInModule(store: ModuleStore, index: SymbolIndex, query: string): Promise<LookupEntry | undefined> {
  const m = NAME_QUERY.exec(query.trim());
  if (!m || !m[4]) return undefined;
  const tok = scanLine(` ${query.trim()}`).find((t): t is FrameToken => t.kind === 'frame');
  const frame: FrameToken = tok ? { ...tok, role: 'ip' } : { kind: 'frame', start: 0, end: 0, name: m[1], offset: 0, module: m[4], unreliable: false, role: 'ip' };
  if (frame.offset === undefined) frame.offset = 0;
  const r = await store.resolveModuleFrame(frame);
  if (!r.ok) {
    process.stderr.write(`ksym: ${r.error}\n`);
    return undefined;
  }
  const entry = (c: (typeof r.candidates)[number]): LookupEntry => ({
    query,
    address: c.address !== undefined ? hexAddr(c.address + BigInt(frame.offset ?? 0), index.addressDigits) : null,
    name: c.name,
    offset: frame.offset ?? 0,
    size: c.kernelSize,
    module: r.module,
    type: c.type,
    candidates: [],
    text: c.printed?.text,
    section: c.section,
    sectionOffset: c.value + (frame.offset ?? 0),
    position: c.keptPosition,
  });
  if (r.candidates.length === 1) return entry(r.candidates[0]);
  const e = entryOf(query, index, undefined);
  e.candidates = r.candidates.map(entry);
  return e;
}

async function cmdLookup(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { kallsyms: { type: 'string', multiple: true }, module: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return help('lookup');
  if (positionals.length === 0) throw new UsageError('lookup: no QUERY given');
  const index = await loadOrExit(values.kallsyms, !!values.module?.length);
  let store: ModuleStore | undefined;
  if (values.module?.length) {
    store = new ModuleStore(values.module);
    const scan = await store.scan();
    for (const e of scan.errors) process.stderr.write(`ksym: ${e}\n`);
    if (scan.files === 0) fail(2, `ksym: no modules (.ko, .ko.gz, .ko.xz, .ko.zst) found in ${values.module.join(', ')}`);
    store.useKallsyms(index);
  }
  const entries: LookupEntry[] = [];
  for (const q of positionals) {
    let e = lookupQuery(index, q);
    if (store && e.name === null && e.candidates.length === 0) e = (await lookupInModule(store, index, q)) ?? e;
    entries.push(e);
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(entries.map(({ text: _t, ...e }) => ({ ...e, candidates: e.candidates.map(({ text: _c, ...c }) => c) })), null, 2) + '\n');
  } else {
    const where = (e: LookupEntry) => e.address ?? (e.section !== undefined ? `${e.section}+0x${(e.sectionOffset ?? 0).toString(16)}` : e.query);
    for (const e of entries) {
      if (e.name !== null) process.stdout.write(`${where(e)} ${e.text ?? `${e.name}+0x${(e.offset ?? 0).toString(16)}`}\n`);
      else if (e.candidates.length > 1) process.stdout.write(`${e.query}: ambiguous, ${e.candidates.length} candidates: ${e.candidates.map((c) => `${where(c)} ${c.text ?? c.name}`).join(', ')}\n`);
      else process.stdout.write(`${e.address ?? e.query} ?\n`);
    }
  }
  return entries.every((e) => e.name !== null) ? 0 : 1;
}

async function cmdSymbols(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { module: { type: 'string' }, kept: { type: 'boolean' }, all: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return help('symbols');
  const file = values.module ?? positionals[0];
  if (!file) throw new UsageError('symbols: --module FILE.ko is required');
  if (values.kept && values.all) throw new UsageError('symbols: --kept and --all exclude each other');
  let mod;
  try {
    mod = parseModule(await readModuleBytes(file), file);
  } catch (e) {
    fail(2, `ksym: ${describeError(file, e)}`);
  }
  const rows = mod.jsonRows({ keptOnly: !!values.kept });
  if (values.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else {
    process.stdout.write(`${file}: module ${mod.name}, ${mod.count} symbols, ${mod.keptCount} kept after load${mod.isLivepatch ? ' (livepatch: all kept)' : ''}\n`);
    process.stdout.write('   Num            Value     Size T Bind   Ndx       Kept Section              Name\n');
    for (const r of rows) {
      process.stdout.write(`${String(r.index).padStart(6)} ${r.value.toString(16).padStart(16, '0')} ${String(r.size).padStart(8)} ${r.type} ${r.binding.padEnd(6)} ${String(r.sectionIndex).padEnd(9)} ${r.kept ? 'yes ' : 'no  '} ${r.section.padEnd(20)} ${r.name}\n`);
    }
  }
  return 0;
}

export function decodeText(index: SymbolIndex, input: string, configuredShift?: bigint): string {
  const lines = input.split('\n');
  const shift = kaslrShift(index, findKaslrOffset(lines), configuredShift);
  const out: string[] = [];
  for (const line of lines) {
    const toks = scanLine(line);
    const notes: string[] = [];
    for (const t of toks) {
      if (t.kind === 'frame' && t.offset !== undefined) {
        const r = resolveFrame(index, t);
        if (r.address !== undefined && r.kernel) {
          const printedAt = t.address !== undefined ? t.address - shift : undefined;
          if (printedAt === r.address && r.matchesLog) notes.push('✓');
          else if (printedAt !== undefined && printedAt !== r.address) notes.push(`⚠ ${frameText(t)} is ${hexAddr(r.address, index.addressDigits)} in this index, the log printed ${hexAddr(printedAt, index.addressDigits)}`);
          else notes.push(`${frameText(t)} = ${hexAddr(r.address, index.addressDigits)}${r.matchesLog ? '' : ` ⚠ index: ${r.kernel.text}`}`);
        } else if (r.candidates.length > 1) {
          notes.push(`${frameText(t)}: ambiguous (${r.candidates.map((c) => hexAddr(c.address, index.addressDigits) + (c.module ? ` [${c.module}]` : '')).join(', ')})`);
        } else if (r.problem) {
          notes.push(`${frameText(t)}: ${r.problem}`);
        }
      } else if (t.kind === 'address' && t.frameAt === undefined) {
        const r = resolveAddressToken(index, t, shift);
        if (r.kernel) notes.push(`${line.slice(t.start, t.end)} = ${r.kernel.text}`);
      } else if (t.kind === 'address' && t.frameAt !== undefined) {
        const frame = toks.find((x): x is FrameToken => x.kind === 'frame' && x.start === t.frameAt);
        const r = resolveAddressToken(index, t, shift, frame);
        if (r.kernel && !r.matchesLog) notes.push(`${line.slice(t.start, t.end)} = ${r.kernel.text}`);
      }
    }
    out.push(notes.length ? `${line}  ⟶ ${notes.join('; ')}` : line);
  }
  return out.join('\n');
}

async function cmdDecode(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { kallsyms: { type: 'string', multiple: true }, 'kaslr-offset': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return help('decode');
  if (positionals.length > 1) throw new UsageError('decode: give at most one FILE');
  const file = positionals[0] ?? '-';
  let input: string;
  try {
    input = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    fail(2, `ksym: ${file}: ${(e as Error).message}`);
  }
  let shift: bigint | undefined;
  if (values['kaslr-offset'] !== undefined) {
    shift = parseHexAddr(values['kaslr-offset']);
    if (shift === undefined) throw new UsageError(`--kaslr-offset: '${values['kaslr-offset']}' is not hex`);
  }
  const index = await loadOrExit(values.kallsyms);
  process.stdout.write(decodeText(index, input, shift) + (input.endsWith('\n') ? '' : '\n'));
  return 0;
}

async function cmdStats(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { kallsyms: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return help('stats');
  if (positionals.length) throw new UsageError(`stats: unexpected argument ${positionals[0]}`);
  const index = await loadOrExit(values.kallsyms);
  const st = index.stats();
  process.stdout.write(values.json ? JSON.stringify(st, null, 2) + '\n' : statsText(st) + '\n');
  return 0;
}

/** Runs `ksym CMD ARGV...` for the commands of this bundle; the exit status. */
export async function run(cmd: string, argv: string[]): Promise<number> {
  exitOnClosedStdout();
  try {
    switch (cmd) {
      case 'lookup':
        return await cmdLookup(argv);
      case 'decode':
        return await cmdDecode(argv);
      case 'stats':
        return await cmdStats(argv);
      case 'symbols':
        return await cmdSymbols(argv);
      case 'check':
        return await cmdCheck(argv);
      case 'search':
        return await cmdSearch(argv);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    failUsage(e, cmd);
  }
}
