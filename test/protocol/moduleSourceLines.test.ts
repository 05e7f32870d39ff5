/**
 * Source lines of module frames in the editor over stdio (issue 15 §3): `func+0xoff/0xsize
 * [mod]` frames read at (section, offset) in the module's DWARF, on a gcc-built
 * relocatable fixture (`gcc -g -O2 -c` + `ld -r --build-id=sha1`, a .text and a
 * .text.unlikely part, both at offset 0 of their section) and on the real Debian xfs.ko:
 * - hover, inlay hints, F12 and Decode Log give the line and inline chain of
 *   `addr2line -j SECTION -f -i` and of llvm-symbolizer --inlining on an ld-placed copy
 *   (stack entries at offset - 1, the RIP: frame at the offset);
 * - a stripped .ko is read through its .gnu_debuglink debug file when the build ids
 *   agree, and a debug file of another build is refused with the reason;
 * - a log's `[mod BUILDID]` that is not the module file's refuses the lines.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addr2line, haveTool, llvmSymbolize } from '../unit/dwarf/oracle';
import { placeCopy } from '../unit/dwarf/placed';
import { startSourceClient, type SourceClient } from '../helpers/sourceClient';
import { callSites as allCallSites, debianRelative, inlineHeader, sourceLocations, treeRelative, type CallSite } from '../helpers/fxKernel';
import { kernelData } from '../helpers/kernelData';
import { readelfSymbols } from '../helpers/readelf';
import { ElfView } from '../../server/src/core/dwarf/elf';
import { fileSource } from '../../server/src/core/dwarf/readFile';

const tools = ['gcc', 'ld', 'objcopy', 'objdump', 'llvm-symbolizer', 'addr2line', 'readelf'].every(haveTool);
if (!tools)
  console.warn('skipping module source-line protocol tests: gcc, ld, objcopy, objdump, llvm-symbolizer, addr2line or readelf missing');

const SOURCE = (extra: string) => `#include <linux/fxmhelp.h>
volatile int fxm_sink;
${extra}
__attribute__((noinline)) int fxm_a(int x) { return fxm_mid(x) + 1; }
__attribute__((noinline)) int fxm_b(int x) { return fxm_a(x) * 2 + fxm_mid(x); }
__attribute__((noinline)) int fxm_c(int x) { int r = fxm_b(x + 1); fxm_sink = r; return r + fxm_mid(r); }
__attribute__((noinline, cold)) int fxm_slow(int x) { int r = fxm_c(x); fxm_sink = r; return r + fxm_mid(x); }
__attribute__((noinline)) int fxm_d(int x) { if (x == 12345) return fxm_slow(x) + 3; return fxm_c(x) - 1; }
int fxm_e(int x) { int r = fxm_d(x); fxm_sink = r; return r; }
`;

/** Build fxmod.ko (relocatable, DWARF, GNU build id) in `tree`, a kernel-tree layout. */
function build(tree: string, extra: string): string {
  mkdirSync(join(tree, 'drivers/fxmod'), { recursive: true });
  mkdirSync(join(tree, 'include/linux'), { recursive: true });
  writeFileSync(join(tree, 'include/linux/fxmhelp.h'), inlineHeader('fxm'));
  writeFileSync(join(tree, 'drivers/fxmod/fxmod.c'), SOURCE(extra));
  const o = join(tree, 'drivers/fxmod/fxmod.o');
  execFileSync(
    'gcc',
    ['-g', '-O2', '-c', '-fno-pie', '-ffreestanding', '-fno-stack-protector', '-Iinclude', '-o', o, 'drivers/fxmod/fxmod.c'],
    { cwd: tree },
  );
  const ko = join(tree, 'drivers/fxmod/fxmod.ko');
  execFileSync('ld', ['-r', '--build-id=sha1', '-o', ko, o]);
  return ko;
}

type Site = CallSite;

/** Return addresses after each call inside fxm_* functions, per section (objdump -d of the relocatable object). */
const callSites = (ko: string): Site[] => allCallSites(ko).filter((s) => s.fn.startsWith('fxm_'));

/** The size the kernel prints for a module symbol: to the next symbol of its section (or the section's end), as kallsyms does. */
function kernelSize(ko: string, name: string): { value: number; size: number } {
  const all = readelfSymbols(ko).filter((s) => /^\d+$/.test(s.ndx) && s.type !== 'SECTION' && s.type !== 'FILE');
  const y = all.find((s) => s.name === name)!;
  const src = fileSource(ko);
  const end = new ElfView(src).sections[Number(y.ndx)].size;
  src.close?.();
  const next = all.filter((s) => s.ndx === y.ndx && s.value > y.value).reduce((m, s) => Math.min(m, s.value), end);
  return { value: y.value, size: next - y.value };
}

/** Hover until the source part is there: the first hover starts the reading and the server asks for a refresh when done. */
async function hoverLine(c: SourceClient, uri: string, line: number, col: number): Promise<string> {
  for (let i = 0; i < 20; i++) {
    // Listen before asking: the refresh may come while the hover is answered.
    const refreshed = c.nextRefresh('module source lines read');
    refreshed.catch(() => undefined);
    const h = await c.hover(uri, line, col + (i % 3));
    if (!h.value.includes('reading debug info')) return h.value;
    await refreshed;
  }
  throw new Error('the source line never came');
}

describe.skipIf(!tools)('module frames: source lines in hover, inlay hints, F12 and Decode Log (gcc relocatable fixture)', () => {
  const dir = tools ? mkdtempSync(join(tmpdir(), 'ksym-msrc-')) : '';
  const tree = join(dir, 'build');
  const src = join(dir, 'linux');
  const mods = join(dir, 'mods');
  const uri = pathToFileURL(join(dir, 'mod.oops')).href;
  let ko = '';
  let other = '';
  let c: SourceClient;
  let log: string[] = [];
  let frames: { site: Site; form: string; line: number; off: number }[] = [];
  let rip: { form: string; line: number; off: number; section: string };
  let placed = '';
  let base = new Map<string, number>();
  const base0 = (section: string) => base.get(section)!;

  beforeAll(async () => {
    ko = build(tree, '');
    other = build(
      join(dir, 'build2'),
      '__attribute__((noinline)) int fxm_pad(int x) { return fxm_mid(x) + fxm_mid(x + 2) + fxm_mid(x * 7); }',
    );
    cpSync(tree, src, { recursive: true });
    mkdirSync(mods);
    copyFileSync(ko, join(mods, 'fxmod.ko'));
    placed = join(dir, 'fxmod.placed');
    base = placeCopy(ko, placed);

    const sym = (n: string) => kernelSize(ko, n);
    // Stack entries: call sites in .text and in .text.unlikely (fxm_slow), printed as %pB (the offset of the return address).
    const sites = callSites(ko);
    expect(new Set(sites.map((s) => s.section))).toEqual(new Set(['.text', '.text.unlikely']));
    log = ['[    1.000000] BUG: fixture', '', '[    1.000000] Call Trace:', '[    1.000000]  <TASK>'];
    for (const s of sites) {
      const y = sym(s.fn);
      const off = s.ret - Number(y.value);
      const form = `${s.fn}+0x${off.toString(16)}/0x${y.size.toString(16)} [fxmod]`;
      frames.push({ site: s, form, line: log.length, off });
      log.push(`[    1.000000]  ${form}`);
    }
    log.push('[    1.000000]  </TASK>');
    // RIP: inside fxm_b where llvm-symbolizer (placed copy) sees a chain of 3.
    const b = sym('fxm_b');
    const cand = Array.from({ length: b.size }, (_, i) => i);
    const oc = llvmSymbolize(
      placed,
      cand.map((i) => '0x' + (base.get('.text')! + Number(b.value) + i).toString(16)),
    );
    const k = oc.findIndex((o) => o.length === 3);
    expect(k).toBeGreaterThan(0);
    rip = { form: `fxm_b+0x${k.toString(16)}/0x${b.size.toString(16)} [fxmod]`, line: 1, off: Number(b.value) + k, section: '.text' };
    log[1] = `[    1.000000] RIP: 0010:${rip.form}`;
    frames = frames.map((f) => ({ ...f, off: Number(sym(f.site.fn).value) + f.off }));
    writeFileSync(join(dir, 'map'), 'ffffffff81000000 T _text\nffffffff81000100 T start_kernel\nffffffff82000000 T _etext\n');
    c = await startSourceClient({ kallsyms: [], systemMap: [join(dir, 'map')], modules: [mods], btf: '', vmlinux: '', sourceRoots: [src] });
    await c.waitReady();
    await c.open(uri, 'kernel-log', log.join('\n'));
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hover: file:line and the inline chain of addr2line -j SECTION -i and llvm-symbolizer (placed copy), each location a link', async () => {
    const at = [...frames.map((f) => ({ section: f.site.section, off: f.off - 1 })), { section: rip.section, off: rip.off }];
    const oracle = llvmSymbolize(
      placed,
      at.map((a) => '0x' + (base.get(a.section)! + a.off).toString(16)),
    );
    const a2l = at.map((a) => addr2line(ko, ['0x' + a.off.toString(16)], a.section)[0]);
    let agree = 0;
    let agreeA2l = 0;
    const rows = [
      ...frames.map((f) => ({ line: f.line, col: log[f.line].indexOf(f.form) + 2 })),
      { line: rip.line, col: log[rip.line].indexOf(rip.form) + 2 },
    ];
    for (let i = 0; i < rows.length; i++) {
      const h = await hoverLine(c, uri, rows[i].line, rows[i].col);
      const locs = sourceLocations(h);
      expect(
        locs.map((l) => l.label),
        h,
      ).toEqual(treeRelative(oracle[i], tree));
      for (const l of locs) {
        const [path, line] = l.label.split(':');
        expect(l.target).toBe(`${pathToFileURL(join(src, path)).href}#L${line}${l.target!.match(/,\d+$/)?.[0] ?? ''}`);
      }
      for (let j = 1; j < oracle[i].length - 1; j++) expect(h).toContain(`inlined into \`${oracle[i][j].function}\``);
      agree++;
      // addr2line: the same chain of file:line (it reads the raw .ko with a section selector).
      if (a2l[i].map((f) => `${relative(tree, f.file)}:${f.line}`).join(' < ') === locs.map((l) => l.label).join(' < ')) agreeA2l++;
    }
    expect(oracle[rows.length - 1].length).toBe(3);
    console.log(
      `module source lines (gcc fixture, ${frames.length} stack entries in .text/.text.unlikely + RIP): ` +
        `${agree}/${rows.length} agree with llvm-symbolizer on the placed copy, ${agreeA2l}/${rows.length} with addr2line -j`,
    );
    expect(agreeA2l).toBe(rows.length);
  });

  it('inlay hints, F12 and Decode Log give the same lines', async () => {
    const oracle = llvmSymbolize(
      placed,
      frames.map((f) => '0x' + (base.get(f.site.section)! + f.off - 1).toString(16)),
    );
    const hints = (await c.conn.sendRequest('textDocument/inlayHint', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: log.length, character: 0 } },
    })) as { position: { line: number }; label: { value: string; location?: { uri: string } }[] }[];
    for (let i = 0; i < frames.length; i++) {
      const h = hints.find((x) => x.position.line === frames[i].line)!;
      const part = h.label.find((p) => p.value.trim() === treeRelative(oracle[i], tree)[0]);
      expect(part, JSON.stringify(h.label)).toBeDefined();
      expect(part!.location?.uri).toBe(pathToFileURL(join(src, treeRelative(oracle[i], tree)[0].split(':')[0])).href);
    }
    const f = frames[1];
    const locs = (await c.conn.sendRequest('textDocument/definition', {
      textDocument: { uri },
      position: { line: f.line, character: log[f.line].indexOf(f.form) + 2 },
    })) as { uri: string; range: { start: { line: number } } }[];
    expect(locs[0].uri).toBe(pathToFileURL(join(src, relative(tree, oracle[1][0].file))).href);
    expect(locs[0].range.start.line).toBe(oracle[1][0].line - 1);

    const r = (await c.conn.sendRequest('ksym/decodeLog', { uri })) as {
      content: string;
      links: { line: number; start: number; end: number; target: string }[];
    };
    const out = r.content.split('\n');
    expect(r.content).toContain(`debug info of [fxmod]: ${join(mods, 'fxmod.ko')}`);
    expect(r.content).not.toMatch(/^debug info: none/m); // no vmlinux frame: no vmlinux line to explain
    // The outermost frame is named by the symbol (what the kernel prints), inner ones by DWARF.
    const outerName = (i: number, j: number) => (j + 1 === oracle[i].length - 1 ? frames[i].site.fn : oracle[i][j + 1].function);
    for (let i = 0; i < frames.length; i++) {
      const row = out.findIndex((l) => l.includes(frames[i].form.replace(' [fxmod]', ' (')));
      expect(out[row]).toContain(`${frames[i].form.replace(' [fxmod]', '')} (${treeRelative(oracle[i], tree)[0]}) [fxmod]`);
      for (let j = 0; j + 1 < oracle[i].length; j++)
        expect(out[row + 1 + j]).toBe(
          `    ${oracle[i][j].function} inlined into ${outerName(i, j)} at ${treeRelative(oracle[i], tree)[j + 1]}`,
        );
    }
    for (const l of r.links) {
      const [path, line] = out[l.line].slice(l.start, l.end).split(':');
      expect(l.target.startsWith(`${pathToFileURL(join(src, path)).href}#L${line}`)).toBe(true);
    }
  });

  it('a stripped .ko is read through its .gnu_debuglink file when the build ids agree; a debug file of another build is refused', async () => {
    const sdir = join(dir, 'stripped');
    mkdirSync(sdir);
    execFileSync('objcopy', ['--only-keep-debug', ko, join(sdir, 'fxmod.debug')]);
    execFileSync('objcopy', ['--strip-debug', `--add-gnu-debuglink=${join(sdir, 'fxmod.debug')}`, ko, join(sdir, 'fxmod.ko')]);
    const uri2 = pathToFileURL(join(dir, 'mod2.oops')).href;
    const f = frames[0];
    await c.setSettings({ ...c.settings, modules: [sdir] });
    await c.open(uri2, 'kernel-log', log.join('\n'));
    const h = await hoverLine(c, uri2, f.line, log[f.line].indexOf(f.form) + 2);
    const o = llvmSymbolize(placed, ['0x' + (base.get(f.site.section)! + f.off - 1).toString(16)])[0];
    expect(sourceLocations(h).map((l) => l.label)).toEqual(treeRelative(o, tree));
    // Another build's debug file under the debuglink name: refused by build id, no line.
    execFileSync('objcopy', ['--only-keep-debug', other, join(sdir, 'fxmod.debug')]);
    await c.setSettings({ ...c.settings, modules: [join(dir, 'stripped')], sourceRoots: [src, dir] });
    const h2 = await hoverLine(c, uri2, f.line, log[f.line].indexOf(f.form) + 3);
    expect(h2).toContain('is not the module being served');
    expect(h2).toContain('so it is not used');
    expect(h2).not.toContain('**source** ');
    await c.setSettings({ ...c.settings, modules: [mods], sourceRoots: [src] });
  });

  it('a bare address inside the module, its load address taught by another frame of the log: the same line as the frame', async () => {
    const base = 0xffffffffc0a00000n;
    const text = frames.filter((f) => f.site.section === '.text');
    const [teach, bare] = [text[0], text[text.length - 1]];
    const at = (f: (typeof frames)[number]) => (base + BigInt(f.off)).toString(16);
    const lines = [
      'Call Trace:',
      ` [<${at(teach)}>] ${teach.form}`,
      ` [<${at(bare)}>] 0x${at(bare)}`,
      ` [<ffffffffc7000000>] 0xffffffffc7000000`,
    ];
    const uri4 = pathToFileURL(join(dir, 'mod4.oops')).href;
    await c.open(uri4, 'kernel-log', lines.join('\n'));
    const h = await hoverLine(c, uri4, 2, 4);
    const o = llvmSymbolize(placed, ['0x' + (base0('.text') + bare.off - 1).toString(16)])[0];
    expect(sourceLocations(h).map((l) => l.label)).toEqual(treeRelative(o, tree));
    // An address no module holds: no source part at all (nothing to say, and no "reading…").
    const none = await c.hover(uri4, 3, 4);
    expect(none.value).not.toContain('source');
    // The hints of this log (asked again after a refresh while an index rebuilt by the previous test's settings lands).
    type Hint = { position: { line: number }; label: { value: string }[] };
    const has = (hs: Hint[]) =>
      hs.find((x) => x.position.line === 2)?.label.some((p) => p.value.trim() === treeRelative(o, tree)[0]) === true;
    let hints: Hint[] = [];
    for (let i = 0; i < 10; i++) {
      const refreshed = c.nextRefresh('hints of the bare address');
      refreshed.catch(() => undefined);
      hints = (await c.conn.sendRequest('textDocument/inlayHint', {
        textDocument: { uri: uri4 },
        range: { start: { line: 0, character: 0 }, end: { line: 4, character: 0 } },
      })) as Hint[];
      if (has(hints)) break;
      await refreshed;
    }
    expect(has(hints), JSON.stringify(hints)).toBe(true);
    expect(hints.some((x) => x.position.line === 3)).toBe(false);
  });

  it("a log's [mod BUILDID] that is not the module file's: no lines, and the hover says why", async () => {
    const uri3 = pathToFileURL(join(dir, 'mod3.oops')).href;
    const f = frames[2];
    const line = `[    1.000000]  ${f.form.replace(' [fxmod]', ` [fxmod ${'ab'.repeat(20)}]`)}`;
    await c.open(uri3, 'kernel-log', `Call Trace:\n${line}\n`);
    const h = await hoverLine(c, uri3, 1, line.indexOf('fxm_') + 2);
    expect(h).toMatch(/build id .* differs from the build id fxmod has in the log/);
    expect(h).not.toContain('**source** ');
  });
});

const kd = kernelData();
const xfs = kd?.modules.get('xfs');
if (kd && !xfs) console.warn('skipping the xfs.ko editor test: no xfs.ko in the kernel data');

describe.skipIf(!tools || !xfs)('module frames: the real Debian xfs.ko', () => {
  it('hover on [xfs] stack entries equals llvm-symbolizer on an ld-placed copy (at offset - 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksym-mxfs-'));
    const c = await startSourceClient({ kallsyms: [], systemMap: [kd!.systemMap], modules: [xfs!], btf: '', vmlinux: '' });
    try {
      await c.waitReady();
      const src = fileSource(xfs!);
      const text = String(new ElfView(src).sections.findIndex((s) => s.name === '.text'));
      src.close?.();
      const syms = readelfSymbols(xfs!).filter((s) => s.type === 'FUNC' && s.size > 0x80 && s.ndx === text);
      const count = new Map<string, number>();
      for (const s of readelfSymbols(xfs!)) count.set(s.name, (count.get(s.name) ?? 0) + 1);
      const unique = syms.filter((s) => count.get(s.name) === 1);
      const pick = [0.1, 0.3, 0.5, 0.7, 0.9].map((p) => unique[Math.floor(p * unique.length)]);
      const frames = pick.map((s) => ({ s, off: 0x40, form: `${s.name}+0x40/0x${kernelSize(xfs!, s.name).size.toString(16)} [xfs]` }));
      const log = ['Call Trace:', ...frames.map((f) => ` ${f.form}`)];
      const uri = pathToFileURL(join(dir, 'xfs.oops')).href;
      await c.open(uri, 'kernel-log', log.join('\n'));
      const placed = join(dir, 'xfs.placed');
      const base = placeCopy(xfs!, placed).get('.text')!;
      const o = llvmSymbolize(
        placed,
        frames.map((f) => '0x' + (base + Number(f.s.value) + f.off - 1).toString(16)),
      );
      let agree = 0;
      const ms: number[] = [];
      for (let i = 0; i < frames.length; i++) {
        const t = performance.now();
        const h = await hoverLine(c, uri, i + 1, 3);
        ms.push(performance.now() - t);
        const want = o[i].map(debianRelative);
        if (JSON.stringify(sourceLocations(h).map((l) => l.label)) === JSON.stringify(want)) agree++;
        else console.log(`xfs frame ${frames[i].form}: ksym ${JSON.stringify(sourceLocations(h))}, llvm ${JSON.stringify(want)}`);
      }
      console.log(
        `xfs.ko in the editor: ${agree}/${frames.length} stack entries agree with llvm-symbolizer (placed copy); ` +
          `time to the line ${ms.map((x) => x.toFixed(0)).join(', ')} ms`,
      );
      expect(agree).toBe(frames.length);
    } finally {
      await c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
