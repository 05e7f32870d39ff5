/**
 * A built livepatch module (`.ko`): every `.klp.sym...` symbol with its st_shndx,
 * every `.klp.rela...` section (and any section flagged SHF_RELA_LIVEPATCH) with
 * its flags and the symbols its relocations use. Pure (works on a parsed ElfFile).
 */
import { ElfFile, SHN_LIVEPATCH, SHT_REL, SHT_RELA } from '../modules/elf';
import { SHF_RELA_LIVEPATCH } from './sympos';

export interface KoKlpSymbol {
  /** .symtab index. */
  index: number;
  name: string;
  /** Raw st_shndx. */
  shndx: number;
  livepatch: boolean;
  /** Names of the livepatch relocation sections whose entries use this symbol. */
  usedBy: string[];
}

export interface KoKlpRelaSection {
  index: number;
  name: string;
  flags: number;
  type: number;
  /** Has SHF_RELA_LIVEPATCH. */
  marked: boolean;
  /** sh_info: the section the relocations apply to. */
  target: number;
  /** Symbol indices used by the relocations (distinct, in first-use order). */
  symbols: number[];
}

export interface KoKlpScan {
  file: string;
  moduleName: string;
  /** modinfo livepatch=Y. */
  isLivepatch: boolean;
  /** Symbols named `.klp.sym...`, plus any symbol used from a livepatch relocation section or with st_shndx SHN_LIVEPATCH. */
  symbols: KoKlpSymbol[];
  /** Sections named `.klp.rela...` or flagged SHF_RELA_LIVEPATCH. */
  relaSections: KoKlpRelaSection[];
  /** Problems reading relocation entries (truncated section, symbol index out of range). */
  problems: string[];
}

function relocSymbols(elf: ElfFile, secIndex: number, problems: string[]): number[] {
  const sec = elf.sections[secIndex];
  const bytes = elf.sectionBytes(secIndex);
  if (!bytes || (sec.type !== SHT_RELA && sec.type !== SHT_REL)) return [];
  const rela = sec.type === SHT_RELA;
  const entsize = elf.is64 ? (rela ? 24 : 16) : rela ? 12 : 8;
  if (bytes.length % entsize !== 0)
    problems.push(`section ${sec.name}: size ${bytes.length} is not a multiple of the relocation entry size ${entsize}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.littleEndian;
  const seen = new Set<number>();
  const out: number[] = [];
  const nsym = elf.symtab?.count ?? 0;
  for (let off = 0; off + entsize <= bytes.length; off += entsize) {
    const sym = elf.is64 ? Number(dv.getBigUint64(off + 8, le) >> 32n) : dv.getUint32(off + 4, le) >>> 8;
    if (sym >= nsym) {
      problems.push(`section ${sec.name}: relocation at 0x${off.toString(16)} uses symbol ${sym}, beyond the symbol table (${nsym})`);
      continue;
    }
    if (!seen.has(sym)) {
      seen.add(sym);
      out.push(sym);
    }
  }
  return out;
}

export function scanLivepatchKo(elf: ElfFile): KoKlpScan {
  const problems: string[] = [];
  const relaSections: KoKlpRelaSection[] = [];
  for (const s of elf.sections) {
    if (s.index === 0) continue;
    const marked = (s.flags & SHF_RELA_LIVEPATCH) !== 0;
    if (!marked && !s.name.startsWith('.klp.rela.')) continue;
    relaSections.push({
      index: s.index,
      name: s.name,
      flags: s.flags,
      type: s.type,
      marked,
      target: s.info,
      symbols: relocSymbols(elf, s.index, problems),
    });
  }
  const st = elf.symtab;
  const symbols: KoKlpSymbol[] = [];
  if (st) {
    const usedBy = new Map<number, string[]>();
    for (const r of relaSections)
      for (const i of r.symbols) {
        if (i === 0) continue;
        const l = usedBy.get(i);
        if (l) l.push(r.name);
        else usedBy.set(i, [r.name]);
      }
    for (let i = 1; i < st.count; i++) {
      const name = st.name(i);
      const shndx = st.rawShndx[i];
      if (!name.startsWith('.klp.sym') && shndx !== SHN_LIVEPATCH && !usedBy.has(i)) continue;
      symbols.push({ index: i, name, shndx, livepatch: shndx === SHN_LIVEPATCH, usedBy: usedBy.get(i) ?? [] });
    }
  } else {
    problems.push('no symbol table (.symtab)');
  }
  return {
    file: elf.file,
    moduleName: elf.moduleName(),
    isLivepatch: elf.modinfoValue('livepatch') !== undefined,
    symbols,
    relaSections,
    problems,
  };
}
