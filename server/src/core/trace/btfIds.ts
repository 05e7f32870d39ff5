/**
 * kfunc ID sets from a vmlinux ELF's `.BTF_ids` section.
 *
 * BTF_SET8_START(name) (include/linux/btf_ids.h) emits a local symbol
 * `__BTF_ID__set8__<name>` in `.BTF_ids` at a `struct btf_id_set8`: u32 cnt, u32 flags, then cnt
 * pairs { u32 id, u32 flags }; BTF_ID_FLAGS(func, NAME, KF_...) gives each pair, and
 * resolve_btfids fills the ids in at link time (the BTF ids of the vmlinux's own .BTF). The
 * kernel registers kfunc sets with register_btf_kfunc_id_set(BPF_PROG_TYPE_..., &set) — which
 * program types may call a set is code, not data, and is not in the ELF: only the set's name
 * (`generic_btf_ids`, `bpf_rstat_kfunc_ids`, `key_sig_kfunc_set`, ...) tells the subsystem.
 *
 * Reads only `.symtab`, `.strtab` and `.BTF_ids` by offset through an ElfView. Throws
 * FormatError on a malformed file.
 */
import { FormatError } from '../common/errors';
import { Kind, parseBtf, type Btf } from '../btf';
import type { ElfView } from '../dwarf/elf';
import { findBanner } from '../kernels/source';

export interface KfuncSetEntry {
  /** The set's name (BTF_SET8_START argument). */
  set: string;
  /** The KF_* flags of this entry. */
  flags: number;
}

export interface KfuncSets {
  /** Set name → its BTF ids and their flags. */
  sets: { name: string; setFlags: number; ids: Uint32Array; flags: Uint32Array }[];
  /** Entries for a BTF id (a function can be in several sets, with different flags). */
  byId(id: number): KfuncSetEntry[];
}

const PREFIX = '__BTF_ID__set8__';
/** include/linux/btf_ids.h (6.9+): the set holds kfuncs (BTF_KFUNCS_START). */
export const BTF_SET8_KFUNCS = 1;
const SHT_SYMTAB = 2;
/** A set larger than this is not a kfunc set (the largest in 6.18 holds ~120). */
const MAX_SET = 1 << 16;

export function readKfuncSets(elf: ElfView): KfuncSets {
  const ids = elf.section('.BTF_ids');
  const sets: KfuncSets['sets'] = [];
  const index = new Map<number, KfuncSetEntry[]>();
  const result: KfuncSets = { sets, byId: (id) => index.get(id) ?? [] };
  if (!ids) return result;
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) throw new FormatError(elf.file, 0, 'no .symtab: the vmlinux is stripped (the kfunc sets need the __BTF_ID__set8__ symbols)');
  const strtab = elf.sections[symtab.link];
  if (!strtab) throw new FormatError(elf.file, symtab.offset, `.symtab links to section ${symtab.link}, which does not exist`);
  const ent = elf.is64 ? 24 : 16;
  if (symtab.size % ent !== 0) throw new FormatError(elf.file, symtab.offset, `.symtab size ${symtab.size} is not a multiple of ${ent}`);
  const sym = elf.rawSlice(symtab, 0, symtab.size);
  const str = elf.rawSlice(strtab, 0, strtab.size);
  const dv = new DataView(sym.buffer, sym.byteOffset, sym.byteLength);
  const le = elf.le;
  const pre = new TextEncoder().encode(PREFIX);
  const sec = elf.rawSlice(ids, 0, ids.size);
  const sdv = new DataView(sec.buffer, sec.byteOffset, sec.byteLength);
  const dec = new TextDecoder('latin1');
  for (let o = 0; o < sym.length; o += ent) {
    const nameOff = dv.getUint32(o, le);
    const shndx = dv.getUint16(o + (elf.is64 ? 6 : 14), le);
    if (shndx !== ids.index || nameOff + pre.length >= str.length) continue;
    let k = 0;
    while (k < pre.length && str[nameOff + k] === pre[k]) k++;
    if (k < pre.length) continue;
    let end = nameOff + k;
    while (end < str.length && str[end] !== 0) end++;
    const name = dec.decode(str.subarray(nameOff + pre.length, end));
    const value = elf.is64 ? Number(dv.getBigInt64(o + 8, le)) : dv.getUint32(o + 4, le);
    const at = value - ids.addr;
    const where = ids.offset + at;
    if (!Number.isSafeInteger(at) || at < 0 || at + 8 > ids.size)
      throw new FormatError(elf.file, where, `${PREFIX}${name} points outside .BTF_ids`);
    const cnt = sdv.getUint32(at, le);
    if (cnt > MAX_SET || at + 8 + cnt * 8 > ids.size)
      throw new FormatError(elf.file, where, `${PREFIX}${name}: ${cnt} entries run past the end of .BTF_ids`);
    const setIds = new Uint32Array(cnt);
    const setFlags = new Uint32Array(cnt);
    for (let i = 0; i < cnt; i++) {
      setIds[i] = sdv.getUint32(at + 8 + i * 8, le);
      setFlags[i] = sdv.getUint32(at + 12 + i * 8, le);
      const list = index.get(setIds[i]);
      const e = { set: name, flags: setFlags[i] };
      if (list) list.push(e);
      else index.set(setIds[i], [e]);
    }
    sets.push({ name, setFlags: sdv.getUint32(at + 4, le), ids: setIds, flags: setFlags });
  }
  return result;
}

/** Same bytes: the separate BTF is the ELF's own `.BTF` (one kernel), not another build's. */
export function sameBtf(a: Btf, b: Btf): boolean {
  if (a.bytes.length !== b.bytes.length || a.lastId !== b.lastId) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/**
 * The vmlinux ELF's kfunc facts: its own `.BTF` (the ids resolve_btfids wrote refer to it) and
 * a by-name lookup of the set entries. `btf` is undefined when the ELF has no `.BTF`.
 */
export function readVmlinuxKfuncs(elf: ElfView): {
  btf?: Btf;
  /** The release of the linux_banner in .rodata (flag names follow it). */
  release?: string;
  sets: KfuncSets;
  byName: (name: string) => KfuncSetEntry[] | undefined;
} {
  const sets = readKfuncSets(elf);
  const ro = elf.section('.rodata');
  const release = ro && ro.type !== 8 && ro.size <= 64 << 20 ? findBanner(elf.rawSlice(ro, 0, ro.size))?.banner.release : undefined;
  const s = elf.section('.BTF');
  if (!s) return { sets, release, byName: () => undefined };
  const btf = parseBtf(elf.rawSlice(s, 0, s.size), `${elf.file} (.BTF)`);
  const names = new Map<string, KfuncSetEntry[]>();
  // 6.9+ marks kfunc sets with BTF_SET8_KFUNCS (include/linux/btf_ids.h, bit 0 of the set's
  // flags); a set8 without it (an fmodret set, a plain id set) is no kfunc set. Before 6.9 every
  // set8 of the vmlinux is a kfunc set (or, in net/bpf/test_run.c, an fmodret one).
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  const flagged = m ? Number(m[1]) * 1000 + Number(m[2]) >= 6009 : sets.sets.some((x) => (x.setFlags & BTF_SET8_KFUNCS) !== 0);
  for (const set of sets.sets) {
    if (flagged && (set.setFlags & BTF_SET8_KFUNCS) === 0) continue;
    for (let i = 0; i < set.ids.length; i++) {
      const id = set.ids[i];
      if (id === 0 || !btf.has(id) || btf.kindOf(id) !== Kind.FUNC) continue; // 0: resolve_btfids found no such FUNC
      const n = btf.nameOf(id);
      const e = { set: set.name, flags: set.flags[i] };
      const l = names.get(n);
      if (l) l.push(e);
      else names.set(n, [e]);
    }
  }
  return { btf, sets, release, byName: (n) => names.get(n) };
}
