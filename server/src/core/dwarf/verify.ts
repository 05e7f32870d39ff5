/**
 * Refusing the wrong debug file (issue 15 §2). A vmlinux or .ko that does not belong to
 * the symbols being served must never give lines: a verdict is either "use it" (with the
 * address shift between the index and the file, e.g. the KASLR offset of a running
 * kernel's /proc/kallsyms) or a refusal with a message saying what differs.
 *
 * Checks, strongest first:
 * - the GNU build id against the running kernel's /sys/kernel/notes bytes (the caller
 *   reads them), a build id the caller knows (a log's, a module's own note), or the
 *   stripped module's;
 * - otherwise `_text` and a sample of the file's own symbols against the index, through a
 *   lookup function: every sampled symbol must sit at the same distance from `_text` in
 *   both (one shift for all), or the file is refused.
 * Pure: bytes and functions in, a verdict out.
 */
import { buildIdFromNotes, type ElfView } from './elf';

export type Verdict =
  | { readonly ok: true; readonly how: 'build-id' | 'symbols'; readonly detail: string; readonly shift: bigint }
  | { readonly ok: false; readonly reason: string };

const SHT_SYMTAB = 2;

/**
 * The .symtab's raw entries and string table: scans read the fields they need by offset
 * and decode a name (or make a BigInt) only for the entries they keep, so checking a
 * vmlinux of 200,000 symbols costs one pass over its bytes, not 200,000 objects.
 */
class RawSymtab {
  readonly n: number;
  private readonly ent: number;
  private readonly dv: DataView;
  private readonly dec = new TextDecoder();
  private constructor(
    private readonly elf: ElfView,
    private readonly b: Uint8Array,
    readonly names: Uint8Array,
    /** sh_info: the first non-local entry (locals come first in a symbol table). */
    readonly firstGlobal: number,
  ) {
    this.ent = elf.is64 ? 24 : 16;
    this.n = Math.floor(b.length / this.ent);
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  static of(elf: ElfView): RawSymtab | undefined {
    const st = elf.sections.find((x) => x.type === SHT_SYMTAB);
    const strs = st ? elf.sections[st.link] : undefined;
    if (!st || !strs) return undefined;
    const ent = elf.is64 ? 24 : 16;
    return new RawSymtab(elf, elf.rawSlice(st, 0, Math.floor(st.size / ent) * ent), elf.rawSlice(strs, 0, strs.size), st.info);
  }

  nameOff(i: number): number {
    return this.dv.getUint32(i * this.ent, this.elf.le);
  }
  info(i: number): number {
    return this.b[i * this.ent + (this.elf.is64 ? 4 : 12)];
  }
  shndx(i: number): number {
    return this.dv.getUint16(i * this.ent + (this.elf.is64 ? 6 : 14), this.elf.le);
  }
  /** st_size as a number (> 0 is all the scan asks; 2^53 is far past any symbol). */
  size(i: number): number {
    const o = i * this.ent;
    if (!this.elf.is64) return this.dv.getUint32(o + 8, this.elf.le);
    const le = this.elf.le;
    const lo = this.dv.getUint32(o + (le ? 16 : 20), le),
      hi = this.dv.getUint32(o + (le ? 20 : 16), le);
    return hi * 2 ** 32 + lo;
  }
  value(i: number): bigint {
    const o = i * this.ent;
    return this.elf.is64 ? this.dv.getBigUint64(o + 8, this.elf.le) : BigInt(this.dv.getUint32(o + 4, this.elf.le));
  }
  /** A usable name offset (entries without one are not symbols to check). */
  named(i: number): boolean {
    const off = this.nameOff(i);
    return off !== 0 && off < this.names.length;
  }
  name(i: number): string {
    const off = this.nameOff(i);
    let e = this.names.indexOf(0, off);
    if (e < 0) e = this.names.length;
    return this.dec.decode(this.names.subarray(off, e));
  }
  /** A global function or object with a section and a size: the symbols the check samples. */
  checkable(i: number): boolean {
    const info = this.info(i),
      type = info & 0xf,
      sh = this.shndx(i);
    return this.named(i) && sh !== 0 && sh < 0xff00 && (type === 1 || type === 2) && info >> 4 === 1 && this.size(i) > 0;
  }
  /** The first entry named exactly `ascii`, or -1: one tight pass comparing the first byte, then the rest. */
  find(ascii: string): number {
    const { dv, names, ent } = this,
      le = this.elf.le,
      c0 = ascii.charCodeAt(0),
      c1 = ascii.charCodeAt(1),
      nl = names.length;
    for (let i = 1, o = ent; i < this.n; i++, o += ent) {
      const off = dv.getUint32(o, le);
      if (off === 0 || off >= nl - 1 || names[off] !== c0 || names[off + 1] !== c1) continue;
      if (this.is(i, ascii)) return i;
    }
    return -1;
  }
  /** Whether entry i is named exactly `ascii` (bytes compared, nothing decoded). */
  is(i: number, ascii: string): boolean {
    const off = this.nameOff(i);
    if (off + ascii.length > this.names.length) return false;
    for (let k = 0; k < ascii.length; k++) if (this.names[off + k] !== ascii.charCodeAt(k)) return false;
    return off + ascii.length === this.names.length || this.names[off + ascii.length] === 0;
  }
}

/** Build id check: equal ids are a match; different ids a refusal naming both. */
export function verifyBuildId(
  file: string,
  fileId: string | undefined,
  expected: string | undefined,
  expectedWhat: string,
  served = 'the kernel',
): Verdict | undefined {
  if (!fileId || !expected) return undefined;
  if (fileId.toLowerCase() === expected.toLowerCase())
    return { ok: true, how: 'build-id', detail: `build id ${fileId} matches ${expectedWhat}`, shift: 0n };
  return {
    ok: false,
    reason: `${file} is not ${served} being served: its build id ${fileId} differs from ${expectedWhat} (${expected}); its lines would be wrong, so it is not used`,
  };
}

export interface SymbolCheck {
  /** Index addresses of vmlinux symbols named `name` (empty when absent). */
  lookup(name: string): readonly bigint[];
  /** Symbols sampled (default 32). */
  sample?: number;
}

/**
 * `_text` and a sample of the file's global functions and objects against the index:
 * one shift (index − file) must fit them all. Deterministic sample (evenly spaced in the
 * file's symbol table).
 */
export function verifyBySymbols(file: string, elf: ElfView, check: SymbolCheck): Verdict {
  const t = RawSymtab.of(elf);
  const textAt = t ? t.find('_text') : -1;
  const anchorAt = textAt >= 0 ? textAt : t ? t.find('_stext') : -1;
  if (!t || anchorAt < 0)
    return {
      ok: false,
      reason: `${file} has no _text/_stext symbol: it cannot be checked against the symbols being served, so it is not used`,
    };
  const anchor = { name: textAt >= 0 ? '_text' : '_stext', value: t.value(anchorAt) };
  const idx = check.lookup(anchor.name);
  if (idx.length !== 1)
    return {
      ok: false,
      reason: `the symbols being served have ${idx.length ? 'several' : 'no'} ${anchor.name}: ${file} cannot be checked against them, so it is not used`,
    };
  const shift = idx[0] - anchor.value;
  const want = check.sample ?? 32;
  // Evenly spaced positions among the global entries (sh_info on, when it is sane); at each, the first global function or object with a size.
  const from = t.firstGlobal > 0 && t.firstGlobal < t.n ? t.firstGlobal : 1;
  const stride = Math.max(1, Math.floor((t.n - from) / want));
  let checked = 0;
  const bad: string[] = [];
  for (let p = from; p < t.n && checked < want; p += stride) {
    let e = -1;
    for (let i = p; i < Math.min(t.n, p + stride) && e < 0; i++) if (t.checkable(i)) e = i;
    if (e < 0) continue;
    const s = { name: t.name(e), value: t.value(e) };
    const at = check.lookup(s.name);
    if (at.length === 0) continue; // a symbol the index does not carry (kallsyms omits some)
    checked++;
    if (!at.some((a) => a - s.value === shift))
      bad.push(`${s.name} at 0x${(s.value + shift).toString(16)} expected, 0x${at[0].toString(16)} served`);
  }
  if (checked < Math.min(8, want))
    return {
      ok: false,
      reason: `only ${checked} of ${file}'s symbols are among the symbols being served: it cannot be verified, so it is not used`,
    };
  if (bad.length)
    return {
      ok: false,
      reason: `${file} does not match the symbols being served (${bad.length} of ${checked} sampled symbols differ, e.g. ${bad[0]}); its lines would be wrong, so it is not used`,
    };
  const how = shift === 0n ? 'at the same addresses' : `shifted by 0x${BigInt.asUintN(64, shift).toString(16)} (KASLR)`;
  return { ok: true, how: 'symbols', detail: `${anchor.name} and ${checked} sampled symbols match the index ${how}`, shift };
}

export interface VmlinuxCheck {
  readonly file: string;
  readonly elf: ElfView;
  /** Bytes of /sys/kernel/notes when the index is the running kernel. */
  readonly kernelNotes?: Uint8Array;
  /** A build id known for the served kernel (a log's "Build ID", a snapshot's). */
  readonly buildId?: string;
  /** The index, for the symbol check and the shift. */
  readonly symbols?: SymbolCheck;
}

/** The vmlinux verdict: build id first (then the shift from `_text` when an index is there), else symbols. */
export function verifyVmlinux(c: VmlinuxCheck): Verdict {
  let fileId: string | undefined;
  try {
    fileId = c.elf.buildId();
  } catch {
    fileId = undefined;
  }
  const notesId = c.kernelNotes ? buildIdFromNotes(c.kernelNotes) : undefined;
  const byId =
    verifyBuildId(c.file, fileId, notesId, 'the running kernel (/sys/kernel/notes)') ??
    verifyBuildId(c.file, fileId, c.buildId, "the served kernel's build id");
  if (byId && !byId.ok) return byId;
  if (byId && c.symbols) {
    // The ids match; the index may still be shifted (KASLR): take the shift from _text.
    const v = verifyBySymbols(c.file, c.elf, c.symbols);
    if (!v.ok) return { ok: false, reason: `${c.file}: the build id matches but the symbols being served do not (${v.reason})` };
    return { ok: true, how: 'build-id', detail: `${byId.detail}; ${v.detail}`, shift: v.shift };
  }
  if (byId) return byId;
  if (!c.symbols)
    return { ok: false, reason: `${c.file} cannot be checked: no build id to compare and no symbols to check against, so it is not used` };
  return verifyBySymbols(c.file, c.elf, c.symbols);
}

/** A module debug file against the module it stands for (the stripped .ko, a loaded module's note). */
export function verifyModule(file: string, elf: ElfView, expected: { buildId?: string; what: string }): Verdict {
  let id: string | undefined;
  try {
    id = elf.buildId();
  } catch {
    id = undefined;
  }
  const v = verifyBuildId(file, id, expected.buildId, expected.what, 'the module');
  if (v) return v;
  if (!expected.buildId)
    return { ok: true, how: 'build-id', detail: `no build id to compare for ${expected.what}: ${file} is the module given`, shift: 0n };
  return {
    ok: false,
    reason: `${file} has no build id; ${expected.what} has ${expected.buildId}: it cannot be verified, so it is not used`,
  };
}
