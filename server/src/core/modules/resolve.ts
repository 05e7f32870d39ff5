/**
 * Pure logic on top of a parsed module (`ModuleSymbols`): frame resolution inside a
 * module, what the kernel would print for an address in it, and learning section
 * load addresses from runtime evidence (kallsyms entries, a frame with its address).
 * No I/O here; `server/src/core/modules/store.ts` does the reading.
 *
 * Sizes. At runtime the kernel (`find_kallsyms_symbol`) computes a symbol's size as
 * the distance to the next higher symbol in the whole module memory region (all
 * loaded sections), the default end being the end of the module's text area
 * (`core_layout.base + text_size`, init layout for init addresses). Without load
 * addresses we cannot know where the other sections landed, so the size is the
 * distance to the next higher symbol in the *same section*, or the section end
 * ('section' basis). With learned load addresses we use the colleague's
 * `addressResolver` over every section with a known base, with the region ending at
 * the end of the last known executable section of the same (core or init) layout,
 * rounded up to `textAlign` (PAGE_SIZE under CONFIG_STRICT_MODULE_RWX, the default
 * here), which is what the kernel does ('runtime' basis). The two differ only for the
 * last symbol of a section.
 */
import { SHF_ALLOC, SHF_EXECINSTR } from './elf';
import { frameText, type FrameToken } from '../log/scan';
import type { Binding, ModuleSymbols, ResolvedSymbol, SymbolView } from './symtab';

/** Section load addresses keyed by section name (as in /sys/module/M/sections/NAME). */
export type SectionBases = ReadonlyMap<string, bigint>;

export interface SymbolPlacement {
  /** .symtab index (readelf Num). */
  index: number;
  name: string;
  /** Section name ('' for ABS/COMMON/...). */
  section: string;
  shndx: number;
  /** Section-relative st_value. */
  value: number;
  /** st_size. */
  size: number;
  binding: Binding;
  /** nm type letter. */
  type: string;
  /** Kept by the kernel after init. */
  kept: boolean;
  /** 1-based position among same-name kept symbols (0 when not kept). */
  keptPosition: number;
  /** 1-based position among same-name symbols of the full (init) symtab. */
  initPosition: number;
}

export interface KernelPrint {
  /** symtab index of the symbol the kernel would name. */
  index: number;
  name: string;
  offset: number;
  size: number;
  /** `name+0xoff/0xsize [mod]` (with the build id when asked for). */
  text: string;
  view: SymbolView;
  basis: 'section' | 'runtime';
}

export interface FrameCandidate extends SymbolPlacement {
  /** Size the kernel would print for this symbol (see `basis`). */
  kernelSize: number;
  basis: 'section' | 'runtime';
  /** Runtime address of the symbol when its section base is known. */
  address?: bigint;
  /** What the kernel would print for the frame's address inside this candidate (when the frame has an offset). */
  printed?: KernelPrint;
  /** Whether `printed` equals the frame's name/offset/size. */
  printedMatches?: boolean;
}

export interface FrameInModule {
  /** Candidates after narrowing (by size when several). */
  candidates: FrameCandidate[];
  /** Number of same-name symbols before narrowing. */
  unnarrowed: number;
  narrowedBySize: boolean;
  /** Every defined symbol with this name in the module (full symtab order), with its positions. */
  sameName: SymbolPlacement[];
  /** Which view the candidates come from ('init' only when no kept symbol has the name). */
  view: SymbolView;
  messages: string[];
}

export interface PrintOptions {
  moduleName: string;
  /** Build id to print as `[mod BUILDID]` (CONFIG_STACKTRACE_BUILD_ID). */
  buildId?: string;
  /** Known section bases: sizes then follow the kernel's runtime rule. */
  bases?: SectionBases;
  /** Alignment of the text area end (default 4096; 1 for kernels without STRICT_MODULE_RWX). */
  textAlign?: number;
}

const hex = (n: number | bigint) => n.toString(16);

function printed(name: string, off: number, size: number, mod: string, buildId?: string): string {
  return `${name}+0x${hex(off)}/0x${hex(size)} [${mod}${buildId ? ' ' + buildId : ''}]`;
}

function placement(mod: ModuleSymbols, i: number, keptPosition: number, initPosition: number): SymbolPlacement {
  return {
    index: i,
    name: mod.symbolName(i),
    section: mod.sectionName(i),
    shndx: mod.shndx(i),
    value: mod.value(i),
    size: mod.size(i),
    binding: mod.binding(i),
    type: mod.nmType(i),
    kept: mod.isKept(i),
    keptPosition,
    initPosition,
  };
}

/** Every defined symbol named `name`, in symtab order, with kept and full-symtab positions. */
function sameNameSymbols(mod: ModuleSymbols, name: string): SymbolPlacement[] {
  const keptPos = new Map(mod.findByName(name, 'kept').map((m) => [m.index, m.position]));
  return mod.findByName(name, 'init').map((m) => placement(mod, m.index, keptPos.get(m.index) ?? 0, m.position));
}

/** Convert name-keyed bases to the index-keyed load map of `addressResolver`, keeping only sections of this file. */
function loadMap(mod: ModuleSymbols, bases: SectionBases): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const [name, base] of bases) {
    const s = mod.elf.sectionByName(name);
    if (s && s.index > 0 && s.flags & SHF_ALLOC) out.set(s.index, base);
  }
  return out;
}

function isInitSection(mod: ModuleSymbols, shndx: number): boolean {
  return mod.initSections.has(shndx) || (mod.elf.sections[shndx]?.name ?? '').startsWith('.init');
}

/**
 * End of the memory region the kernel uses as the default "next value" for an address
 * in section `shndx`: for executable sections, the end of the last known executable
 * section of the same layout (core/init) rounded up to `align`; else the section end.
 */
export function regionEnd(mod: ModuleSymbols, loads: ReadonlyMap<number, bigint>, shndx: number, align = 4096): bigint | undefined {
  const secs = mod.elf.sections;
  const s = secs[shndx];
  const base = loads.get(shndx);
  if (!s || base === undefined) return undefined;
  if (!(s.flags & SHF_EXECINSTR)) return base + BigInt(s.size);
  const init = isInitSection(mod, shndx);
  let end = base + BigInt(s.size);
  for (const [i, b] of loads) {
    const t = secs[i];
    if (!t || !(t.flags & SHF_EXECINSTR) || isInitSection(mod, i) !== init) continue;
    const e = b + BigInt(t.size);
    // Only sections of the same contiguous area (within 64 MiB of this one).
    if (e > end && b >= base - (1n << 26n) && b < base + (1n << 26n)) end = e;
  }
  const a = BigInt(Math.max(1, align));
  return ((end + a - 1n) / a) * a;
}

/**
 * What the kernel would print for section `shndx` + `offsetInSection`
 * (%pS; with `returnAddress`, %pB: look up one byte earlier, print offset + 1).
 * Null when no symbol covers the address.
 */
function kernelPrintAt(
  mod: ModuleSymbols,
  shndx: number,
  offsetInSection: number,
  view: SymbolView,
  returnAddress: boolean,
  opts: PrintOptions,
): KernelPrint | null {
  const look = returnAddress ? offsetInSection - 1 : offsetInSection;
  if (look < 0) return null;
  let r: ResolvedSymbol | null = null;
  let basis: 'section' | 'runtime' = 'section';
  const loads = opts.bases ? loadMap(mod, opts.bases) : undefined;
  const base = loads?.get(shndx);
  if (loads && base !== undefined) {
    basis = 'runtime';
    const resolver = mod.addressResolver(loads, { view });
    const end = regionEnd(mod, loads, shndx, opts.textAlign);
    const sec = mod.elf.sections[shndx];
    if (look < sec.size) r = resolver(base + BigInt(look), end);
  } else {
    r = mod.resolveSectionOffset(shndx, look, view);
  }
  if (!r) return null;
  const off = returnAddress ? r.offset + 1 : r.offset;
  return {
    index: r.index,
    name: r.name,
    offset: off,
    size: r.size,
    text: printed(r.name, off, r.size, opts.moduleName, opts.buildId),
    view,
    basis,
  };
}

/**
 * Resolve a frame `name+0xoff/0xsize [mod]` in a parsed module: every kept symbol
 * with that name (every defined one when none is kept: an init function printed
 * while the module's init runs), narrowed by the printed size when several, each
 * with what the kernel would print for the frame's offset.
 */
export function resolveFrameInModule(mod: ModuleSymbols, frame: FrameToken, opts: PrintOptions): FrameInModule {
  const messages: string[] = [];
  const sameName = sameNameSymbols(mod, frame.name);
  let view: SymbolView = 'kept';
  let pool = sameName.filter((s) => s.kept);
  if (pool.length === 0 && sameName.length > 0) {
    view = 'init';
    pool = sameName;
    messages.push(
      `${frame.name} is not kept after init in ${opts.moduleName} (section ${sameName[0].section}); using ` +
        `the full symtab the kernel searches while the module's init runs`,
    );
  }
  const loads = opts.bases ? loadMap(mod, opts.bases) : undefined;
  const returnAddress = frame.role === 'trace';
  const all: FrameCandidate[] = pool.map((p) => {
    const k = kernelPrintAt(mod, p.shndx, p.value, view, false, { ...opts, buildId: undefined });
    // Size of the symbol itself: an alias printed first at the same value has the same size.
    const kernelSize = k ? k.size : p.size;
    const base = loads?.get(p.shndx);
    const c: FrameCandidate = { ...p, kernelSize, basis: k?.basis ?? 'section' };
    if (base !== undefined) c.address = base + BigInt(p.value);
    if (frame.offset !== undefined) {
      const pr = kernelPrintAt(mod, p.shndx, p.value + frame.offset, view, returnAddress, opts);
      if (pr) {
        c.printed = pr;
        c.printedMatches = pr.name === frame.name && pr.offset === frame.offset && (frame.size === undefined || pr.size === frame.size);
      } else {
        c.printedMatches = false;
      }
    }
    return c;
  });
  let candidates = all;
  let narrowedBySize = false;
  if (all.length > 1 && frame.size !== undefined) {
    const bySize = all.filter((c) => c.kernelSize === frame.size);
    if (bySize.length > 0 && bySize.length < all.length) {
      candidates = bySize;
      narrowedBySize = true;
    } else if (bySize.length === 0) {
      messages.push(`no ${frame.name} in ${opts.moduleName} has size 0x${hex(frame.size)}; listing all ${all.length}`);
    }
  } else if (all.length === 1 && frame.size !== undefined && all[0].kernelSize !== frame.size) {
    messages.push(
      `${frame.name} in ${opts.moduleName} has size 0x${hex(all[0].kernelSize)} (${all[0].basis} basis), ` +
        `the frame says 0x${hex(frame.size)}: a different build?`,
    );
  }
  if (sameName.length === 0) messages.push(`no symbol ${frame.name} in ${opts.moduleName}`);
  return { candidates, unnarrowed: all.length, narrowedBySize, sameName, view, messages };
}

// ---- text layout ------------------------------------------------------------

/**
 * Fill in the bases of executable sections the evidence did not cover, by
 * replaying the kernel's text layout (kernel/module/main.c layout_sections: core
 * text = the SHF_ALLOC|SHF_EXECINSTR sections not named `.init*`, in section header
 * order, each aligned to sh_addralign; the init text likewise with the `.init*` ones).
 * Done per layout only when every known executable section of it agrees with the
 * replay (arch hooks that resize sections, e.g. arm64 PLTs, then show up as a
 * disagreement and nothing is inferred). Returns only the inferred entries.
 */
export function inferTextBases(mod: ModuleSymbols, bases: SectionBases): Map<string, bigint> {
  const secs = mod.elf.sections;
  const out = new Map<string, bigint>();
  for (const init of [false, true]) {
    const pos = new Map<number, number>();
    let off = 0;
    for (let i = 1; i < secs.length; i++) {
      const s = secs[i];
      if ((s.flags & (SHF_ALLOC | SHF_EXECINSTR)) !== (SHF_ALLOC | SHF_EXECINSTR) || s.name.startsWith('.init') !== init) continue;
      const a = Math.max(1, s.addralign);
      off = Math.ceil(off / a) * a;
      pos.set(i, off);
      off += s.size;
    }
    let start: bigint | undefined;
    let consistent = true;
    for (const [i, p] of pos) {
      const b = bases.get(secs[i].name);
      if (b === undefined) continue;
      const st = b - BigInt(p);
      if (start === undefined) start = st;
      else if (st !== start) consistent = false;
    }
    if (start === undefined || !consistent) continue;
    for (const [i, p] of pos) if (!bases.has(secs[i].name)) out.set(secs[i].name, start + BigInt(p));
  }
  return out;
}

// ---- learning load addresses ------------------------------------------------

export interface BaseEvidence {
  section: string;
  base: bigint;
  /** Symbols agreeing on this base. */
  symbols: string[];
  /** At least two distinct symbols agree. */
  verified: boolean;
  /** Symbols of the same section implying another base. */
  conflicts: string[];
}

export interface LearnedBases {
  bases: Map<string, bigint>;
  evidence: BaseEvidence[];
  /** Entries matched to a unique module symbol. */
  matched: number;
  problems: string[];
}

function learnableSection(mod: ModuleSymbols, shndx: number): boolean {
  const s = mod.elf.sections[shndx];
  return !!s && shndx > 0 && (s.flags & SHF_ALLOC) !== 0 && s.name !== '.data..percpu';
}

/**
 * Learn section bases from runtime symbol addresses of one module (its kallsyms
 * lines). Only names that are unique both in the entries and among the module's
 * symbols are used; per section the base most symbols agree on wins; it is
 * `verified` when at least two symbols agree. Sections whose evidence conflicts
 * without a majority are dropped.
 */
export function learnBasesFromSymbols(
  mod: ModuleSymbols,
  entries: ReadonlyArray<{ name: string; address: bigint }>,
  moduleName = mod.name,
): LearnedBases {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  const votes = new Map<number, Map<bigint, string[]>>();
  let matched = 0;
  for (const e of entries) {
    if (counts.get(e.name) !== 1) continue;
    let m = mod.findByName(e.name, 'kept');
    if (m.length === 0) m = mod.findByName(e.name, 'init');
    if (m.length !== 1) continue;
    const i = m[0].index;
    const sh = mod.shndx(i);
    if (!learnableSection(mod, sh)) continue;
    matched++;
    const base = e.address - BigInt(mod.value(i));
    let v = votes.get(sh);
    if (!v) votes.set(sh, (v = new Map()));
    const list = v.get(base);
    if (list) list.push(e.name);
    else v.set(base, [e.name]);
  }
  const bases = new Map<string, bigint>();
  const evidence: BaseEvidence[] = [];
  const problems: string[] = [];
  for (const [sh, v] of [...votes].sort((a, b) => a[0] - b[0])) {
    const ranked = [...v].sort((a, b) => b[1].length - a[1].length);
    const [base, syms] = ranked[0];
    const section = mod.elf.sections[sh].name;
    const conflicts = ranked.slice(1).flatMap((r) => r[1]);
    if (ranked.length > 1 && ranked[1][1].length === syms.length) {
      problems.push(
        `${moduleName}: section ${section}: symbols disagree on its load address (${syms.join(', ')} vs ${ranked[1][1].join(', ')}); not used`,
      );
      continue;
    }
    if (conflicts.length > 0)
      problems.push(
        `${moduleName}: section ${section}: ${conflicts.length} symbol(s) disagree with the base ` +
          `0x${hex(base)} (${conflicts.slice(0, 3).join(', ')}): a different build?`,
      );
    bases.set(section, base);
    evidence.push({ section, base, symbols: syms, verified: syms.length >= 2, conflicts });
  }
  return { bases, evidence, matched, problems };
}

export interface FrameBase {
  section: string;
  base: bigint;
  symbol: number;
}

/**
 * The base of the frame symbol's section from a frame printed with its runtime
 * address (`[<addr>] func+0xoff/0xsize [mod]`): the symbol is at addr - off for both
 * %pS and %pB. Returns a reason string when the frame is ambiguous or unusable.
 */
export function baseFromFrame(mod: ModuleSymbols, frame: FrameToken, moduleName = mod.name): FrameBase | string {
  if (frame.address === undefined || frame.offset === undefined) return `${frameText(frame)}: no runtime address on the line`;
  const r = resolveFrameInModule(mod, frame, { moduleName });
  const c = r.candidates;
  if (c.length === 0) return `${frameText(frame)}: no symbol ${frame.name} in ${moduleName}`;
  if (c.length > 1) return `${frameText(frame)}: ${c.length} symbols named ${frame.name} in ${moduleName} even after narrowing by size`;
  if (!learnableSection(mod, c[0].shndx)) return `${frameText(frame)}: ${frame.name} is not in a loaded section`;
  const base = frame.address - BigInt(frame.offset) - BigInt(c[0].value);
  return { section: c[0].section, base, symbol: c[0].index };
}
