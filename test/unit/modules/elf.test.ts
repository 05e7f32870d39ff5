import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseElf, ElfFile } from '../../../server/src/core/modules/elf';
import { moduleNameFromPath } from '../../../server/src/core/modules/names';
import { parseModule, ModuleSymbols } from '../../../server/src/core/modules/symtab';
import { FormatError } from '../../../server/src/core/common/errors';
import { writeElf, fakeModuleSignature, ElfSpec } from '../../helpers/elfwriter';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/debian-6.1.0-56-amd64/modules', import.meta.url));
const CRC7 = join(CORPUS, 'lib/crc7.ko');
const BBR = join(CORPUS, 'net/ipv4/tcp_bbr.ko');
const HAVE_CORPUS = existsSync(CRC7) && existsSync(BBR);
if (!HAVE_CORPUS) console.warn(`elf.test: corpus absent (${CORPUS}), skipping corpus-based tests`);
const HAVE_READELF = spawnSync('readelf', ['--version'], { stdio: 'ignore' }).status === 0;

function expectFormatError(fn: () => unknown, offset?: number, reason?: RegExp): FormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a FormatError').toBeInstanceOf(FormatError);
  const fe = err as FormatError;
  expect(fe.file).toBe('bad.ko');
  if (offset !== undefined) expect(fe.offset).toBe(offset);
  if (reason) expect(fe.reason).toMatch(reason);
  return fe;
}

const baseSpec = (is64: boolean, littleEndian: boolean): ElfSpec => ({
  is64,
  littleEndian,
  sections: [
    { name: '.text', flags: 6, data: new Uint8Array(0x40), addralign: 16 },
    { name: '.rodata', flags: 2, data: new Uint8Array(0x10) },
    { name: '.bss', type: 8, flags: 3, size: 0x20 },
    { name: '.gnu.linkonce.this_module', flags: 3, data: new Uint8Array(is64 ? 0x380 : 0x200) },
    { name: '.note.gnu.build-id', type: 7, flags: 2, data: buildIdNote(littleEndian) },
  ],
  modinfo: [
    ['license', 'GPL'],
    ['depends', 'a,b'],
    ['name', 'my_mod'],
    ['vermagic', '6.1.0 SMP mod_unload'],
  ],
  symbols: [
    { name: 'm.c', type: 4, shndx: 0xfff1 },
    { name: 'local_fn', type: 2, shndx: 1, value: 0x10, size: 0x10 },
    { name: 'table', type: 1, shndx: 2, value: 0, size: 0x10 },
    { name: 'counter', type: 1, shndx: 3, value: 8, size: 8 },
    { name: 'exported_fn', bind: 1, type: 2, shndx: 1, value: 0x20, size: 0x20 },
    { name: 'printk', bind: 1, shndx: 0 },
  ],
});

function buildIdNote(le: boolean): Uint8Array {
  const b = new Uint8Array(16 + 20);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 4, le);
  dv.setUint32(4, 20, le);
  dv.setUint32(8, 3, le);
  b.set([0x47, 0x4e, 0x55, 0], 12);
  for (let i = 0; i < 20; i++) b[16 + i] = i * 7;
  return b;
}

describe('ELF32/ELF64, both byte orders', () => {
  for (const is64 of [true, false]) {
    for (const le of [true, false]) {
      const label = `ELF${is64 ? 64 : 32} ${le ? 'LE' : 'BE'}`;
      it(`${label}: sections, symbols, modinfo, build-id, signature trailer`, () => {
        const spec = baseSpec(is64, le);
        spec.trailer = fakeModuleSignature();
        const w = writeElf(spec);
        // put a name into this_module at the struct module name offset
        const tm = w.index['.gnu.linkonce.this_module'];
        const e0 = parseElf(w.bytes, 'x.ko');
        const tmOff = e0.sections[tm].offset + (is64 ? 24 : 12);
        w.bytes.set(new TextEncoder().encode('from_this_module'), tmOff);
        const e = parseElf(w.bytes, 'x.ko');
        expect(e.is64).toBe(is64);
        expect(e.littleEndian).toBe(le);
        expect(e.hasModuleSignature).toBe(true);
        expect(e.elfEnd).toBeLessThan(w.bytes.length);
        expect(e.sectionByName('.text')!.size).toBe(0x40);
        expect(e.sectionBytes('.bss')!.length).toBe(0);
        expect(e.modinfoValue('depends')).toBe('a,b');
        expect(e.modinfo().map(([k]) => k)).toEqual(['license', 'depends', 'name', 'vermagic']);
        expect(e.moduleName()).toBe('from_this_module');
        expect(e.buildId()).toBe(Array.from({ length: 20 }, (_, i) => (i * 7).toString(16).padStart(2, '0')).join(''));
        expect(e.btf()).toBeUndefined();
        const st = e.symtab!;
        expect(st.count).toBe(7);
        expect(st.name(5)).toBe('exported_fn');
        expect(st.value(5)).toBe(0x20);
        expect(st.size(5)).toBe(0x20);
        expect(st.bind(5)).toBe(1);
        expect(st.type(5)).toBe(2);
        expect(st.shndx[6]).toBe(0);
        const m = new ModuleSymbols(e);
        expect(m.symbol(1).sectionIndex).toBe('ABS');
        expect(m.symbol(6).sectionIndex).toBe('UND');
        expect(m.symbol(3).type).toBe('r');
        expect(m.symbol(4).type).toBe('b');
        expect(m.symbol(5).type).toBe('T');
        expect(m.symbol(6).type).toBe('U');
        expect([...m.keptIndices()]).toEqual([0, 2, 3, 4, 5]);
        expect(m.resolveSectionOffset('.text', 0x25)).toMatchObject({ name: 'exported_fn', offset: 5, size: 0x20 });
      });
      it.skipIf(!HAVE_READELF)(`${label}: readelf agrees`, () => {
        const w = writeElf(baseSpec(is64, le));
        const dir = mkdtempSync(join(tmpdir(), 'ksym-elf-'));
        try {
          const f = join(dir, 'x.o');
          writeFileSync(f, w.bytes);
          const lines = execFileSync('readelf', ['-sW', f])
            .toString()
            .split('\n')
            .filter((l) => /^\s*\d+: /.test(l));
          const m = parseModule(w.bytes, f);
          expect(lines.length).toBe(m.count);
          for (let i = 0; i < m.count; i++) {
            const s = m.symbol(i);
            const parts = lines[i].trim().split(/\s+/);
            expect(parseInt(parts[1], 16)).toBe(s.value);
            expect(+parts[2]).toBe(s.size);
            expect(parts[3]).toBe(s.elfType);
            expect(parts[4]).toBe(s.binding);
            expect(parts[6]).toBe(String(s.sectionIndex));
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }

  it('extended section numbering (e_shnum = 0, e_shstrndx = SHN_XINDEX)', () => {
    const w = writeElf(baseSpec(true, true));
    const b = w.bytes.slice();
    const dv = new DataView(b.buffer);
    const shnum = dv.getUint16(60, true);
    const shstrndx = dv.getUint16(62, true);
    dv.setUint16(60, 0, true);
    dv.setUint16(62, 0xffff, true);
    dv.setBigUint64(w.shoff + 32, BigInt(shnum), true);
    dv.setUint32(w.shoff + 40, shstrndx, true);
    const e = parseElf(b, 'x.ko');
    expect(e.shnum).toBe(shnum);
    expect(e.eShnum).toBe(0);
    expect(e.sectionByName('.text')).toBeDefined();
    expect(e.symtab!.name(5)).toBe('exported_fn');
  });

  it('module name fallbacks', () => {
    expect(moduleNameFromPath('/lib/modules/6.1/kernel/arch/x86/kvm/kvm-intel.ko.zst')).toBe('kvm_intel');
    expect(moduleNameFromPath('snd-ctxfi.ko')).toBe('snd_ctxfi');
    const spec = baseSpec(true, true);
    expect(parseElf(writeElf(spec).bytes, 'x.ko').moduleName()).toBe('my_mod'); // this_module name empty → modinfo
    spec.modinfo = [['license', 'GPL']];
    expect(parseElf(writeElf(spec).bytes, '/x/some-mod.ko.xz').moduleName()).toBe('some_mod');
  });
});

describe('malformed ELF → FormatError with file, offset and reason', () => {
  const good = () => writeElf(baseSpec(true, true));

  it('not ELF / tiny / bad class', () => {
    expectFormatError(() => parseElf(new Uint8Array(0), 'bad.ko'), 0);
    expectFormatError(() => parseElf(new TextEncoder().encode('hello world, not an elf file at all'), 'bad.ko'), 0, /magic/);
    const b = good().bytes;
    b[4] = 7;
    expectFormatError(() => parseElf(b, 'bad.ko'), 4, /class/);
  });

  it('truncated header', () => {
    const b = good().bytes.subarray(0, 40);
    expectFormatError(() => parseElf(b, 'bad.ko'), 0, /truncated ELF header/);
  });

  it.skipIf(!HAVE_CORPUS)('truncated real module: section table past the end', () => {
    const full = new Uint8Array(readFileSync(CRC7));
    const e = parseElf(full, CRC7);
    const shoff = e.sections.length ? Number(new DataView(full.buffer, full.byteOffset).getBigUint64(40, true)) : 0;
    const cut = full.subarray(0, shoff + 100);
    expectFormatError(() => parseElf(cut, 'bad.ko'), shoff, /section header table/);
  });

  it('section contents past the end', () => {
    const w = good();
    const dv = new DataView(w.bytes.buffer);
    const h = w.shdrOffset(w.index['.rodata']);
    dv.setBigUint64(h + 32, 0x7fffffffn, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), h + 24, /extend past the end/);
  });

  it('huge e_shnum and huge extended count', () => {
    const w = good();
    const dv = new DataView(w.bytes.buffer);
    dv.setUint16(60, 0xfff0, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), w.shoff, /extends past the end/);
    const w2 = good();
    const dv2 = new DataView(w2.bytes.buffer);
    dv2.setUint16(60, 0, true);
    dv2.setBigUint64(w2.shoff + 32, 0x1fffffffffffn, true);
    expectFormatError(() => parseElf(w2.bytes, 'bad.ko'), w2.shoff);
  });

  it('symtab sh_link out of range / not a string table', () => {
    const w = good();
    const dv = new DataView(w.bytes.buffer);
    const h = w.shdrOffset(w.index['.symtab']);
    dv.setUint32(h + 40, 999, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), h + 40, /sh_link 999/);
    dv.setUint32(h + 40, w.index['.text'], true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), h + 40, /not a string table/);
  });

  it('symbol name offset past the string table', () => {
    const w = good();
    const dv = new DataView(w.bytes.buffer);
    const p = w.symtabOffset + 2 * w.symSize;
    dv.setUint32(p, w.strtabSize + 5, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), p, /past the end of the string table/);
  });

  it('section name offset past the section name table', () => {
    const w = good();
    const dv = new DataView(w.bytes.buffer);
    const h = w.shdrOffset(2);
    dv.setUint32(h, 0xfffff, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), h, /section name table/);
  });

  it('sh_entsize 0, too small, or not dividing the size', () => {
    for (const [ent, re] of [
      [0, /sh_entsize 0/],
      [8, /smaller than the ELF symbol size/],
      [25, /not a multiple/],
    ] as Array<[number, RegExp]>) {
      const w = good();
      const dv = new DataView(w.bytes.buffer);
      const h = w.shdrOffset(w.index['.symtab']);
      dv.setBigUint64(h + 56, BigInt(ent), true);
      const fe = expectFormatError(() => parseElf(w.bytes, 'bad.ko'), undefined, re);
      expect(fe.offset).toBeGreaterThanOrEqual(h);
    }
  });

  it('huge symbol count', () => {
    const w = good();
    const dv = new DataView(w.bytes.buffer);
    const h = w.shdrOffset(w.index['.symtab']);
    dv.setBigUint64(h + 32, 24n * 0x10000000n, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), h + 24, /extend past the end/);
  });

  it('string table without a final NUL', () => {
    const w = good();
    w.bytes[w.strtabOffset + w.strtabSize - 1] = 0x41;
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), w.strtabOffset + w.strtabSize - 1, /NUL/);
  });

  it('e_shstrndx out of range', () => {
    const w = good();
    new DataView(w.bytes.buffer).setUint16(62, 500, true);
    expectFormatError(() => parseElf(w.bytes, 'bad.ko'), 62, /e_shstrndx/);
  });

  it('missing symtab is a FormatError for module tables', () => {
    const w = writeElf({ sections: [{ name: '.text', flags: 6, data: new Uint8Array(4) }] });
    // turn SHT_SYMTAB into PROGBITS
    const dv = new DataView(w.bytes.buffer);
    dv.setUint32(w.shdrOffset(w.index['.symtab']) + 4, 1, true);
    const e = parseElf(w.bytes, 'bad.ko');
    expect(e.symtab).toBeNull();
    expectFormatError(() => new ModuleSymbols(e), 0, /no symbol table/);
  });
});

/** Exercise every accessor a caller might use. */
function touchEverything(e: ElfFile): void {
  e.modinfo();
  e.buildId();
  e.btf();
  e.moduleName();
  for (const s of e.sections) e.sectionBytes(s.index);
  if (!e.symtab) return;
  const m = new ModuleSymbols(e);
  const rows = m.jsonRows();
  JSON.stringify(rows);
  m.keptSymbols();
  m.duplicateNames();
  for (let k = 0; k < Math.min(rows.length, 20); k++) m.findByName(rows[k].name);
  for (const s of e.sections.slice(0, 30)) {
    m.resolveSectionOffset(s.index, 0);
    m.resolveSectionOffset(s.index, Math.floor(s.size / 2));
  }
  const r = m.addressResolver(new Map([[1, 0xffffffffc0000000n]]));
  r(0xffffffffc0000010n);
}

describe('fuzz: mutated real modules only ever throw FormatError', () => {
  it.skipIf(!HAVE_CORPUS)('a few thousand seeded mutations', () => {
    let seed = 0x2545f491;
    const rnd = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 2 ** 32;
    };
    const inputs = [new Uint8Array(readFileSync(CRC7)), new Uint8Array(readFileSync(BBR)), writeElf(baseSpec(false, false)).bytes];
    let ok = 0;
    let formatErrors = 0;
    const N = 4000;
    const started = Date.now();
    for (let n = 0; n < N; n++) {
      const src = inputs[n % inputs.length];
      const b = src.slice();
      const dv = new DataView(b.buffer);
      const kind = Math.floor(rnd() * 6);
      const e = parseElf(src, 'src');
      const hdrs = e.sections;
      if (kind === 0) {
        // random byte flips anywhere
        const k = 1 + Math.floor(rnd() * 8);
        for (let j = 0; j < k; j++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
      } else if (kind === 1) {
        // random 32-bit garbage in the ELF header or a section header
        const shoff = Number(e.is64 ? dv.getBigUint64(40, e.littleEndian) : BigInt(dv.getUint32(32, e.littleEndian)));
        const hdrSize = e.is64 ? 64 : 40;
        const off =
          rnd() < 0.3
            ? Math.floor(rnd() * (e.is64 ? 60 : 48))
            : shoff + Math.floor(rnd() * hdrs.length) * hdrSize + Math.floor(rnd() * (hdrSize - 4));
        dv.setUint32(off, rnd() < 0.5 ? Math.floor(rnd() * 2 ** 32) : Math.floor(rnd() * 64), e.littleEndian);
      } else if (kind === 2) {
        // mutate symbols: names, shndx, info
        const st = e.symtab!;
        const symSize = e.is64 ? 24 : 16;
        const symtabSec = hdrs[st.sectionIndex];
        const i = Math.floor(rnd() * st.count);
        const p = symtabSec.offset + i * symSize + Math.floor(rnd() * (symSize - 4));
        dv.setUint32(p, Math.floor(rnd() * 2 ** 32), e.littleEndian);
      } else if (kind === 3) {
        // truncation
        const cut = b.subarray(0, Math.floor(rnd() * b.length));
        runOne(cut);
        continue;
      } else if (kind === 4) {
        // shndx to special values
        const st = e.symtab!;
        const symSize = e.is64 ? 24 : 16;
        const i = 1 + Math.floor(rnd() * (st.count - 1));
        const p = hdrs[st.sectionIndex].offset + i * symSize + (e.is64 ? 6 : 14);
        const vals = [0, 0xff20, 0xfff1, 0xfff2, 0xffff, 0xff02, 0x1234, hdrs.length, hdrs.length - 1];
        dv.setUint16(p, vals[Math.floor(rnd() * vals.length)], e.littleEndian);
      } else {
        // contents of .modinfo / notes / this_module
        for (const name of ['.modinfo', '.note.gnu.build-id', '.gnu.linkonce.this_module']) {
          const s = e.sectionByName(name);
          if (s && s.size > 0) for (let j = 0; j < 4; j++) b[s.offset + Math.floor(rnd() * s.size)] = Math.floor(rnd() * 256);
        }
      }
      runOne(b);
    }
    function runOne(bytes: Uint8Array): void {
      try {
        touchEverything(parseElf(bytes, 'bad.ko'));
        ok++;
      } catch (err) {
        if (!(err instanceof FormatError)) throw new Error(`non-FormatError escaped: ${String(err)}\n${(err as Error).stack}`);
        expect(err.file).toBe('bad.ko');
        expect(Number.isFinite(err.offset)).toBe(true);
        formatErrors++;
      }
    }
    expect(ok + formatErrors).toBe(N);
    expect(ok).toBeGreaterThan(100);
    expect(formatErrors).toBeGreaterThan(100);
    expect(Date.now() - started).toBeLessThan(55000);
  });
});
