/**
 * A kernel's symbols from the raw `.symtab` + `.strtab` section bytes a debuginfod server
 * answers (core/kernels/symtabSection.ts). Oracles: `readelf -SW` (where the sections are),
 * `readelf -sW` (names, values, sizes of every entry) and the System.map of the same
 * Debian kernel (which symbols a kernel lists, their order, their type letters), on the real
 * -dbg vmlinux npm run fetch-data put in .cache/kernel-data; built fixtures for the rules and the refusals.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../../server/src/core/common/errors';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { checkFrames, elfLayoutOf, parseSymtabSections, symtabIndex } from '../../../server/src/core/kernels/symtabSection';
import { have, ROOT } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { sectionBytes, sections, type Sym } from './sections';

const parse = (p: { symtab: Uint8Array; strtab: Uint8Array }, o: { elfClass?: 32 | 64; bigEndian?: boolean } = {}) =>
  Buffer.from(parseSymtabSections({ ...p, symtabName: 'S', strtabName: 'T', ...o }).text).toString('latin1');

const LOCAL = 0;
const GLOBAL = 1;
const WEAK = 2;
const NOTYPE = 0;
const OBJECT = 1;
const FUNC = 2;
const SECTION = 3;
const FILE = 4;

describe('.symtab + .strtab section bytes: built fixtures', () => {
  const T = 0xffffffff81000000n;
  const base: Sym[] = [
    { name: '', value: T, type: SECTION, bind: LOCAL, shndx: 1 },
    { name: 'init/main.c', value: 0n, type: FILE, bind: LOCAL, shndx: 0xfff1 },
    { name: 'helper', value: T + 0x100n, type: FUNC, bind: LOCAL, shndx: 1 },
    { name: '.Ltmp0', value: T + 0x104n, type: NOTYPE, bind: LOCAL, shndx: 1 },
    { name: 'asm_label', value: T + 0x180n, type: NOTYPE, bind: LOCAL, shndx: 1 },
    { name: 'local_data', value: 0xffffffff82000010n, type: OBJECT, bind: LOCAL, shndx: 2 },
    { name: 'abs_local', value: 0x1ean, type: NOTYPE, bind: LOCAL, shndx: 0xfff1 },
    { name: 'bss_local', value: 0xffffffff83000010n, type: OBJECT, bind: LOCAL, shndx: 3 },
    { name: '_stext', value: T, type: NOTYPE, bind: GLOBAL, shndx: 1 },
    { name: '_text', value: T, type: NOTYPE, bind: GLOBAL, shndx: 1 },
    { name: 'start_kernel', value: T + 0x200n, type: FUNC, bind: GLOBAL, shndx: 1 },
    { name: 'weak_fn', value: T + 0x300n, type: FUNC, bind: WEAK, shndx: 1 },
    { name: 'weak_obj', value: 0xffffffff82000020n, type: OBJECT, bind: WEAK, shndx: 2 },
    { name: '_etext', value: T + 0x400n, type: NOTYPE, bind: GLOBAL, shndx: 1 },
    { name: 'kexec_size', value: 0x1ean, type: NOTYPE, bind: GLOBAL, shndx: 0xfff1 },
    { name: 'printk', value: 0n, type: FUNC, bind: GLOBAL, shndx: 0 },
    { name: '__crc_printk', value: 0x1234n, type: NOTYPE, bind: GLOBAL, shndx: 0xfff1 },
    { name: '__kstrtab_printk', value: 0xffffffff82000100n, type: OBJECT, bind: GLOBAL, shndx: 2 },
    { name: '$x', value: T, type: NOTYPE, bind: GLOBAL, shndx: 1 },
    { name: 'global_data', value: 0xffffffff82000000n, type: OBJECT, bind: GLOBAL, shndx: 2 },
    { name: '__bss_start', value: 0xffffffff83000000n, type: NOTYPE, bind: GLOBAL, shndx: 3 },
    { name: '__bss_stop', value: 0xffffffff83001000n, type: NOTYPE, bind: GLOBAL, shndx: 3 },
  ];
  it('keeps what mksysmap keeps, nm -n order (ties by name), nm type letters where the bytes say them', () => {
    expect(parse(sections(base)).split('\n')).toEqual([
      '00000000000001ea A kexec_size',
      'ffffffff81000000 T _stext',
      'ffffffff81000000 T _text',
      'ffffffff81000100 t helper',
      'ffffffff81000180 t asm_label',
      'ffffffff81000200 T start_kernel',
      'ffffffff81000300 W weak_fn',
      'ffffffff81000400 T _etext',
      'ffffffff82000000 D global_data',
      'ffffffff82000010 d local_data',
      'ffffffff82000020 V weak_obj',
      'ffffffff83000000 B __bss_start',
      'ffffffff83000010 b bss_local',
      'ffffffff83001000 B __bss_stop',
      '',
    ]);
  });
  it('ELF32 and big-endian entries', () => {
    const syms: Sym[] = [
      { name: 'start_kernel', value: 0xc0008000n, type: FUNC, bind: GLOBAL },
      { name: 'x', value: 0xc0100000n, type: OBJECT, bind: GLOBAL, shndx: 2 },
    ];
    const want = 'c0008000 T start_kernel\nc0100000 D x\n';
    expect(parse(sections(syms, { elfClass: 32 }), { elfClass: 32 })).toBe(want);
    expect(parse(sections(syms, { elfClass: 32, bigEndian: true }), { elfClass: 32, bigEndian: true })).toBe(want);
    expect(parse(sections(syms, { bigEndian: true }), { bigEndian: true })).toBe('00000000c0008000 T start_kernel\n00000000c0100000 D x\n');
    expect(elfLayoutOf('arm32')).toEqual({ elfClass: 32, bigEndian: false });
    expect(elfLayoutOf('s390')).toEqual({ elfClass: 64, bigEndian: true });
    expect(elfLayoutOf('x86_64')).toEqual({ elfClass: 64, bigEndian: false });
  });
  it('names of KSYM_NAME_LEN (512) bytes or more are dropped, as kallsyms does', () => {
    const r = parseSymtabSections({
      ...sections([
        { name: 'a'.repeat(600), value: 0x1000n },
        { name: 'ok', value: 0x2000n },
      ]),
      symtabName: 'S',
      strtabName: 'T',
    });
    expect(Buffer.from(r.text).toString()).toBe('0000000000002000 T ok\n');
    expect(r.report).toEqual({ entries: 3, symbols: 1, longNames: 1 });
  });

  const refused = (p: { symtab: Uint8Array; strtab: Uint8Array }, re: RegExp, where: 'S' | 'T', offset: number, maxBytes?: number) => {
    let err: unknown;
    try {
      parseSymtabSections({ ...p, symtabName: 'S', strtabName: 'T', maxBytes });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    const f = err as FormatError;
    expect(f.reason).toMatch(re);
    expect(f.file).toBe(where);
    expect(f.offset).toBe(offset);
    expect(f.message).toMatch(new RegExp(`^${where}: offset 0x${offset.toString(16)}: `));
  };
  const good = () =>
    sections([
      { name: 'f', value: 0x1000n },
      { name: 'g', value: 0x2000n },
    ]);
  it('refuses, naming the section, the offset and the reason: truncated, misaligned, not a symbol table', () => {
    const g = good();
    refused({ ...g, symtab: g.symtab.subarray(0, 70) }, /70 bytes is not a multiple of 24 \(Elf64_Sym\)/, 'S', 48);
    refused({ ...g, symtab: g.symtab.subarray(0, 20) }, /too short/, 'S', 0);
    const notZero = Uint8Array.from(g.symtab);
    notZero[3] = 1;
    refused({ ...g, symtab: notZero }, /entry 0 \(STN_UNDEF\) is not all zero/, 'S', 3);
    refused({ ...g, strtab: Uint8Array.from([0x66, 0, 0x67, 0]) }, /does not start with a NUL/, 'T', 0);
    refused({ ...g, strtab: new Uint8Array(0) }, /empty/, 'T', 0);
    // An HTML error page instead of the section.
    const html = new TextEncoder().encode('<html><body>404 Not Found</body></html>'.padEnd(48, ' '));
    refused({ ...g, symtab: html }, /entry 0 \(STN_UNDEF\) is not all zero/, 'S', 0);
  });
  it('refuses st_name out of range, an unterminated name, a control byte in a name, a local after a global, huge sizes', () => {
    const g = good();
    const far = Uint8Array.from(g.symtab);
    new DataView(far.buffer).setUint32(48, 0xfffffff0, true);
    refused({ ...g, symtab: far }, /symbol 2: st_name 0xfffffff0 is past the end of .strtab \(5 bytes\)/, 'S', 48);
    refused({ ...g, strtab: Uint8Array.from([0, 0x66, 0, 0x67, 0x67]) }, /symbol 2 .*is not NUL-terminated/, 'T', 3);
    refused({ ...g, strtab: Uint8Array.from([0, 0x66, 0, 0x0a, 0]) }, /symbol 2 .*has byte 0x0a/, 'T', 3);
    const order = sections([
      { name: 'f', value: 0x1000n, bind: GLOBAL },
      { name: 'g', value: 0x2000n, bind: LOCAL },
    ]);
    refused(order, /symbol 2 is local after the first global symbol \(1\)/, 'S', 48);
    refused(g, /\.symtab is 72 bytes, more than the 64 accepted/, 'S', 0, 64);
  });
  it('symtabIndex: an index that resolves like the System.map it equals; no kept symbol is an error', () => {
    const { index } = symtabIndex({ ...sections(base), symtabName: 'S', strtabName: 'T' }, 'debuginfod:x/section/.symtab');
    expect(index.resolve(0xffffffff81000210n)?.text).toBe('start_kernel+0x10/0x100');
    expect(() => symtabIndex({ ...sections([{ name: 'u', value: 0n, shndx: 0 }]), symtabName: 'S', strtabName: 'T' }, 'L')).toThrow(
      /no symbol a kernel would list/,
    );
  });
  it("checkFrames: the log's frames against the index (the printed size is the distance to the next symbol)", () => {
    const { index } = symtabIndex({ ...sections(base), symtabName: 'S', strtabName: 'T' }, 'L');
    const ok = checkFrames(index, 'RIP: 0010:start_kernel+0x10/0x100\n bpf_prog_abc_x+0x4/0x20\n mod_fn+0x1/0x10 [ext4]\n');
    expect(ok).toEqual({ checked: 1, absent: 1 });
    const bad = checkFrames(index, ' start_kernel+0x10/0x180\n');
    expect(bad.mismatch).toBe("the log's start_kernel+0x10/0x180 is not in it (start_kernel is 0x100 there)");
  });
});

// The kernel `npm run fetch-data` fetched (whichever ABI Debian's archive serves today).
const kd = kernelData();
const VML = kd?.vmlinux ?? join(ROOT, '.cache/kernel-data/absent/vmlinux');
const MAP = kd?.systemMap ?? join(ROOT, '.cache/kernel-data/absent/System.map');
const haveReal = have(VML, 'the fetched Debian -dbg vmlinux (npm run fetch-data)') && have(MAP, 'the fetched System.map');

describe.skipIf(!haveReal)(`.symtab + .strtab of the real Debian ${kd?.abi ?? ''} vmlinux`, () => {
  const symtab = haveReal ? sectionBytes(VML, '.symtab') : new Uint8Array();
  const strtab = haveReal ? sectionBytes(VML, '.strtab') : new Uint8Array();
  const text = haveReal
    ? Buffer.from(parseSymtabSections({ symtab, strtab, symtabName: 'S', strtabName: 'T' }).text).toString('latin1')
    : '';
  const lines = text.split('\n').filter(Boolean);
  const map = haveReal ? readFileSync(MAP, 'latin1').split('\n').filter(Boolean) : [];

  it('every kept symbol is a readelf -sW entry with that name and value', () => {
    const out = execFileSync('readelf', ['-sW', VML], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const byName = new Map<string, Set<bigint>>();
    let entries = 0;
    for (const l of out.split('\n')) {
      const m = /^\s*\d+: ([0-9a-f]{16})\s+\S+ \S+\s+\S+\s+\S+\s+\S+ ?(.*)$/.exec(l);
      if (!m) continue;
      entries++;
      const s = byName.get(m[2]) ?? new Set();
      s.add(BigInt('0x' + m[1]));
      byName.set(m[2], s);
    }
    expect(entries).toBe(symtab.length / 24);
    for (const l of lines) {
      const [a, , name] = l.split(' ');
      expect(byName.get(name)?.has(BigInt('0x' + a)), l).toBe(true);
    }
  });
  it('the same symbols, addresses and order as the System.map; type letters equal but where section headers are needed', () => {
    expect(lines.length).toBe(map.length);
    const letters = new Map<string, number>();
    const other: string[] = [];
    for (let k = 0; k < map.length; k++) {
      const [a, t, n] = lines[k].split(' ');
      const [ma, mt, mn] = map[k].split(' ');
      expect(`${a} ${n}`).toBe(`${ma} ${mn}`);
      if (t === mt) continue;
      const key = `${t}${mt}`;
      letters.set(key, (letters.get(key) ?? 0) + 1);
      if (key !== 'dr' && key !== 'DR') other.push(`${mn} ${t}/${mt}`);
    }
    // r against d needs sh_flags (SHF_WRITE); NOBITS sections outside the bss markers (.orc_lookup, .brk) need sh_type.
    expect(
      other.every((o) => /^(orc_lookup|orc_lookup_end|__brk_\w+|_end) [dD]\/[bB]$/.test(o)),
      other.join('\n'),
    ).toBe(true);
    expect([...letters.keys()].sort()).toEqual(['DB', 'DR', 'dr', 'db'].filter((k) => letters.has(k)).sort());
  });
  it('sizes: every 97th text symbol resolves as through the System.map, its size the distance to the next address there', () => {
    const { index } = symtabIndex({ symtab, strtab, symtabName: 'S', strtabName: 'T' }, 'L');
    const mapText = readFileSync(MAP);
    const fromMap = buildIndex([
      { file: MAP, bytes: new Uint8Array(mapText.buffer, mapText.byteOffset, mapText.length), kind: 'system.map' },
    ]);
    expect(index.count).toBe(map.length);
    let n = 0;
    for (let k = 0; k < map.length - 1; k += 97) {
      const [a, t] = map[k].split(' ');
      if (t !== 't' && t !== 'T') continue;
      const at = BigInt('0x' + a);
      let j = k + 1;
      while (j < map.length && map[j].startsWith(a)) j++;
      const dist = BigInt('0x' + map[j].split(' ')[0]) - at;
      const r = index.resolve(at + 1n);
      expect(r?.text, map[k]).toBe(fromMap.resolve(at + 1n)?.text);
      expect(BigInt(r!.sym.size!), map[k]).toBe(dist);
      n++;
    }
    expect(n).toBeGreaterThan(400);
  });
});
