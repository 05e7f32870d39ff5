import { readelfSymbols } from '../../helpers/readelf';
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseModule, ModuleSymbols } from '../../../server/src/core/modules/symtab';
import { parseElf } from '../../../server/src/core/modules/elf';
import { decompressModule, detectCompression } from '../../../server/src/core/modules/decompress';
import { readModuleBytes } from '../../../server/src/core/modules/read';
import { FormatError } from '../../../server/src/core/common/errors';
import { writeElf } from '../../helpers/elfwriter';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/debian-6.1.0-56-amd64/modules', import.meta.url));
const HAVE_CORPUS = existsSync(CORPUS);
const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const HAVE_BINUTILS = has('readelf') && has('nm');

function findModules(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findModules(p));
    else if (/\.ko$/.test(e)) out.push(p);
  }
  return out.sort();
}
const MODULES = findModules(CORPUS);
const mod = (rel: string) => join(CORPUS, rel);
const load = (p: string, opts?: Parameters<typeof parseModule>[2]) => parseModule(new Uint8Array(readFileSync(p)), p, opts);

/** nm -p -a: symtab order, including section and file symbols; index 0 omitted. */
function nmLetters(path: string): Array<{ letter: string; name: string }> {
  const text = execFileSync('nm', ['-p', '-a', path], { maxBuffer: 1 << 28 }).toString();
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => ({ letter: l.charAt(17), name: l.slice(19) }));
}

const SKIP_CORPUS = !HAVE_CORPUS ? 'corpus absent: ' + CORPUS : '';
if (SKIP_CORPUS) console.warn(`module.test: skipping corpus tests (${SKIP_CORPUS})`);
if (!HAVE_BINUTILS) console.warn('module.test: readelf/nm missing, skipping oracle comparisons');

describe('module symbol tables vs readelf -sW and nm on the corpus', () => {
  it.skipIf(!HAVE_CORPUS)('finds the corpus modules', () => {
    expect(MODULES.length).toBeGreaterThanOrEqual(15);
  });
  for (const path of MODULES) {
    const rel = path.slice(CORPUS.length + 1);
    it.skipIf(!HAVE_BINUTILS)(`${rel}: every symbol matches readelf and nm`, () => {
      const m = load(path);
      const re = readelfSymbols(path);
      expect(m.count).toBe(re.length);
      const nm = nmLetters(path);
      expect(nm.length).toBe(m.count - 1);
      const rows = m.jsonRows();
      for (let i = 0; i < m.count; i++) {
        const r = re[i];
        const row = rows[i];
        expect(r.num).toBe(i);
        const label = `${rel} #${i} ${r.name}`;
        // readelf shows the section name for unnamed section symbols.
        const expectedName = r.type === 'SECTION' && row.name === '' ? row.section : row.name;
        expect(r.name, label).toBe(expectedName);
        expect(row.value, label).toBe(r.value);
        expect(row.size, label).toBe(r.size);
        expect(row.binding, label).toBe(r.bind);
        expect(m.symbol(i).elfType, label).toBe(r.type);
        expect(String(row.sectionIndex), label).toBe(r.ndx);
        if (i > 0) expect(row.type, label).toBe(nm[i - 1].letter);
      }
    });
  }
});

describe('kernel kept set (layout_symtab / is_core_symbol)', () => {
  it.skipIf(!HAVE_CORPUS)('follows the rules on every corpus module', () => {
    let initDropped = 0;
    let modinfoDropped = 0;
    for (const path of MODULES) {
      const m = load(path);
      const secs = m.elf.sections;
      expect(m.isKept(0)).toBe(true);
      for (let i = 1; i < m.count; i++) {
        const s = m.symbol(i);
        if (!s.kept) continue;
        expect(['UND', 'ABS', 'COM']).not.toContain(s.sectionIndex);
        expect(s.name).not.toBe('');
        expect(s.section.startsWith('.init')).toBe(false);
        expect(['.modinfo', '__versions']).not.toContain(s.section);
        expect(secs[s.shndx].flags & 2).toBe(2);
      }
      for (let i = 1; i < m.count; i++) {
        const sec = m.sectionName(i);
        const named = m.symbolName(i) !== '';
        if (named && sec.startsWith('.init') && !m.isKept(i)) initDropped++;
        if (named && sec === '.modinfo') {
          modinfoDropped++;
          expect(m.isKept(i)).toBe(false);
        }
        // Everything else that is defined, named and allocated is kept (KALLSYMS_ALL).
        const sh = m.shndx(i);
        if (
          named &&
          sh > 0 &&
          sh < secs.length &&
          secs[sh].flags & 2 &&
          !sec.startsWith('.init') &&
          sec !== '.modinfo' &&
          sec !== '__versions' &&
          sec !== '.data..percpu'
        ) {
          expect(m.isKept(i), `${path} #${i}`).toBe(true);
        }
      }
      // Section and file symbols never survive.
      for (let i = 1; i < m.count; i++) {
        const t = m.symbol(i).elfType;
        if (t === 'SECTION' || t === 'FILE') expect(m.isKept(i)).toBe(false);
      }
    }
    expect(initDropped).toBeGreaterThan(50);
    expect(modinfoDropped).toBeGreaterThan(50);
  });

  it.skipIf(!HAVE_CORPUS)('drbd.ko: exact kept counts', () => {
    const m = load(mod('drivers/block/drbd/drbd.ko'));
    const re = readelfSymbols(mod('drivers/block/drbd/drbd.ko'));
    const initSyms = re.filter((r) => r.ndx === '8' || r.ndx === '50').filter((r) => r.type !== 'SECTION');
    expect(initSyms.length).toBeGreaterThan(0);
    for (const r of initSyms) expect(m.isKept(r.num)).toBe(false);
    // Everything named + defined in an alloc section except init / modinfo / versions.
    expect(m.keptSymbols()[0].index).toBe(0);
    expect(m.keptIndices().length).toBe(m.keptCount);
    const withoutAll = load(mod('drivers/block/drbd/drbd.ko'), { kallsymsAll: false });
    for (let i = 1; i < withoutAll.count; i++) {
      if (withoutAll.isKept(i)) expect(withoutAll.elf.sections[withoutAll.shndx(i)].flags & 4).toBe(4);
    }
    expect(withoutAll.keptCount).toBeLessThan(m.keptCount);
    expect(withoutAll.isKept(withoutAll.findByName('put_ldev', 'init')[0].index)).toBe(true);
  });

  it.skipIf(!HAVE_CORPUS)('kvm-intel.ko: .data..percpu symbols kept only with KALLSYMS_ALL, kernel type a', () => {
    const p = mod('arch/x86/kvm/kvm-intel.ko');
    const all = load(p);
    const none = load(p, { kallsymsAll: false });
    const sec = all.elf.sectionByName('.data..percpu')!.index;
    const named = all.findByName('vmxarea', 'init').map((h) => h.index);
    expect(named.length).toBe(1);
    expect(all.shndx(named[0])).toBe(sec);
    expect(all.isKept(named[0])).toBe(true);
    expect(none.isKept(named[0])).toBe(false);
    expect(all.kernelType(named[0])).toBe('a');
    expect(all.nmType(named[0])).toBe('d');
  });

  it('a livepatch module keeps every symbol, SHN_LIVEPATCH and ABS included', () => {
    const w = writeElf({
      sections: [
        { name: '.text', flags: 6, data: new Uint8Array(64), addralign: 16 },
        { name: '.init.text', flags: 6, data: new Uint8Array(16) },
        { name: '.data', flags: 3, data: new Uint8Array(16) },
      ],
      modinfo: { name: 'livepatch_x', livepatch: 'Y' },
      symbols: [
        { name: 'lp.c', type: 4, shndx: 0xfff1 },
        { name: 'helper', type: 2, shndx: 1, value: 0, size: 32 },
        { name: 'init_fn', type: 2, shndx: 2, value: 0, size: 16 },
        { name: '.klp.sym.vmlinux.printk,0', bind: 1, shndx: 0xff20 },
        { name: 'patched_fn', bind: 1, type: 2, shndx: 1, value: 32, size: 32 },
        { name: 'undef_fn', bind: 1, shndx: 0 },
      ],
    });
    const m = parseModule(w.bytes, 'livepatch-x.ko');
    expect(m.isLivepatch).toBe(true);
    expect(m.keptCount).toBe(m.count);
    expect(m.name).toBe('livepatch_x');
    expect(m.symbol(4).sectionIndex).toBe('OS [0xff20]');
    // Same bytes without livepatch=: only the regular rules.
    const w2 = writeElf({
      sections: [
        { name: '.text', flags: 6, data: new Uint8Array(64), addralign: 16 },
        { name: '.init.text', flags: 6, data: new Uint8Array(16) },
      ],
      modinfo: { name: 'plain' },
      symbols: [
        { name: 'lp.c', type: 4, shndx: 0xfff1 },
        { name: 'helper', type: 2, shndx: 1, value: 0, size: 32 },
        { name: 'init_fn', type: 2, shndx: 2, value: 0, size: 16 },
        { name: '.klp.sym.vmlinux.printk,0', bind: 1, shndx: 0xff20 },
      ],
    });
    const p = parseModule(w2.bytes, 'plain.ko');
    expect([...p.keptIndices()]).toEqual([0, 2]);
  });

  it.skipIf(!HAVE_BINUTILS)('fixture letters for special sections match readelf and nm', () => {
    const w = writeElf({
      sections: [
        { name: '.text', flags: 6, data: new Uint8Array(64) },
        { name: '.rodata', flags: 2, data: new Uint8Array(16) },
        { name: '.data', flags: 3, data: new Uint8Array(16) },
        { name: '.bss', type: 8, flags: 3, size: 16 },
        { name: '.comment', flags: 0x30, data: new Uint8Array([0x41, 0]) },
        { name: '.debug_info', data: new Uint8Array(8) },
        { name: '.wnoalloc', flags: 1, data: new Uint8Array(8) },
      ],
      symbols: [
        { name: 'f.c', type: 4, shndx: 0xfff1 },
        { name: 't_local', type: 2, shndx: 1 },
        { name: 'r_local', type: 1, shndx: 2 },
        { name: 'd_local', type: 1, shndx: 3 },
        { name: 'b_local', type: 1, shndx: 4 },
        { name: 'n_local', shndx: 5 },
        { name: 'N_local', shndx: 6 },
        { name: 'q_local', shndx: 7 },
        { name: 'abs_local', shndx: 0xfff1, value: 0x1234 },
        { name: 'lp_sym', shndx: 0xff20 },
        { name: 'T_glob', bind: 1, type: 2, shndx: 1 },
        { name: 'D_glob', bind: 1, type: 1, shndx: 3 },
        { name: 'A_glob', bind: 1, shndx: 0xfff1 },
        { name: 'C_glob', bind: 1, type: 1, shndx: 0xfff2, size: 8, value: 8 },
        { name: 'W_weak', bind: 2, type: 2, shndx: 1 },
        { name: 'V_weak', bind: 2, type: 1, shndx: 3 },
        { name: 'w_weak', bind: 2, shndx: 0 },
        { name: 'v_weak', bind: 2, type: 1, shndx: 0 },
        { name: 'U_undef', bind: 1, shndx: 0 },
        { name: 'i_ifunc', bind: 1, type: 10, shndx: 1 },
        { name: 'u_unique', bind: 10, type: 1, shndx: 3 },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'ksym-elf-'));
    try {
      const f = join(dir, 'fixture.o');
      writeFileSync(f, w.bytes);
      const m = parseModule(w.bytes, f);
      const nm = nmLetters(f);
      expect(nm.length).toBe(m.count - 1);
      const lines = execFileSync('readelf', ['-sW', f])
        .toString()
        .split('\n')
        .filter((l) => /^\s*\d+: /.test(l));
      expect(lines.length).toBe(m.count);
      for (let i = 1; i < m.count; i++) {
        expect(m.nmType(i), m.symbolName(i)).toBe(nm[i - 1].letter);
        const s = m.symbol(i);
        const tail = lines[i]
          .replace(/^\s*\d+: [0-9a-f]+\s+\S+\s+/, '')
          .replace(/\s+/g, ' ')
          .trim();
        expect(tail).toBe(`${s.elfType} ${s.binding} DEFAULT ${s.sectionIndex} ${s.name}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('known duplicate names (livepatch positions)', () => {
  it.skipIf(!HAVE_CORPUS)('drbd.ko put_ldev x10', () => {
    const m = load(mod('drivers/block/drbd/drbd.ko'));
    const hits = m.findByName('put_ldev');
    expect(hits.length).toBe(10);
    expect(hits.map((h) => h.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (let k = 1; k < hits.length; k++) expect(hits[k].index).toBeGreaterThan(hits[k - 1].index);
    for (const h of hits) expect(m.symbolName(h.index)).toBe('put_ldev');
    expect(m.findByName('put_ldev', 'init').length).toBe(10);
    expect(m.findByName('no_such_symbol_xyz')).toEqual([]);
  });
  it.skipIf(!HAVE_CORPUS)('f2fs.ko f2fs_put_page.constprop.0 x10', () => {
    const m = load(mod('fs/f2fs/f2fs.ko'));
    expect(m.findByName('f2fs_put_page.constprop.0').length).toBe(10);
    expect(m.findByName('f2fs_put_page').length).toBeGreaterThanOrEqual(0);
  });
  it.skipIf(!HAVE_CORPUS)('dell-wmi-sysman.ko type_show x3, module name dell_wmi_sysman', () => {
    const m = load(mod('drivers/platform/x86/dell/dell-wmi-sysman/dell-wmi-sysman.ko'));
    expect(m.name).toBe('dell_wmi_sysman');
    expect(m.findByName('type_show').length).toBe(3);
  });
  it.skipIf(!HAVE_CORPUS)('snd-ctxfi.ko has 89 duplicated function names', () => {
    const m = load(mod('sound/pci/ctxfi/snd-ctxfi.ko'));
    const dups = m.duplicateNames('kept').filter(([n]) => m.symbol(m.findByName(n)[0].index).elfType === 'FUNC');
    expect(dups.length).toBe(89);
    // every listed duplicate lists all its positions
    for (const [n, c] of dups) expect(m.findByName(n).length).toBe(c);
  });
  it.skipIf(!HAVE_CORPUS)('name lookup agrees with a linear scan on every module', () => {
    for (const path of MODULES) {
      const m = load(path);
      const expected = new Map<string, number[]>();
      for (let i = 1; i < m.count; i++) {
        if (!m.isKept(i) || m.symbolName(i) === '') continue;
        const n = m.symbolName(i);
        if (!expected.has(n)) expected.set(n, []);
        expected.get(n)!.push(i);
      }
      for (const [n, idx] of expected) expect(m.findByName(n).map((h) => h.index)).toEqual(idx);
    }
  });
});

/** Reference implementation of find_kallsyms_symbol restricted to one section (linear). */
function linearResolve(m: ModuleSymbols, sec: number, off: number): { index: number; offset: number; size: number } | null {
  let best = -1;
  let bestVal = -1;
  let next = m.elf.sections[sec].size;
  for (let i = 1; i < m.count; i++) {
    if (!m.isKept(i) || m.shndx(i) !== sec) continue;
    const n = m.symbolName(i);
    if (n === '' || /^\$[axtd](\.|$)/.test(n) || n.startsWith('.L')) continue;
    const v = m.value(i);
    if (v <= off && v > bestVal) {
      best = i;
      bestVal = v;
    }
    if (v > off && v < next) next = v;
  }
  return best < 0 ? null : { index: best, offset: off - bestVal, size: next - bestVal };
}

describe('address resolution (find_kallsyms_symbol)', () => {
  it.skipIf(!HAVE_CORPUS)('section-relative lookups agree with a linear scan', () => {
    let checked = 0;
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const path of MODULES) {
      const m = load(path);
      const textSecs = m.elf.sections.filter((s) => s.flags & 2 && s.size > 0 && !s.name.startsWith('.init'));
      for (const s of textSecs) {
        for (let k = 0; k < 40; k++) {
          const off = Math.floor(rnd() * s.size);
          const want = linearResolve(m, s.index, off);
          const got = m.resolveSectionOffset(s.index, off);
          if (want === null) expect(got).toBeNull();
          else expect(got && { index: got.index, offset: got.offset, size: got.size }).toEqual(want);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it.skipIf(!HAVE_CORPUS)('ties go to the first symbol in symtab order; sizes reach the next higher value', () => {
    const m = load(mod('drivers/block/drbd/drbd.ko'));
    const put = m.findByName('put_ldev')[0].index;
    const s = m.symbol(put);
    const r = m.resolveSectionOffset(s.shndx, s.value + 1)!;
    expect(r.name).toBe('put_ldev');
    expect(r.offset).toBe(1);
    expect(r.size).toBeGreaterThan(0);
    // alias check across the whole module: resolving each kept symbol's own value gives the first symbol at that value
    for (let i = 1; i < m.count; i++) {
      if (!m.isKept(i) || m.symbolName(i) === '' || m.symbolName(i).startsWith('.L')) continue;
      const got = m.resolveSectionOffset(m.shndx(i), m.value(i));
      if (m.value(i) >= m.elf.sections[m.shndx(i)].size) continue;
      expect(got).not.toBeNull();
      expect(m.value(got!.index)).toBe(m.value(i));
      expect(got!.index).toBeLessThanOrEqual(i);
    }
  });

  it('runtime addresses with per-section load addresses (64-bit exact)', () => {
    const w = writeElf({
      sections: [
        { name: '.text', flags: 6, data: new Uint8Array(0x100), addralign: 16 },
        { name: '.text.unlikely', flags: 6, data: new Uint8Array(0x40) },
        { name: '.data', flags: 3, data: new Uint8Array(0x20) },
      ],
      symbols: [
        { name: 'a', type: 2, shndx: 1, value: 0 },
        { name: 'a_alias', type: 2, shndx: 1, value: 0 },
        { name: '$x', shndx: 1, value: 0x10 },
        { name: '.Ltmp', shndx: 1, value: 0x18 },
        { name: 'b', type: 2, shndx: 1, value: 0x20 },
        { name: 'cold', type: 2, shndx: 2, value: 0 },
        { name: 'var', type: 1, shndx: 3, value: 8 },
      ],
    });
    const m = parseModule(w.bytes, 'rt.ko');
    const r0 = m.resolveSectionOffset('.text', 0x1f)!;
    expect([r0.name, r0.offset, r0.size]).toEqual(['a', 0x1f, 0x20]);
    expect(m.resolveSectionOffset('.text', 0x80)).toMatchObject({ name: 'b', offset: 0x60, size: 0xe0 });
    expect(m.resolveSectionOffset('.text', 0x100)).toBeNull();
    const resolve = m.addressResolver(
      new Map<string | number, bigint>([
        ['.text', 0xffffffffc0a00000n],
        [2, 0xffffffffc0a01000n],
        ['.data', 0xffffffffc0a05000n],
      ]),
    );
    expect(resolve(0xffffffffc0a00021n)).toMatchObject({ name: 'b', offset: 1, size: 0xe0 });
    expect(resolve(0xffffffffc0a00005n)).toMatchObject({ name: 'a', offset: 5, size: 0x20 });
    expect(resolve(0xffffffffc0a01003n)).toMatchObject({ name: 'cold', offset: 3, size: 0x40 });
    expect(resolve(0xffffffffc0a05009n)).toMatchObject({ name: 'var', offset: 1, size: 0x18 });
    expect(resolve(0xffffffffc0a00200n)).toBeNull(); // not inside any section
    expect(resolve(0xffffffffc0a00021n, 0xffffffffc0a01000n)).toMatchObject({ name: 'b', size: 0xfe0 });
  });
});

describe('compressed modules', () => {
  const SRC = mod('drivers/net/virtio_net.ko');
  const tools: Array<[string, string[], string]> = [
    ['gzip', ['-c', '-9'], '.gz'],
    ['xz', ['-c', '--check=crc32'], '.xz'],
    ['zstd', ['-c', '-q'], '.zst'],
  ];
  for (const [tool, args, ext] of tools) {
    const ok = has(tool);
    if (!ok) console.warn(`module.test: ${tool} not installed, skipping ${ext}`);
    it.skipIf(!HAVE_CORPUS || !ok)(`${tool}: identical table from .ko${ext}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ksym-z-'));
      try {
        const out = join(dir, `virtio_net.ko${ext}`);
        writeFileSync(out, execFileSync(tool, [...args, SRC], { maxBuffer: 1 << 28 }));
        const raw = readFileSync(out);
        expect(detectCompression(new Uint8Array(raw))).not.toBe('none');
        const bytes = await readModuleBytes(out);
        const m = parseModule(bytes, out);
        const ref = load(SRC);
        expect(m.name).toBe('virtio_net');
        expect(m.jsonRows()).toEqual(ref.jsonRows());
        expect(m.elf.buildId()).toBe(ref.elf.buildId());
        // Corrupted compressed data → FormatError naming the file.
        const bad = new Uint8Array(raw);
        for (let i = 20; i < Math.min(bad.length, 400); i++) bad[i] ^= 0x5a;
        await expect(decompressModule(bad.subarray(0, 300), out)).rejects.toBeInstanceOf(FormatError);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
  it('uncompressed bytes pass through; garbage with a magic fails as FormatError', async () => {
    const plain = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
    expect(await decompressModule(plain, 'x.ko')).toBe(plain);
    await expect(decompressModule(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 'x.ko.gz')).rejects.toBeInstanceOf(FormatError);
    await expect(decompressModule(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), 'x.ko.zst')).rejects.toBeInstanceOf(FormatError);
    await expect(decompressModule(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2, 3]), 'x.ko.xz')).rejects.toBeInstanceOf(
      FormatError,
    );
  });
});

describe('module identity', () => {
  it.skipIf(!HAVE_CORPUS)('names from this_module agree with modinfo and file names', () => {
    for (const path of MODULES) {
      const e = parseElf(new Uint8Array(readFileSync(path)), path);
      const fromFile = path.replace(/^.*\//, '').replace(/\.ko$/, '').replace(/-/g, '_');
      expect(e.moduleName()).toBe(fromFile);
      expect(e.modinfoValue('name')).toBe(fromFile);
      expect(e.modinfoValue('vermagic')).toMatch(/^6\.1\.0-56-amd64 SMP/);
      expect(e.hasModuleSignature).toBe(true);
      expect(e.buildId()).toMatch(/^[0-9a-f]{40}$/);
      const btf = e.btf()!;
      expect(btf.length).toBeGreaterThan(0);
      expect(btf[0] | (btf[1] << 8)).toBe(0xeb9f);
      expect(btf.buffer).toBe(e.bytes.buffer);
    }
  });
  it.skipIf(!HAVE_CORPUS)('build ids match readelf -n', () => {
    const p = mod('lib/crc7.ko');
    const txt = execFileSync('readelf', ['-n', p]).toString();
    const id = /Build ID: ([0-9a-f]+)/.exec(txt)![1];
    expect(parseElf(new Uint8Array(readFileSync(p)), p).buildId()).toBe(id);
  });
});
