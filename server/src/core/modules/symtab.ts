/**
 * A kernel module's symbol table as the kernel keeps it
 * (kernel/module/kallsyms.c: layout_symtab / add_kallsyms / is_core_symbol /
 * find_kallsyms_symbol), with readelf/nm compatible presentation.
 *
 * Two views of the same ELF .symtab, both in original symtab order:
 *  - 'init': the full symtab, what the kernel searches until the module's init
 *    has run (`mod->kallsyms` points at the init copy);
 *  - 'kept': the cut-down core symtab the kernel keeps afterwards.
 *
 * Per-symbol data stays in typed arrays; objects are only built on request.
 */
import { FormatError } from '../common/errors';
import {
  ElfFile,
  ElfSection,
  ElfSymbolTable,
  parseElf,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_WRITE,
  SHN_ABS,
  SHN_COMMON,
  SHN_HIOS,
  SHN_HIPROC,
  SHN_LOOS,
  SHN_LOPROC,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  STB_GLOBAL,
  STB_GNU_UNIQUE,
  STB_LOCAL,
  STB_WEAK,
  STT_COMMON,
  STT_GNU_IFUNC,
  STT_OBJECT,
  EM_X86_64,
} from './elf';

/** readelf's Ndx column: a section number, or 'UND' / 'ABS' / 'COM', or readelf's text for other reserved values (e.g. 'OS [0xff20]' for SHN_LIVEPATCH). */
export type SectionNdx = number | 'UND' | 'ABS' | 'COM' | string;
/** readelf's Bind column ('UNIQUE' for STB_GNU_UNIQUE, '<...>: n' for others). */
export type Binding = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'UNIQUE' | string;
export type SymbolView = 'kept' | 'init';
/** Which kernel generation's mapping-symbol rule find_kallsyms_symbol applies. */
export type MappingSymbolRule = 'v6.1' | 'v6.4';

export interface ModuleOptions {
  /** CONFIG_KALLSYMS_ALL (default true, as in Debian kernels). */
  kallsymsAll?: boolean;
  /** CONFIG_MODULE_UNLOAD (default true): when false, `.exit*` sections are not loaded. */
  moduleUnload?: boolean;
  /** Mapping-symbol rule (default 'v6.1': `.L*` and `$a`/`$d`/`$t`/`$x` optionally followed by `.…`; 'v6.4': `.L*`, `L0*`, `$*`). */
  mappingSymbols?: MappingSymbolRule;
}

export interface ModuleSymbol {
  /** Original .symtab index (readelf's Num). */
  index: number;
  name: string;
  /** Section-relative st_value. */
  value: number;
  size: number;
  binding: Binding;
  /** readelf's Type column (FUNC, OBJECT, NOTYPE, SECTION, FILE, ...). */
  elfType: string;
  /** nm's type letter. */
  type: string;
  /** The kernel's own type letter (kernel/module/kallsyms.c elf_type), before exported symbols are upper-cased. */
  kernelType: string;
  /** readelf's Ndx. */
  sectionIndex: SectionNdx;
  /** Resolved st_shndx (numeric). */
  shndx: number;
  /** Section name ('' for special indices). */
  section: string;
  /** Kept after init. */
  kept: boolean;
}

/** JSON row of the CLI contract. */
export interface ModuleSymbolRow {
  index: number;
  name: string;
  value: number;
  size: number;
  type: string;
  binding: Binding;
  sectionIndex: SectionNdx;
  section: string;
  kept: boolean;
}

export interface ResolvedSymbol {
  /** symtab index of the symbol. */
  index: number;
  name: string;
  /** Offset of the address from the symbol. */
  offset: number;
  /** Distance to the next higher symbol (or the region end). */
  size: number;
  /** Section of the symbol (numeric index). */
  shndx: number;
}

export interface NameMatch {
  index: number;
  /** 1-based position among same-name symbols of the view, in symtab order (livepatch sympos). */
  position: number;
}

/** Load address of sections, keyed by section index or name (as in /sys/module/M/sections/NAME). */
export type SectionLoadMap = ReadonlyMap<number | string, bigint | number>;

export interface AddressResolveOptions {
  view?: SymbolView;
  /** End of the memory region containing the address (default: end of the containing section). */
  regionEnd?: bigint | number;
}

function isMappingSymbol(name: string, rule: MappingSymbolRule): boolean {
  const c0 = name.charCodeAt(0);
  const c1 = name.length > 1 ? name.charCodeAt(1) : 0;
  if (c0 === 0x2e /* . */ && c1 === 0x4c /* L */) return true;
  if (rule === 'v6.4') {
    if (c0 === 0x4c /* L */ && c1 === 0x30 /* 0 */) return true;
    return c0 === 0x24; /* $ */
  }
  if (c0 !== 0x24) return false;
  // strchr("axtd", str[1]) also matches the terminating NUL.
  if (name.length === 1) return true;
  if (c1 !== 0x61 && c1 !== 0x78 && c1 !== 0x74 && c1 !== 0x64) return false;
  return name.length === 2 || name.charCodeAt(2) === 0x2e;
}

function readelfNdx(shndx: number, machine: number, shnum: number): SectionNdx {
  if (shndx === SHN_UNDEF) return 'UND';
  if (shndx === SHN_ABS) return 'ABS';
  if (shndx === SHN_COMMON) return 'COM';
  const h4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
  if (machine === EM_X86_64 && shndx === 0xff02) return 'LARGE_COM';
  if (shndx >= SHN_LOPROC && shndx <= SHN_HIPROC) return `PRC[${h4(shndx)}]`;
  if (shndx >= SHN_LOOS && shndx <= SHN_HIOS) return `OS [${h4(shndx)}]`;
  if (shndx >= SHN_LORESERVE && shndx <= 0xffff) return `RSV[${h4(shndx)}]`;
  if (shnum !== 0 && shndx >= shnum) return `bad section index[${String(shndx).padStart(3)}]`;
  return shndx;
}

const ELFOSABI_GNU = 3;
const ELFOSABI_FREEBSD = 9;

/** readelf's Bind column (UNIQUE only for ELFOSABI_GNU objects, as readelf does). */
function readelfBinding(bind: number, osabi = 0): Binding {
  switch (bind) {
    case STB_LOCAL:
      return 'LOCAL';
    case STB_GLOBAL:
      return 'GLOBAL';
    case STB_WEAK:
      return 'WEAK';
  }
  if (bind === STB_GNU_UNIQUE && osabi === ELFOSABI_GNU) return 'UNIQUE';
  if (bind >= 10 && bind <= 12) return `<OS specific>: ${bind}`;
  if (bind >= 13) return `<processor specific>: ${bind}`;
  return `<unknown>: ${bind}`;
}

const ELF_TYPE_NAMES = ['NOTYPE', 'OBJECT', 'FUNC', 'SECTION', 'FILE', 'COMMON', 'TLS', '<unknown>: 7', 'RELC', 'SRELC'];
/** readelf's Type column (IFUNC only for ELFOSABI_GNU/FreeBSD objects, as readelf does). */
function readelfType(type: number, osabi = 0): string {
  if (type < ELF_TYPE_NAMES.length) return ELF_TYPE_NAMES[type];
  if (type === STT_GNU_IFUNC && (osabi === ELFOSABI_GNU || osabi === ELFOSABI_FREEBSD)) return 'IFUNC';
  if (type >= 10 && type <= 12) return `<OS specific>: ${type}`;
  if (type >= 13) return `<processor specific>: ${type}`;
  return `<unknown>: ${type}`;
}

// BFD section flags (subset) used for nm's letters.
const SEC_ALLOC = 1,
  SEC_LOAD = 2,
  SEC_READONLY = 4,
  SEC_CODE = 8,
  SEC_DATA = 16,
  SEC_HAS_CONTENTS = 32,
  SEC_DEBUGGING = 64;

function bfdSectionFlags(s: ElfSection): number {
  let f = 0;
  if (s.type !== SHT_NOBITS) f |= SEC_HAS_CONTENTS;
  if (s.flags & SHF_ALLOC) {
    f |= SEC_ALLOC;
    if (s.type !== SHT_NOBITS) f |= SEC_LOAD;
  }
  if (!(s.flags & SHF_WRITE)) f |= SEC_READONLY;
  if (s.flags & SHF_EXECINSTR) f |= SEC_CODE;
  else if (f & SEC_LOAD) f |= SEC_DATA;
  if (!(f & SEC_ALLOC)) {
    const n = s.name;
    if (
      n.startsWith('.debug') ||
      n.startsWith('.gnu.debuglto_.debug_') ||
      n.startsWith('.gnu.linkonce.wi.') ||
      n.startsWith('.zdebug') ||
      n.startsWith('.line') ||
      n.startsWith('.stab') ||
      n === '.gdb_index'
    ) {
      f |= SEC_DEBUGGING;
    }
  }
  return f;
}

/** nm's letter for a symbol in a BFD section (binutils decode_section_type + coff_section_type). */
function sectionLetter(s: ElfSection): string {
  const n = s.name;
  if (n.startsWith('.drectve')) return 'i';
  if (n.startsWith('.edata')) return 'e';
  if (n.startsWith('.idata')) return 'i';
  if (n.startsWith('.pdata')) return 'p';
  const f = bfdSectionFlags(s);
  if (f & SEC_CODE) return 't';
  if (f & SEC_DATA) return f & SEC_READONLY ? 'r' : 'd';
  if (!(f & SEC_HAS_CONTENTS)) return 'b';
  if (f & SEC_DEBUGGING) return 'N';
  if (f & SEC_HAS_CONTENTS && f & SEC_READONLY) return 'n';
  return '?';
}

/**
 * The module symbol table. Construct with `new ModuleSymbols(elf)` or
 * `parseModule(bytes, file)`.
 */
export class ModuleSymbols {
  readonly elf: ElfFile;
  readonly name: string;
  readonly isLivepatch: boolean;
  readonly kallsymsAll: boolean;
  /** Number of symtab entries (including the null symbol 0). */
  readonly count: number;
  /** 1 when the kernel keeps symbol i after init (symbol 0 is always kept, as in add_kallsyms). */
  readonly kept: Uint8Array;
  readonly keptCount: number;
  /** Indices of kernel-visible sections that the kernel treats as init sections. */
  readonly initSections: ReadonlySet<number>;
  private readonly st: ElfSymbolTable;
  private readonly mapping: MappingSymbolRule;
  private readonly letters: Uint8Array;
  private readonly kletters: Uint8Array;
  private secIndex?: { view: SymbolView; order: Uint32Array; start: Uint32Array }[];
  private nameIdx?: { names: string[]; order: Uint32Array }[];
  /** findByName calls answered by scanning (scanByName) so far. */
  private nameScans = 0;

  constructor(elf: ElfFile, opts: ModuleOptions = {}) {
    if (!elf.symtab) throw new FormatError(elf.file, 0, 'module has no symbol table (.symtab); stripped?');
    this.elf = elf;
    this.st = elf.symtab;
    this.count = this.st.count;
    this.name = elf.moduleName();
    this.kallsymsAll = opts.kallsymsAll ?? true;
    this.mapping = opts.mappingSymbols ?? 'v6.1';
    const moduleUnload = opts.moduleUnload ?? true;
    this.isLivepatch = elf.modinfoValue('livepatch') !== undefined;

    // Section flags as the loader leaves them (rewrite_section_headers / layout_and_allocate).
    const secs = elf.sections;
    const findSec = (name: string): number => {
      for (let i = 1; i < secs.length; i++) if (secs[i].flags & SHF_ALLOC && secs[i].name === name) return i;
      return 0;
    };
    const pcpu = findSec('.data..percpu');
    const flags = secs.map((s) => s.flags);
    for (const n of ['.modinfo', '__versions', '__version_ext_crcs', '__version_ext_names']) {
      const i = findSec(n);
      if (i) flags[i] &= ~SHF_ALLOC;
    }
    if (pcpu) flags[pcpu] &= ~SHF_ALLOC;
    const init = new Set<number>();
    for (let i = 1; i < secs.length; i++) {
      if (!moduleUnload && secs[i].name.startsWith('.exit')) flags[i] &= ~SHF_ALLOC;
      if (secs[i].name.startsWith('.init')) init.add(i);
    }
    this.initSections = init;

    const n = this.count;
    const st = this.st;
    const eShnum = elf.eShnum;
    const kept = new Uint8Array(n);
    let keptCount = 0;
    for (let i = 0; i < n; i++) {
      let k = i === 0 || this.isLivepatch;
      if (!k) {
        const sh = st.rawShndx[i];
        if (sh !== SHN_UNDEF && sh < eShnum && st.nameOffset[i] !== 0) {
          if (this.kallsymsAll && sh === pcpu && pcpu !== 0) k = true;
          else {
            const f = flags[sh];
            k = (f & SHF_ALLOC) !== 0 && (this.kallsymsAll || (f & SHF_EXECINSTR) !== 0) && !init.has(sh);
          }
        }
      }
      if (k) {
        kept[i] = 1;
        keptCount++;
      }
    }
    this.kept = kept;
    this.keptCount = keptCount;

    // Type letters.
    const letters = new Uint8Array(n);
    const kletters = new Uint8Array(n);
    const secLetter = secs.map((s) => sectionLetter(s).charCodeAt(0));
    const bfdSection = secs.map((s, i) => {
      // Sections BFD does not turn into sections: the symtab, its strtab, the
      // section name table, .symtab_shndx, and relocation sections.
      if (i === 0) return false;
      if (s.type === SHT_SYMTAB || s.type === SHT_SYMTAB_SHNDX) return false;
      if (s.type === SHT_STRTAB && (i === elf.shstrndx || i === st.strtabIndex)) return false;
      if (
        (s.type === SHT_REL || s.type === SHT_RELA) &&
        !(s.flags & SHF_ALLOC) &&
        s.link === st.sectionIndex &&
        s.info > 0 &&
        s.info < secs.length
      )
        return false;
      return true;
    });
    const machine = elf.machine;
    for (let i = 0; i < n; i++) {
      const sh = st.shndx[i];
      const bind = st.info[i] >> 4;
      const type = st.info[i] & 0xf;
      letters[i] = nmLetter(sh, bind, type, machine, secs.length, bfdSection, secLetter);
      kletters[i] = kernelLetter(st.rawShndx[i], bind, type, pcpu, secs, flags);
    }
    this.letters = letters;
    this.kletters = kletters;
  }

  // ---- column accessors (no allocation) ----
  symbolName(i: number): string {
    return this.st.name(i);
  }
  value(i: number): number {
    return this.st.value(i);
  }
  size(i: number): number {
    return this.st.size(i);
  }
  shndx(i: number): number {
    return this.st.shndx[i];
  }
  nmType(i: number): string {
    return String.fromCharCode(this.letters[i]);
  }
  kernelType(i: number): string {
    return String.fromCharCode(this.kletters[i]);
  }
  binding(i: number): Binding {
    return readelfBinding(this.st.info[i] >> 4, this.elf.osabi);
  }
  sectionNdx(i: number): SectionNdx {
    return readelfNdx(this.st.shndx[i], this.elf.machine, this.elf.shnum);
  }
  sectionName(i: number): string {
    const sh = this.st.shndx[i];
    return sh !== 0 && sh < this.elf.sections.length && (sh < SHN_LORESERVE || sh > 0xffff) ? this.elf.sections[sh].name : '';
  }
  isKept(i: number): boolean {
    return this.kept[i] === 1;
  }
  inView(i: number, view: SymbolView): boolean {
    return view === 'init' || this.kept[i] === 1;
  }

  /** One symbol as an object. */
  symbol(i: number): ModuleSymbol {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`symbol index ${i} out of range`);
    const st = this.st;
    return {
      index: i,
      name: st.name(i),
      value: st.value(i),
      size: st.size(i),
      binding: this.binding(i),
      elfType: readelfType(st.info[i] & 0xf, this.elf.osabi),
      type: this.nmType(i),
      kernelType: this.kernelType(i),
      sectionIndex: this.sectionNdx(i),
      shndx: st.shndx[i],
      section: this.sectionName(i),
      kept: this.kept[i] === 1,
    };
  }

  /** Full symtab (what the kernel sees before init), in symtab order, including the null symbol 0. */
  allSymbols(): ModuleSymbol[] {
    const out: ModuleSymbol[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.symbol(i);
    return out;
  }

  /** Symbols kept after init, in symtab order (symbol 0 included, as the kernel keeps it). */
  keptSymbols(): ModuleSymbol[] {
    const out: ModuleSymbol[] = [];
    for (let i = 0; i < this.count; i++) if (this.kept[i]) out.push(this.symbol(i));
    return out;
  }

  /** Indices of the kept symbols. */
  keptIndices(): Uint32Array {
    const out = new Uint32Array(this.keptCount);
    let p = 0;
    for (let i = 0; i < this.count; i++) if (this.kept[i]) out[p++] = i;
    return out;
  }

  jsonRow(i: number): ModuleSymbolRow {
    const st = this.st;
    return {
      index: i,
      name: st.name(i),
      value: st.value(i),
      size: st.size(i),
      type: this.nmType(i),
      binding: this.binding(i),
      sectionIndex: this.sectionNdx(i),
      section: this.sectionName(i),
      kept: this.kept[i] === 1,
    };
  }

  /** JSON rows for the CLI (all symbols, or only kept ones). */
  jsonRows(opts: { keptOnly?: boolean } = {}): ModuleSymbolRow[] {
    const out: ModuleSymbolRow[] = [];
    for (let i = 0; i < this.count; i++) if (!opts.keptOnly || this.kept[i]) out.push(this.jsonRow(i));
    return out;
  }

  // ---- address resolution (find_kallsyms_symbol) ----

  private eligible(i: number, view: SymbolView): boolean {
    if (i === 0) return false;
    if (view === 'kept' && !this.kept[i]) return false;
    if (this.st.rawShndx[i] === SHN_UNDEF) return false;
    const nm = this.st.name(i);
    if (nm.length === 0 || this.st.nameOffset[i] === 0) return false;
    return !isMappingSymbol(nm, this.mapping);
  }

  private sectionIndexFor(view: SymbolView): { order: Uint32Array; start: Uint32Array } {
    this.secIndex ??= [];
    const hit = this.secIndex.find((x) => x.view === view);
    if (hit) return hit;
    const st = this.st;
    const nsec = this.elf.sections.length;
    const list: number[] = [];
    for (let i = 1; i < this.count; i++) {
      const sh = st.shndx[i];
      const raw = st.rawShndx[i];
      const normal = raw < SHN_LORESERVE || raw === SHN_XINDEX;
      if (normal && sh > 0 && sh < nsec && this.eligible(i, view)) list.push(i);
    }
    const order = Uint32Array.from(list);
    const vlo = st.valueLo,
      vhi = st.valueHi,
      shx = st.shndx;
    order.sort((a, b) => shx[a] - shx[b] || vhi[a] - vhi[b] || vlo[a] - vlo[b] || a - b);
    const start = new Uint32Array(nsec + 1);
    let p = 0;
    for (let s = 0; s <= nsec; s++) {
      while (p < order.length && shx[order[p]] < s) p++;
      start[s] = p;
    }
    const entry = { view, order, start };
    this.secIndex.push(entry);
    return entry;
  }

  /**
   * Resolve a section-relative address (section index + offset) as the kernel
   * would: the eligible symbol of that section with the greatest value <= offset
   * (first in symtab order on ties); size up to the next higher symbol value in
   * the section, or the section end. Null when no symbol precedes the offset or
   * the offset is outside the section.
   */
  resolveSectionOffset(section: number | string, offset: number, view: SymbolView = 'kept'): ResolvedSymbol | null {
    const sec = typeof section === 'number' ? this.elf.sections[section] : this.elf.sectionByName(section);
    if (!sec || sec.index === 0 || !(offset >= 0) || offset >= sec.size) return null;
    const { order, start } = this.sectionIndexFor(view);
    const a = start[sec.index];
    const b = start[sec.index + 1];
    const st = this.st;
    const val = (k: number) => st.value(order[k]);
    // last k in [a, b) with val(k) <= offset
    let lo = a,
      hi = b;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (val(mid) <= offset) lo = mid + 1;
      else hi = mid;
    }
    let k = lo - 1;
    if (k < a) return null;
    const best = val(k);
    while (k > a && val(k - 1) === best) k--;
    const next = lo < b ? val(lo) : sec.size;
    const idx = order[k];
    return { index: idx, name: st.name(idx), offset: offset - best, size: next - best, shndx: sec.index };
  }

  /**
   * Build a resolver for runtime addresses given per-section load addresses
   * (keys: section index or name). Symbols in sections without a load address
   * are ignored; SHN_ABS symbols count with their absolute value.
   */
  addressResolver(
    loads: SectionLoadMap,
    opts: { view?: SymbolView } = {},
  ): (addr: bigint | number, regionEnd?: bigint | number) => ResolvedSymbol | null {
    const view = opts.view ?? 'kept';
    const secs = this.elf.sections;
    const load: Array<bigint | undefined> = new Array(secs.length);
    for (const [key, v] of loads) {
      const s = typeof key === 'number' ? secs[key] : this.elf.sectionByName(key);
      if (s && s.index > 0) load[s.index] = BigInt(v);
    }
    let base: bigint | undefined;
    for (const l of load) if (l !== undefined && (base === undefined || l < base)) base = l;
    const st = this.st;
    const idxs: number[] = [];
    const rels: number[] = [];
    if (base !== undefined) {
      for (let i = 1; i < this.count; i++) {
        if (!this.eligible(i, view)) continue;
        const raw = st.rawShndx[i];
        let abs: bigint | undefined;
        if (raw === SHN_ABS) abs = st.valueBig(i);
        else {
          const sh = st.shndx[i];
          const l = sh < secs.length ? load[sh] : undefined;
          if (l === undefined || (raw >= SHN_LORESERVE && raw !== SHN_XINDEX)) continue;
          abs = l + st.valueBig(i);
        }
        if (abs < base) continue;
        idxs.push(i);
        rels.push(Number(abs - base));
      }
    }
    const perm = Uint32Array.from(idxs.keys());
    perm.sort((a, b) => rels[a] - rels[b] || idxs[a] - idxs[b]);
    const rel = new Float64Array(perm.length);
    const ord = new Uint32Array(perm.length);
    for (let k = 0; k < perm.length; k++) {
      rel[k] = rels[perm[k]];
      ord[k] = idxs[perm[k]];
    }
    const ranges: Array<[bigint, bigint]> = [];
    for (let s = 1; s < secs.length; s++) if (load[s] !== undefined) ranges.push([load[s]!, load[s]! + BigInt(secs[s].size)]);

    return (addrIn, regionEndIn) => {
      if (base === undefined) return null;
      const addr = BigInt(addrIn);
      let end: bigint | undefined;
      for (const [s, e] of ranges)
        if (addr >= s && addr < e) {
          end = e;
          break;
        }
      if (end === undefined) return null;
      if (regionEndIn !== undefined) end = BigInt(regionEndIn);
      if (addr < base) return null;
      const r = Number(addr - base);
      let lo = 0,
        hi = rel.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (rel[mid] <= r) lo = mid + 1;
        else hi = mid;
      }
      let k = lo - 1;
      if (k < 0) return null;
      const best = rel[k];
      while (k > 0 && rel[k - 1] === best) k--;
      const endRel = Number(end - base);
      const next = lo < rel.length && rel[lo] < endRel ? rel[lo] : endRel;
      const idx = ord[k];
      return { index: idx, name: st.name(idx), offset: r - best, size: next - best, shndx: st.shndx[idx] };
    };
  }

  // ---- name lookup ----

  /**
   * findByName by one pass over the string table: the same matches in the same (symtab)
   * order. Undefined for a name that is not plain ASCII (decoded names of other bytes
   * compare as strings, which the index does).
   */
  private scanByName(name: string, view: SymbolView): NameMatch[] | undefined {
    const n = name.length;
    if (n === 0) return [];
    for (let k = 0; k < n; k++) if (name.charCodeAt(k) >= 0x80) return undefined;
    const st = this.st;
    const tab = st.strtab,
      off = st.nameOffset,
      end = tab.length;
    const c0 = name.charCodeAt(0);
    const out: NameMatch[] = [];
    for (let i = 1; i < this.count; i++) {
      const o = off[i];
      if (tab[o] !== c0 || o + n >= end || tab[o + n] !== 0) continue;
      let k = 1;
      while (k < n && tab[o + k] === name.charCodeAt(k)) k++;
      if (k < n) continue;
      if (st.rawShndx[i] === SHN_UNDEF) continue;
      if (view === 'kept' && !this.kept[i]) continue;
      out.push({ index: i, position: out.length + 1 });
    }
    return out;
  }

  private nameIndexFor(view: SymbolView): { names: string[]; order: Uint32Array } {
    this.nameIdx ??= [];
    const vi = view === 'kept' ? 0 : 1;
    const hit = this.nameIdx[vi];
    if (hit) return hit;
    const st = this.st;
    const names: string[] = this.nameIdx[1 - vi]?.names ?? new Array(this.count);
    if (!this.nameIdx[1 - vi]) for (let i = 0; i < this.count; i++) names[i] = st.name(i);
    const list: number[] = [];
    for (let i = 1; i < this.count; i++) {
      if (st.rawShndx[i] === SHN_UNDEF) continue;
      if (view === 'kept' && !this.kept[i]) continue;
      if (names[i].length === 0) continue;
      list.push(i);
    }
    const order = Uint32Array.from(list);
    order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
    const entry = { names, order };
    this.nameIdx[vi] = entry;
    return entry;
  }

  /**
   * All defined symbols of the view with exactly this name, in symtab order,
   * each with its 1-based position (the livepatch sympos the kernel counts:
   * module_kallsyms_on_each_symbol skips undefined symbols).
   */
  findByName(name: string, view: SymbolView = 'kept'): NameMatch[] {
    // The first few lookups scan the string table instead of building the name index (a
    // string per symbol and a sort: ~40 ms for xfs.ko in a cold process, on a first hover).
    if (!this.nameIdx?.[view === 'kept' ? 0 : 1] && this.nameScans < NAME_SCANS_BEFORE_INDEX) {
      const hit = this.scanByName(name, view);
      if (hit) {
        this.nameScans++;
        return hit;
      }
    }
    const { names, order } = this.nameIndexFor(view);
    let lo = 0,
      hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[order[mid]] < name) lo = mid + 1;
      else hi = mid;
    }
    const out: NameMatch[] = [];
    for (let k = lo; k < order.length && names[order[k]] === name; k++) out.push({ index: order[k], position: out.length + 1 });
    return out;
  }

  /** Distinct names with more than one defined symbol in the view, with their counts. */
  duplicateNames(view: SymbolView = 'kept'): Array<[string, number]> {
    const { names, order } = this.nameIndexFor(view);
    const out: Array<[string, number]> = [];
    for (let k = 0; k < order.length;) {
      const n = names[order[k]];
      let j = k + 1;
      while (j < order.length && names[order[j]] === n) j++;
      if (j - k > 1) out.push([n, j - k]);
      k = j;
    }
    return out;
  }
}

/** findByName scans the string table for this many lookups, then builds the name index. */
const NAME_SCANS_BEFORE_INDEX = 16;

function nmLetter(
  sh: number,
  bind: number,
  type: number,
  machine: number,
  nsec: number,
  bfdSection: boolean[],
  secLetter: number[],
): number {
  const C = (s: string) => s.charCodeAt(0);
  const isObject = type === STT_OBJECT || type === STT_COMMON;
  // Section the symbol lands in, BFD style.
  const isCom = sh === SHN_COMMON || (machine === EM_X86_64 && sh === 0xff02);
  if (isCom) return C('C');
  if (sh === SHN_UNDEF) {
    if (bind === STB_WEAK) return C(isObject ? 'v' : 'w');
    return C('U');
  }
  if (type === STT_GNU_IFUNC) return C('i');
  if (bind === STB_WEAK) return C(isObject ? 'V' : 'W');
  if (bind === STB_GNU_UNIQUE) return C('u');
  if (bind !== STB_LOCAL && bind !== STB_GLOBAL) return C('?');
  let c: number;
  if (sh === SHN_ABS || sh >= nsec || !bfdSection[sh]) c = C('a');
  else c = secLetter[sh];
  if (bind === STB_GLOBAL && c >= 0x61 && c <= 0x7a) c -= 0x20;
  return c;
}

function kernelLetter(sh: number, bind: number, type: number, pcpu: number, secs: readonly ElfSection[], flags: number[]): number {
  const C = (s: string) => s.charCodeAt(0);
  if (bind === STB_WEAK) return C(type === STT_OBJECT ? 'v' : 'w');
  if (sh === SHN_UNDEF) return C('U');
  if (sh === SHN_ABS || (pcpu !== 0 && sh === pcpu)) return C('a');
  if (sh >= SHN_LORESERVE || sh >= secs.length) return C('?');
  const f = flags[sh];
  const s = secs[sh];
  if (f & SHF_EXECINSTR) return C('t');
  if (f & SHF_ALLOC && s.type !== SHT_NOBITS) return C(f & SHF_WRITE ? 'd' : 'r');
  if (s.type === SHT_NOBITS) return C('b');
  if (s.name.startsWith('.debug')) return C('n');
  return C('?');
}

/** Parse module bytes (already decompressed) into its symbol table. */
export function parseModule(bytes: Uint8Array, file: string, opts?: ModuleOptions): ModuleSymbols {
  return new ModuleSymbols(parseElf(bytes, file), opts);
}
