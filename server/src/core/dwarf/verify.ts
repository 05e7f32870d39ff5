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

export interface ElfSymbol {
  readonly name: string;
  readonly value: bigint;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  readonly bind: number;
  readonly shndx: number;
}

const SHT_SYMTAB = 2;

/** The .symtab of an ELF file (names decoded), optionally only the names `want` holds. */
export function elfSymbols(elf: ElfView, want?: (name: string) => boolean): ElfSymbol[] {
  const st = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!st) return [];
  const strs = elf.sections[st.link];
  if (!strs) return [];
  const ent = elf.is64 ? 24 : 16;
  const n = Math.floor(st.size / ent);
  const b = elf.rawSlice(st, 0, n * ent);
  const names = elf.rawSlice(strs, 0, strs.size);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = elf.le;
  const dec = new TextDecoder();
  const out: ElfSymbol[] = [];
  for (let i = 1; i < n; i++) {
    const o = i * ent;
    const nameOff = dv.getUint32(o, le);
    let value: bigint, size: number, info: number, shndx: number;
    if (elf.is64) {
      info = b[o + 4];
      shndx = dv.getUint16(o + 6, le);
      value = dv.getBigUint64(o + 8, le);
      size = Number(dv.getBigUint64(o + 16, le));
    } else {
      value = BigInt(dv.getUint32(o + 4, le));
      size = dv.getUint32(o + 8, le);
      info = b[o + 12];
      shndx = dv.getUint16(o + 14, le);
    }
    if (nameOff === 0 || nameOff >= names.length) continue;
    let e = names.indexOf(0, nameOff);
    if (e < 0) e = names.length;
    const name = dec.decode(names.subarray(nameOff, e));
    if (want && !want(name)) continue;
    out.push({ name, value, size, type: info & 0xf, bind: info >> 4, shndx });
  }
  return out;
}

/** Build id check: equal ids are a match; different ids a refusal naming both. */
export function verifyBuildId(file: string, fileId: string | undefined, expected: string | undefined, expectedWhat: string, served = 'the kernel'): Verdict | undefined {
  if (!fileId || !expected) return undefined;
  if (fileId.toLowerCase() === expected.toLowerCase()) return { ok: true, how: 'build-id', detail: `build id ${fileId} matches ${expectedWhat}`, shift: 0n };
  return { ok: false, reason: `${file} is not ${served} being served: its build id ${fileId} differs from ${expectedWhat} (${expected}); its lines would be wrong, so it is not used` };
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
  const all = elfSymbols(elf);
  const syms = all.filter((s) => s.shndx !== 0 && s.shndx < 0xff00 && (s.type === 1 || s.type === 2) && s.bind === 1 && s.size > 0);
  const text = all.filter((s) => s.name === '_text' || s.name === '_stext');
  const anchor = text.find((s) => s.name === '_text') ?? text.find((s) => s.name === '_stext');
  if (!anchor) return { ok: false, reason: `${file} has no _text/_stext symbol: it cannot be checked against the symbols being served, so it is not used` };
  const idx = check.lookup(anchor.name);
  if (idx.length !== 1) return { ok: false, reason: `the symbols being served have ${idx.length ? 'several' : 'no'} ${anchor.name}: ${file} cannot be checked against them, so it is not used` };
  const shift = idx[0] - anchor.value;
  const want = check.sample ?? 32;
  const step = Math.max(1, Math.floor(syms.length / want));
  let checked = 0;
  const bad: string[] = [];
  for (let i = 0; i < syms.length && checked < want; i += step) {
    const s = syms[i];
    const at = check.lookup(s.name);
    if (at.length === 0) continue; // a symbol the index does not carry (kallsyms omits some)
    checked++;
    if (!at.some((a) => a - s.value === shift)) bad.push(`${s.name} at 0x${(s.value + shift).toString(16)} expected, 0x${at[0].toString(16)} served`);
  }
  if (checked < Math.min(8, want)) return { ok: false, reason: `only ${checked} of ${file}'s symbols are among the symbols being served: it cannot be verified, so it is not used` };
  if (bad.length) return { ok: false, reason: `${file} does not match the symbols being served (${bad.length} of ${checked} sampled symbols differ, e.g. ${bad[0]}); its lines would be wrong, so it is not used` };
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
  const byId = verifyBuildId(c.file, fileId, notesId, 'the running kernel (/sys/kernel/notes)') ?? verifyBuildId(c.file, fileId, c.buildId, "the served kernel's build id");
  if (byId && !byId.ok) return byId;
  if (byId && c.symbols) {
    // The ids match; the index may still be shifted (KASLR): take the shift from _text.
    const v = verifyBySymbols(c.file, c.elf, c.symbols);
    if (!v.ok) return { ok: false, reason: `${c.file}: the build id matches but the symbols being served do not (${v.reason})` };
    return { ok: true, how: 'build-id', detail: `${byId.detail}; ${v.detail}`, shift: v.shift };
  }
  if (byId) return byId;
  if (!c.symbols) return { ok: false, reason: `${c.file} cannot be checked: no build id to compare and no symbols to check against, so it is not used` };
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
  if (!expected.buildId) return { ok: true, how: 'build-id', detail: `no build id to compare for ${expected.what}: ${file} is the module given`, shift: 0n };
  return { ok: false, reason: `${file} has no build id; ${expected.what} has ${expected.buildId}: it cannot be verified, so it is not used` };
}
