import { readelfIndices } from '../../helpers/readelf';
import { describe, it, expect, beforeAll, vi, afterEach } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseModule, ModuleSymbols } from '../../../server/src/core/modules/symtab';
import { parseElf } from '../../../server/src/core/modules/elf';
import { loadIndex } from '../../../server/src/core/kallsyms/load';
import { SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import {
  checkReference,
  CheckContext,
  moduleTarget,
  parseKlpRelaName,
  parseKlpSymName,
  resolvePosition,
  vmlinuxTarget,
  checkKoRelaSection,
} from '../../../server/src/core/livepatch/sympos';
import { findKlpRefs } from '../../../server/src/core/livepatch/textRefs';
import { extractKlpC } from '../../../server/src/core/livepatch/cInitializers';
import { scanLivepatchKo } from '../../../server/src/core/livepatch/koScan';
import { diagnoseDocument, diagnoseKo, SymposOptions } from '../../../server/src/core/livepatch/checks';
import { hoverSympos } from '../../../server/src/lsp/hover/livepatch';
import { cmdCheck } from '../../../server/src/cli/check';
import { writeElf, WSymbol } from '../../helpers/elfwriter';
import { DEBIAN, liveKallsyms, ROOT } from '../../helpers/corpus';

const MODDIR = join(DEBIAN, 'modules');
const DRBD = join(MODDIR, 'drivers/block/drbd/drbd.ko');
const F2FS = join(MODDIR, 'fs/f2fs/f2fs.ko');
const CTXFI = join(MODDIR, 'sound/pci/ctxfi/snd-ctxfi.ko');
const FIX = join(ROOT, 'test/fixtures/livepatch');
const HAVE_READELF = spawnSync('readelf', ['--version'], { stdio: 'ignore' }).status === 0;
const HAVE_CORPUS = existsSync(DRBD) && existsSync(F2FS) && existsSync(CTXFI) && HAVE_READELF;
const LIVE = liveKallsyms();

const loadMod = (p: string) => parseModule(new Uint8Array(readFileSync(p)), p);
const codes = (fs: { code: string }[]) => fs.map((f) => f.code);

/** /proc/kallsyms vmlinux lines of a name, in file order (the oracle). */
function kallsymsLines(buf: Buffer, name: string): Array<{ addr: string; type: string }> {
  const out: Array<{ addr: string; type: string }> = [];
  for (const line of buf.toString('latin1').split('\n')) {
    const f = line.split(/\s+/);
    if (f.length === 3 && f[2] === name) out.push({ addr: f[0], type: f[1] });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Names

describe('parseKlpSymName (sscanf .klp.sym.%55[^.].%511[^,],%lu)', () => {
  it('reads a well-formed name, symbol names may contain dots', () => {
    const r = parseKlpSymName('.klp.sym.vmlinux.f2fs_put_page.constprop.0,3');
    expect(r.findings).toEqual([]);
    expect(r.parsed).toMatchObject({ objname: 'vmlinux', symbol: 'f2fs_put_page.constprop.0', sympos: 3n });
  });
  it.each([
    ['.klp.sym.vmlinux.foo', 'klp-malformed-name'],
    ['.klp.sym.vmlinux.foo,', 'klp-malformed-name'],
    ['.klp.sym.vmlinux.foo,-1', 'klp-malformed-name'],
    ['.klp.sym..foo,1', 'klp-malformed-name'],
    ['.klp.sym.vmlinux.,1', 'klp-malformed-name'],
    ['.klp.sym.vmlinux', 'klp-malformed-name'],
    ['.klp.syms.vmlinux.foo,1', 'klp-malformed-name'],
    [`.klp.sym.${'m'.repeat(56)}.foo,1`, 'klp-objname-too-long'],
    [`.klp.sym.vmlinux.${'s'.repeat(512)},1`, 'klp-symbol-too-long'],
    ['.klp.sym.kvm-intel.vmx_vcpu_run,0', 'klp-objname-dash'],
  ])('refuses %s', (name, code) => {
    const r = parseKlpSymName(name);
    expect(codes(r.findings)).toContain(code);
    expect(r.findings.find((f) => f.code === code)!.severity).toBe('error');
    if (code === 'klp-malformed-name') expect(r.findings[0].message).toMatch(/^symbol .* has an incorrectly formatted name/);
  });
  it('accepts the limits exactly (55 and 511 characters)', () => {
    const r = parseKlpSymName(`.klp.sym.${'m'.repeat(55)}.${'s'.repeat(511)},1`);
    expect(r.findings).toEqual([]);
    expect(r.parsed!.objname.length).toBe(55);
  });
  it('skips white space before the number and warns about ignored trailing text, like %lu', () => {
    expect(parseKlpSymName('.klp.sym.vmlinux.foo, 2').parsed!.sympos).toBe(2n);
    const r = parseKlpSymName('.klp.sym.vmlinux.foo,2abc');
    expect(r.parsed!.sympos).toBe(2n);
    expect(codes(r.findings)).toEqual(['klp-trailing-text']);
  });
  it('parses .klp.rela names', () => {
    expect(parseKlpRelaName('.klp.rela.drbd..text')).toEqual({ parsed: { objname: 'drbd', section: '.text' }, findings: [] });
    expect(codes(parseKlpRelaName('.klp.rela..text').findings)).toEqual(['klp-rela-malformed-name']);
    expect(codes(parseKlpRelaName(`.klp.rela.${'x'.repeat(56)}..text`).findings)).toEqual(['klp-objname-too-long']);
    expect(codes(parseKlpRelaName('.klp.rela.kvm-intel..text').findings)).toEqual(['klp-objname-dash']);
  });
});

describe('resolvePosition (klp_find_object_symbol)', () => {
  const c = (n: number) => Array.from({ length: n }, (_, k) => ({ position: k + 1, name: 'x', object: 'o', type: 't', isFunction: true }));
  it('follows the kernel', () => {
    expect(resolvePosition(c(0), 0).status).toBe('not-found');
    expect(resolvePosition(c(0), 1).status).toBe('not-found');
    expect(resolvePosition(c(1), 0).status).toBe('ok');
    expect(resolvePosition(c(1), 1).status).toBe('ok');
    expect(resolvePosition(c(1), 2).status).toBe('position-not-found');
    expect(resolvePosition(c(3), 0).status).toBe('ambiguous');
    expect(resolvePosition(c(3), 3).chosen!.position).toBe(3);
    expect(resolvePosition(c(3), 4).status).toBe('position-not-found');
    expect(resolvePosition(c(3), 1n << 63n).status).toBe('position-not-found');
  });
});

// ---------------------------------------------------------------------------
// vmlinux: the live kernel's kallsyms

describe.skipIf(!LIVE)('vmlinux against the live /proc/kallsyms', () => {
  let index: SymbolIndex;
  beforeAll(async () => {
    const r = await loadIndex([{ file: '/proc/kallsyms', kind: 'kallsyms' }]);
    index = r.index!;
  });
  const ctx = (name: string): CheckContext => ({ haveVmlinux: true, vmlinux: vmlinuxTarget(index, name) });

  it('counts every vmlinux symbol of the name in kallsyms (address) order, paravirt_read_msr', () => {
    const oracle = kallsymsLines(LIVE!, 'paravirt_read_msr');
    expect(oracle.length).toBeGreaterThan(2);
    const t = vmlinuxTarget(index, 'paravirt_read_msr')!;
    expect(t.source).toBe('kallsyms');
    expect(t.kernel.map((c) => [c.position, c.address, c.type])).toEqual(oracle.map((o, k) => [k + 1, o.addr, o.type]));
  });
  it('ambiguity fires at position 0, not at a valid position', () => {
    const n = kallsymsLines(LIVE!, 'paravirt_read_msr').length;
    const f0 = checkReference({ objname: 'vmlinux', symbol: 'paravirt_read_msr', sympos: 0 }, ctx('paravirt_read_msr'));
    expect(codes(f0)).toEqual(['klp-ambiguous']);
    expect(f0[0].message).toBe(
      `unresolvable ambiguity for symbol 'paravirt_read_msr' in object 'vmlinux': ${n} matches, a position is needed`,
    );
    expect(f0[0].candidates.length).toBe(n);
    expect(f0[0].suggestions.map((s) => s.position)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
    expect(checkReference({ objname: 'vmlinux', symbol: 'paravirt_read_msr', sympos: 2 }, ctx('paravirt_read_msr'))).toEqual([]);
  });
  it('position past the count fires; the last position does not', () => {
    const n = kallsymsLines(LIVE!, 'paravirt_read_msr').length;
    const f = checkReference({ objname: 'vmlinux', symbol: 'paravirt_read_msr', sympos: n + 1 }, ctx('paravirt_read_msr'));
    expect(codes(f)).toEqual(['klp-position-not-found']);
    expect(f[0].message).toMatch(new RegExp(`^symbol position ${n + 1} for symbol 'paravirt_read_msr' in object 'vmlinux' not found`));
    expect(checkReference({ objname: 'vmlinux', symbol: 'paravirt_read_msr', sympos: n }, ctx('paravirt_read_msr'))).toEqual([]);
  });
  it('not found fires for a missing name only', () => {
    const f = checkReference({ objname: 'vmlinux', symbol: 'no_such_symbol_ksym_test', sympos: 0 }, ctx('no_such_symbol_ksym_test'));
    expect(codes(f)).toEqual(['klp-not-found']);
    expect(f[0].message).toBe("symbol 'no_such_symbol_ksym_test' not found in symbol table");
  });
  it('nonzero position on a unique name warns; 0 does not', () => {
    const unique = kallsymsLines(LIVE!, 'cmdline_proc_show');
    expect(unique.length).toBe(1);
    expect(
      checkReference({ objname: 'vmlinux', symbol: 'cmdline_proc_show', sympos: 0, wantFunction: true }, ctx('cmdline_proc_show')),
    ).toEqual([]);
    const f = checkReference({ objname: 'vmlinux', symbol: 'cmdline_proc_show', sympos: 1, wantFunction: true }, ctx('cmdline_proc_show'));
    expect(codes(f)).toEqual(['klp-fragile-position']);
    expect(f[0].suggestions[0].position).toBe(0);
  });
  it('old_name that is not a function warns; a function does not', () => {
    const data = LIVE!
      .toString('latin1')
      .split('\n')
      .map((l) => l.split(/\s+/))
      .find((f) => f.length === 3 && /^[dDbBrR]$/.test(f[1]) && kallsymsLines(LIVE!, f[2]).length === 1);
    if (!data) return; // no data symbols in this kallsyms (no CONFIG_KALLSYMS_ALL)
    expect(codes(checkReference({ objname: 'vmlinux', symbol: data[2], sympos: 0, wantFunction: true }, ctx(data[2])))).toEqual([
      'klp-not-function',
    ]);
    expect(checkReference({ objname: 'vmlinux', symbol: data[2], sympos: 0 }, ctx(data[2]))).toEqual([]);
  });
});

describe('data source cannot decide', () => {
  it('no kallsyms / module not indexed: says what is missing', () => {
    expect(codes(checkReference({ objname: 'vmlinux', symbol: 'x', sympos: 0 }, { haveVmlinux: false }))).toEqual(['klp-no-vmlinux-data']);
    const f = checkReference(
      { objname: 'drbd', symbol: 'put_ldev', sympos: 1 },
      { haveVmlinux: false, moduleMissing: 'no drbd.ko among /tmp/x' },
    );
    expect(codes(f)).toEqual(['klp-module-not-indexed']);
    expect(f[0].message).toContain('no drbd.ko among /tmp/x');
  });
  it('System.map instead of kallsyms: warns and downgrades errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sympos-'));
    const map = join(dir, 'System.map-test');
    writeFileSync(
      map,
      'ffffffff81000000 T _stext\nffffffff81000010 t dup\nffffffff81000020 t dup\nffffffff81000030 T uniq\nffffffff81000040 T _etext\n',
    );
    const kall = join(dir, 'kallsyms');
    writeFileSync(
      kall,
      'ffffffff81000000 T _stext\nffffffff81000010 t dup\nffffffff81000020 t dup\nffffffff81000030 T uniq\nffffffff81000040 T _etext\n',
    );
    const viaMap = (await loadIndex([{ file: map, kind: 'system.map' }])).index!;
    const f = checkReference(
      { objname: 'vmlinux', symbol: 'dup', sympos: 0 },
      { haveVmlinux: true, vmlinux: vmlinuxTarget(viaMap, 'dup') },
    );
    expect(codes(f)).toEqual(['klp-source-system-map', 'klp-ambiguous']);
    expect(f.every((x) => x.severity === 'warning')).toBe(true);
    const viaKall = (await loadIndex([{ file: kall, kind: 'kallsyms' }])).index!;
    const g = checkReference(
      { objname: 'vmlinux', symbol: 'dup', sympos: 0 },
      { haveVmlinux: true, vmlinux: vmlinuxTarget(viaKall, 'dup') },
    );
    expect(codes(g)).toEqual(['klp-ambiguous']);
    expect(g[0].severity).toBe('error');
  });
});

// ---------------------------------------------------------------------------
// Modules: the corpus, readelf as the oracle

describe.skipIf(!HAVE_CORPUS)('corpus modules (positions against readelf -sW order)', () => {
  const cases: Array<[string, string, number]> = [
    [DRBD, 'put_ldev', 10],
    [F2FS, 'f2fs_put_page.constprop.0', 10],
    [CTXFI, 'amixer_get_y', 3],
  ];
  it.each(cases)('%s %s: kernel positions follow symtab order', (path, name, n) => {
    const oracle = readelfIndices(path, name);
    expect(oracle.length).toBe(n);
    const t = moduleTarget(loadMod(path), name);
    expect(t.kernel.map((c) => c.symtabIndex)).toEqual(oracle);
    expect(t.kernel.map((c) => c.position)).toEqual(oracle.map((_, k) => k + 1));
  });
  it.each(cases)('%s %s: every valid position is clean (no order, load-order or function warnings)', (path, name, n) => {
    const mod = loadMod(path);
    for (let p = 1; p <= n; p++) {
      expect(
        checkReference(
          { objname: mod.name, symbol: name, sympos: p, wantFunction: true },
          { haveVmlinux: false, module: moduleTarget(mod, name) },
        ),
      ).toEqual([]);
    }
  });
  it.each(cases)('%s %s: position 0 is ambiguous, n+1 not found', (path, name, n) => {
    const mod = loadMod(path);
    const ctx = { haveVmlinux: false, module: moduleTarget(mod, name) };
    const a = checkReference({ objname: mod.name, symbol: name, sympos: 0 }, ctx);
    expect(codes(a)).toEqual(['klp-ambiguous']);
    expect(a[0].message).toBe(`unresolvable ambiguity for symbol '${name}' in object '${mod.name}': ${n} matches, a position is needed`);
    const b = checkReference({ objname: mod.name, symbol: name, sympos: n + 1 }, ctx);
    expect(codes(b)).toEqual(['klp-position-not-found']);
    expect(b[0].message).toMatch(
      new RegExp(`^symbol position ${n + 1} for symbol '${name.replace(/\./g, '\\.')}' in object '${mod.name}' not found`),
    );
  });
  it('candidates carry section+value and type; snd-ctxfi module name uses _', () => {
    const mod = loadMod(CTXFI);
    expect(mod.name).toBe('snd_ctxfi');
    const t = moduleTarget(mod, 'amixer_get_y');
    const oracle = readelfIndices(CTXFI, 'amixer_get_y');
    expect(t.kernel[1]).toMatchObject({
      position: 2,
      section: '.text',
      type: 't',
      elfType: 'FUNC',
      symtabIndex: oracle[1],
      isFunction: true,
    });
    expect(t.kernel[1].value).toBe(mod.value(oracle[1]));
  });
});

// ---------------------------------------------------------------------------
// Target modules built with the ELF writer: order and load-order rules

const SHF_WRITE = 1,
  SHF_ALLOC = 2,
  SHF_EXEC = 4,
  SHF_INFO_LINK = 0x40;
const STB_LOCAL = 0,
  STB_GLOBAL = 1,
  STT_OBJECT = 1,
  STT_FUNC = 2;

function targetModule(): ModuleSymbols {
  // sections: 1 .text, 2 .init.text, 3 .data
  const symbols: WSymbol[] = [
    { name: 'foo', shndx: 3, value: 0x8, size: 8, type: STT_OBJECT, bind: STB_LOCAL }, // 1: data first in symtab
    { name: 'foo', shndx: 1, value: 0x100, size: 16, type: STT_FUNC, bind: STB_LOCAL }, // 2
    { name: 'foo', shndx: 1, value: 0x10, size: 16, type: STT_FUNC, bind: STB_LOCAL }, // 3: lower address, later in symtab
    { name: 'bar', shndx: 2, value: 0x0, size: 16, type: STT_FUNC, bind: STB_LOCAL }, // 4: init copy
    { name: 'bar', shndx: 1, value: 0x200, size: 16, type: STT_FUNC, bind: STB_LOCAL }, // 5
    { name: 'baz', shndx: 1, value: 0x300, size: 16, type: STT_FUNC, bind: STB_GLOBAL }, // 6
    { name: 'qux', shndx: 1, value: 0x400, size: 16, type: STT_FUNC, bind: STB_GLOBAL }, // 7: in order
    { name: 'qux', shndx: 1, value: 0x500, size: 16, type: STT_FUNC, bind: STB_GLOBAL }, // 8
  ];
  const out = writeElf({
    sections: [
      { name: '.text', flags: SHF_ALLOC | SHF_EXEC, data: new Uint8Array(0x600) },
      { name: '.init.text', flags: SHF_ALLOC | SHF_EXEC, data: new Uint8Array(0x40) },
      { name: '.data', flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(0x40) },
    ],
    symbols,
    modinfo: { name: 'tgt', license: 'GPL' },
  });
  return parseModule(out.bytes, '/tmp/sympos-tgt.ko');
}

describe('order rules on a built target module', () => {
  const mod = targetModule();
  const check = (symbol: string, sympos: number, wantFunction = true) =>
    checkReference({ objname: 'tgt', symbol, sympos, wantFunction }, { haveVmlinux: false, module: moduleTarget(mod, symbol) });

  it('symtab order, not address order, is the kernel count', () => {
    expect(moduleTarget(mod, 'foo').kernel.map((c) => c.symtabIndex)).toEqual([1, 2, 3]);
  });
  it('position names a different symbol when functions are sorted first / under address order', () => {
    const f = check('foo', 2);
    // kernel: [.data+0x8, .text+0x100, .text+0x10]; sorted functions first and address order: [.text+0x10, .text+0x100, .data+0x8]
    expect(codes(f)).toEqual([]);
    const g = check('foo', 3);
    expect(codes(g)).toEqual(['klp-order-sorted-functions', 'klp-order-address']);
    expect(g[0].message).toMatch(
      /position 3 of 'foo' in tgt would name #1 \.data\+0x8 d OBJECT instead of #3 \.text\+0x10 t FUNC under function symbols sorted by address ahead of other symbols/,
    );
    expect(g[1].message).toMatch(/would name #1 \.data\+0x8 d OBJECT instead of #3 \.text\+0x10 t FUNC under plain address order/);
  });
  it('old_name on a data symbol warns (and the orders disagree)', () => {
    const f = check('foo', 1);
    expect(codes(f)).toEqual(['klp-order-sorted-functions', 'klp-order-address', 'klp-not-function']);
    expect(f[2].suggestions.map((s) => s.position)).toEqual([2, 3]);
    expect(codes(check('foo', 1, false))).toEqual(['klp-order-sorted-functions', 'klp-order-address']);
  });
  it('in-order duplicates are stable under every order', () => {
    expect(check('qux', 1)).toEqual([]);
    expect(check('qux', 2)).toEqual([]);
  });
  it('count differs between full and kept symtab: load order matters', () => {
    const f = check('bar', 0);
    expect(codes(f)).toEqual(['klp-load-order']);
    expect(f[0].message).toMatch(
      /2 matches in tgt's full symtab but 1 after its init: position 0 fails \(ambiguous\) if tgt loads after the livepatch, and names #1 \.text\+0x200/,
    );
    expect(codes(check('baz', 0))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Livepatch .ko fixtures

function rela(entries: Array<[number, number]>): Uint8Array {
  const b = new Uint8Array(entries.length * 24);
  const dv = new DataView(b.buffer);
  entries.forEach(([sym, type], k) => {
    dv.setBigUint64(k * 24, BigInt(k * 8), true);
    dv.setBigUint64(k * 24 + 8, (BigInt(sym) << 32n) | BigInt(type), true);
    dv.setBigInt64(k * 24 + 16, -4n, true);
  });
  return b;
}

function livepatchKo(): Uint8Array {
  // Section indices: 1 .text, 2 .klp.rela.vmlinux..text, 3 .klp.rela.tgt..text, 4 .klp.rela.tgt..data (unmarked),
  // 5 .modinfo, 6 .symtab
  const SYMTAB = 6;
  const symbols: WSymbol[] = [
    { name: 'livepatch_stub', shndx: 1, type: STT_FUNC, bind: STB_LOCAL, size: 16 }, // 1
    { name: '.klp.sym.vmlinux.cmdline_proc_show,0', shndx: 0xff20, bind: STB_GLOBAL }, // 2 ok
    { name: '.klp.sym.tgt.foo,2', shndx: 0xff20, bind: STB_GLOBAL }, // 3 ok
    { name: '.klp.sym.tgt.foo,7', shndx: 0xff20, bind: STB_GLOBAL }, // 4 position not found
    { name: '.klp.sym.tgt.bar,1', shndx: 0, bind: STB_GLOBAL }, // 5 not SHN_LIVEPATCH
    { name: '.klp.sym.vmlinux.missing_comma', shndx: 0xff20, bind: STB_GLOBAL }, // 6 malformed
    { name: '.klp.sym.vmlinux.cmdline_proc_show,0', shndx: 0xff20, bind: STB_GLOBAL }, // 7 vmlinux from module rela
    { name: '.klp.sym.kvm-intel.vmx_vcpu_run,0', shndx: 0xff20, bind: STB_GLOBAL }, // 8 dash
  ];
  return writeElf({
    sections: [
      { name: '.text', flags: SHF_ALLOC | SHF_EXEC, data: new Uint8Array(64) },
      {
        name: '.klp.rela.vmlinux..text',
        type: 4,
        flags: SHF_ALLOC | SHF_INFO_LINK | 0x00100000,
        data: rela([
          [2, 4],
          [6, 4],
        ]),
        link: SYMTAB,
        info: 1,
        entsize: 24,
        addralign: 8,
      },
      {
        name: '.klp.rela.tgt..text',
        type: 4,
        flags: SHF_ALLOC | SHF_INFO_LINK | 0x00100000,
        data: rela([
          [3, 4],
          [4, 4],
          [5, 4],
          [7, 4],
          [8, 4],
        ]),
        link: SYMTAB,
        info: 1,
        entsize: 24,
        addralign: 8,
      },
      {
        name: '.klp.rela.tgt..data',
        type: 4,
        flags: SHF_ALLOC | SHF_INFO_LINK,
        data: rela([[3, 1]]),
        link: SYMTAB,
        info: 1,
        entsize: 24,
        addralign: 8,
      },
    ],
    symbols,
    modinfo: { name: 'livepatch_test', livepatch: 'Y', license: 'GPL' },
  }).bytes;
}

describe('built livepatch .ko', () => {
  const bytes = livepatchKo();
  const elf = parseElf(bytes, '/tmp/sympos-lp.ko');
  it('readelf agrees with the fixture (SHN_LIVEPATCH shown as OS [0xff20])', () => {
    if (!HAVE_READELF) return;
    const dir = mkdtempSync(join(tmpdir(), 'sympos-'));
    const p = join(dir, 'lp.ko');
    writeFileSync(p, bytes);
    const out = execFileSync('readelf', ['-sW', p]).toString();
    expect(out).toMatch(/OS \[0xff20\] \.klp\.sym\.tgt\.foo,2/);
  });
  it('scans .klp.sym symbols and .klp.rela sections with flags and users', () => {
    const s = scanLivepatchKo(elf);
    expect(s.isLivepatch).toBe(true);
    expect(s.relaSections.map((r) => [r.name, r.marked])).toEqual([
      ['.klp.rela.vmlinux..text', true],
      ['.klp.rela.tgt..text', true],
      ['.klp.rela.tgt..data', false],
    ]);
    expect(s.symbols.map((x) => x.index)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(s.symbols.find((x) => x.index === 7)!.usedBy).toEqual(['.klp.rela.tgt..text']);
    expect(s.symbols.find((x) => x.index === 3)!.usedBy).toEqual(['.klp.rela.tgt..text', '.klp.rela.tgt..data']);
  });
  it('section flag rule fires only on the unmarked section', () => {
    expect(codes(checkKoRelaSection('.klp.rela.tgt..data', SHF_ALLOC))).toEqual(['klp-rela-not-livepatch']);
    expect(checkKoRelaSection('.klp.rela.tgt..text', SHF_ALLOC | 0x00100000)).toEqual([]);
    expect(codes(checkKoRelaSection('.rela.foo', 0x00100000))).toEqual(['klp-rela-malformed-name']);
  });
  it('diagnoses every structural and position problem, and nothing on the good symbols', async () => {
    const opts: SymposOptions = { lookup: (n) => (n === 'tgt' ? targetModule() : undefined) };
    const d = await diagnoseKo(elf, opts);
    const by = (i: number) => codes(d.filter((x) => x.symbolIndex === i));
    expect(codes(d.filter((x) => x.section))).toEqual(['klp-rela-not-livepatch']);
    expect(by(2)).toEqual(['klp-no-vmlinux-data']);
    expect(by(3)).toEqual([]);
    expect(by(4)).toEqual(['klp-position-not-found']);
    // The kernel stops at the st_shndx; the position is still checked (bar: unique after init, two copies before).
    expect(by(5)).toEqual(['klp-not-livepatch-symbol', 'klp-fragile-position', 'klp-load-order']);
    expect(d.find((x) => x.symbolIndex === 5)!.message).toBe(
      '[5] symbol .klp.sym.tgt.bar,1 is not marked as a livepatch symbol (st_shndx 0x0, expected SHN_LIVEPATCH 0xff20)',
    );
    expect(by(6)).toEqual(['klp-malformed-name']);
    expect(by(7)).toEqual(['klp-vmlinux-from-module-rela', 'klp-no-vmlinux-data']);
    expect(d.find((x) => x.symbolIndex === 7)!.message).toMatch(
      /invalid access to vmlinux symbol 'cmdline_proc_show' from module-specific livepatch relocation section \.klp\.rela\.tgt\.\.text/,
    );
    expect(by(8)).toEqual(['klp-objname-dash']);
  });
});

// ---------------------------------------------------------------------------
// Text

describe('findKlpRefs in any text', () => {
  it('finds names in readelf output, assembler and logs with ranges', () => {
    const text = [
      '    12: 0000000000000000     0 NOTYPE  GLOBAL DEFAULT OS [0xff20] .klp.sym.vmlinux.paravirt_read_msr,2',
      '\t.section .klp.rela.drbd..text.unlikely,"a"',
      'livepatch: symbol .klp.sym.drbd.put_ldev has an incorrectly formatted name',
      'x=".klp.sym.f2fs.f2fs_put_page.constprop.0,10";',
    ].join('\n');
    const r = findKlpRefs(text);
    expect(r.map((x) => [x.kind, x.name])).toEqual([
      ['sym', '.klp.sym.vmlinux.paravirt_read_msr,2'],
      ['rela', '.klp.rela.drbd..text.unlikely'],
      ['sym', '.klp.sym.drbd.put_ldev'],
      ['sym', '.klp.sym.f2fs.f2fs_put_page.constprop.0,10'],
    ]);
    expect(r[0].range).toEqual({ line: 0, column: 66, endLine: 0, endColumn: 66 + r[0].name.length });
    expect(r[0].posRange).toEqual({ line: 0, column: 66 + r[0].name.length - 1, endLine: 0, endColumn: 66 + r[0].name.length });
    expect(r[1].rela).toEqual({ objname: 'drbd', section: '.text.unlikely' });
    expect(codes(r[2].findings)).toEqual(['klp-malformed-name']);
    expect(r[2].insertPos).toEqual({ line: 2, column: 40, endLine: 2, endColumn: 40 });
    expect(r[3].sym).toMatchObject({ objname: 'f2fs', symbol: 'f2fs_put_page.constprop.0', sympos: 10n });
    expect(r[3].range.line).toBe(3);
  });
  it('finds nothing in ordinary text', () => {
    expect(findKlpRefs('klp sym .klp. and .klp.symbol without the dot\n.klp.relax')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// C sources

describe('extractKlpC', () => {
  const multi = readFileSync(join(FIX, 'livepatch-multi.c'), 'utf8');
  const relocs = readFileSync(join(FIX, 'klp-convert-relocs.c'), 'utf8');
  it('links klp_func arrays to klp_objects: designated (any order), positional, macros, concatenation', () => {
    const r = extractKlpC(multi);
    expect(r.refs.map((x) => [x.objname, x.symbol, x.sympos, x.explicit, x.container])).toEqual([
      ['vmlinux', 'paravirt_read_msr', 0n, false, 'vmlinux_funcs'],
      ['vmlinux', 'paravirt_read_msr', 2n, true, 'vmlinux_funcs'],
      ['vmlinux', 'cmdline_proc_show', 0n, false, 'vmlinux_funcs'],
      ['drbd', 'put_ldev', 3n, true, 'drbd_funcs'],
      ['drbd', 'put_ldev', 11n, true, 'drbd_funcs'],
      ['drbd', 'drbd_adm_attach', 0n, false, 'drbd_funcs'],
      ['f2fs', 'f2fs_put_page.constprop.0', 0n, true, 'f2fs_funcs'],
    ]);
    const lines = multi.split('\n');
    const first = r.refs[0];
    expect(lines[first.range.line].slice(first.range.column, first.range.endColumn)).toBe('"paravirt_read_msr"');
    expect(first.insertAt).toEqual({
      line: first.range.line,
      column: first.range.endColumn,
      endLine: first.range.line,
      endColumn: first.range.endColumn,
    });
    const p = r.refs[4].posRange!;
    expect(lines[p.line].slice(p.column, p.endColumn)).toBe('11');
  });
  it('finds KLP_SYMPOS inside KLP_MODULE_RELOC, several objects', () => {
    const r = extractKlpC(relocs);
    expect(r.refs.map((x) => [x.kind, x.objname, x.symbol, x.sympos])).toEqual([
      ['klp-reloc', 'vmlinux', 'saved_command_line', 0n],
      ['klp-reloc', 'vmlinux', 'paravirt_read_msr', 0n],
      ['klp-reloc', 'drbd', 'put_ldev', 10n],
      ['klp-reloc', 'drbd', 'put_ldev', 0n],
      ['klp-reloc', 'drbd', 'drbd_adm_attach', 1n],
      ['klp-reloc', 'snd_ctxfi', 'amixer_get_y', 4n],
    ]);
  });
  it('ignores comments, strings and preprocessor lines; handles compound literals and single objects', () => {
    const src = `
#define X { .old_name = "in_macro" }
/* static struct klp_func f[] = { { .old_name = "in_comment" } }; */
static const char *s = "struct klp_func g[] = { { .old_name = \\"in_string\\" } };";
static struct klp_object obj = {
	.name = "tgt",
	.funcs = (struct klp_func[]) {
		{ .new_func = x, .old_name = "foo", .old_sympos = 0x2 },
		{ }
	},
};
static struct klp_func orphan[] = { { .old_name = "lonely" }, { } };
`;
    const r = extractKlpC(src);
    expect(r.refs.map((x) => [x.objname, x.symbol, x.sympos])).toEqual([
      ['tgt', 'foo', 2n],
      [undefined, 'lonely', 0n],
    ]);
  });
});

describe.skipIf(!HAVE_CORPUS)('diagnoseDocument on the C fixtures', () => {
  const opts = (index?: SymbolIndex): SymposOptions => ({
    index,
    lookup: (n) => (n === 'drbd' ? loadMod(DRBD) : n === 'f2fs' ? loadMod(F2FS) : n === 'snd_ctxfi' ? loadMod(CTXFI) : undefined),
  });
  let index: SymbolIndex | undefined;
  beforeAll(async () => {
    if (LIVE) index = (await loadIndex([{ file: '/proc/kallsyms', kind: 'kallsyms' }])).index;
  });

  it('livepatch-multi.c: errors, warnings and fixes where expected', async () => {
    const text = readFileSync(join(FIX, 'livepatch-multi.c'), 'utf8');
    const lines = text.split('\n');
    const d = await diagnoseDocument(text, 'c', opts(index));
    const at = (code: string) => d.filter((x) => x.code === code);
    // drbd put_ldev 11 of 10
    const pnf = at('klp-position-not-found');
    expect(pnf).toHaveLength(1);
    expect(lines[pnf[0].line].slice(pnf[0].column, pnf[0].endColumn)).toBe('11');
    expect(pnf[0].fixes.map((f) => f.newText)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    // f2fs positional initializer, position 0 on 10 copies
    const amb = at('klp-ambiguous');
    expect(amb.some((x) => x.message.includes("'f2fs_put_page.constprop.0' in object 'f2fs'"))).toBe(true);
    // drbd put_ldev at 3 via macro is fine; drbd_adm_attach unique, position 0 is fine
    expect(d.filter((x) => x.message.includes("'drbd_adm_attach'"))).toEqual([]);
    if (index) {
      const pv = amb.find((x) => x.message.includes("'paravirt_read_msr'"))!;
      expect(pv.fixes[0].newText).toBe(', .old_sympos = 1');
      expect(pv.fixes[0].column).toBe(pv.endColumn);
      expect(d.filter((x) => x.message.includes("'cmdline_proc_show'"))).toEqual([]);
    } else {
      expect(at('klp-no-vmlinux-data').length).toBe(3);
    }
  });
  it('klp-convert-relocs.c: KLP_SYMPOS positions', async () => {
    const text = readFileSync(join(FIX, 'klp-convert-relocs.c'), 'utf8');
    const d = await diagnoseDocument(text, 'c', opts(index));
    const msg = d.map((x) => `${x.code} ${x.message}`);
    expect(msg.filter((m) => m.includes("'put_ldev'")).map((m) => m.split(' ')[0])).toEqual(['klp-ambiguous']);
    expect(msg.filter((m) => m.includes("'drbd_adm_attach'")).map((m) => m.split(' ')[0])).toEqual(['klp-fragile-position']);
    expect(msg.filter((m) => m.includes("'amixer_get_y'")).map((m) => m.split(' ')[0])).toEqual(['klp-position-not-found']);
  });
  it('text: .klp.sym names anywhere; module not indexed is reported, not guessed', async () => {
    const d = await diagnoseDocument('.klp.sym.drbd.put_ldev,3 .klp.sym.drbd.put_ldev,0 .klp.sym.xfs.xfs_foo,1', 'plaintext', {
      lookup: (n) => (n === 'drbd' ? loadMod(DRBD) : undefined),
    });
    expect(d.map((x) => [x.column, x.code])).toEqual([
      [25, 'klp-ambiguous'],
      [50, 'klp-module-not-indexed'],
    ]);
    expect(d[0].fixes[2]).toMatchObject({ newText: '3', line: 0, column: 48, endColumn: 49 });
  });
  it('hover shows the resolution and candidates', async () => {
    const text = 'patch uses .klp.sym.drbd.put_ldev,3 here';
    const h = await hoverSympos(text, 'plaintext', 0, 20, { lookup: () => loadMod(DRBD) });
    // With what tells it from the other nine: the nearest global symbol before it in .text.
    expect(h!.markdown).toMatch(/Resolves to `#3 \.text\+0x3f00 t FUNC after \w+\+0x[0-9a-f]+`: 10 matches in module drbd/);
    expect(h!.markdown).toContain('| pos | where | type | section · nearest global before |');
    expect(h!.column).toBe(11);
    expect(await hoverSympos(text, 'plaintext', 0, 2, {})).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// ksym check

describe('ksym check', () => {
  let out = '';
  afterEach(() => vi.restoreAllMocks());
  const run = async (args: string[]) => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    return cmdCheck(args);
  };
  const dir = mkdtempSync(join(tmpdir(), 'sympos-check-'));
  const ko = join(dir, 'livepatch-test.ko');
  writeFileSync(ko, livepatchKo());

  it('exit 1 with errors, file:line:col output', async () => {
    const txt = join(dir, 'a.txt');
    writeFileSync(txt, 'ok\n  .klp.sym.vmlinux.foo\n');
    expect(await run([txt])).toBe(1);
    expect(out).toBe(
      `${txt}:2:3: error: symbol .klp.sym.vmlinux.foo has an incorrectly formatted name (no ",SYMPOS" after the symbol name)\n`,
    );
  });
  it('exit 0 with only warnings (vmlinux undecidable without kallsyms), --json shape', async () => {
    const txt = join(dir, 'b.txt');
    writeFileSync(txt, '.klp.sym.vmlinux.foo,0\n');
    expect(await run(['--json', txt])).toBe(0);
    const j = JSON.parse(out);
    expect(j).toEqual([
      {
        file: txt,
        line: 1,
        column: 1,
        endColumn: 23,
        severity: 'warning',
        code: 'klp-no-vmlinux-data',
        message: expect.any(String),
        candidates: [],
      },
    ]);
  });
  it('exit 2 on unusable input', async () => {
    expect(await run([join(dir, 'missing.txt')])).toBe(2);
    expect(await run([])).toBe(2);
    expect(await run(['--module', join(dir, 'nope'), ko])).toBe(2);
  });
  it.skipIf(!HAVE_CORPUS)('checks a .ko against a module directory', async () => {
    expect(await run(['--json', '--module', MODDIR, ko])).toBe(1);
    const j = JSON.parse(out) as Array<{ code: string; message: string; line: number }>;
    expect(j.map((x) => x.code)).toContain('klp-rela-not-livepatch');
    expect(j.find((x) => x.code === 'klp-module-not-indexed')!.message).toContain(`no tgt.ko among ${MODDIR}`);
    expect(j.every((x) => x.line === 1)).toBe(true);
  });
  it.skipIf(!HAVE_CORPUS)('C file against corpus modules', async () => {
    expect(await run(['--module', DRBD, '--module', F2FS, '--module', CTXFI, join(FIX, 'klp-convert-relocs.c')])).toBe(1);
    expect(out).toMatch(/klp-convert-relocs\.c:21:\d+: error: symbol position 4 for symbol 'amixer_get_y' in object 'snd_ctxfi' not found/);
  });
});
