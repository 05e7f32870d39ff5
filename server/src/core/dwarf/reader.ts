/**
 * The DWARF reader: (section, offset) in a module or an address in a vmlinux → the
 * inline chain, innermost first, outermost last.
 *
 * Lazy by design: opening reads the ELF section headers and the small DWARF sections
 * (.debug_abbrev, .debug_str, .debug_aranges, range lists); a lookup finds the unit by
 * binary search in .debug_aranges (falling back to the units' own ranges for units that
 * .debug_aranges does not cover), reads only that unit's bytes by file offset, decodes
 * its DIEs into compact arrays and its line program into typed arrays, and caches both
 * under a memory bound (least recently used first out).
 *
 * Lookups never throw: malformed DWARF is a `{kind: 'error'}` result carrying a
 * FormatError that names the file, the section, the offset and the reason.
 */
import { FormatError } from '../common/errors';
import { Cursor, type SectionBytes } from './cursor';
import { ElfView, SHF_EXECINSTR, type ElfSectionHeader } from './elf';
import { readLineTable, type LineRow, type LineTable } from './line';
import { joinPath, treeRelative } from './paths';
import type { ByteSource } from './source';
import {
  decodeUnit,
  dieName,
  MAX_UNIT_HEADER,
  parseUnitHeader,
  unitRangesOnly,
  type DebugSections,
  type DecodedUnit,
  type UnitHeader,
} from './unit';

export interface SourceFrame {
  /** Function name: DWARF name for inlined frames; for the outermost frame the caller's symbol name when given. */
  readonly function: string;
  /** The DWARF name of this frame's function (differs from `function` for the outermost frame when the caller named it, e.g. foo.cold). */
  readonly dwarfFunction: string;
  /** The path as recorded (comp_dir, directory and name joined), normalised. */
  readonly file: string;
  /** The path relative to the kernel source tree (fs/read_write.c), null when it cannot be placed. */
  readonly path: string | null;
  readonly line: number;
  /** null where the line table (or call site) has no column. */
  readonly column: number | null;
  /** Present when non-zero. */
  readonly discriminator?: number;
  /** True for every frame but the outermost. */
  readonly inlined: boolean;
}

export interface SourceLine {
  readonly file: string;
  readonly path: string | null;
  readonly line: number;
  readonly column: number | null;
  readonly discriminator?: number;
}

export type SourceResult =
  /** Frames innermost first, outermost last (at least one). */
  | { readonly kind: 'found'; readonly frames: SourceFrame[]; readonly unit: string }
  /** The address is inside a unit but no DWARF function covers it (e.g. just past a noreturn call). */
  | { readonly kind: 'no-function'; readonly unit: string; readonly line?: SourceLine; readonly reason: string }
  /** No unit of this file covers the address. */
  | { readonly kind: 'no-unit'; readonly reason: string }
  | { readonly kind: 'error'; readonly error: FormatError; readonly reason: string };

export interface LookupOptions {
  /** Name of the outermost frame as the kernel prints it (the symbol: foo.cold, foo.constprop.0). */
  readonly symbol?: string;
}

export interface DwarfReaderOptions {
  /** Memory bound of the decoded-unit cache in bytes (default 96 MiB). */
  readonly cacheBytes?: number;
  /** Absolute build prefixes to strip when mapping paths onto the source tree. */
  readonly buildPrefixes?: readonly string[];
}

interface CachedUnit {
  unit: DecodedUnit;
  line?: LineTable | null;
  lineError?: FormatError;
  memory: number;
}

const TWO32 = 4294967296;

/** bigint address → the reader's signed-Number form (exact for kernel and small addresses). */
export function addrToNumber(a: bigint): number {
  const u = BigInt.asUintN(64, a);
  const hi = Number(u >> 32n),
    lo = Number(u & 0xffffffffn);
  return (hi | 0) * TWO32 + lo;
}

export function numberToAddr(n: number): bigint {
  return BigInt.asUintN(64, BigInt(n));
}

function asFormatError(e: unknown, file: string): FormatError {
  if (e instanceof FormatError) return e;
  return new FormatError(file, 0, `internal error while reading DWARF: ${e instanceof Error ? e.message : String(e)}`);
}

export class DwarfReader {
  readonly elf: ElfView;
  readonly file: string;
  private readonly sec: DebugSections;
  private readonly info?: ElfSectionHeader;
  private readonly lineSec?: ElfSectionHeader;
  private infoSize = 0;
  /** aranges: sorted by lo. */
  private arLo = new Float64Array(0);
  private arHi = new Float64Array(0);
  private arUnit = new Float64Array(0);
  private arCovered = new Set<number>();
  /** Units not covered by aranges: built on the first aranges miss. */
  private extra?: { lo: Float64Array; hi: Float64Array; unit: Float64Array };
  private unitOffsets?: Float64Array;
  private readonly cache = new Map<number, CachedUnit>();
  private cacheMem = 0;
  private readonly cacheBytes: number;
  private readonly buildPrefixes: readonly string[];
  /** treeRelative() results by comp_dir + file (bounded: cleared at 4096 entries). */
  private readonly relPaths = new Map<string, string | null>();
  /** Number of units decoded so far (tests, bench). */
  unitsDecoded = 0;

  private constructor(elf: ElfView, opts: DwarfReaderOptions) {
    this.elf = elf;
    this.file = elf.file;
    this.cacheBytes = opts.cacheBytes ?? 96 << 20;
    this.buildPrefixes = opts.buildPrefixes ?? [];
    const whole = (n: string): SectionBytes | undefined => {
      const s = elf.section(n);
      return s ? elf.data(s) : undefined;
    };
    this.info = elf.section('.debug_info');
    this.lineSec = elf.section('.debug_line');
    const abbrev = whole('.debug_abbrev');
    if (!this.info || !abbrev)
      throw new FormatError(
        elf.file,
        0,
        'no DWARF: the file has no .debug_info/.debug_abbrev section (a stripped file? look for its -dbg/debuginfo counterpart)',
      );
    this.sec = {
      file: elf.file,
      abbrev,
      str: whole('.debug_str'),
      lineStr: whole('.debug_line_str'),
      strOffsets: whole('.debug_str_offsets'),
      addr: whole('.debug_addr'),
      ranges: whole('.debug_ranges'),
      rnglists: whole('.debug_rnglists'),
    };
    this.infoSize = elf.dataSize(this.info);
    this.readAranges(whole('.debug_aranges'));
  }

  /** Open a file's DWARF. Throws a FormatError (only) when the ELF or its DWARF cannot be used at all. */
  static open(src: ByteSource, opts: DwarfReaderOptions = {}): DwarfReader {
    try {
      return new DwarfReader(new ElfView(src), opts);
    } catch (e) {
      throw asFormatError(e, src.name);
    }
  }

  get isRelocatable(): boolean {
    return this.elf.isRelocatable;
  }

  get buildId(): string | undefined {
    return this.elf.buildId();
  }

  private readAranges(s: SectionBytes | undefined): void {
    if (!s) return;
    const lo: number[] = [],
      hi: number[] = [],
      unit: number[] = [];
    const c = new Cursor(s);
    while (c.left >= 4) {
      const start = c.pos;
      let len = c.u32();
      let off = 4;
      if (len === 0xffffffff) {
        len = c.u64();
        off = 8;
      }
      const end = c.pos + len;
      if (len === 0 || end > s.bytes.length) c.fail(`address range set length 0x${len.toString(16)} runs past the section`, start);
      const version = c.u16();
      const cu = c.offset(off);
      const as = c.u8();
      const seg = c.u8();
      if (version !== 2 && version !== 3) {
        c.pos = end;
        continue;
      }
      if (as !== 4 && as !== 8 && as !== 2) c.fail(`bad address size ${as}`, c.pos - 2);
      const tuple = as * 2 + seg;
      // tuples start at a multiple of the tuple size from the set start
      const rel = c.pos - start;
      c.pos = start + Math.ceil(rel / tuple) * tuple;
      c.end = end;
      while (c.left >= 2 * as) {
        if (seg) c.skip(seg);
        const a = c.addr(as),
          l = c.addr(as);
        if (a === 0 && l === 0) break;
        if (l > 0) {
          lo.push(a);
          hi.push(a + l);
          unit.push(cu);
        }
      }
      this.arCovered.add(cu);
      c.end = s.bytes.length;
      c.pos = end;
    }
    const idx = lo.map((_, i) => i).sort((x, y) => lo[x] - lo[y] || hi[x] - hi[y]);
    this.arLo = Float64Array.from(idx, (i) => lo[i]);
    this.arHi = Float64Array.from(idx, (i) => hi[i]);
    this.arUnit = Float64Array.from(idx, (i) => unit[i]);
  }

  private static search(loA: Float64Array, hiA: Float64Array, unitA: Float64Array, addr: number): number {
    let a = 0,
      b = loA.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (loA[m] <= addr) a = m + 1;
      else b = m;
    }
    for (let i = a - 1, k = 0; i >= 0 && k < 64; i--, k++) if (addr < hiA[i]) return unitA[i];
    return -1;
  }

  /** Offsets of every unit in .debug_info (walks the headers once). */
  unitList(): Float64Array {
    if (this.unitOffsets) return this.unitOffsets;
    const out: number[] = [];
    let p = 0;
    const info = this.info!;
    const src = this.elf.src;
    if (this.elf.sliceable(info) && src.readInto) {
      // Only each unit's length, by a 12-byte read into one buffer: the chain of a vmlinux's
      // 2,352 units took 27 ms through header() (a parsed header and a fresh buffer each).
      // A unit's header is parsed and checked when the unit is decoded; a length that is
      // not a plain one (reserved, cut short, past the section) goes through header() here,
      // for its FormatError: a list cut short would say "no unit" for the units after it.
      this.elf.checkRange(info, 0, this.infoSize);
      const b = new Uint8Array(12);
      const dv = new DataView(b.buffer);
      const le = this.elf.le;
      while (p + 11 <= this.infoSize) {
        const n = Math.min(12, this.infoSize - p);
        let size = -1;
        if (src.readInto(b, 0, info.offset + p, n) === n) {
          size = dv.getUint32(0, le);
          if (size === 0xffffffff) size = n < 12 ? -1 : 12 + Number(dv.getBigUint64(4, le));
          else if (size >= 0xfffffff0) size = -1;
          else size += 4;
        }
        if (size < 0 || size > this.infoSize - p) {
          const h = this.header(p); // throws for what is wrong with it
          size = h.size;
          if (size <= 0) {
            out.push(p);
            break;
          }
        }
        out.push(p);
        p += size;
      }
    } else
      while (p + 11 <= this.infoSize) {
        const h = this.header(p);
        out.push(p);
        if (h.size <= 0) break;
        p += h.size;
      }
    this.unitOffsets = Float64Array.from(out);
    return this.unitOffsets;
  }

  private infoSlice(off: number, len: number): SectionBytes {
    return this.elf.slice(this.info!, off, Math.min(len, this.infoSize - off));
  }

  private header(off: number): UnitHeader {
    const s = this.infoSlice(off, MAX_UNIT_HEADER);
    const h = parseUnitHeader(s, 0, off);
    if (off + h.size > this.infoSize)
      throw new FormatError(
        this.file,
        off,
        `.debug_info+0x${off.toString(16)}: unit length 0x${h.size.toString(16)} runs past the section (size 0x${this.infoSize.toString(16)})`,
      );
    return h;
  }

  private buildExtra(): void {
    const lo: number[] = [],
      hi: number[] = [],
      unit: number[] = [];
    for (const off of this.unitList()) {
      if (this.arCovered.has(off)) continue;
      const h = this.header(off);
      if (h.unitType !== 1 && h.unitType !== 3) continue; // compile, partial
      let r: Float64Array;
      try {
        r = unitRangesOnly(h, this.unitBytes(off, h.size, 0, h.size), this.sec);
      } catch {
        continue;
      }
      for (let i = 0; i < r.length; i += 2) {
        lo.push(r[i]);
        hi.push(r[i + 1]);
        unit.push(off);
      }
    }
    const idx = lo.map((_, i) => i).sort((x, y) => lo[x] - lo[y]);
    this.extra = {
      lo: Float64Array.from(idx, (i) => lo[i]),
      hi: Float64Array.from(idx, (i) => hi[i]),
      unit: Float64Array.from(idx, (i) => unit[i]),
    };
  }

  /** .debug_info offset of the unit covering `addr`, or -1. */
  unitFor(addr: number): number {
    const u = DwarfReader.search(this.arLo, this.arHi, this.arUnit, addr);
    if (u >= 0) return u;
    if (!this.extra) this.buildExtra();
    const e = this.extra!;
    return DwarfReader.search(e.lo, e.hi, e.unit, addr);
  }

  /**
   * One scratch buffer for unit bytes, reused by every unit (no fresh pages, no external
   * memory per unit): `scratchUnit`'s bytes [scratchLo, scratchHi) sit in it at their unit
   * offsets.
   */
  private scratch = new Uint8Array(0);
  private scratchUnit = -1;
  private scratchLo = 0;
  private scratchHi = 0;

  private scratchPatch: ((pos: number, len: number) => void) | undefined;

  /**
   * The bytes [lo, hi) of the unit at `off` (size `size`), at their unit offsets (see
   * UnitBytes), in the scratch buffer. A relocatable file's bytes are read as they are in
   * the file, with a `patch` that relocates the few values the walk decodes (see
   * ElfView.sliceIntoDeferred): relocating a whole unit up front cost xfs.ko more than the
   * walk itself.
   */
  private unitBytes(off: number, size: number, lo: number, hi: number): SectionBytes {
    const info = this.info!;
    if (!this.elf.sliceable(info)) return this.infoSlice(off, size); // decompressed: a view of the cached section
    if (lo < 0 || hi > size || lo > hi)
      throw new FormatError(this.file, info.offset + off + lo, `.debug_info+0x${(off + lo).toString(16)}: range outside the unit`);
    if (this.scratchUnit !== off || lo < this.scratchLo || hi > this.scratchHi) {
      const n = Math.min(hi, this.infoSize - off) - lo;
      this.elf.checkRange(info, off + lo, n); // before any allocation: a hostile size fails here
      if (this.scratch.length < size) {
        this.scratch = new Uint8Array(Math.max(size, Math.min(2 * this.scratch.length, this.infoSize), 1 << 16));
        this.scratchUnit = -1;
      }
      this.scratchUnit = -1; // until the read (and its relocation) completes
      const d = this.elf.sliceIntoDeferred(info, off + lo, n, this.scratch, lo);
      if (d) this.scratchPatch = d.patch;
      else {
        this.elf.sliceInto(info, off + lo, n, this.scratch, lo);
        this.scratchPatch = undefined;
      }
      this.scratchUnit = off;
      this.scratchLo = lo;
      this.scratchHi = lo + n;
    }
    return {
      file: this.file,
      section: info.name,
      fileOffset: info.offset + off,
      bytes: this.scratch,
      le: this.elf.le,
      decompressed: false,
      ...(this.scratchPatch ? { patch: this.scratchPatch } : {}),
    };
  }

  private unit(off: number, firstAddr?: number): CachedUnit {
    const hit = this.cache.get(off);
    if (hit) {
      this.cache.delete(off);
      this.cache.set(off, hit);
      return hit;
    }
    const h = this.header(off);
    const unit = decodeUnit(h, (lo, hi) => this.unitBytes(off, h.size, lo, hi), this.sec, firstAddr);
    this.unitsDecoded++;
    const cu: CachedUnit = { unit, memory: unit.memory };
    this.cache.set(off, cu);
    this.cacheMem += cu.memory;
    this.evict();
    return cu;
  }

  /** The cache's count of a unit's memory after the unit grew (subtrees decoded, names cached): its columns plus its line table. */
  private account(cu: CachedUnit): void {
    const m = cu.unit.memory + (cu.line ? cu.line.bytes : 0);
    if (m === cu.memory) return;
    this.cacheMem += m - cu.memory;
    cu.memory = m;
  }

  private evict(): void {
    for (const [k, v] of this.cache) {
      if (this.cacheMem <= this.cacheBytes || this.cache.size <= 1) break;
      this.cache.delete(k);
      this.cacheMem -= v.memory;
    }
  }

  private lineTable(cu: CachedUnit): LineTable | undefined {
    if (cu.line !== undefined) return cu.line ?? undefined;
    const u = cu.unit;
    if (u.stmtList < 0 || !this.lineSec) {
      cu.line = null;
      return undefined;
    }
    try {
      const total = this.elf.dataSize(this.lineSec);
      if (u.stmtList >= total)
        throw new FormatError(this.file, u.stmtList, `.debug_line: DW_AT_stmt_list 0x${u.stmtList.toString(16)} outside the section`);
      const head = this.elf.slice(this.lineSec, u.stmtList, Math.min(12, total - u.stmtList));
      const c = new Cursor(head);
      let len = c.u32();
      if (len === 0xffffffff) len = c.u64() + 12;
      else len += 4;
      const s = this.elf.slice(this.lineSec, u.stmtList, Math.min(len, total - u.stmtList));
      const t = readLineTable(s, 0, u.header.addrSize, u.compDir, u.name, { str: this.sec.str, lineStr: this.sec.lineStr });
      cu.line = t;
      cu.memory += t.bytes;
      this.cacheMem += t.bytes;
      this.evict();
      return t;
    } catch (e) {
      cu.line = null;
      cu.lineError = asFormatError(e, this.file);
      return undefined;
    }
  }

  private refAddrName = (off: number): string | undefined => {
    const units = this.unitList();
    let a = 0,
      b = units.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (units[m] <= off) a = m + 1;
      else b = m;
    }
    if (a === 0) return undefined;
    const cu = this.unit(units[a - 1]);
    return dieName(cu.unit, this.sec, off - units[a - 1], undefined, 1);
  };

  private srcLine(u: DecodedUnit, file: string | undefined, line: number, column: number, disc: number): SourceLine {
    const f = file ?? '??';
    let p: string | undefined;
    if (file) {
      // the same few files answer many frames: their tree-relative form is computed once
      const key = u.compDir + '\0' + file;
      const hit = this.relPaths.get(key);
      if (hit !== undefined) p = hit ?? undefined;
      else {
        p = treeRelative(file, u.compDir, this.buildPrefixes);
        if (this.relPaths.size >= 4096) this.relPaths.clear();
        this.relPaths.set(key, p ?? null);
      }
    }
    return { file: f, path: p ?? null, line, column: column === 0 ? null : column, ...(disc ? { discriminator: disc } : {}) };
  }

  /** Look up an address in the reader's address space (signed-Number form). */
  lookupNumber(addr: number, opts: LookupOptions = {}): SourceResult {
    try {
      const uo = this.unitFor(addr);
      if (uo < 0) return { kind: 'no-unit', reason: `no compile unit of ${this.file} covers this address` };
      const cu = this.unit(uo, addr);
      const u = cu.unit;
      const table = this.lineTable(cu);
      const row: LineRow | undefined = table?.find(addr);
      // innermost scope containing addr: the deepest kept DIE whose ranges contain it
      const best = u.innermost(addr);
      this.account(cu);
      const leaf = table && row ? this.srcLine(u, table.fileName(row.file), row.line, row.column, row.discriminator) : undefined;
      if (best < 0) {
        const why = cu.lineError ? `; line table: ${cu.lineError.message}` : '';
        return {
          kind: 'no-function',
          unit: u.name,
          ...(leaf ? { line: leaf } : {}),
          reason: `no DWARF function covers this address in unit ${u.name}${why}`,
        };
      }
      const frames: SourceFrame[] = [];
      let loc: SourceLine = leaf ?? { file: '??', path: null, line: 0, column: null };
      const sc = u.s;
      for (let i = best; i >= 0; i = sc.parent(i)) {
        const dn = dieName(u, this.sec, sc.die(i), this.refAddrName) ?? '??';
        const outer = sc.parent(i) < 0;
        frames.push({
          function: outer && opts.symbol ? opts.symbol : dn,
          dwarfFunction: dn,
          file: loc.file,
          path: loc.path,
          line: loc.line,
          column: loc.column,
          ...(loc.discriminator ? { discriminator: loc.discriminator } : {}),
          inlined: !outer,
        });
        if (outer) break;
        // the caller's location is this inlined subroutine's call site
        const fname = table ? table.fileName(sc.cf(i)) : undefined;
        loc = this.srcLine(u, fname, sc.cl(i), sc.cc(i), sc.cd(i));
      }
      this.account(cu); // names cached by dieName
      return { kind: 'found', frames, unit: u.name };
    } catch (e) {
      const err = asFormatError(e, this.file);
      return { kind: 'error', error: err, reason: err.message };
    }
  }

  /**
   * The line-table row for `addr` as recorded: its file index, that file's path, the
   * table's primary file (index 0 in DWARF 5, the unit's name before) and the line.
   * For tests and diagnostics (binutils' DWARF 5 file-index bug shows here).
   */
  lineRow(
    addr: bigint,
  ): { fileIndex: number; file: string | undefined; primaryFile: string | undefined; line: number; version: number } | undefined {
    const a = addrToNumber(addr);
    const uo = this.unitFor(a);
    if (uo < 0) return undefined;
    const cu = this.unit(uo);
    const t = this.lineTable(cu);
    if (!t) return undefined;
    const row = t.find(a);
    if (!row) return undefined;
    return {
      fileIndex: row.file,
      file: t.fileName(row.file),
      primaryFile: t.version >= 5 ? t.fileName(0) : joinPath(cu.unit.compDir, cu.unit.name),
      line: row.line,
      version: t.version,
    };
  }

  /** Look up an address of a vmlinux (or any ET_EXEC/ET_DYN file). */
  lookup(addr: bigint, opts?: LookupOptions): SourceResult {
    return this.lookupNumber(addrToNumber(addr), opts);
  }

  /** A return address (a stack entry, as the kernel's %pB): the line and chain of addr - 1. */
  lookupReturn(addr: bigint, opts?: LookupOptions): SourceResult {
    return this.lookup(addr - 1n, opts);
  }

  /** The section named or numbered `section`, or undefined. */
  sectionOf(section: string | number): ElfSectionHeader | undefined {
    return typeof section === 'number' ? this.elf.sections[section] : this.elf.named(section);
  }

  /**
   * Look up (section, offset): for a relocatable module every executable section starts
   * at 0, so the section is part of the address. For an executable, the section's address
   * plus the offset.
   */
  lookupInSection(section: string | number, offset: number | bigint, opts?: LookupOptions): SourceResult {
    const s = this.sectionOf(section);
    if (!s) return { kind: 'no-unit', reason: `${this.file} has no section ${String(section)}` };
    const off = Number(offset);
    if (!(off >= 0) || off > s.size)
      return { kind: 'no-unit', reason: `offset 0x${off.toString(16)} is outside ${s.name} (size 0x${s.size.toString(16)})` };
    if (!(s.flags & SHF_EXECINSTR)) return { kind: 'no-unit', reason: `${s.name} is not an executable section` };
    const base = this.elf.isRelocatable ? this.elf.sectionBase(s.index) : s.addr;
    return this.lookupNumber(base + off, opts);
  }

  /** Return-address form of lookupInSection (offset - 1). */
  lookupReturnInSection(section: string | number, offset: number | bigint, opts?: LookupOptions): SourceResult {
    return this.lookupInSection(section, Number(offset) - 1, opts);
  }

  /** Bytes held by the decoded-unit cache. */
  get cacheMemory(): number {
    return this.cacheMem;
  }

  close(): void {
    this.cache.clear();
    this.cacheMem = 0;
    this.elf.src.close?.();
  }
}
