/**
 * A small ELF writer for tests: builds relocatable objects (ELF32/ELF64, either
 * byte order) with arbitrary sections and a .symtab, so tests can make
 * livepatch fixtures and malformed files. Not a general linker.
 */

export interface WSection {
  name: string;
  type?: number; // default SHT_PROGBITS
  flags?: number;
  data?: Uint8Array; // contents (ignored for NOBITS)
  size?: number; // for NOBITS
  link?: number;
  info?: number;
  addralign?: number;
  entsize?: number;
}

export interface WSymbol {
  name: string;
  value?: number;
  size?: number;
  bind?: number; // STB_*
  type?: number; // STT_*
  other?: number;
  /** Section index (numeric; 1-based over `sections` as given) or a reserved value. */
  shndx: number;
}

export interface ElfSpec {
  is64?: boolean;
  littleEndian?: boolean;
  type?: number; // default ET_REL
  machine?: number; // default EM_X86_64 (64) / EM_386 (32)
  sections: WSection[];
  symbols?: WSymbol[];
  /** .modinfo entries appended as a section (key=value). */
  modinfo?: Record<string, string> | Array<[string, string]>;
  /** Bytes appended after the ELF data (e.g. a module signature). */
  trailer?: Uint8Array;
}

export interface ElfLayout {
  bytes: Uint8Array;
  shoff: number;
  shentsize: number;
  /** Index of each named section. */
  index: Record<string, number>;
  /** File offset of each section header. */
  shdrOffset(index: number): number;
  symtabOffset: number;
  symSize: number;
  strtabOffset: number;
  strtabSize: number;
}

const enc = new TextEncoder();

export function encodeModinfo(entries: Record<string, string> | Array<[string, string]>): Uint8Array {
  const list = Array.isArray(entries) ? entries : Object.entries(entries);
  return enc.encode(list.map(([k, v]) => `${k}=${v}\0`).join(''));
}

export function writeElf(spec: ElfSpec): ElfLayout {
  const is64 = spec.is64 ?? true;
  const le = spec.littleEndian ?? true;
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const symSize = is64 ? 24 : 16;

  const secs: WSection[] = [...spec.sections];
  if (spec.modinfo) secs.push({ name: '.modinfo', flags: 2, data: encodeModinfo(spec.modinfo) });
  const symtabIdx = secs.length + 1;
  const strtabIdx = symtabIdx + 1;
  const shstrIdx = strtabIdx + 1;

  // string tables
  const strParts: number[] = [0];
  const strOff = (s: string): number => {
    if (s === '') return 0;
    const off = strParts.length;
    for (const b of enc.encode(s)) strParts.push(b);
    strParts.push(0);
    return off;
  };
  const syms = [{ name: '', shndx: 0 } as WSymbol, ...(spec.symbols ?? [])];
  const symNameOffs = syms.map((s) => strOff(s.name));
  const strtab = Uint8Array.from(strParts);

  const shParts: number[] = [0];
  const shOff = (s: string): number => {
    const off = shParts.length;
    for (const b of enc.encode(s)) shParts.push(b);
    shParts.push(0);
    return off;
  };
  const allSecs: WSection[] = [
    ...secs,
    {
      name: '.symtab',
      type: 2,
      link: strtabIdx,
      info:
        syms.findIndex((s, i) => i > 0 && (s.bind ?? 0) !== 0) === -1
          ? syms.length
          : syms.findIndex((s, i) => i > 0 && (s.bind ?? 0) !== 0),
      entsize: symSize,
      addralign: 8,
    },
    { name: '.strtab', type: 3, data: strtab },
    { name: '.shstrtab', type: 3 },
  ];
  const nameOffs = allSecs.map((s) => shOff(s.name));
  const shstr = Uint8Array.from(shParts);
  allSecs[allSecs.length - 1].data = shstr;

  // symtab bytes
  const symtab = new Uint8Array(syms.length * symSize);
  const sdv = new DataView(symtab.buffer);
  syms.forEach((s, i) => {
    const p = i * symSize;
    const info = (((s.bind ?? 0) & 0xf) << 4) | ((s.type ?? 0) & 0xf);
    if (is64) {
      sdv.setUint32(p, symNameOffs[i], le);
      sdv.setUint8(p + 4, info);
      sdv.setUint8(p + 5, s.other ?? 0);
      sdv.setUint16(p + 6, s.shndx, le);
      sdv.setBigUint64(p + 8, BigInt(s.value ?? 0), le);
      sdv.setBigUint64(p + 16, BigInt(s.size ?? 0), le);
    } else {
      sdv.setUint32(p, symNameOffs[i], le);
      sdv.setUint32(p + 4, s.value ?? 0, le);
      sdv.setUint32(p + 8, s.size ?? 0, le);
      sdv.setUint8(p + 12, info);
      sdv.setUint8(p + 13, s.other ?? 0);
      sdv.setUint16(p + 14, s.shndx, le);
    }
  });
  allSecs[symtabIdx - 1].data = symtab;

  // layout
  let off = ehsize;
  const offsets: number[] = [0];
  for (const s of allSecs) {
    const align = Math.max(1, s.addralign ?? 1);
    off = Math.ceil(off / align) * align;
    offsets.push(off);
    if ((s.type ?? 1) !== 8) off += s.data?.length ?? 0;
  }
  off = Math.ceil(off / 8) * 8;
  const shoff = off;
  const shnum = allSecs.length + 1;
  const total = shoff + shnum * shentsize + (spec.trailer?.length ?? 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);

  // header
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  dv.setUint16(16, spec.type ?? 1, le);
  dv.setUint16(18, spec.machine ?? (is64 ? 62 : 3), le);
  dv.setUint32(20, 1, le);
  if (is64) {
    dv.setBigUint64(40, BigInt(shoff), le);
    dv.setUint16(52, ehsize, le);
    dv.setUint16(58, shentsize, le);
    dv.setUint16(60, shnum, le);
    dv.setUint16(62, shstrIdx, le);
  } else {
    dv.setUint32(32, shoff, le);
    dv.setUint16(40, ehsize, le);
    dv.setUint16(46, shentsize, le);
    dv.setUint16(48, shnum, le);
    dv.setUint16(50, shstrIdx, le);
  }
  // contents and headers
  allSecs.forEach((s, k) => {
    const i = k + 1;
    const type = s.type ?? 1;
    if (type !== 8 && s.data) out.set(s.data, offsets[i]);
    const h = shoff + i * shentsize;
    const size = type === 8 ? (s.size ?? 0) : (s.data?.length ?? 0);
    if (is64) {
      dv.setUint32(h, nameOffs[k], le);
      dv.setUint32(h + 4, type, le);
      dv.setBigUint64(h + 8, BigInt(s.flags ?? 0), le);
      dv.setBigUint64(h + 24, BigInt(offsets[i]), le);
      dv.setBigUint64(h + 32, BigInt(size), le);
      dv.setUint32(h + 40, s.link ?? 0, le);
      dv.setUint32(h + 44, s.info ?? 0, le);
      dv.setBigUint64(h + 48, BigInt(s.addralign ?? 1), le);
      dv.setBigUint64(h + 56, BigInt(s.entsize ?? 0), le);
    } else {
      dv.setUint32(h, nameOffs[k], le);
      dv.setUint32(h + 4, type, le);
      dv.setUint32(h + 8, s.flags ?? 0, le);
      dv.setUint32(h + 16, offsets[i], le);
      dv.setUint32(h + 20, size, le);
      dv.setUint32(h + 24, s.link ?? 0, le);
      dv.setUint32(h + 28, s.info ?? 0, le);
      dv.setUint32(h + 32, s.addralign ?? 1, le);
      dv.setUint32(h + 36, s.entsize ?? 0, le);
    }
  });
  if (spec.trailer) out.set(spec.trailer, shoff + shnum * shentsize);

  const index: Record<string, number> = {};
  allSecs.forEach((s, k) => {
    if (!(s.name in index)) index[s.name] = k + 1;
  });
  return {
    bytes: out,
    shoff,
    shentsize,
    index,
    shdrOffset: (i) => shoff + i * shentsize,
    symtabOffset: offsets[symtabIdx],
    symSize,
    strtabOffset: offsets[strtabIdx],
    strtabSize: strtab.length,
  };
}

/** A module signature trailer as appended by scripts/sign-file (content is fake). */
export function fakeModuleSignature(): Uint8Array {
  const body = new Uint8Array(64).fill(0xab);
  const info = new Uint8Array(12); // struct module_signature
  info[11] = 64; // sig_len (big endian u32 at offset 8) low byte
  return Uint8Array.from([...body, ...info, ...enc.encode('~Module signature appended~\n')]);
}
