import { readelfSymbols, type ReadelfSym } from '../../helpers/readelf';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ModuleStore, defaultModulePaths, ModuleFrameResult } from '../../../server/src/core/modules/store';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { scanLine, FrameToken } from '../../../server/src/core/log/scan';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/debian-6.1.0-56-amd64/modules', import.meta.url));
const HAVE_CORPUS = existsSync(CORPUS);
const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const HAVE_READELF = has('readelf');
const HAVE_XZ = has('xz');
const HAVE_ZSTD = has('zstd');
const CORPUS_OK = HAVE_CORPUS && HAVE_READELF;
if (!HAVE_CORPUS) console.warn(`modstore.test: corpus absent (${CORPUS}); skipping corpus tests`);
if (HAVE_CORPUS && !HAVE_READELF) console.warn('modstore.test: readelf missing; skipping oracle tests');
if (!HAVE_XZ) console.warn('modstore.test: xz CLI missing; skipping .ko.xz test');
if (!HAVE_ZSTD) console.warn('modstore.test: zstd CLI missing; skipping .ko.zst test');

const mod = (rel: string) => join(CORPUS, rel);
const XFS = 'fs/xfs/xfs.ko';
const DRBD = 'drivers/block/drbd/drbd.ko';
const BBR = 'net/ipv4/tcp_bbr.ko';
const CRC7 = 'lib/crc7.ko';
const VIRTIO = 'drivers/net/virtio_net.ko';

// ---- readelf oracle ----------------------------------------------------------

type RSym = ReadelfSym;
interface RSec {
  nr: number;
  name: string;
  size: number;
  flags: string;
  align: number;
}

function readelfSections(path: string): RSec[] {
  const text = execFileSync('readelf', ['-SW', path], { maxBuffer: 1 << 26 }).toString();
  const out: RSec[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(.*)$/.exec(line);
    if (!m || m[1] === '0') continue;
    const t = m[2].trim().split(/\s+/);
    // name type addr off size es [flg] lk inf al
    out.push({ nr: +m[1], name: t[0], size: parseInt(t[4], 16), flags: t.length >= 10 ? t[6] : '', align: +t[t.length - 1] });
  }
  return out;
}

function readelfBuildId(path: string): string {
  const text = execFileSync('readelf', ['-nW', path]).toString();
  return /Build ID: ([0-9a-f]+)/.exec(text)![1];
}

interface Oracle {
  syms: RSym[];
  secs: Map<number, RSec>;
  secName(ndx: string): string;
  /** Symbols find_kallsyms_symbol considers in the kept view. */
  eligible(s: RSym): boolean;
  /** Section-rule size: distance to the next higher eligible symbol of the section, or the section end. */
  kernelSize(s: RSym): number;
  /** Nearest eligible symbol at or below value in section ndx (first in symtab order on ties). */
  floor(ndx: string, value: number): RSym | undefined;
}

function oracle(path: string): Oracle {
  const syms = readelfSymbols(path);
  const secs = new Map(readelfSections(path).map((s) => [s.nr, s]));
  const secName = (ndx: string) => (/^\d+$/.test(ndx) ? secs.get(+ndx)!.name : '');
  const keptSection = (ndx: string) => {
    if (!/^\d+$/.test(ndx)) return false;
    const s = secs.get(+ndx)!;
    return s.flags.includes('A') && !s.name.startsWith('.init') && !['.modinfo', '__versions'].includes(s.name);
  };
  const eligible = (s: RSym) => s.num > 0 && keptSection(s.ndx) && s.type !== 'SECTION' && s.name !== '' && !/^(\.L|\$)/.test(s.name);
  const bySec = new Map<string, RSym[]>();
  for (const s of syms) if (eligible(s)) (bySec.get(s.ndx) ?? bySec.set(s.ndx, []).get(s.ndx)!).push(s);
  return {
    syms,
    secs,
    secName,
    eligible,
    kernelSize(s) {
      let next = secs.get(+s.ndx)!.size;
      for (const t of bySec.get(s.ndx) ?? []) if (t.value > s.value && t.value < next) next = t.value;
      return next - s.value;
    },
    floor(ndx, value) {
      let best: RSym | undefined;
      for (const t of bySec.get(ndx) ?? []) if (t.value <= value && (!best || t.value > best.value)) best = t;
      return best;
    },
  };
}

function frame(text: string, extra: Partial<FrameToken> = {}): FrameToken {
  const t = scanLine(text).find((x): x is FrameToken => x.kind === 'frame');
  if (!t) throw new Error('no frame in ' + text);
  return { ...t, ...extra };
}

const h = (n: number | bigint) => n.toString(16);
function ok(r: ModuleFrameResult): Extract<ModuleFrameResult, { ok: true }> {
  if (!r.ok) throw new Error(r.error);
  return r;
}

let TMP = '';
beforeAll(() => {
  TMP = mkdtempSync(join(tmpdir(), 'modstore-'));
});
afterAll(() => {
  if (TMP) rmSync(TMP, { recursive: true, force: true });
});
const tmpDir = (name: string) => {
  const d = join(TMP, name);
  mkdirSync(d, { recursive: true });
  return d;
};

// ---- indexing -------------------------------------------------------------------

describe('module store: indexing', () => {
  it('defaultModulePaths is /lib/modules/$(uname -r) when present', () => {
    const d = defaultModulePaths();
    expect(d.length).toBeLessThanOrEqual(1);
    for (const p of d) expect(p).toMatch(/^\/lib\/modules\//);
  });

  it.skipIf(!HAVE_CORPUS)('finds all 15 corpus modules by name without parsing any', async () => {
    const store = new ModuleStore([CORPUS]);
    const rep = await store.scan();
    expect(rep.files).toBe(15);
    expect(rep.modules).toBe(15);
    expect(rep.errors).toEqual([]);
    const names = store.names();
    for (const n of [
      'kvm_intel',
      'kvm',
      'snd_ctxfi',
      'dell_wmi_sysman',
      'xfs',
      'drbd',
      'tcp_bbr',
      'crc7',
      'crct10dif_common',
      'virtio_net',
      'ext4',
      'f2fs',
      'fuse',
      'overlay',
      'bridge',
    ]) {
      expect(names, n).toContain(n);
    }
    expect(store.has('kvm-intel')).toBe(true);
    expect(store.filesOf('kvm_intel')).toEqual([mod('arch/x86/kvm/kvm-intel.ko')]);
    expect(store.stats().parsed).toBe(0);
  });

  it('walks thousands of modules by name only; skips build/source symlinks; caps depth', async () => {
    const root = tmpDir('tree');
    for (let d = 0; d < 30; d++) {
      const dir = join(root, 'kernel', `sub${d}`, 'x');
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 100; i++)
        writeFileSync(
          join(dir, `m-${d}-${i}.ko${i % 4 === 1 ? '.xz' : i % 4 === 2 ? '.zst' : i % 4 === 3 ? '.gz' : ''}`),
          Buffer.alloc(64),
        ); // an ELF header's size
      writeFileSync(join(dir, 'modules.order'), '');
      // Empty and truncated files are skipped from the walk's stat, never opened (counted, summarised).
      writeFileSync(join(dir, `empty-${d}.ko`), '');
      writeFileSync(join(dir, `short-${d}.ko.zst`), Buffer.alloc(63));
    }
    // A huge tree behind `build` must not be walked.
    const big = tmpDir('headers');
    writeFileSync(join(big, 'should-not-see.ko'), '');
    symlinkSync(big, join(root, 'build'));
    symlinkSync(big, join(root, 'source'));
    let deep = join(root, 'deep');
    for (let i = 0; i < 20; i++) deep = join(deep, 'd');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'too-deep.ko'), '');
    const store = new ModuleStore([root], { maxDepth: 10 });
    const t0 = performance.now();
    const rep = await store.scan();
    const ms = performance.now() - t0;
    expect(rep.files).toBe(3000);
    expect(rep.small).toBe(60);
    expect(rep.smallSummary).toMatch(/^60 module files smaller than an ELF header \(64 bytes\) skipped unread: \S*empty-0\.ko, /);
    expect(store.has('empty_0')).toBe(false);
    expect(store.has('m_7_42')).toBe(true);
    expect(store.has('m_7_41')).toBe(true); // .ko.xz
    expect(store.has('should_not_see')).toBe(false);
    expect(store.has('too_deep')).toBe(false);
    expect(rep.truncated).toBe(true);
    expect(store.stats().parsed).toBe(0);
    expect(ms).toBeLessThan(5000);
    // Loading an empty file is a clear failure, not an exception.
    const r = await store.load('m_0_0');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('m-0-0.ko');
  });

  it('missing paths are reported, not thrown', async () => {
    const store = new ModuleStore(['/nonexistent/modstore-x']);
    const rep = await store.scan();
    expect(rep.errors[0]).toContain('/nonexistent/modstore-x');
    const r = await store.load('xfs');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.kind).toBe('not-found');
  });
});

// ---- loading ----------------------------------------------------------------------

describe.skipIf(!CORPUS_OK)('module store: lazy loading, cache, compression, build ids, errors', () => {
  it('parses only the module a frame needs, once (concurrent requests share it)', async () => {
    const store = new ModuleStore([CORPUS]);
    await store.scan();
    expect(store.stats().parsed).toBe(0);
    const f = frame(' bbr_main+0x10/0x20 [tcp_bbr]');
    const [a, b] = await Promise.all([store.resolveModuleFrame(f), store.resolveModuleFrame(f)]);
    expect(a.ok && b.ok).toBe(true);
    expect(store.stats().parsed).toBe(1);
    await store.resolveModuleFrame(f);
    expect(store.stats().parsed).toBe(1);
    expect(store.stats().cached).toBe(1);
  });

  it('LRU cache is bounded by module count', async () => {
    const store = new ModuleStore([CORPUS], { maxModules: 2 });
    for (const n of ['crc7', 'tcp_bbr', 'crct10dif_common']) expect((await store.load(n)).ok).toBe(true);
    expect(store.stats().cached).toBeLessThanOrEqual(2);
    expect(store.stats().parsed).toBe(3);
    await store.load('crc7'); // evicted: parsed again
    expect(store.stats().parsed).toBe(4);
    await store.load('crct10dif_common'); // still cached
    expect(store.stats().parsed).toBe(4);
  });

  it('LRU cache is bounded by bytes (the latest module always stays)', async () => {
    const store = new ModuleStore([CORPUS], { maxBytes: 1 });
    expect((await store.load('tcp_bbr')).ok).toBe(true);
    expect((await store.load('crc7')).ok).toBe(true);
    expect(store.stats().cached).toBe(1);
  });

  const compressions: Array<[string, boolean, (src: string, dst: string) => void]> = [
    ['gz', true, (s, d) => writeFileSync(d, gzipSync(readFileSync(s)))],
    ['xz', HAVE_XZ, (s, d) => writeFileSync(d, execFileSync('xz', ['-c', '--check=crc32', s], { maxBuffer: 1 << 28 }))],
    ['zst', HAVE_ZSTD, (s, d) => writeFileSync(d, execFileSync('zstd', ['-c', '-q', s], { maxBuffer: 1 << 28 }))],
  ];
  for (const [ext, avail, make] of compressions) {
    it.skipIf(!avail)(`.ko.${ext} copies resolve identically`, async () => {
      const dir = tmpDir(`comp-${ext}`);
      const sub = join(dir, 'kernel', 'drivers', 'net');
      mkdirSync(sub, { recursive: true });
      make(mod(VIRTIO), join(sub, `virtio_net.ko.${ext}`));
      make(mod(DRBD), join(dir, `drbd.ko.${ext}`));
      const plain = new ModuleStore([CORPUS]);
      const comp = new ModuleStore([dir]);
      expect((await comp.scan()).modules).toBe(2);
      const frames = [
        frame(' virtnet_poll+0x12/0x400 [virtio_net]'),
        frame(' receive_buf+0x20/0x1000 [virtio_net]'),
        frame(' put_ldev+0x5/0xe8 [drbd]'),
      ];
      for (const f of frames) {
        const a = ok(await plain.resolveModuleFrame(f));
        const b = ok(await comp.resolveModuleFrame(f));
        expect(b.file.endsWith(`.ko.${ext}`)).toBe(true);
        expect(b.candidates.length).toBeGreaterThan(0);
        expect(b.candidates).toEqual(a.candidates);
        expect(b.sameName).toEqual(a.sameName);
        expect(b.buildId).toBe(a.buildId);
      }
    });
  }

  it('build id selects among same-name files; a mismatch is reported', async () => {
    const real = readelfBuildId(mod(XFS));
    const a = tmpDir('bid-a');
    const b = tmpDir('bid-b');
    copyFileSync(mod(XFS), join(a, 'xfs.ko'));
    const bytes = new Uint8Array(readFileSync(mod(XFS)));
    // Flip the first byte of the build-id descriptor (.note.gnu.build-id: 16-byte header + "GNU\0").
    const noteOff = parseInt(
      /\.note\.gnu\.build-id\s+NOTE\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', mod(XFS)]).toString())![1],
      16,
    );
    bytes[noteOff + 16] ^= 0xff;
    writeFileSync(join(b, 'xfs.ko'), bytes);
    const altered = readelfBuildId(join(b, 'xfs.ko'));
    expect(altered).not.toBe(real);

    const store = new ModuleStore([b, a]);
    await store.scan();
    expect(store.filesOf('xfs')).toEqual([join(b, 'xfs.ko'), join(a, 'xfs.ko')]);
    const r1 = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x3c/0x5d0 [xfs ${real}]`)));
    expect(r1.file).toBe(join(a, 'xfs.ko'));
    expect(r1.buildIdMatch).toBe(true);
    expect(r1.buildId).toBe(real);
    const r2 = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x3c/0x5d0 [xfs ${altered}]`)));
    expect(r2.file).toBe(join(b, 'xfs.ko'));
    expect(r2.buildIdMatch).toBe(true);
    const other = '00'.repeat(20);
    const r3 = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x3c/0x5d0 [xfs ${other}]`)));
    expect(r3.buildIdMatch).toBe(false);
    expect(r3.warnings.join('\n')).toMatch(/build id mismatch.*00000000/);
    // Without a build id: the first file in path order.
    const r4 = ok(await store.resolveModuleFrame(frame(' xfs_buf_ioend+0x3c/0x5d0 [xfs]')));
    expect(r4.file).toBe(join(b, 'xfs.ko'));
    expect(r4.buildIdMatch).toBeUndefined();
  });

  it('a truncated module gives file + offset + reason; the store keeps working', async () => {
    const dir = tmpDir('trunc');
    writeFileSync(join(dir, 'tcp_bbr.ko'), readFileSync(mod(BBR)).subarray(0, 3000));
    writeFileSync(join(dir, 'fuse.ko.gz'), gzipSync(readFileSync(mod('fs/fuse/fuse.ko')).subarray(0, 100000)));
    copyFileSync(mod(CRC7), join(dir, 'crc7.ko'));
    const store = new ModuleStore([dir]);
    const r = await store.load('tcp_bbr');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe('format');
      expect(r.error).toContain(join(dir, 'tcp_bbr.ko'));
      expect(r.error).toMatch(/offset 0x[0-9a-f]+/);
      expect(r.error).toMatch(/past the end of the file/);
    }
    const f = await store.resolveModuleFrame(frame(' bbr_main+0x10/0x20 [tcp_bbr]'));
    expect(f.ok).toBe(false);
    if (!f.ok) expect(f.error).toContain('tcp_bbr.ko');
    const g = await store.load('fuse');
    expect(g.ok).toBe(false);
    if (!g.ok) expect(g.error).toMatch(/fuse\.ko\.gz: offset 0x[0-9a-f]+: /);
    expect(ok(await store.resolveModuleFrame(frame(' crc7_be+0x10/0x40 [crc7]'))).candidates.length).toBe(1);
    expect(store.stats().failures).toBe(2);
  });
});

// ---- frame resolution -----------------------------------------------------------------

describe.skipIf(!CORPUS_OK)('module store: frames vs readelf -sW', () => {
  let store: ModuleStore;
  beforeAll(() => {
    store = new ModuleStore([CORPUS]);
  });

  it('xfs_buf_ioend+0x3c/0xSIZE [xfs]', async () => {
    const o = oracle(mod(XFS));
    const s = o.syms.filter((x) => x.name === 'xfs_buf_ioend');
    expect(s.length).toBe(1);
    const size = o.kernelSize(s[0]);
    const r = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x3c/0x${h(size)} [xfs]`)));
    expect(r.module).toBe('xfs');
    expect(r.view).toBe('kept');
    expect(r.candidates.length).toBe(1);
    const c = r.candidates[0];
    expect(c.index).toBe(s[0].num);
    expect(c.section).toBe(o.secName(s[0].ndx));
    expect(c.section).toBe('.text');
    expect(c.value).toBe(s[0].value);
    expect(c.size).toBe(s[0].size);
    expect(c.binding).toBe(s[0].bind);
    expect(c.type).toBe('t');
    expect(c.keptPosition).toBe(1);
    expect(c.initPosition).toBe(1);
    expect(c.kernelSize).toBe(size);
    expect(c.basis).toBe('section');
    expect(c.printed?.text).toBe(`xfs_buf_ioend+0x3c/0x${h(size)} [xfs]`);
    expect(c.printedMatches).toBe(true);
    expect(r.sameName.map((x) => x.index)).toEqual([s[0].num]);
    // A wrong size in the log is flagged.
    const bad = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x3c/0x${h(size + 1)} [xfs]`)));
    expect(bad.candidates[0].printedMatches).toBe(false);
    expect(bad.messages.join('\n')).toMatch(/a different build/);
  });

  it('offsets beyond the symbol print the next symbol; %pB return address at the end stays in the function', async () => {
    const o = oracle(mod(XFS));
    const s = o.syms.find((x) => x.name === 'xfs_buf_ioend')!;
    const size = o.kernelSize(s);
    const next = o.floor(s.ndx, s.value + size)!;
    const r = ok(await store.resolveModuleFrame(frame(`RIP: 0010:xfs_buf_ioend+0x${h(size + 2)}/0x${h(size)} [xfs]`)));
    expect(r.candidates[0].printed?.name).toBe(next.name);
    expect(r.candidates[0].printed?.offset).toBe(s.value + size + 2 - next.value);
    expect(r.candidates[0].printedMatches).toBe(false);
    const t = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x${h(size)}/0x${h(size)} [xfs]`)));
    expect(t.candidates[0].printed?.text).toBe(`xfs_buf_ioend+0x${h(size)}/0x${h(size)} [xfs]`);
    expect(t.candidates[0].printedMatches).toBe(true);
  });

  it('drbd put_ldev: 10 candidates with positions 1..10', async () => {
    const o = oracle(mod(DRBD));
    const want = o.syms.filter((x) => x.name === 'put_ldev');
    expect(want.length).toBe(10);
    const r = ok(await store.resolveModuleFrame(frame(' put_ldev+0x5/0xe8 [drbd]')));
    expect(r.candidates.map((c) => c.index)).toEqual(want.map((x) => x.num));
    expect(r.candidates.map((c) => c.keptPosition)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.candidates.map((c) => c.initPosition)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.candidates.map((c) => c.value)).toEqual(want.map((x) => x.value));
    expect(r.candidates.map((c) => c.kernelSize)).toEqual(want.map((x) => o.kernelSize(x)));
    expect(r.sameName.length).toBe(10);
    for (const c of r.candidates) expect(c.section).toBe('.text');
  });

  it('several same-name symbols are narrowed by the printed size', async () => {
    const o = oracle(mod(DRBD));
    const groups = new Map<string, RSym[]>();
    for (const s of o.syms) if (o.eligible(s) && s.type === 'FUNC') (groups.get(s.name) ?? groups.set(s.name, []).get(s.name)!).push(s);
    let picked: { name: string; target: RSym; n: number } | undefined;
    for (const [name, list] of groups) {
      if (list.length < 2) continue;
      const sizes = list.map((x) => o.kernelSize(x));
      const k = sizes.findIndex((z) => sizes.filter((y) => y === z).length === 1);
      if (k >= 0) {
        picked = { name, target: list[k], n: list.length };
        break;
      }
    }
    expect(picked).toBeDefined();
    const { name, target, n } = picked!;
    const r = ok(await store.resolveModuleFrame(frame(` ${name}+0x1/0x${h(o.kernelSize(target))} [drbd]`)));
    expect(r.unnarrowed).toBe(n);
    expect(r.narrowedBySize).toBe(true);
    expect(r.candidates.map((c) => c.index)).toEqual([target.num]);
    const pos = groups.get(name)!.findIndex((x) => x.num === target.num) + 1;
    expect(r.candidates[0].keptPosition).toBe(pos);
  });

  it('an init function resolves in the full (init) view', async () => {
    const o = oracle(mod(XFS));
    const s = o.syms.find((x) => x.name === 'init_xfs_fs')!;
    expect(o.secName(s.ndx)).toBe('.init.text');
    const r = ok(await store.resolveModuleFrame(frame(` init_xfs_fs+0x10/0x${h(s.size)} [xfs]`)));
    expect(r.view).toBe('init');
    expect(r.candidates[0].keptPosition).toBe(0);
    expect(r.candidates[0].initPosition).toBe(1);
    expect(r.candidates[0].section).toBe('.init.text');
    expect(r.messages.join('\n')).toMatch(/not kept after init/);
  });

  it('unknown symbol / module / frame without module', async () => {
    const r = ok(await store.resolveModuleFrame(frame(' no_such_function_xyz+0x1/0x2 [xfs]')));
    expect(r.candidates).toEqual([]);
    expect(r.messages.join('\n')).toMatch(/no symbol/);
    const m = await store.resolveModuleFrame(frame(' foo+0x1/0x2 [no_such_module]'));
    expect(m.ok).toBe(false);
    const n = await store.resolveModuleFrame(frame(' foo+0x1/0x2'));
    expect(n.ok).toBe(false);
  });
});

// ---- runtime addresses --------------------------------------------------------------------

describe.skipIf(!CORPUS_OK)('module store: runtime addresses', () => {
  /** Synthetic /proc/kallsyms lines for a module from readelf, with a chosen base per section. */
  function synthKallsyms(path: string, modName: string, baseOf: (nr: number) => bigint): { text: string; o: Oracle } {
    const o = oracle(path);
    const lines: string[] = [];
    for (const s of o.syms) {
      if (!o.eligible(s) || s.type === 'FILE') continue;
      const sec = o.secs.get(+s.ndx)!;
      if (sec.name === '.data..percpu') continue;
      const t = sec.flags.includes('X') ? 't' : 'd';
      lines.push(
        `${h(baseOf(sec.nr) + BigInt(s.value)).padStart(16, '0')} ${s.bind === 'GLOBAL' ? t.toUpperCase() : t} ${s.name}\t[${modName}]`,
      );
    }
    return { text: lines.join('\n') + '\n', o };
  }
  const XFS_BASE = (nr: number) => 0xffffffffc1000000n + BigInt(nr) * 0x1000000n;
  const BBR_BASE = (nr: number) => 0xffffffffd0000000n + BigInt(nr) * 0x100000n;

  async function learned() {
    const x = synthKallsyms(mod(XFS), 'xfs', XFS_BASE);
    const b = synthKallsyms(mod(BBR), 'tcp_bbr', BBR_BASE);
    const vml = 'ffffffff81000000 T _stext\nffffffff81000100 T some_func\nffffffff82000000 T _etext\n';
    const index = buildIndex([{ file: 'synthetic-kallsyms', bytes: new TextEncoder().encode(vml + x.text + b.text), kind: 'kallsyms' }]);
    const store = new ModuleStore([CORPUS]);
    return { store, index, xo: x.o, bo: b.o };
  }

  it('learns section bases from kallsyms [mod] symbols', async () => {
    const { store, index, xo } = await learned();
    const reps = await store.learnFromKallsyms(index);
    expect(reps.map((r) => r.module).sort()).toEqual(['tcp_bbr', 'xfs']);
    const xr = reps.find((r) => r.module === 'xfs')!;
    expect(xr.problems).toEqual([]);
    const textNr = [...xo.secs.values()].find((s) => s.name === '.text')!.nr;
    expect(xr.bases.get('.text')).toBe(XFS_BASE(textNr));
    expect(xr.evidence.find((e) => e.section === '.text')!.verified).toBe(true);
    for (const [sec, base] of xr.bases) {
      const nr = [...xo.secs.values()].find((s) => s.name === sec)!.nr;
      expect(base, sec).toBe(XFS_BASE(nr));
    }
    expect(xr.bases.size).toBeGreaterThan(5);
  });

  it('resolves runtime addresses like find_kallsyms_symbol (%pS and %pB)', async () => {
    const { store, index, xo, bo } = await learned();
    store.useKallsyms(index); // lazy: learned on first use
    expect(store.stats().parsed).toBe(0);
    const s = xo.syms.find((x) => x.name === 'xfs_buf_ioend')!;
    const base = XFS_BASE(+s.ndx);
    const size = xo.kernelSize(s);
    const r = await store.resolveAddress(base + BigInt(s.value) + 0x3cn);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.module).toBe('xfs');
    expect(r.section).toBe('.text');
    expect(r.sectionOffset).toBe(s.value + 0x3c);
    expect(r.print.text).toBe(`xfs_buf_ioend+0x3c/0x${h(size)} [xfs]`);
    expect(store.stats().parsed).toBe(1);
    // %pB at the very end of the function stays in it.
    const e = await store.resolveAddress(base + BigInt(s.value + size), { returnAddress: true });
    expect(e.ok && e.print.text).toBe(`xfs_buf_ioend+0x${h(size)}/0x${h(size)} [xfs]`);
    // %pS at the same address is the next symbol.
    const nx = xo.floor(s.ndx, s.value + size)!;
    const p = await store.resolveAddress(base + BigInt(s.value + size));
    expect(p.ok && p.print.name).toBe(nx.name);
    // A handful of random addresses in tcp_bbr's .text against the oracle.
    const text = [...bo.secs.values()].find((x) => x.name === '.text')!;
    for (let k = 0; k < 40; k++) {
      const off = Math.floor((k * 2654435761) % text.size);
      const want = bo.floor(String(text.nr), off);
      const got = await store.resolveAddress(BBR_BASE(text.nr) + BigInt(off));
      if (!want) {
        expect(got.ok && got.print.name).not.toBe(undefined);
        continue;
      }
      expect(got.ok, `tcp_bbr .text+0x${h(off)}`).toBe(true);
      if (!got.ok) continue;
      expect(got.print.name).toBe(want.name);
      expect(got.print.offset).toBe(off - want.value);
      const sz = bo.kernelSize(want);
      // The last symbol of .text runs to the (page-aligned) end of the text area.
      if (want.value + sz < text.size) expect(got.print.size).toBe(sz);
      else expect(got.print.size).toBeGreaterThanOrEqual(sz);
    }
    // Outside every module.
    const out = await store.resolveAddress(0xffffffff81000100n);
    expect(out.ok).toBe(false);
  });

  it('frames resolved with known bases use runtime sizes and carry the address', async () => {
    const { store, index, xo } = await learned();
    await store.learnFromKallsyms(index, ['xfs']);
    const s = xo.syms.find((x) => x.name === 'xfs_buf_ioend')!;
    const r = ok(await store.resolveModuleFrame(frame(` xfs_buf_ioend+0x3c/0x${h(xo.kernelSize(s))} [xfs]`)));
    expect(r.candidates[0].basis).toBe('runtime');
    expect(r.candidates[0].address).toBe(XFS_BASE(+s.ndx) + BigInt(s.value));
    expect(r.candidates[0].printedMatches).toBe(true);
  });

  it('init addresses resolve in the init view once .init.text is known', async () => {
    const { store, xo } = await learned();
    const s = xo.syms.find((x) => x.name === 'init_xfs_fs')!;
    store.setSectionBase('xfs', '.init.text', 0xffffffffc8000000n);
    const r = await store.resolveAddress(0xffffffffc8000000n + BigInt(s.value) + 1n);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.print.view).toBe('init');
      expect(r.print.name).toBe('init_xfs_fs');
      expect(r.print.offset).toBe(1);
    }
  });

  it('learns a section base from a log frame printed with its address', async () => {
    const o = oracle(mod(XFS));
    const s = o.syms.find((x) => x.name === 'xfs_buf_ioend')!;
    const t = o.syms.find((x) => x.name === 'xfs_buf_ioend_work')!;
    const base = 0xffffffffa0100000n;
    const addr = base + BigInt(s.value) + 0x3cn;
    const store = new ModuleStore([CORPUS]);
    const reps = await store.learnFromLog([`[  12.345678]  [<${h(addr)}>] xfs_buf_ioend+0x3c/0x${h(o.kernelSize(s))} [xfs]`]);
    expect(reps.length).toBe(1);
    expect(reps[0].problems).toEqual([]);
    expect(reps[0].bases.get('.text')).toBe(base);
    const r = await store.resolveAddress(base + BigInt(t.value) + 4n);
    expect(r.ok && r.print.text).toBe(`xfs_buf_ioend_work+0x4/0x${h(o.kernelSize(t))} [xfs]`);
    // Other executable sections follow from the kernel's text layout (header order, sh_addralign).
    let off = 0;
    const pos = new Map<string, number>();
    for (const sec of [...o.secs.values()].sort((a, b) => a.nr - b.nr)) {
      if (!sec.flags.includes('A') || !sec.flags.includes('X') || sec.name.startsWith('.init')) continue;
      const a = Math.max(1, sec.align);
      off = Math.ceil(off / a) * a;
      pos.set(sec.name, off);
      off += sec.size;
    }
    const u = o.syms.find((x) => o.eligible(x) && x.type === 'FUNC' && o.secName(x.ndx) === '.text.unlikely')!;
    const uAddr = base - BigInt(pos.get('.text')!) + BigInt(pos.get('.text.unlikely')!) + BigInt(u.value) + 1n;
    const ru = await store.resolveAddress(uAddr);
    expect(ru.ok && ru.section).toBe('.text.unlikely');
    expect(ru.ok && ru.print.name).toBe(o.floor(u.ndx, u.value + 1)!.name);
    // Ambiguous names cannot teach a base.
    const d = await store.learnFromFrame(frame(`[<ffffffffa0200000>] put_ldev+0x5/0xf0 [drbd]`));
    expect(d.bases.size).toBe(0);
    expect(d.problems.join('\n')).toMatch(/10 symbols named put_ldev/);
  });

  it('sysfs sections directory (root only; absent is silent)', async () => {
    const o = oracle(mod(BBR));
    const root = tmpDir('sysmod');
    mkdirSync(join(root, 'tcp_bbr', 'sections'), { recursive: true });
    writeFileSync(join(root, 'tcp_bbr', 'sections', '.text'), '0xffffffffc0a00000\n');
    mkdirSync(join(root, 'crc7', 'sections'), { recursive: true });
    writeFileSync(join(root, 'crc7', 'sections', '.text'), '0x0000000000000000\n');
    mkdirSync(join(root, 'kvm'), { recursive: true }); // no sections dir
    const store = new ModuleStore([CORPUS], { sysfsRoot: root });
    const reps = await store.learnFromSysfs();
    expect(reps.find((r) => r.module === 'tcp_bbr')!.bases.get('.text')).toBe(0xffffffffc0a00000n);
    expect(reps.find((r) => r.module === 'crc7')!.problems.join()).toMatch(/root/);
    expect(reps.find((r) => r.module === 'kvm')).toBeUndefined();
    const s = o.syms.find((x) => x.name === 'bbr_main')!;
    const r = await store.resolveAddress(0xffffffffc0a00000n + BigInt(s.value) + 2n);
    // bbr_main is the last symbol of .text; .exit.text (align 1) follows it in the
    // kernel's text layout, so the size ends at the .text end (the section rule's answer too).
    expect(o.secs.get(+s.ndx)!.size).toBe(s.value + o.kernelSize(s));
    expect(r.ok && r.print.text).toBe(`bbr_main+0x2/0x${h(o.kernelSize(s))} [tcp_bbr]`);
    // Absent root: nothing, no throw.
    expect(await new ModuleStore([CORPUS]).learnFromSysfs('/nonexistent/sys/module')).toEqual([]);
  });
});
