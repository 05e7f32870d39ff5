// Fuzz targets: per parser, the seeds (real corpus files when present, synthetic
// otherwise), how an input is generated from (rng, seeds), and how it is run.
// `core` is the parser API (from the esbuild bundle of server/src/core, or from
// the TypeScript sources under vitest): see fuzz/core-entry.mjs.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  openSync,
  ftruncateSync,
  closeSync,
  truncateSync,
  appendFileSync,
  readSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { gzipSync, deflateRawSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { bytesOf, dictOf, mutate, randomBytes, textOf, window, INTERESTING32 } from './mutate.mjs';
import { syntheticBtf } from './btfseed.mjs';
import { dwarfTarget } from './dwarf.mjs';

export const PARSERS = [
  'kallsyms',
  'elf',
  'btf',
  'log',
  'klpsym',
  'klpc',
  'guarded',
  'decompress',
  'dwarf',
  'identity',
  'kerneldir',
  'symtab',
  'abbrev',
];

export function defaultCorpus(root) {
  return process.env.KSYM_CORPUS ?? resolve(root, '../shared/corpus');
}

const read = (p) => {
  try {
    const b = readFileSync(p);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch {
    return undefined;
  }
};

function walk(dir, pred, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

/** Weighted pick favouring small seeds (throughput), large ones still appear. */
function pickSeed(r, seeds) {
  if (r.chance(0.6)) {
    // smallest third
    const sorted = seeds.smallFirst ?? (seeds.smallFirst = [...seeds].sort((a, b) => a.length - b.length));
    return sorted[r.int(Math.max(1, Math.ceil(sorted.length / 3)))];
  }
  return r.pick(seeds);
}

function kallsymsTarget(core, corpus, _root) {
  const seeds = [];
  const sm = read(join(corpus, 'debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64'));
  if (sm) seeds.push(sm);
  const stub = read(join(corpus, 'debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64.stub'));
  if (stub) seeds.push(stub);
  const live = read('/proc/kallsyms');
  if (live && live.length) seeds.push(live);
  seeds.push(
    bytesOf(
      'ffffffff81000000 T _text\nffffffff81000000 T _stext\nffffffff81001000 t helper\nffffffff81001000 T alias\nffffffff81002000 T _etext\n' +
        'ffffffffc0000000 t mod_fn\t[ext4]\nffffffffc0000100 t mod_fn2\t[ext4]\nffffffffa0000000 t bpf_prog_abc_x\t[bpf]\n' +
        'ffffffffc0100000 t trampoline\t[__builtin__ftrace]\n0000000000000000 A __per_cpu_start\nffffffff82000000 D data\nffffffff83000000 B _end\n',
    ),
    bytesOf('c0000000 T _stext\nc0001000 t f\nc0002000 T _etext\n'),
    bytesOf('0000000000000000 T a\n0000000000000000 t b\t[m]\n'),
  );
  const dict = dictOf([
    '\n',
    '\r\n',
    ' ',
    '\t',
    '[',
    ']',
    '\t[ext4]',
    '\t[bpf]',
    'ffffffffffffffff',
    'ffffffff81000000 T ',
    '0000000000000000 ',
    ' T _stext',
    ' T _etext',
    ' T _end',
    ' T _text',
    ' t _sinittext',
    'The real System.map is in the linux-image',
    'ffffffffffffffff B The real System.map',
    '?',
    '-',
    '00000000000000000',
  ]);
  return {
    name: 'kallsyms',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.08)) return randomBytes(r, 8192);
      const src = window(pickSeed(r, seeds), r, r.chance(0.9) ? 4096 : r.chance(0.9) ? 65536 : 1 << 20);
      return mutate(src, r, dict, () => window(r.pick(seeds), r, 4096));
    },
    run(bytes, r) {
      let inputs;
      if (r.chance(0.2) && bytes.length > 2) {
        const cut = r.int(bytes.length);
        inputs = [
          { file: 'a.kallsyms', bytes: bytes.subarray(0, cut), kind: 'kallsyms' },
          { file: 'b.map', bytes: bytes.subarray(cut), kind: r.chance(0.5) ? 'system.map' : 'kallsyms' },
        ];
      } else inputs = [{ file: 'fuzz.kallsyms', bytes, kind: r.chance(0.5) ? 'kallsyms' : 'system.map' }];
      const idx = core.buildIndex(inputs);
      for (let k = 0; k < 8 && idx.count > 0; k++) {
        const i = r.int(idx.count);
        const a = idx.addressOf(i) + BigInt(r.int(64)) - 8n;
        idx.resolve(a < 0n ? 0n : a, r.chance(0.5));
        idx.byNameAll(idx.nameOf(i));
        idx.sameName(i);
        idx.aliases(i);
      }
      idx.resolve(0n);
      idx.resolve(0xffffffffffffffffn, true);
      idx.byPrefix(r.chance(0.5) ? '' : '_', 10);
      idx.stats();
      return idx.count;
    },
  };
}

function elfTarget(core, corpus) {
  const files = walk(join(corpus, 'debian-6.1.0-56-amd64/modules'), (p) => p.endsWith('.ko')).sort();
  const seeds = files.map(read).filter(Boolean);
  // A tiny synthetic ELF64 REL (header, 4 sections, 2 symbols) so the target works without the corpus.
  seeds.push(tinyElf());
  const parsed = new Map();
  const layout = (src) => {
    let l = parsed.get(src);
    if (l === undefined) {
      try {
        const e = core.parseElf(src, 'seed');
        l = {
          is64: e.is64,
          le: e.littleEndian,
          shoff: e.sections.length ? shoffOf(src, e) : 0,
          shentsize: e.is64 ? 64 : 40,
          sections: e.sections.map((s) => ({ offset: s.offset, size: s.size, type: s.type })),
          symtab: e.symtab ? e.sections[e.symtab.sectionIndex] : undefined,
        };
      } catch {
        l = null;
      }
      parsed.set(src, l);
    }
    return l;
  };
  const gz = new Map();
  const dict = dictOf([
    '\x7fELF',
    '.klp.rela.vmlinux.text',
    '.klp.sym.vmlinux.foo,1',
    '.init.text',
    '.exit.text',
    '.data..percpu',
    '.symtab',
    '.strtab',
    '.BTF',
    '.modinfo',
    'livepatch=Y',
    'name=x',
    '~Module signature appended~\n',
  ]);
  return {
    name: 'elf',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.06))
        return randomBytes(r, 4096, r.chance(0.5) ? new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1 + r.int(2), 1 + r.int(2), 1, 0]) : undefined);
      const src = pickSeed(r, seeds);
      if (r.chance(0.02)) {
        // a compressed module, mutated (decompressors are part of module loading)
        let z = gz.get(src);
        if (!z) gz.set(src, (z = new Uint8Array(gzipSync(src, { level: 1 }))));
        return mutate(z, r, [], undefined, 3);
      }
      if (r.chance(0.01))
        return randomBytes(r, 2048, r.pick([new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]), new Uint8Array([0x1f, 0x8b, 8, 0])]));
      const l = layout(src);
      if (!l || r.chance(0.35)) return mutate(src, r, dict, () => r.pick(seeds), 6);
      // Structure-aware: smash integer fields of the ELF header, section headers and symbols.
      const b = Uint8Array.from(src);
      const dv = new DataView(b.buffer);
      const n = 1 + r.int(3);
      for (let k = 0; k < n; k++) {
        const v = r.chance(0.5) ? r.pick(INTERESTING32) : r.chance(0.5) ? r.int(256) : r.u32();
        const where = r.int(3);
        let off;
        let width;
        if (where === 0) {
          // e_type..e_shstrndx: pick a field of the 64/32-bit header
          const fields = l.is64
            ? [
                [16, 2],
                [18, 2],
                [24, 8],
                [32, 8],
                [40, 8],
                [52, 2],
                [54, 2],
                [56, 2],
                [58, 2],
                [60, 2],
                [62, 2],
              ]
            : [
                [16, 2],
                [18, 2],
                [28, 4],
                [32, 4],
                [40, 2],
                [44, 2],
                [46, 2],
                [48, 2],
                [50, 2],
              ];
          [off, width] = r.pick(fields);
        } else if (where === 1 && l.sections.length) {
          const i = r.int(l.sections.length);
          const fields = l.is64
            ? [
                [0, 4],
                [4, 4],
                [8, 8],
                [24, 8],
                [32, 8],
                [40, 4],
                [44, 4],
                [48, 8],
                [56, 8],
              ]
            : [
                [0, 4],
                [4, 4],
                [8, 4],
                [16, 4],
                [20, 4],
                [24, 4],
                [28, 4],
                [32, 4],
                [36, 4],
              ];
          const [fo, fw] = r.pick(fields);
          off = l.shoff + i * l.shentsize + fo;
          width = fw;
        } else if (l.symtab && l.symtab.size) {
          const es = l.is64 ? 24 : 16;
          const i = r.int(Math.floor(l.symtab.size / es));
          const fields = l.is64
            ? [
                [0, 4],
                [4, 1],
                [6, 2],
                [8, 8],
                [16, 8],
              ]
            : [
                [0, 4],
                [4, 4],
                [8, 4],
                [12, 1],
                [14, 2],
              ];
          const [fo, fw] = r.pick(fields);
          off = l.symtab.offset + i * es + fo;
          width = fw;
          if (fo === (l.is64 ? 6 : 14) && r.chance(0.5)) {
            dv.setUint16(off, r.pick([0, 0xff20, 0xfff1, 0xfff2, 0xffff, 0xff00, l.sections.length, l.sections.length - 1]), l.le);
            continue;
          }
        } else continue;
        if (off + width > b.length) continue;
        if (width === 1) b[off] = v & 0xff;
        else if (width === 2) dv.setUint16(off, v & 0xffff, l.le);
        else if (width === 4) dv.setUint32(off, v >>> 0, l.le);
        else {
          dv.setUint32(off + (l.le ? 0 : 4), v >>> 0, l.le);
          dv.setUint32(off + (l.le ? 4 : 0), r.chance(0.8) ? 0 : r.pick([1, 0x1fffff, 0x200000, 0xffffffff]), l.le);
        }
      }
      return r.chance(0.15) ? mutate(b, r, dict, undefined, 2) : b;
    },
    run(bytes, r) {
      const plain = core.decompressModuleSync(bytes, 'fuzz.ko');
      const e = core.parseElf(plain, 'fuzz.ko');
      e.modinfo();
      e.modinfoValue('name');
      e.buildId();
      e.btf();
      e.moduleName();
      for (const s of e.sections) e.sectionBytes(s.index);
      core.scanLivepatchKo(e);
      if (!e.symtab) return 0;
      const m = new core.ModuleSymbols(e, {
        kallsymsAll: r.chance(0.8),
        moduleUnload: r.chance(0.8),
        mappingSymbols: r.chance(0.5) ? 'v6.1' : 'v6.4',
      });
      const rows = m.jsonRows();
      m.keptSymbols();
      m.duplicateNames();
      m.duplicateNames('init');
      for (let k = 0; k < 8 && rows.length; k++) m.findByName(rows[r.int(rows.length)].name, r.chance(0.5) ? 'kept' : 'init');
      for (let k = 0; k < 8 && e.sections.length; k++) {
        const s = e.sections[r.int(e.sections.length)];
        m.resolveSectionOffset(s.index, r.int(Math.max(1, Math.min(s.size, 1 << 30))));
        m.resolveSectionOffset(s.name, 0, 'init');
      }
      const res = m.addressResolver(
        new Map([
          [1, 0xffffffffc0000000n],
          ['.text', 0xffffffffc0001000n],
        ]),
      );
      res(0xffffffffc0000010n);
      res(0xffffffffc0001010n, 0xffffffffc0100000n);
      return rows.length;
    },
  };
}

function shoffOf(src, e) {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  return e.is64 ? Number(dv.getBigUint64(40, e.littleEndian)) : dv.getUint32(32, e.littleEndian);
}

/** ELF64 LE ET_REL: null, .text, .symtab, .strtab, .shstrtab; symbols: null, foo (FUNC GLOBAL .text). */
function tinyElf() {
  const shstr = bytesOf('\0.text\0.symtab\0.strtab\0.shstrtab\0');
  const str = bytesOf('\0foo\0');
  const text = new Uint8Array(16).fill(0x90);
  const sym = new Uint8Array(48);
  const sdv = new DataView(sym.buffer);
  sdv.setUint32(24, 1, true);
  sym[28] = (1 << 4) | 2;
  sdv.setUint16(30, 1, true);
  sdv.setBigUint64(40, 16n, true);
  let off = 64;
  const place = (b) => {
    const o = off;
    off += b.length;
    off = (off + 7) & ~7;
    return o;
  };
  const oText = place(text),
    oSym = place(sym),
    oStr = place(str),
    oShstr = place(shstr);
  const shoff = off;
  const out = new Uint8Array(shoff + 5 * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, 1, true);
  dv.setUint16(18, 62, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, 5, true);
  dv.setUint16(62, 4, true);
  out.set(text, oText);
  out.set(sym, oSym);
  out.set(str, oStr);
  out.set(shstr, oShstr);
  const sh = (i, name, type, flags, o, size, link, info, entsize) => {
    const h = shoff + i * 64;
    dv.setUint32(h, name, true);
    dv.setUint32(h + 4, type, true);
    dv.setBigUint64(h + 8, BigInt(flags), true);
    dv.setBigUint64(h + 24, BigInt(o), true);
    dv.setBigUint64(h + 32, BigInt(size), true);
    dv.setUint32(h + 40, link, true);
    dv.setUint32(h + 44, info, true);
    dv.setBigUint64(h + 48, 1n, true);
    dv.setBigUint64(h + 56, BigInt(entsize), true);
  };
  sh(1, 1, 1, 6, oText, text.length, 0, 0, 0);
  sh(2, 7, 2, 0, oSym, sym.length, 3, 1, 24);
  sh(3, 15, 3, 0, oStr, str.length, 0, 0, 0);
  sh(4, 23, 3, 0, oShstr, shstr.length, 0, 0, 0);
  return out;
}

function btfTarget(core, corpus) {
  const synth = syntheticBtf();
  const seeds = synth.map((b) => ({ bytes: b, base: undefined }));
  let vmlinux;
  let base;
  const vb = read(join(corpus, 'debian-6.1.0-56-amd64/vmlinux-6.1.0-56-amd64.btf'));
  if (vb) {
    try {
      base = core.parseBtf(vb, 'vmlinux.btf');
      vmlinux = vb;
    } catch {
      /* corpus damaged: synthetic seeds only */
    }
  }
  if (base) {
    for (const p of walk(join(corpus, 'debian-6.1.0-56-amd64/modules'), (x) => x.endsWith('.ko'))) {
      try {
        const b = core.parseElf(read(p), p).btf();
        if (b && b.length) seeds.push({ bytes: Uint8Array.from(b), base });
      } catch {
        /* skip */
      }
    }
  }
  const synthBase = core.parseBtf(synth[0], 'synthetic.btf');
  const dict = dictOf(['\0', 'bpf_kfunc\0', 'long int\0', 'struct\0', '\x9f\xeb\x01\x00']);
  const names = [
    'struct thing',
    'union u',
    'enum color',
    'int',
    'long int',
    'loop_t',
    'self',
    'task_struct',
    'struct sk_buff',
    'do_thing',
    '',
  ];
  return {
    name: 'btf',
    seeds: seeds.length,
    gen(r) {
      // the returned input carries its base as a property (split BTF needs one)
      if (r.chance(0.06)) {
        const b = randomBytes(r, 4096, r.chance(0.7) ? new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0]) : undefined);
        b.base = r.chance(0.5) ? undefined : synthBase;
        return b;
      }
      let seed;
      if (vmlinux && r.chance(0.0015)) seed = { bytes: vmlinux, base: undefined };
      else seed = r.chance(0.6) ? r.pick(seeds) : seeds[r.int(Math.min(seeds.length, 2))];
      const src = seed.bytes;
      let b;
      if (r.chance(0.5)) {
        b = Uint8Array.from(src);
        const dv = new DataView(b.buffer);
        const le = b[0] === 0x9f;
        const n = 1 + r.int(3);
        for (let k = 0; k < n; k++) {
          const v = r.chance(0.6) ? r.pick(INTERESTING32) : r.chance(0.5) ? r.int(1 << 12) : r.u32();
          if (r.chance(0.3)) {
            // header: hdr_len, type_off, type_len, str_off, str_len
            dv.setUint32(4 + 4 * r.int(5), v >>> 0, le);
          } else {
            // a type record word: name_off, info (kind/vlen/kflag), size/type, or the trailing words
            const hdrLen = dv.getUint32(4, le);
            const typeOff = dv.getUint32(8, le);
            const typeLen = dv.getUint32(12, le);
            const start = hdrLen + typeOff;
            const words = Math.floor(Math.min(typeLen, b.length - start) / 4);
            if (words <= 0) continue;
            const at = start + 4 * r.int(words);
            if (r.chance(0.4)) {
              // info word: a kind in or out of range, vlen, kflag
              const kind = r.chance(0.8) ? 1 + r.int(19) : r.int(32);
              const vlen = r.chance(0.5) ? r.int(4) : r.pick([0xffff, 0x100, 0x7fff]);
              dv.setUint32(at, ((r.chance(0.2) ? 1 : 0) << 31) | (kind << 24) | vlen, le);
            } else dv.setUint32(at, v >>> 0, le);
          }
        }
        if (r.chance(0.2)) b = mutate(b, r, dict, undefined, 2);
      } else b = mutate(src, r, dict, () => r.pick(seeds).bytes, 6);
      b.base = seed.base === undefined ? (r.chance(0.05) ? synthBase : undefined) : r.chance(0.95) ? seed.base : undefined;
      return b;
    },
    run(bytes, r) {
      const btf = core.parseBtf(bytes, 'fuzz.btf', bytes.base);
      btf.stats();
      const n = btf.types;
      const ids = [];
      if (n <= 48 || r.chance(0.1)) for (let id = btf.firstId; id <= btf.lastId && ids.length < 100; id++) ids.push(id);
      else for (let k = 0; k < 48; k++) ids.push(btf.firstId + r.int(n));
      for (const id of ids) {
        btf.byId(id);
        btf.declaration(id);
        btf.idsByName(btf.nameOf(id));
        btf.isKfunc(id);
      }
      btf.renderWithDependencies(ids.slice(0, 16));
      btf.idsByName(r.pick(names));
      btf.namesWithPrefix(r.pick(['', 'a', 's', 'thing']), 20);
      btf.pointerSize();
      return n;
    },
  };
}

function oopsTexts(corpus) {
  const dir = join(corpus, 'oops');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.txt'))
        .sort()
    : [];
  return files.map((f) => read(join(dir, f)));
}

function logTarget(core, corpus) {
  const seeds = oopsTexts(corpus);
  seeds.push(
    bytesOf(
      '[    1.234567] RIP: 0010:foo+0x12/0x40 [ext4]\n[    1.234568] Call Trace:\n[    1.234569]  <TASK>\n[    1.234570]  ? bar+0x1/0x2\n' +
        '[    1.2] [<ffffffff81000130>] entry_SYSCALL_64_after_hwframe+0x76/0x7e\n pc : baz+0x10/0x20 [mod 0123456789abcdef0123456789abcdef01234567]\n' +
        ' lr : qux+0x4/0x8\n[<c0100000>] (func) from [<c0100010>] (caller+0x1c/0x40)\nNIP [c000000000123456] .dotted+0x10/0x20\n' +
        'Kernel Offset: 0x1e000000 from 0xffffffff81000000 (relocation range: ' +
        '0xffffffff80000000-0xffffffffbfffffff)\n ([<000000000012345c>] s390_fn+0x24/0x60)\n' +
        ' epc : ffffffff80001234 ra : ffffffff80005678\nffffffff81234567 ffffffffc0001000 0xdeadbeef\n',
    ),
  );
  const sm = read(join(corpus, 'debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64'));
  let idx;
  try {
    idx = core.buildIndex([{ file: 'System.map', bytes: sm ?? seeds[seeds.length - 1], kind: 'system.map' }]);
  } catch {
    idx = core.buildIndex([{ file: 'x', bytes: bytesOf('ffffffff81000000 T _text\nffffffff81000100 T foo\n'), kind: 'kallsyms' }]);
  }
  const dict = dictOf([
    '+0x',
    '/0x',
    ' [',
    ']',
    '[<',
    '>]',
    '? ',
    '(',
    ')',
    ' from ',
    'RIP: 0010:',
    ' pc : ',
    ' lr : ',
    ' epc : ',
    ' ra : ',
    'NIP [',
    'LR [',
    'PC is at ',
    'Krnl PSW : ',
    'Kernel Offset: 0x',
    'Kernel Offset: disabled',
    ' from 0xffffffff81000000',
    'ffffffff81000130',
    'ffffffffffffffff',
    '0x',
    '.',
    '$',
    '_',
    '\n',
    '\r',
    '\t',
    '0123456789abcdef0123456789abcdef01234567',
    '[    1.000000] ',
    '<TASK>',
    'Call Trace:',
    ' [ext4]',
    '00000000',
  ]);
  return {
    name: 'log',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.06)) return randomBytes(r, 8192);
      const src = r.chance(0.85) ? window(r.pick(seeds), r, 1024) : r.pick(seeds);
      return mutate(src, r, dict, () => window(r.pick(seeds), r, 512), 12);
    },
    run(bytes, r) {
      const text = textOf(bytes, r);
      const lines = text.split(/\r?\n|\r/);
      core.findKaslrOffset(lines);
      // The AddressShift the CLI and the server use (the vmlinux shift only inside the image).
      const shift = core.logShift(text, idx, core.identifyLog(text).kaslr?.value, r.chance(0.5) ? undefined : 0x1000n).shift;
      let n = 0;
      for (let li = 0; li < lines.length; li++) {
        const line = lines[li];
        const toks = core.scanLine(line);
        n += toks.length;
        core.scanWrapped(line, lines[li + 1]);
        core.tokenAt(toks, r.int(line.length + 1));
        for (const t of toks) {
          if (t.kind === 'frame') core.resolveFrame(idx, t);
          else if (t.kind === 'address') {
            const f = t.frameAt !== undefined ? toks.find((x) => x.kind === 'frame' && x.start === t.frameAt) : undefined;
            core.resolveAddressToken(idx, t, shift, f);
          }
        }
      }
      return n;
    },
  };
}

function klpTexts(root) {
  const fx = join(root, 'test/fixtures/livepatch');
  return existsSync(fx)
    ? readdirSync(fx)
        .sort()
        .map((f) => read(join(fx, f)))
    : [];
}

function klpsymTarget(core, corpus, root) {
  const seeds = klpTexts(root);
  seeds.push(
    bytesOf(
      '  [12] .klp.rela.vmlinux.text RELA 0000000000000000 000500 000018 18 AI 30 1 8\n' +
        '    5: 0000000000000000     0 NOTYPE  GLOBAL DEFAULT OS [0xff20] .klp.sym.vmlinux.saved_command_line,0\n' +
        '.klp.sym.drbd.put_ldev,10 .klp.sym.snd_ctxfi.amixer_get_y,4\n.klp.sym.vmlinux.foo .klp.sym.a-b.c,01 .klp.sym..,\r\n' +
        '.klp.rela.drbd..text.unlikely .klp.rela.f2fs.text,x "(.klp.sym.ext4.ext4_fill_super,1)" `.klp.sym.x.y,99999999999999999999`\n',
    ),
  );
  const dict = dictOf([
    '.klp.sym.',
    '.klp.rela.',
    '.klp.',
    'vmlinux.',
    ',',
    ',0',
    ',1',
    ',99999999999999999999999',
    '.',
    '-',
    '\n',
    '\r',
    '\r\n',
    ' ',
    '"',
    '[',
    '(',
    '\u00e9',
  ]);
  return {
    name: 'klpsym',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.06)) return randomBytes(r, 4096);
      return mutate(pickSeed(r, seeds), r, dict, () => r.pick(seeds), 12);
    },
    run(bytes, r) {
      const text = textOf(bytes, r);
      const starts = core.lineStarts(text);
      const refs = core.findKlpRefs(text, starts);
      return refs.length;
    },
  };
}

function klpcTarget(core, corpus, root) {
  const seeds = klpTexts(root);
  seeds.push(
    bytesOf(
      '#define POS 2\n#define OBJ "ext4"\n#define LONG \\\n  3\nstatic struct klp_func funcs[] = {\n\t{ ' +
        '.old_name = "ext4_fill_super", .new_func = x, .old_sympos = POS },\n' +
        '\t{ "a" "b", y, 0x10 }, { .old_name = OBJ, .old_sympos = (1 + 2) }, { .old_name = \'c\', .old_sympos = -1 }, { }\n};\n' +
        'static struct klp_object objs[] = { { .name = OBJ, .funcs = funcs }, { .name = NULL, .funcs = ' +
        '(struct klp_func[]){ { .old_name = "v" }, { } } }, { } };\n' +
        'static struct klp_object one = { "mod", &funcs[0] };\nKLP_MODULE_RELOC(vmlinux) r[] = { ' +
        'KLP_SYMPOS(sym, 1), KLP_SYMPOS((a), (2)), KLP_SYMPOS(b) };\n/* unterminated',
    ),
  );
  const dict = dictOf([
    '{',
    '}',
    '{ ',
    ' }',
    '[',
    ']',
    '(',
    ')',
    ',',
    ';',
    '=',
    '"',
    "'",
    '\\',
    '\\\n',
    '/*',
    '*/',
    '//',
    '#define ',
    '#if 0\n',
    '\n#',
    'struct klp_func ',
    'struct klp_object ',
    '.old_name = ',
    '.old_sympos = ',
    '.name = ',
    '.funcs = ',
    'KLP_SYMPOS(',
    'KLP_MODULE_RELOC(',
    'NULL',
    '0x',
    '99999999999999999999999',
    '[] = {',
    '&',
    '(struct klp_func[]){',
  ]);
  return {
    name: 'klpc',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.06)) return randomBytes(r, 4096);
      return mutate(pickSeed(r, seeds), r, dict, () => r.pick(seeds), 12);
    },
    run(bytes, r) {
      const x = core.extractKlpC(textOf(bytes, r));
      return x.refs.length + x.notes.length;
    },
  };
}

/**
 * The guarded reader (core/common/readGuarded.ts) on random file types and sizes: regular
 * files (the input's bytes, sparse giants, files shrunk or appended to between open and
 * read), a FIFO without a writer, devices, a directory, a symlink to procfs, with random
 * limits. Invariants (a violation is a failure): no read returns more than the limit or
 * more than the size at open; only GuardedReadError, errno errors and FormatError escape;
 * nothing blocks (the harness's slow-input report shows it).
 */
function guardedTarget(core) {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-fuzz-guard-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const link = join(dir, 'proc-link');
  symlinkSync('/proc/self/status', link);
  const devLink = join(dir, 'dev-link');
  symlinkSync('/dev/zero', devLink);
  const file = join(dir, 'file');
  const kinds = [
    'bytes',
    'bytes',
    'bytes',
    'sparse',
    'shrink',
    'grow',
    'fifo',
    '/dev/zero',
    '/dev/null',
    'dir',
    'link',
    'devlink',
    '/proc/self/maps',
    'missing',
  ];
  return {
    name: 'guarded',
    seeds: 1,
    gen(r) {
      return randomBytes(r, r.chance(0.9) ? 4096 : 1 << 20);
    },
    run(bytes, r) {
      const kind = r.pick(kinds);
      const maxBytes = r.chance(0.5) ? r.int(bytes.length + 2) : r.int(1 << 24);
      const opts = { maxBytes, pseudo: r.chance(0.5), timeMs: r.chance(0.05) ? -1 : undefined, what: 'fuzz file' };
      let path = file;
      let sizeAtOpen;
      if (kind === 'bytes' || kind === 'shrink' || kind === 'grow') writeFileSync(file, bytes);
      else if (kind === 'sparse') {
        const fd = openSync(file, 'w');
        ftruncateSync(fd, r.pick([2 ** 31, 2 ** 32, 2 ** 40, maxBytes + 1]));
        closeSync(fd);
      } else path = { fifo, dir, link, devlink: devLink, missing: join(dir, 'nope') }[kind] ?? kind;
      try {
        let out;
        if (kind === 'shrink' || kind === 'grow') {
          const g = core.openGuarded(path, opts);
          sizeAtOpen = g.size;
          try {
            if (kind === 'shrink') truncateSync(file, r.int(bytes.length + 1));
            else appendFileSync(file, bytes);
            if (r.chance(0.5) && g.size > 0) {
              const pos = r.int(g.size);
              out = g.readExact(pos, r.int(g.size - pos + 1));
            } else out = core.readAllGuarded(g, opts);
          } finally {
            g.close();
          }
        } else out = core.readGuardedSync(path, opts);
        if (out.length > maxBytes) throw new Error(`read ${out.length} bytes past the ${maxBytes} limit (${kind})`);
        if (sizeAtOpen !== undefined && out.length > sizeAtOpen)
          throw new Error(`read ${out.length} bytes of a file of ${sizeAtOpen} at open (${kind})`);
        if (kind === 'bytes' && Buffer.compare(Buffer.from(out), Buffer.from(bytes)) !== 0) throw new Error('bytes differ');
        if (['fifo', '/dev/zero', '/dev/null', 'dir', 'devlink', 'missing', 'sparse'].includes(kind)) throw new Error(`${kind} was read`);
        return out.length;
      } catch (e) {
        if (e instanceof core.GuardedReadError || e instanceof core.FormatError || (e && typeof e.code === 'string' && e.syscall))
          return -1;
        throw e;
      }
    },
  };
}

/**
 * The decompressors with caps: random and mutated gzip, raw deflate in a gzip header,
 * zstd (with and without a declared size) and bombs, with random caps. The output never
 * exceeds the cap; everything else is a FormatError.
 */
function decompressTarget(core) {
  const plain = Buffer.alloc(64 << 10);
  for (let i = 0; i < plain.length; i++) plain[i] = (i * 2654435761) >>> 24;
  const seeds = [
    gzipSync(plain),
    gzipSync(Buffer.alloc(4 << 20)),
    new Uint8Array(execFileSync('zstd', ['-q', '-c', '--no-content-size'], { input: plain })),
    new Uint8Array(execFileSync('zstd', ['-q', '-c'], { input: Buffer.alloc(4 << 20) })),
    new Uint8Array(execFileSync('sh', ['-c', 'head -c 64M /dev/zero | zstd -q -19 --no-content-size'], { maxBuffer: 1 << 24 })),
    new Uint8Array(execFileSync('sh', ['-c', 'head -c 64M /dev/zero | gzip -1'], { maxBuffer: 1 << 24 })),
    Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), deflateRawSync(plain)]),
  ].map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  const dict = dictOf(['\x1f\x8b\x08', '\x28\xb5\x2f\xfd', '\xff\xff\xff\xff', '\x00\x00\x00\x00']);
  return {
    name: 'decompress',
    seeds: seeds.length,
    minBytes: 64 << 10,
    gen(r) {
      if (r.chance(0.05)) return randomBytes(r, 4096);
      return mutate(r.pick(seeds), r, dict, () => r.pick(seeds), 8);
    },
    run(bytes, r) {
      // Small caps (the 256 MiB one is the unit tests'): the time is the output's (fzstd decodes odd sequences at
      // ~5 MB/s), so an input stands for its cap in the harness's slow check (minBytes).
      const max = r.chance(0.5) ? 256 << 10 : r.int(256 << 10) + 1;
      const cap = core.decompressCap(bytes.length, max);
      const out = core.decompressModuleSync(bytes, 'fuzz.ko', max);
      if (out !== bytes && out.length > cap) throw new Error(`decompressed ${out.length} bytes past the ${cap} cap`);
      return out.length;
    },
  };
}

/** All targets (or the named ones), seeds loaded. */
/**
 * Which kernel wrote a log (issue 16): identifyLog, kernelForLog against a few kernels, the
 * KASLR shift (logShift) against the System.map. Seeds: the corpus oopses and header lines.
 */
function identityTarget(core, corpus) {
  const seeds = oopsTexts(corpus);
  seeds.push(
    bytesOf(
      'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2\n' +
        'CPU: 1 PID: 4242 Comm: drbdsetup Tainted: G        W  OE      6.1.0-56-amd64 #1 Debian 6.1.192-2 0123456789abcdef0123456789abcdef01234567\n' +
        'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2 04/01/2014\nRIP: 0010:foo+0x1/0x2 [drbd 0123456789abcdef0123456789abcdef01234567]\n' +
        'Call Trace:\n [<ffffffffc0b2661f>] drbd_adm_attach+0x2f/0xee0 [drbd]\n [<ffffffff8a2c3d4e>] genl_rcv_msg+0x1c5/0x2a0\n' +
        'Kernel Offset: 0x28000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)\n' +
        'Kernel Offset: disabled\npc : baz+0x10/0x20\nepc : ffffffff80001234 ra : ffffffff80005678\nNIP [c000000000123456] .dotted+0x10/0x20\n',
    ),
  );
  const dict = dictOf([
    'Linux version ',
    'CPU: ',
    ' PID: ',
    ' Comm: ',
    'Not tainted ',
    'Tainted: ',
    'Hardware name: ',
    'Kernel Offset: ',
    ' from 0x',
    'disabled',
    ' #1 SMP ',
    'Debian ',
    '-amd64',
    '-arm64',
    ' [drbd ',
    '+0x',
    '/0x',
    '[<',
    '>]',
    'RIP: 0010:',
    'pc : ',
    'lr : ',
    'NIP [',
    'Krnl PSW',
    '0123456789abcdef0123456789abcdef01234567',
    '\n',
  ]);
  const sm = read(join(corpus, 'debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64'));
  const idx = core.buildIndex([
    sm
      ? { file: 'System.map', bytes: sm, kind: 'system.map' }
      : { file: 'x', bytes: bytesOf('ffffffff81000000 T _text\nffffffff81000100 T foo\n'), kind: 'kallsyms' },
  ]);
  const kernels = [
    {
      label: '6.1.0-56-amd64',
      kind: 'distribution',
      dir: '/k',
      release: '6.1.0-56-amd64',
      version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-15)',
      arch: 'x86_64',
      problems: [],
    },
    {
      label: 'arm',
      kind: 'snapshot',
      dir: '/a',
      release: '5.9.0',
      arch: 'arm64',
      buildId: '0123456789abcdef0123456789abcdef01234567',
      problems: [],
    },
    { label: 'running', kind: 'running', dir: 'running', problems: [] },
  ];
  return {
    name: 'identity',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.05)) return randomBytes(r, 8192);
      const src = r.chance(0.8) ? window(r.pick(seeds), r, 2048) : r.pick(seeds);
      return mutate(src, r, dict, () => window(r.pick(seeds), r, 512), 12);
    },
    run(bytes, r) {
      const text = textOf(bytes, r);
      const lk = core.kernelForLog(text, r.chance(0.8) ? kernels : [], { maxLines: r.chance(0.1) ? r.int(50) : undefined });
      const s = core.logShift(text, idx, lk.identity.kaslr?.value, r.chance(0.5) ? undefined : 0x1000n);
      for (const a of [0xffffffff81000000n, 0xffffffffc0b2661fn, BigInt(r.int(1 << 30))])
        s.shift.toIndex(a, r.chance(0.3) ? 'drbd' : undefined);
      return lk.identity.linesScanned + s.problems.length + lk.diagnostics.length;
    },
  };
}

/**
 * The kernel-directory recogniser (discoverKernels) on random layouts (distribution tree,
 * build tree, kallsyms snapshot) with mutated contents, and the notes, banner, vermagic and
 * path parsers it rests on. Seeds: the corpus System.map head, this machine's notes, banners.
 */
function kernelDirTarget(core, corpus) {
  const dir = mkdtempSync(join(tmpdir(), 'ksym-fuzz-kdir-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const sm = read(join(corpus, 'debian-6.1.0-56-amd64/System.map-6.1.0-56-amd64'));
  const notes = read('/sys/kernel/notes');
  const seeds = [
    bytesOf(
      'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-08-15)\n',
    ),
    bytesOf('vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \0name=drbd\0'),
    bytesOf('ffffffff81000000 T _text\nffffffffc0100000 t foo\t[drbd]\n'),
    sm ? sm.subarray(0, 64 << 10) : bytesOf('ffffffff81000000 T _text\n'),
    notes ?? new Uint8Array([4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 0x47, 0x4e, 0x55, 0, ...new Array(20).fill(0xab)]),
  ];
  const rel = ['6.1.0-56-amd64', '5.17.0-syzkaller', '6.18.44', '', '..', 'a/b', '6.1.0-56-amd64\n'];
  const layouts = [
    (R) => [
      `usr/lib/debug/boot/vmlinux-${R}`,
      `usr/lib/debug/boot/System.map-${R}`,
      `usr/lib/debug/lib/modules/${R}/kernel/drbd.ko`,
      `boot/System.map-${R}`,
      `boot/config-${R}`,
    ],
    () => ['vmlinux', 'System.map', 'include/config/kernel.release', 'drivers/block/drbd/drbd.ko', 'Module.symvers'],
    () => ['kallsyms', 'version', 'btf/vmlinux', 'notes', 'modules/drbd.ko'],
  ];
  let n = 0;
  return {
    name: 'kerneldir',
    seeds: seeds.length,
    gen(r) {
      return mutate(
        r.pick(seeds),
        r,
        dictOf(['Linux version ', 'vermagic=', ' SMP ', '-amd64', '#1 ', 'GNU\0', '\t[', ']']),
        () => r.pick(seeds),
        8,
      );
    },
    run(bytes, r) {
      // The pure parsers, on the bytes themselves.
      const text = textOf(bytes, r);
      core.buildIdInNotes(bytes, r.chance(0.9));
      core.walkNotes(bytes, r.chance(0.9));
      core.findBanner(bytes);
      core.parseProcVersion(text);
      core.parseVermagic(text);
      core.releaseFromPath(`/lib/modules/${text.slice(0, 40)}/kernel/x.ko`);
      // A random layout under a fresh directory, files of mutated bytes (or empty, or directories).
      const root = join(dir, String(n++ % 4));
      rmSync(root, { recursive: true, force: true });
      const R = r.pick(rel);
      for (const f of r.pick(layouts)(R)) {
        if (f.includes('..') || r.chance(0.2)) continue;
        const p = join(root, f);
        mkdirSync(dirname(p), { recursive: true });
        if (r.chance(0.05)) mkdirSync(p, { recursive: true });
        else writeFileSync(p, r.chance(0.1) ? new Uint8Array(0) : r.chance(0.5) ? bytes : window(r.pick(seeds), r, 4096));
      }
      const found = core.discoverKernels(root);
      return found.kernels.length + found.problems.length;
    },
  };
}

/**
 * Raw `.symtab` + `.strtab` section bytes as a debuginfod server answers them (core/kernels
 * symtabSection.ts). An input is `u32 LE symtab length | symtab | strtab`. Seeds: the first
 * 2,000 entries of the real Debian vmlinux .symtab with its .strtab (when .cache/kernel-data
 * has it, located with readelf -SW), and a synthetic pair; mutations smash Elf64_Sym fields.
 */
function symtabTarget(core, _corpus, root) {
  const seeds = [];
  const pack = (symtab, strtab) => {
    const b = new Uint8Array(4 + symtab.length + strtab.length);
    new DataView(b.buffer).setUint32(0, symtab.length, true);
    b.set(symtab, 4);
    b.set(strtab, 4 + symtab.length);
    return b;
  };
  const vml = join(root ?? '.', '.cache/kernel-data/6.1.0-57-amd64/vmlinux-6.1.0-57-amd64');
  if (existsSync(vml)) {
    try {
      const t = execFileSync('readelf', ['-SW', vml], { encoding: 'utf8' });
      const sec = (name) => {
        const m = new RegExp(`\\] \\${name}\\s+\\S+\\s+[0-9a-f]+ ([0-9a-f]+) ([0-9a-f]+)`).exec(t);
        if (!m) return undefined;
        const fd = openSync(vml, 'r');
        try {
          const size = Math.min(parseInt(m[2], 16), name === '.symtab' ? 24 * 2000 : 1 << 22);
          const b = Buffer.alloc(size);
          readSync(fd, b, 0, size, parseInt(m[1], 16));
          return new Uint8Array(b.buffer, b.byteOffset, size);
        } finally {
          closeSync(fd);
        }
      };
      const st = sec('.symtab');
      const str = sec('.strtab');
      if (st && str) seeds.push(pack(st, str));
    } catch {
      /* no readelf: the synthetic seed */
    }
  }
  {
    const names = [0];
    const syms = [];
    const add = (name, value, info, shndx) => {
      syms.push({ off: names.length, value, info, shndx });
      for (const c of name) names.push(c.charCodeAt(0));
      names.push(0);
    };
    add('helper', 0xffffffff81000100n, 0x02, 1);
    add('_stext', 0xffffffff81000000n, 0x10, 1);
    add('start_kernel', 0xffffffff81000200n, 0x12, 1);
    add('_etext', 0xffffffff81000400n, 0x10, 1);
    add('data', 0xffffffff82000000n, 0x11, 2);
    add('__bss_start', 0xffffffff83000000n, 0x10, 3);
    add('__bss_stop', 0xffffffff83001000n, 0x10, 3);
    add('weak', 0xffffffff81000300n, 0x22, 1);
    add('abs', 0x1ean, 0x10, 0xfff1);
    const st = new Uint8Array(24 * (syms.length + 1));
    const dv = new DataView(st.buffer);
    syms.forEach((x, k) => {
      const o = 24 * (k + 1);
      dv.setUint32(o, x.off, true);
      st[o + 4] = x.info;
      dv.setUint16(o + 6, x.shndx, true);
      dv.setBigUint64(o + 8, x.value, true);
    });
    seeds.push(pack(st, Uint8Array.from(names)));
  }
  const dict = dictOf(['\0', '_stext', '__crc_', '.L', '$x', '__bss_start', '\n', ' ']);
  const log = 'RIP: 0010:start_kernel+0x10/0x100\n helper+0x1/0x100\n f+0x1/0x2 [m]\n';
  return {
    name: 'symtab',
    seeds: seeds.length,
    gen(r) {
      if (r.chance(0.05)) return randomBytes(r, 4096);
      const src = pickSeed(r, seeds);
      if (r.chance(0.4)) return mutate(src, r, dict, () => r.pick(seeds), 8);
      // Structure-aware: smash fields of a few Elf64_Sym entries (st_name, st_info, st_shndx, st_value).
      const b = Uint8Array.from(src);
      const dv = new DataView(b.buffer);
      const n = Math.floor(Math.min(dv.getUint32(0, true), b.length - 4) / 24);
      for (let k = 0; k < 1 + r.int(6) && n > 1; k++) {
        const o = 4 + 24 * (1 + r.int(n - 1));
        const f = r.int(4);
        if (f === 0) dv.setUint32(o, r.chance(0.5) ? r.pick(INTERESTING32) >>> 0 : r.int(1 << 16), true);
        else if (f === 1) b[o + 4] = r.int(256);
        else if (f === 2) dv.setUint16(o + 6, r.chance(0.5) ? 0xfff1 : r.int(8), true);
        else dv.setBigUint64(o + 8, BigInt(r.int(1 << 30)) | (r.chance(0.5) ? 0xffffffff00000000n : 0n), true);
      }
      if (r.chance(0.1)) dv.setUint32(0, r.int(b.length), true);
      return b;
    },
    run(bytes, r) {
      if (bytes.length < 4) return 0;
      const len = Math.min(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true), bytes.length - 4);
      const symtab = bytes.subarray(4, 4 + len);
      const strtab = bytes.subarray(4 + len);
      const { index } = core.symtabIndex(
        {
          symtab,
          strtab,
          symtabName: 'fuzz.symtab',
          strtabName: 'fuzz.strtab',
          elfClass: r.chance(0.9) ? 64 : 32,
          bigEndian: r.chance(0.1),
        },
        'fuzz',
      );
      const c = core.checkFrames(index, log);
      return index.count + c.checked;
    },
  };
}

// ---- abbrev: .debug_abbrev tables (core/dwarf/abbrev.ts: WebAssembly with a JavaScript fallback) ----

/** [offset, size, flags] of a section of an ELF64 LE file, or undefined. */
function elf64Section(b, name) {
  if (b.length < 64 || b[4] !== 2 || b[5] !== 1) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(dv.getBigUint64(40, true)),
    num = dv.getUint16(60, true),
    strndx = dv.getUint16(62, true);
  if (shoff + num * 64 > b.length || strndx >= num) return undefined;
  const strOff = Number(dv.getBigUint64(shoff + strndx * 64 + 24, true));
  const want = bytesOf(name + '\0');
  for (let i = 0; i < num; i++) {
    const h = shoff + i * 64;
    const n = strOff + dv.getUint32(h, true);
    if (n + want.length > b.length || !want.every((c, k) => b[n + k] === c)) continue;
    const off = Number(dv.getBigUint64(h + 24, true)),
      size = Number(dv.getBigUint64(h + 32, true));
    return off + size <= b.length ? { off, size, flags: Number(dv.getBigUint64(h + 8, true)), header: h } : undefined;
  }
  return undefined;
}

const ABBREV_SRC = `
enum big { NEG = -9000000000000000000LL, POS = 9000000000000000000LL };
struct s { int a; int b[4]; unsigned bits : 3; union { char c; short h; } u; };
static inline int h2(int x) { return x * 3 + (x >> 2); }
static inline __attribute__((always_inline)) int h1(int x) { if (x > 10) return h2(x) + 1; return h2(x - 1); }
__attribute__((noinline)) int work(struct s *p, int n, enum big e) { int r = h1(n) + h1(p->a); return r + (e == NEG); }
int main(int c, char **v) { struct s a = { c, { 2, 3, 4, 5 }, 1, { 0 } }; (void)v; return work(&a, c * 7, POS); }
`;

/**
 * DWARF objects whose .debug_abbrev is mutated in place (structure-aware: LEB128 continuation
 * runs, huge values, implicit_const, truncated tables, a shrunk section), then opened and
 * looked up through the reader. When the core exposes both parsers (readAbbrevTable and the
 * reference jsReadAbbrevTable), every table of the mutated section is also parsed by both
 * and a difference (a table, or an error message) is a failure.
 */
function abbrevTarget(core, _corpus, root) {
  const seeds = [];
  if (spawnOk('gcc')) {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-fuzz-abbrev-'));
    try {
      writeFileSync(join(dir, 'a.c'), ABBREV_SRC);
      for (const flags of [['-gdwarf-5', '-c'], ['-gdwarf-4', '-c'], ['-gdwarf-5']]) {
        const f = join(dir, 'a.out');
        try {
          execFileSync('gcc', ['-g', '-O2', ...flags, '-o', f, join(dir, 'a.c')], { stdio: 'ignore' });
          seeds.push(read(f));
        } catch {
          /* a flag this gcc lacks */
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  try {
    const data = process.env.KSYM_KERNEL_DATA ?? resolve(root ?? process.cwd(), '.cache/kernel-data');
    const abi = readFileSync(join(data, 'current'), 'utf8').trim();
    const ko = read(join(data, abi, 'modules', 'virtio-rng.ko'));
    if (ko) seeds.push(ko);
  } catch {
    /* no kernel data */
  }
  // only seeds with an uncompressed .debug_abbrev (mutations land in the table bytes)
  const usable = seeds.filter((b) => b && ((elf64Section(b, '.debug_abbrev')?.flags ?? 0x800) & 0x800) === 0);
  if (!usable.length) usable.push(tinyElf());
  const dict = dictOf([
    '\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01',
    '\xff\xff\xff\xff\x0f',
    '\x80\x80\x80\x80\x10',
    '\x21',
    '\x01\x13',
    '\x11\x01',
    '\x55\x17',
    '\0\0',
  ]);
  const shapes = [
    [8, 4, 5],
    [8, 4, 4],
    [8, 8, 5],
  ];
  const differential = typeof core.readAbbrevTable === 'function' && typeof core.jsReadAbbrevTable === 'function';
  const COLS = [
    'tag',
    'children',
    'first',
    'count',
    'attr',
    'form',
    'implicit',
    'size',
    'fixed',
    'sibAt',
    'sibSize',
    'hasCode',
    'skipKids',
    'kind',
    'dense',
  ];
  /** A table as comparable strings (each column's bytes, the big map), or its FormatError's message. */
  const outcome = (f) => {
    try {
      const t = f();
      const cols = COLS.map((k) => [k, Buffer.from(t[k].buffer, t[k].byteOffset, t[k].byteLength).toString('hex')]);
      return [...cols, ['big', JSON.stringify([...t.big])]];
    } catch (e) {
      if (e instanceof core.FormatError) return [['error', e.message]];
      throw e;
    }
  };
  /** The first part in which two outcomes differ, or undefined. */
  const differ = (a, b) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      if (a[i]?.[0] !== b[i]?.[0] || a[i][1] !== b[i][1])
        return `${a[i]?.[0]}: ${a[i]?.[1].slice(0, 80)} vs ${b[i]?.[0]}: ${b[i]?.[1].slice(0, 80)}`;
    return undefined;
  };
  return {
    name: 'abbrev',
    seeds: usable.length,
    gen(r) {
      const src = r.pick(usable);
      const sec = elf64Section(src, '.debug_abbrev');
      if (!sec || r.chance(0.05)) return mutate(src, r, dict, () => r.pick(usable), 8);
      const b = Uint8Array.from(src);
      const at = () => sec.off + r.int(Math.max(1, sec.size));
      for (let k = 0, n = 1 + r.int(r.chance(0.7) ? 3 : 12); k < n; k++) {
        const op = r.int(8);
        if (op === 0) b[at()] = r.int(256);
        else if (op === 1)
          b[at()] |= 0x80; // a continuation: the LEB128 runs on
        else if (op === 2)
          b[at()] = 0; // a code 0 (an early end), a 0 attribute or form
        else if (op === 3) b[at()] = r.pick([0x21, 0x01, 0x11, 0x55, 0x13, 0x15, 0x2e, 0x1d, 0x7f, 0x80, 0xff]);
        else if (op === 4) {
          // a run of continuation bytes: huge or padded values
          const p = at();
          for (let i = 0, m = 1 + r.int(12); i < m && p + i < sec.off + sec.size; i++) b[p + i] = 0x80 | r.int(128);
        } else if (op === 5) {
          // a multi-byte value below 2^32 in place of a byte or two
          const p = at();
          if (p + 1 < sec.off + sec.size) {
            b[p] = 0x80 | r.int(128);
            b[p + 1] = r.int(16);
          }
        } else if (op === 6) {
          // shrink the section: a table runs past its end
          new DataView(b.buffer).setBigUint64(sec.header + 32, BigInt(r.int(sec.size + 1)), true);
        } else {
          const d = r.pick(dict);
          const p = at();
          b.set(d.subarray(0, Math.max(0, Math.min(d.length, sec.off + sec.size - p))), p);
        }
      }
      return b;
    },
    run(bytes, r) {
      const rd = core.DwarfReader.open(core.bytesSource(bytes, 'fuzz.o'));
      let n = 0;
      try {
        const h = differential && rd.elf.section('.debug_abbrev');
        if (h) {
          const s = rd.elf.data(h);
          // the first table, random offsets (mid-table starts too), and one past the end
          const offs = [0, s.bytes.length, ...Array.from({ length: 6 }, () => r.int(Math.max(1, s.bytes.length)))];
          for (const off of offs)
            for (const shape of shapes) {
              const want = outcome(() => core.jsReadAbbrevTable(s, off, ...shape));
              const got = outcome(() => core.readAbbrevTable(s, off, ...shape));
              const d = differ(got, want);
              if (d)
                throw new Error(
                  `abbrev table at 0x${off.toString(16)} (${shape.join('/')}): readAbbrevTable differs from the JavaScript reference: ${d}`,
                );
              n++;
            }
        }
        for (const s of rd.elf.sections.filter((x) => x.flags & 4 && x.size > 0).slice(0, 4)) {
          for (let k = 0; k < 4; k++) {
            const res = rd.lookupInSection(s.index, r.int(Math.max(1, Math.min(s.size, 1 << 20))));
            n++;
            if (res.kind === 'error') throw res.error;
          }
        }
      } finally {
        rd.close();
      }
      return n;
    },
  };
}

function spawnOk(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function makeTargets(core, { root, corpus = defaultCorpus(root), only } = {}) {
  const makers = {
    kallsyms: kallsymsTarget,
    elf: elfTarget,
    btf: btfTarget,
    log: logTarget,
    klpsym: klpsymTarget,
    klpc: klpcTarget,
    guarded: guardedTarget,
    decompress: decompressTarget,
    dwarf: dwarfTarget,
    identity: identityTarget,
    kerneldir: kernelDirTarget,
    symtab: symtabTarget,
    abbrev: abbrevTarget,
  };
  const names = only ? [only].flat() : PARSERS;
  const out = {};
  for (const n of names) {
    if (!makers[n]) throw new Error(`unknown parser '${n}' (one of: ${PARSERS.join(', ')})`);
    out[n] = makers[n](core, corpus, root);
  }
  return out;
}
