/**
 * Livepatch symbol positions (sympos): the kernel's rules, pure.
 *
 * Name format (kernel/livepatch/core.c, klp_resolve_symbols):
 *   `.klp.sym.OBJNAME.SYMBOL,SYMPOS` read with `.klp.sym.%55[^.].%511[^,],%lu`,
 *   relocation sections `.klp.rela.OBJNAME.SECTION` read with `.klp.rela.%55[^.]`
 *   (klp_write_section_relocs).
 * Resolution (klp_find_object_symbol + klp_match_callback): every symbol of the
 * object with exactly that name is counted, 1-based:
 *   vmlinux  — every kallsyms symbol of the name, any type, in address order
 *              (kallsyms_on_each_match_symbol);
 *   a module — the module's symbols as the kernel holds them, st_shndx != SHN_UNDEF,
 *              in symtab order (module_kallsyms_on_each_symbol): the kept symtab
 *              after the module's init ran, the full symtab before.
 *   no match: "symbol '%s' not found in symbol table";
 *   SYMPOS 0, several matches: "unresolvable ambiguity for symbol '%s' in object '%s'";
 *   SYMPOS > matches: "symbol position %lu for symbol '%s' in object '%s' not found".
 */
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_LIVEPATCH } from '../modules/elf';
import { ModuleSymbols, SymbolView } from '../modules/symtab';
import { SymbolIndex } from '../kallsyms/symbolIndex';

/** sscanf field widths: MODULE_NAME_LEN - 1 and KSYM_NAME_LEN - 1. */
export const KLP_OBJNAME_MAX = 55;
export const KLP_SYMBOL_MAX = 511;
/** include/uapi/linux/elf.h; SHN_LIVEPATCH (0xff20) is defined with the other section indexes in modules/elf.ts. */
export const SHF_RELA_LIVEPATCH = 0x00100000;

export type Severity = 'error' | 'warning' | 'information';

export type FindingCode =
  | 'klp-malformed-name'
  | 'klp-objname-too-long'
  | 'klp-symbol-too-long'
  | 'klp-objname-dash'
  | 'klp-trailing-text'
  | 'klp-not-livepatch-symbol'
  | 'klp-rela-not-livepatch'
  | 'klp-rela-malformed-name'
  | 'klp-vmlinux-from-module-rela'
  | 'klp-not-found'
  | 'klp-ambiguous'
  | 'klp-position-not-found'
  | 'klp-order-sorted-functions'
  | 'klp-order-address'
  | 'klp-load-order'
  | 'klp-not-function'
  | 'klp-fragile-position'
  | 'klp-source-system-map'
  | 'klp-no-vmlinux-data'
  | 'klp-module-not-indexed'
  | 'klp-unevaluated'
  | 'klp-unreadable';

/** One symbol the kernel counts for a name. */
export interface Candidate {
  /** 1-based position in the kernel's count (kept symtab for modules); 0 when the kernel's count after init does not include it (init-only symbol). */
  position: number;
  name: string;
  /** Object: 'vmlinux' or the module name. */
  object: string;
  /** vmlinux: the address as 16 (or 8) hex digits. */
  address?: string;
  /** Module: section name and section-relative value. */
  section?: string;
  value?: number;
  /** nm type letter. */
  type: string;
  /** Module: readelf's Type (FUNC, OBJECT, ...). */
  elfType?: string;
  /** Module: readelf's Bind. */
  binding?: string;
  /** Module: .symtab index; vmlinux: 1-based line in the kallsyms/System.map file. */
  symtabIndex?: number;
  line?: number;
  isFunction: boolean;
  /** Module: present before init only (init section). */
  initOnly?: boolean;
  /** Position under the alternative orders, when it exists there. */
  positions?: Partial<Record<OrderId, number>>;
  /**
   * What tells the copies apart: the nearest global symbol at or before this copy in its
   * object (same section for modules) and the distance to it; for vmlinux `section` is the
   * region the kernel's own markers put the address in (`.text`, `.init.text`, ...).
   */
  after?: { name: string; offset: number };
}

export type OrderId = 'init' | 'sorted-functions' | 'address';

export interface AlternativeOrder {
  id: OrderId;
  /** Human description used in messages. */
  description: string;
  list: Candidate[];
}

/** The symbols of one name in one object, as the kernel counts them, plus other orders it might use. */
export interface SymposTarget {
  objname: string;
  symbol: string;
  source: 'kallsyms' | 'system.map' | 'module';
  /** File the data came from. */
  file?: string;
  /** Matches in the kernel's counting order. */
  kernel: Candidate[];
  orders: AlternativeOrder[];
}

export type ResolveStatus = 'ok' | 'not-found' | 'ambiguous' | 'position-not-found';

export interface ResolveOutcome {
  status: ResolveStatus;
  count: number;
  chosen?: Candidate;
}

/** A suggested position for a fix (the diagnostics layer turns it into a text edit). */
export interface PositionSuggestion {
  position: number;
  title: string;
}

export interface Finding {
  severity: Severity;
  code: FindingCode;
  message: string;
  candidates: Candidate[];
  suggestions: PositionSuggestion[];
}

// ---------------------------------------------------------------------------
// Names

export interface KlpSymName {
  objname: string;
  symbol: string;
  /** SYMPOS as read by %lu (wrapped to u64 as the kernel would). */
  sympos: bigint;
  /** Offsets inside the name of the position digits. */
  posStart: number;
  posEnd: number;
  /** Offsets of objname and symbol inside the name. */
  objStart: number;
  symStart: number;
}

export interface ParsedKlpSymName {
  /** Set when the kernel's sscanf returns 3. */
  parsed?: KlpSymName;
  findings: Finding[];
}

function finding(
  severity: Severity,
  code: FindingCode,
  message: string,
  candidates: Candidate[] = [],
  suggestions: PositionSuggestion[] = [],
): Finding {
  return { severity, code, message, candidates, suggestions };
}

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const U64 = 1n << 64n;

/**
 * Parse a `.klp.sym` name exactly as `sscanf(".klp.sym.%55[^.].%511[^,],%lu")` does,
 * and report every reason the kernel would refuse it (plus a `-` in the object
 * name, which no module name has).
 */
export function parseKlpSymName(name: string): ParsedKlpSymName {
  const findings: Finding[] = [];
  const bad = (why: string) => {
    findings.push(finding('error', 'klp-malformed-name', `symbol ${name} has an incorrectly formatted name (${why})`));
    return { findings };
  };
  const prefix = '.klp.sym.';
  if (!name.startsWith(prefix)) return bad(`it must start with ${prefix}`);
  let p = prefix.length;
  const objStart = p;
  // %55[^.]: at least one character, at most 55, stops at '.' (and at the terminating NUL).
  while (p < name.length && name.charCodeAt(p) !== 0x2e && name.charCodeAt(p) !== 0) p++;
  const objLen = p - objStart;
  if (objLen === 0) return bad('empty object name');
  if (objLen > KLP_OBJNAME_MAX) {
    findings.push(
      finding(
        'error',
        'klp-objname-too-long',
        `symbol ${name} has an incorrectly formatted name: object name is ${objLen} characters, the kernel reads at most ${KLP_OBJNAME_MAX}`,
      ),
    );
    return { findings };
  }
  if (p >= name.length || name.charCodeAt(p) !== 0x2e) return bad('no "." after the object name');
  const objname = name.slice(objStart, p);
  p++;
  const symStart = p;
  while (p < name.length && name.charCodeAt(p) !== 0x2c && name.charCodeAt(p) !== 0) p++;
  const symLen = p - symStart;
  if (symLen === 0) return bad('empty symbol name');
  if (symLen > KLP_SYMBOL_MAX) {
    findings.push(
      finding(
        'error',
        'klp-symbol-too-long',
        `symbol ${name.slice(0, 80)}... has an incorrectly formatted name: symbol name is ${symLen} characters, the kernel reads at most ${KLP_SYMBOL_MAX}`,
      ),
    );
    return { findings };
  }
  if (p >= name.length || name.charCodeAt(p) !== 0x2c) return bad('no ",SYMPOS" after the symbol name');
  const symbol = name.slice(symStart, p);
  p++;
  // %lu: leading white space is skipped, then at least one decimal digit (no sign).
  while (p < name.length && isSpace(name.charCodeAt(p))) p++;
  const posStart = p;
  while (p < name.length && isDigit(name.charCodeAt(p))) p++;
  if (p === posStart) return bad('the position is not an unsigned decimal number');
  const sympos = BigInt(name.slice(posStart, p)) % U64;
  const posEnd = p;
  if (p < name.length) {
    findings.push(
      finding('warning', 'klp-trailing-text', `symbol ${name}: the kernel ignores "${name.slice(p)}" after the position ${sympos}`),
    );
  }
  if (objname.includes('-')) {
    findings.push(
      finding(
        'error',
        'klp-objname-dash',
        `object name '${objname}' contains '-': module names use '_' (the kernel would look for a module that cannot exist)`,
      ),
    );
  }
  return { parsed: { objname, symbol, sympos, posStart, posEnd, objStart, symStart }, findings };
}

export interface KlpRelaName {
  objname: string;
  section: string;
}

/** Parse `.klp.rela.OBJNAME.SECTION` as `sscanf(".klp.rela.%55[^.]")` does. */
export function parseKlpRelaName(name: string): { parsed?: KlpRelaName; findings: Finding[] } {
  const findings: Finding[] = [];
  const prefix = '.klp.rela.';
  if (!name.startsWith(prefix)) {
    findings.push(finding('error', 'klp-rela-malformed-name', `section ${name} has an incorrectly formatted name`));
    return { findings };
  }
  let p = prefix.length;
  while (p < name.length && name.charCodeAt(p) !== 0x2e) p++;
  const objLen = p - prefix.length;
  if (objLen === 0) {
    findings.push(finding('error', 'klp-rela-malformed-name', `section ${name} has an incorrectly formatted name`));
    return { findings };
  }
  const objname = name.slice(prefix.length, p);
  if (objLen > KLP_OBJNAME_MAX) {
    // sscanf stops after 55 characters; the truncated name matches no object, so the section is never applied.
    findings.push(
      finding(
        'error',
        'klp-objname-too-long',
        `section ${name}: object name is ${objLen} characters; the kernel reads only ${KLP_OBJNAME_MAX}, matches no object and never applies these relocations`,
      ),
    );
  }
  if (objname.includes('-')) {
    findings.push(
      finding(
        'error',
        'klp-objname-dash',
        `section ${name}: object name '${objname}' contains '-': module names use '_', so these relocations are never applied`,
      ),
    );
  }
  return { parsed: { objname, section: name.slice(p + 1) }, findings };
}

// ---------------------------------------------------------------------------
// Targets

function isFunctionLetter(t: string): boolean {
  return t === 't' || t === 'T' || t === 'W' || t === 'i';
}

/** Which vmlinux source the index holds: kallsyms preferred, System.map otherwise. */
function vmlinuxSource(index: SymbolIndex | undefined): 'kallsyms' | 'system.map' | undefined {
  if (!index) return undefined;
  let kall = false,
    map = false;
  for (const s of index.sources) {
    if (s.report.symbols === 0) continue;
    if (s.kind === 'kallsyms') kall = true;
    else map = true;
  }
  return kall ? 'kallsyms' : map ? 'system.map' : undefined;
}

/** vmlinux symbols of this name in kallsyms order (= address order); undefined when the index has no vmlinux data. */
export function vmlinuxTarget(index: SymbolIndex | undefined, symbol: string): SymposTarget | undefined {
  const source = vmlinuxSource(index);
  if (!index || !source) return undefined;
  let hasVmlinux = false;
  for (let i = 0; i < index.count && !hasVmlinux; i++) if (index.mod[i] === 0) hasVmlinux = true;
  if (!hasVmlinux) return undefined;
  const ids = index.byNameAll(symbol).filter((i) => index.mod[i] === 0 && index.sources[index.src[i]]?.kind === source);
  // byNameAll is in source order; kallsyms lists vmlinux in address order. Sort by address to be safe (stable).
  ids.sort((a, b) => index.hi[a] - index.hi[b] || index.lo[a] - index.lo[b] || index.order[a] - index.order[b]);
  const digits = index.addressDigits;
  const kernel: Candidate[] = ids.map((i, k) => {
    const type = String.fromCharCode(index.type[i]);
    return {
      position: k + 1,
      name: symbol,
      object: 'vmlinux',
      address: index.addressOf(i).toString(16).padStart(digits, '0'),
      type,
      line: index.line[i],
      isFunction: isFunctionLetter(type),
      // Only worth the scan when there are copies to tell apart.
      ...(ids.length > 1 ? { section: vmlinuxRegion(index, index.addressOf(i)), after: vmlinuxGlobalBefore(index, i) } : {}),
    };
  });
  const files = [...new Set(ids.map((i) => index.sources[index.src[i]]?.file).filter((f): f is string => !!f))];
  const file = files[0] ?? index.sources.find((s) => s.kind === source)?.file;
  return { objname: 'vmlinux', symbol, source, file, kernel, orders: [] };
}

/** Layout class of a section in the module's core allocation: text, rodata, ro_after_init, data, other. */
function layoutClass(mod: ModuleSymbols, shndx: number): number {
  const s = mod.elf.sections[shndx];
  if (!s) return 9;
  if (!(s.flags & SHF_ALLOC)) return 8;
  if (s.name === '.data..percpu') return 7;
  if (s.flags & SHF_EXECINSTR) return 0;
  if (s.name === '.data..ro_after_init') return 2;
  if (!(s.flags & SHF_WRITE)) return 1;
  return 3;
}

function moduleCandidate(mod: ModuleSymbols, i: number): Candidate {
  const s = mod.symbol(i);
  const sec = mod.elf.sections[s.shndx];
  const exec = !!sec && (sec.flags & SHF_EXECINSTR) !== 0 && s.shndx < mod.elf.sections.length;
  return {
    position: 0,
    name: s.name,
    object: mod.name,
    section: s.section || String(s.sectionIndex),
    value: s.value,
    type: s.type,
    elfType: s.elfType,
    binding: s.binding,
    symtabIndex: i,
    isFunction: s.elfType === 'FUNC' || s.elfType === 'IFUNC' || (exec && s.elfType === 'NOTYPE' && s.kernelType === 't'),
    initOnly: !s.kept,
    positions: {},
  };
}

/**
 * A module's symbols of this name: the kernel's count after init (kept symtab, symtab
 * order), plus the orders the same name could be counted in: the full symtab before
 * init; function symbols sorted by address ahead of the others (the proposed loader
 * change); plain address order (core layout: text, rodata, ro_after_init, data).
 */
export function moduleTarget(mod: ModuleSymbols, symbol: string, file?: string): SymposTarget {
  const byIndex = new Map<number, Candidate>();
  const cand = (i: number) => {
    let c = byIndex.get(i);
    if (!c) byIndex.set(i, (c = moduleCandidate(mod, i)));
    return c;
  };
  const list = (view: SymbolView) => mod.findByName(symbol, view).map((m) => cand(m.index));
  const kernel = list('kept');
  kernel.forEach((c, k) => (c.position = k + 1));
  const init = list('init');
  init.forEach((c, k) => (c.positions!.init = k + 1));
  // Only worth the scan when there are copies to tell apart.
  if (byIndex.size > 1) for (const [i, c] of byIndex) c.after = moduleGlobalBefore(mod, i);
  const rank = (c: Candidate) => {
    const sh = mod.shndx(c.symtabIndex!);
    return [layoutClass(mod, sh), sh, c.value ?? 0, c.symtabIndex!];
  };
  const cmp = (a: Candidate, b: Candidate) => {
    const ra = rank(a),
      rb = rank(b);
    for (let k = 0; k < ra.length; k++) if (ra[k] !== rb[k]) return ra[k] - rb[k];
    return 0;
  };
  const isText = (c: Candidate) => c.isFunction && layoutClass(mod, mod.shndx(c.symtabIndex!)) === 0;
  const sorted = [...kernel.filter(isText).sort(cmp), ...kernel.filter((c) => !isText(c))];
  sorted.forEach((c, k) => (c.positions!['sorted-functions'] = k + 1));
  const address = [...kernel].sort(cmp);
  address.forEach((c, k) => (c.positions!.address = k + 1));
  const orders: AlternativeOrder[] = mod.isLivepatch
    ? []
    : [
        {
          id: 'init',
          description: "the module's full symtab (before its init has run, e.g. when the module loads after the livepatch)",
          list: init,
        },
        {
          id: 'sorted-functions',
          description: 'function symbols sorted by address ahead of other symbols (the proposed module-loader change)',
          list: sorted,
        },
        { id: 'address', description: 'plain address order', list: address },
      ];
  return { objname: mod.name, symbol, source: 'module', file, kernel, orders };
}

// ---------------------------------------------------------------------------
// Rules

/** klp_find_object_symbol's decision for a list of matches in counting order. */
export function resolvePosition(list: readonly Candidate[], sympos: bigint | number): ResolveOutcome {
  const pos = BigInt(sympos);
  const n = list.length;
  if (n === 0) return { status: 'not-found', count: 0 };
  if (pos === 0n) return n > 1 ? { status: 'ambiguous', count: n } : { status: 'ok', count: n, chosen: list[0] };
  if (pos > BigInt(n)) return { status: 'position-not-found', count: n };
  return { status: 'ok', count: n, chosen: list[Number(pos) - 1] };
}

/**
 * One-line description of a candidate, with what tells it from the other copies:
 * `#2 ffffffff81200ce0 t in .text after vfs_read+0x1f0` or `#2 .text+0x40 t FUNC after drbd_open+0x90`.
 */
export function describeCandidate(c: Candidate): string {
  const where = c.address !== undefined ? c.address : `${c.section}+0x${(c.value ?? 0).toString(16)}`;
  const extra = c.elfType ? ` ${c.elfType}` : '';
  const init = c.initOnly ? ' (init, before init only)' : '';
  const sec = c.address !== undefined && c.section ? ` in ${c.section}` : '';
  const after = c.after ? ` after ${c.after.name}+0x${c.after.offset.toString(16)}` : '';
  return `${c.position > 0 ? `#${c.position}` : '#-'} ${where} ${c.type}${extra}${init}${sec}${after}`;
}

/** How far back (symbols in address order) the nearest global symbol is looked for. */
const NEAR_SCAN = 20000;

/** The vmlinux region markers (System.map/kallsyms) and the section each one opens. */
const VMLINUX_REGIONS: ReadonlyArray<[string, string, string]> = [
  ['_sinittext', '_einittext', '.init.text'],
  ['_stext', '_etext', '.text'],
  ['__start_rodata', '__end_rodata', '.rodata'],
  ['__init_begin', '__init_end', '.init.data'],
  ['_sdata', '_edata', '.data'],
  ['__bss_start', '__bss_stop', '.bss'],
  ['__per_cpu_start', '__per_cpu_end', '.data..percpu'],
];

function vmlinuxRegion(index: SymbolIndex, address: bigint): string | undefined {
  const at = (n: string) => {
    const i = index.byNameAll(n).find((k) => index.mod[k] === 0);
    return i === undefined ? undefined : index.addressOf(i);
  };
  for (const [a, b, name] of VMLINUX_REGIONS) {
    const lo = at(a);
    const hi = at(b);
    if (lo !== undefined && hi !== undefined && address >= lo && address < hi) return name;
  }
  return undefined;
}

/** The nearest global (upper-case type) vmlinux symbol at or before symbol i, other than its own name. */
function vmlinuxGlobalBefore(index: SymbolIndex, i: number): { name: string; offset: number } | undefined {
  const name = index.nameOf(i);
  const addr = index.addressOf(i);
  for (let j = i, n = 0; j >= 0 && n < NEAR_SCAN; j--, n++) {
    if (index.mod[j] !== 0) continue;
    const t = index.type[j];
    if (t < 0x41 || t > 0x5a || t === 0x41 || t === 0x55) continue; // A/U, lower case: not a global in a section
    if (index.nameOf(j) === name) continue;
    const off = addr - index.addressOf(j);
    return off >= 0n && off <= BigInt(Number.MAX_SAFE_INTEGER) ? { name: index.nameOf(j), offset: Number(off) } : undefined;
  }
  return undefined;
}

/** The nearest GLOBAL symbol at or before .symtab entry i in its section, other than its own name. */
function moduleGlobalBefore(mod: ModuleSymbols, i: number): { name: string; offset: number } | undefined {
  const sh = mod.shndx(i);
  const v = mod.value(i);
  const name = mod.symbolName(i);
  let best = -1;
  for (let k = 1; k < mod.count; k++) {
    if (mod.shndx(k) !== sh || mod.binding(k) !== 'GLOBAL' || mod.value(k) > v || mod.symbolName(k) === name || !mod.symbolName(k))
      continue;
    if (best < 0 || mod.value(k) > mod.value(best)) best = k;
  }
  return best < 0 ? undefined : { name: mod.symbolName(best), offset: v - mod.value(best) };
}

export interface SymposReference {
  objname: string;
  symbol: string;
  sympos: bigint | number;
  /** The reference names a function to patch (struct klp_func .old_name). */
  wantFunction?: boolean;
  /** The position was written explicitly (false: `.old_sympos` absent = 0). */
  explicit?: boolean;
}

export interface CheckContext {
  /** vmlinux data (kallsyms or System.map); undefined when none is loaded. */
  vmlinux?: SymposTarget;
  /** Whether any vmlinux data is loaded at all. */
  haveVmlinux: boolean;
  /** Module data; undefined when the module is not indexed. */
  module?: SymposTarget;
  /** What is missing, for a module that is not indexed (e.g. "no module directory given"). */
  moduleMissing?: string;
}

const MAX_SUGGESTIONS = 32;

function suggestionsFor(list: readonly Candidate[], current: bigint, unique: boolean): PositionSuggestion[] {
  const out: PositionSuggestion[] = [];
  for (const c of list) {
    if (out.length >= MAX_SUGGESTIONS) break;
    if (c.position <= 0 || BigInt(c.position) === current) continue;
    out.push({ position: c.position, title: `Use position ${c.position}: ${describeCandidate(c)}` });
  }
  if (unique && current !== 0n) out.unshift({ position: 0, title: 'Use position 0 (the name is unique)' });
  return out;
}

function objLabel(objname: string, isVmlinux: boolean): string {
  return isVmlinux ? 'vmlinux' : objname;
}

/**
 * All findings for one reference: the kernel's errors, order and load-order
 * warnings, function check, fragile positions, and missing data.
 */
export function checkReference(ref: SymposReference, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const isVmlinux = ref.objname === 'vmlinux';
  const pos = BigInt(ref.sympos);
  const target = isVmlinux ? ctx.vmlinux : ctx.module;
  if (!target) {
    if (isVmlinux) {
      out.push(
        finding(
          'warning',
          'klp-no-vmlinux-data',
          `cannot check '${ref.symbol}' in vmlinux: no kallsyms loaded (give /proc/kallsyms of the target kernel)`,
        ),
      );
    } else {
      out.push(
        finding(
          'warning',
          'klp-module-not-indexed',
          `cannot check '${ref.symbol}' in module '${ref.objname}': ${ctx.moduleMissing ?? `module ${ref.objname} is not indexed (give its .ko)`}`,
        ),
      );
    }
    return out;
  }
  const approx = target.source === 'system.map';
  const sev = (s: Severity): Severity => (approx && s === 'error' ? 'warning' : s);
  const suffix = approx ? ` (counted in System.map ${target.file ?? ''}: kallsyms is needed to decide)`.replace(' )', ')') : '';
  if (approx) {
    out.push(
      finding(
        'warning',
        'klp-source-system-map',
        `'${ref.symbol}' in vmlinux counted from System.map, not kallsyms: kallsyms leaves out some ` +
          `System.map symbols, so the count (${target.kernel.length}) may differ; load /proc/kallsyms of the ` +
          `target kernel to decide`,
        target.kernel,
      ),
    );
  }
  const r = resolvePosition(target.kernel, pos);
  const obj = objLabel(ref.objname, isVmlinux);
  const unique = target.kernel.length === 1;
  switch (r.status) {
    case 'not-found':
      out.push(
        finding(
          sev('error'),
          'klp-not-found',
          `symbol '${ref.symbol}' not found in symbol table${isVmlinux ? '' : ` of module ${ref.objname}`}${suffix}`,
          [],
          [],
        ),
      );
      break;
    case 'ambiguous':
      out.push(
        finding(
          sev('error'),
          'klp-ambiguous',
          `unresolvable ambiguity for symbol '${ref.symbol}' in object '${obj}': ${r.count} matches, a position is needed${suffix}`,
          target.kernel,
          suggestionsFor(target.kernel, pos, false),
        ),
      );
      break;
    case 'position-not-found':
      out.push(
        finding(
          sev('error'),
          'klp-position-not-found',
          `symbol position ${pos} for symbol '${ref.symbol}' in object '${obj}' not found (${r.count} match${r.count === 1 ? '' : 'es'})${suffix}`,
          target.kernel,
          suggestionsFor(target.kernel, pos, unique),
        ),
      );
      break;
    case 'ok':
      break;
  }
  if (r.status === 'ok' && r.chosen) {
    const chosen = r.chosen;
    // Orders the kernel might use instead.
    for (const o of target.orders) {
      if (o.id === 'init') continue;
      const alt = resolvePosition(o.list, pos);
      if (alt.status === 'ok' && alt.chosen === chosen) continue;
      const what =
        alt.status === 'ok' && alt.chosen
          ? `would name ${describeCandidate(alt.chosen)} instead of ${describeCandidate(chosen)}`
          : `would fail (${alt.status})`;
      out.push(
        finding(
          'warning',
          o.id === 'sorted-functions' ? 'klp-order-sorted-functions' : 'klp-order-address',
          `position ${pos} of '${ref.symbol}' in ${obj} ${what} under ${o.description}`,
          target.kernel,
          [],
        ),
      );
    }
    if (ref.wantFunction && !chosen.isFunction) {
      out.push(
        finding(
          'warning',
          'klp-not-function',
          `'${ref.symbol}' at position ${pos} in ${obj} is not a function (${describeCandidate(chosen)})`,
          target.kernel,
          suggestionsFor(
            target.kernel.filter((c) => c.isFunction),
            pos,
            false,
          ),
        ),
      );
    }
    if (unique && pos !== 0n) {
      out.push(
        finding(
          'warning',
          'klp-fragile-position',
          `'${ref.symbol}' is unique in ${obj}; position ${pos} works, but 0 (require unique) is safer: if a ` +
            `second '${ref.symbol}' appears, position ${pos} silently keeps naming the first`,
          target.kernel,
          [{ position: 0, title: 'Use position 0 (the name is unique)' }],
        ),
      );
    }
  }
  // Load order: the module's full symtab (before init) against the kept one.
  const initOrder = target.orders.find((o) => o.id === 'init');
  if (initOrder && initOrder.list.length !== target.kernel.length) {
    const before = resolvePosition(initOrder.list, pos);
    const after = r;
    const desc = (x: ResolveOutcome) => (x.status === 'ok' && x.chosen ? `names ${describeCandidate(x.chosen)}` : `fails (${x.status})`);
    out.push(
      finding(
        'warning',
        'klp-load-order',
        `'${ref.symbol}' has ${initOrder.list.length} matches in ${obj}'s full symtab but ` +
          `${target.kernel.length} after its init: position ${pos} ${desc(before)} if ${obj} loads after the ` +
          `livepatch, and ${desc(after)} if it was loaded before`,
        initOrder.list,
        [],
      ),
    );
  }
  return out;
}

export interface KoSymbolFacts {
  name: string;
  /** Raw st_shndx. */
  shndx: number;
  /** Names of the .klp.rela sections whose relocations use the symbol. */
  usedBy: string[];
}

/** Structural findings for one symbol of a livepatch `.ko` (st_shndx, name, vmlinux from module section). */
export function checkKoSymbol(sym: KoSymbolFacts): { parsed?: KlpSymName; findings: Finding[] } {
  const findings: Finding[] = [];
  if (sym.shndx !== SHN_LIVEPATCH) {
    findings.push(
      finding(
        'error',
        'klp-not-livepatch-symbol',
        `symbol ${sym.name} is not marked as a livepatch symbol (st_shndx 0x${sym.shndx.toString(16)}, expected SHN_LIVEPATCH 0xff20)`,
      ),
    );
  }
  const p = parseKlpSymName(sym.name);
  findings.push(...p.findings);
  if (p.parsed && p.parsed.objname === 'vmlinux') {
    for (const sec of sym.usedBy) {
      const r = parseKlpRelaName(sec);
      if (r.parsed && r.parsed.objname !== 'vmlinux') {
        findings.push(
          finding(
            'error',
            'klp-vmlinux-from-module-rela',
            `invalid access to vmlinux symbol '${p.parsed.symbol}' from module-specific livepatch relocation section ${sec}`,
          ),
        );
      }
    }
  }
  return { parsed: p.parsed, findings };
}

/** Structural findings for one `.klp.rela` section (flags and name). */
export function checkKoRelaSection(name: string, flags: number): Finding[] {
  const findings: Finding[] = [];
  const isKlpName = name.startsWith('.klp.rela.');
  const marked = (flags & SHF_RELA_LIVEPATCH) !== 0;
  if (isKlpName && !marked) {
    findings.push(
      finding(
        'error',
        'klp-rela-not-livepatch',
        `section ${name} is not marked SHF_RELA_LIVEPATCH (0x00100000): the livepatch core skips it and the ` +
          `module loader applies it as an ordinary relocation section with unresolved livepatch symbols`,
      ),
    );
  }
  if (marked) findings.push(...parseKlpRelaName(name).findings);
  else if (isKlpName) findings.push(...parseKlpRelaName(name).findings.filter((f) => f.code !== 'klp-rela-malformed-name'));
  return findings;
}
