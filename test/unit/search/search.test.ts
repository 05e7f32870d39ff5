import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf } from '../../../server/src/core/btf';
import { baseName, compilerSuffix } from '../../../server/src/core/search/corpus';
import { MatchClass, search } from '../../../server/src/core/search/ranking';
import { KallsymsSource, searchSources } from '../../../server/src/core/search/sources';
import { buildIndex, SymbolIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { documentSymbols } from '../../../server/src/lsp/documentSymbols';
import { definition } from '../../../server/src/lsp/definition';
import { formatKsymUri, openPath, parseKsymUri, symbolUri } from '../../../server/src/lsp/pageUri';
import { symbolPage } from '../../../server/src/lsp/symbolPages';
import { parseOpenPath } from '../../../server/src/protocol';
import { SymbolKind } from 'vscode-languageserver';
import { workspaceSymbols } from '../../../server/src/lsp/workspaceSymbols';
import { have, liveKallsyms, SYSTEM_MAP } from '../../helpers/corpus';

const FIXTURE =
  [
    'ffffffff81000000 T _stext',
    'ffffffff81000100 t __pfx_foo_bar',
    'ffffffff81000110 t foo_bar',
    'ffffffff81000200 t foo_bar.constprop.0',
    'ffffffff81000300 t foo_bar.cold',
    'ffffffff81000400 T foo_bar_baz',
    'ffffffff81000500 T xfoo_bar',
    'ffffffff81000600 T tcp_v4_rcv',
    'ffffffff81000700 T tcp_v4_rcv_alias',
    'ffffffff81000700 T tcp_v4_rcv_alias2',
    'ffffffff81000800 T f_o_b',
    'ffffffff81000900 T _etext',
    'ffffffff82000000 D foo_bar_data',
    'ffffffffc0000000 t foo_bar_mod\t[modx]',
    'ffffffffc0000100 t foo_bar\t[modx]',
  ].join('\n') + '\n';

function fixture(): SymbolIndex {
  return buildIndex([{ file: '/tmp/fixture.kallsyms', kind: 'kallsyms', bytes: Buffer.from(FIXTURE) }]);
}

describe('search over many sources', () => {
  // One source per module (`ksym search --module DIR`): results were de-duplicated with a
  // key of id * 64 + (source & 63), so sources 64 apart with a hit at the same entry
  // collided and only 64 of 70 exact hits came back.
  it("returns every source's hit past 64 sources", () => {
    const sources = Array.from({ length: 70 }, (_, k) => {
      const text = `ffffffffc0000000 t dup_target\t[mod${k}]\nffffffffc0000100 t other_${k}\t[mod${k}]\n`;
      return new KallsymsSource(buildIndex([{ file: `/tmp/mod${k}.kallsyms`, kind: 'kallsyms', bytes: Buffer.from(text) }]));
    });
    const hits = search(sources, 'dup_target', { cap: 1000 });
    expect(hits.length).toBe(70);
    expect(hits.every((h) => h.match === MatchClass.Exact && h.name === 'dup_target')).toBe(true);
    expect(new Set(hits.map((h) => h.source.container(h.id))).size).toBe(70);
  });
});

describe('search ranking (fixture)', () => {
  const index = fixture();
  const names = (q: string, cap = 100) =>
    search([new KallsymsSource(index)], q, { cap }).map(
      (h) => `${h.name}${h.source.container(h.id) === 'vmlinux' ? '' : ` [${h.source.container(h.id)}]`}`,
    );

  it('exact, then suffixed/__pfx_ variants, then prefix, word-start, substring', () => {
    const hits = search([new KallsymsSource(index)], 'foo_bar', { cap: 100 });
    expect(hits.map((h) => h.name)).toEqual([
      'foo_bar', // vmlinux text
      'foo_bar', // module text
      'foo_bar.cold', // variants: shorter first
      '__pfx_foo_bar',
      'foo_bar.constprop.0',
      'foo_bar_baz',
      'foo_bar_mod',
      'foo_bar_data',
      'xfoo_bar', // substring
    ]);
    expect(hits.map((h) => h.match)).toEqual([0, 0, 1, 1, 1, 2, 2, 2, 4]);
    const fbb = search([new KallsymsSource(index)], 'fbb');
    expect(fbb.map((h) => [h.name, h.match])).toEqual([['foo_bar_baz', MatchClass.WordStart]]);
    const fb = search([new KallsymsSource(index)], 'fob').map((h) => [h.name, h.match]);
    expect(fb).toContainEqual(['f_o_b', MatchClass.WordStart]);
    expect(fb[0]).toEqual(['foo_bar', MatchClass.WordStart]); // two pieces beat three
    expect(hits[0].source.container(hits[0].id)).toBe('vmlinux');
    expect(hits[1].source.container(hits[1].id)).toBe('modx');
  });
  it('ties: text before data, vmlinux before modules, shorter first', () => {
    expect(names('foo_bar_').slice(0, 3)).toEqual(['foo_bar_baz', 'foo_bar_mod [modx]', 'foo_bar_data']);
  });
  it('variants follow their base in every class', () => {
    const n = names('oo_ba');
    const at = n.indexOf('foo_bar');
    expect(n.slice(at + 1, at + 4).sort()).toEqual(['__pfx_foo_bar', 'foo_bar.cold', 'foo_bar.constprop.0']);
  });
  it('word-start across _', () => {
    expect(names('tvr')[0]).toBe('tcp_v4_rcv');
    expect(search([new KallsymsSource(index)], 'tvr')[0].match).toBe(MatchClass.WordStart);
  });
  it('cap and short queries are bounded', () => {
    expect(names('foo', 3)).toHaveLength(3);
    expect(names('f').length).toBeGreaterThan(0);
    expect(names('').length).toBeLessThanOrEqual(100);
    expect(names('')).toContain('_stext');
    expect(names('zzzz')).toEqual([]);
  });
  it('smart case', () => {
    // Upper case: exact/prefix/substring are case-sensitive; word-start ignores case.
    expect(search([new KallsymsSource(index)], 'FOO_BAR').every((h) => h.match === MatchClass.WordStart)).toBe(true);
    expect(search([new KallsymsSource(index)], 'OO_BA').length).toBe(0);
    expect(names('TCP_V4_RCV'.toLowerCase())[0]).toBe('tcp_v4_rcv');
  });
  it('suffix helpers', () => {
    expect(compilerSuffix('a.constprop.0.isra.0')).toBe('.constprop.0.isra.0');
    expect(compilerSuffix('a.llvm.123456')).toBe('.llvm.123456');
    expect(baseName('__pfx_x.cold')).toBe('x');
    expect(baseName('x')).toBe('x');
  });
  it('workspace symbols: kinds, containers, file locations or pages', () => {
    const ws = workspaceSymbols({ index, cap: 20 }, 'foo_bar');
    expect(ws[0]).toMatchObject({
      name: 'foo_bar',
      kind: SymbolKind.Function,
      containerName: 'vmlinux',
      location: { uri: 'file:///tmp/fixture.kallsyms', range: { start: { line: 2, character: 19 } } },
    });
    expect(ws.find((w) => w.name === 'foo_bar_data')?.kind).toBe(SymbolKind.Variable);
    expect(ws[1].containerName).toBe('modx');
    const pages = workspaceSymbols({ index, cap: 20, openFile: () => false }, 'foo_bar');
    expect(pages[0].location.uri).toBe('ksym:/symbol/vmlinux/foo_bar?addr=ffffffff81000110');
  });
});

describe('Go to Symbol: an address or name+0xoff lists the symbol covering it (fixture)', () => {
  const index = fixture();
  const src = [new KallsymsSource(index)];
  it('a hex address (0x or 8+ digits) gives the symbol the kernel names for it, first', () => {
    for (const q of ['ffffffff81000128', '0xffffffff81000128', 'FFFFFFFF81000128']) {
      const [h] = search(src, q);
      // foo_bar: 0xffffffff81000110, next symbol at 0x...200 (kallsyms rule: size to the next symbol).
      expect([h.name, h.form]).toEqual(['foo_bar', 'foo_bar+0x18/0xf0']);
    }
    // Aliases: the first in kallsyms order, as %pS prints it.
    expect(search(src, 'ffffffff81000700')[0].form).toBe('tcp_v4_rcv_alias+0x0/0x100');
    expect(search(src, 'ffffffff80000000')).toEqual([]); // below _stext: nothing covers it
  });
  it('name+0xoff resolves like the kernel: past the end it is the next symbol', () => {
    expect(search(src, 'foo_bar_baz+0x10')[0].form).toBe('foo_bar_baz+0x10/0x100');
    expect(search(src, 'foo_bar_baz+0x110')[0].form).toBe('xfoo_bar+0x10/0x100');
    // A frame without [mod] is vmlinux's (as in a log); [modx] names the module's copy.
    expect(search(src, 'foo_bar+0x4').map((h) => h.form)).toEqual(['foo_bar+0x4/0xf0']);
    expect(search(src, 'foo_bar+0x4 [modx]').map((h) => [h.source.container(h.id), h.form])).toEqual([['modx', 'foo_bar+0x4 [modx]']]);
    // Not an address: ordinary name search.
    expect(search(src, 'foo_bar')[0].form).toBeUndefined();
  });
  it('workspace symbols: the label holds the query (editors filter by it) and the kernel form', () => {
    const [a] = workspaceSymbols({ index, cap: 20 }, '0xffffffff81000128');
    expect(a.name).toBe('0xffffffff81000128 → foo_bar+0x18/0xf0');
    expect(a.location.uri).toBe('file:///tmp/fixture.kallsyms');
    const [n] = workspaceSymbols({ index, cap: 20 }, 'foo_bar_baz+0x10');
    expect(n.name).toBe('foo_bar_baz+0x10/0x100');
  });
});

describe('ksym: URIs and pages (fixture)', () => {
  const index = fixture();
  it('round trip', () => {
    const refs = [
      { type: 'symbol' as const, object: 'vmlinux', name: 'foo.cold', address: 0xffffffff81000000n },
      { type: 'symbol' as const, object: 'mod-x', name: 'a(b)%c', address: undefined },
      { type: 'btf' as const, kind: 'struct' as const, name: 'sk_buff', id: 873 },
      { type: 'ko' as const, module: 'xfs', name: 'xfs_init', sym: 12 },
    ];
    for (const r of refs) expect(parseKsymUri(formatKsymUri(r))).toEqual(r);
    // VS Code re-encodes '=' in the query.
    expect(parseKsymUri('ksym:/symbol/vmlinux/foo?addr%3Dffffffff81000000')).toEqual(refs[0] && { ...refs[0], name: 'foo' });
    expect(parseKsymUri('file:///x')).toBeUndefined();
    expect(parseKsymUri('ksym:/btf/bogus/x')).toBeUndefined();
  });
  it('page: kernel form, aliases, same-name positions, neighbours', () => {
    const i = index.byNameAll('tcp_v4_rcv_alias2')[0];
    const page = symbolPage(symbolUri(index, i), { index })!;
    expect(page.languageId).toBe('markdown');
    expect(page.content).toContain('tcp_v4_rcv_alias2+0x0/0x100');
    expect(page.content).toContain('Aliases at');
    expect(page.content).toContain('printed by the kernel');
    expect(page.content).toMatch(/previous: \[`tcp_v4_rcv`\]\(ksym:\/symbol\/vmlinux\/tcp_v4_rcv\?addr=ffffffff81000600\)/);
    expect(page.content).toMatch(/next: \[`f_o_b`\]/);
    const fb = symbolPage('ksym:/symbol/vmlinux/foo_bar?addr=ffffffff81000110', { index })!.content;
    expect(fb).toContain('2 symbols named');
    expect(symbolPage('ksym:/symbol/vmlinux/nope', { index })!.content).toContain('not in the current index');
    expect(symbolPage('http://x', { index })).toBeUndefined();
  });
  it("page: the Source link, resolved as the markdown preview resolves it, opens the symbol's line", () => {
    // The preview refuses file: links and drops clicks on unknown schemes; it resolves a
    // relative link against the page's decoded path (vscode-markdown-languageservice's
    // resolveInternalDocumentLink: joinPath(dirname(page), link)) and vscode.opens it.
    const resolve = (pageUri: string, href: string) => {
      const pagePath = decodeURIComponent(new URL(pageUri).pathname);
      return posix.normalize(posix.join(posix.dirname(pagePath), decodeURIComponent(href)));
    };
    const cases = [
      { file: '/tmp/fixture.kallsyms', text: FIXTURE, name: 'foo_bar_baz', module: '' },
      // a file name that needs encoding, a module symbol, a hostile name holding slashes
      { file: '/tmp/dir (1)/my kallsyms#2', text: 'ffffffffc0000000 t a/b/../c\t[m/x]\n', name: 'a/b/../c', module: 'm/x' },
    ];
    for (const c of cases) {
      const idx = buildIndex([{ file: c.file, kind: 'kallsyms', bytes: Buffer.from(c.text) }]);
      const i = idx.byNameAll(c.name)[0];
      const uri = symbolUri(idx, i);
      const page = symbolPage(uri, { index: idx })!.content;
      const m = /^Source: \[(.*)\]\(([^)\s]+)\)$/m.exec(page);
      expect(m, page).not.toBeNull();
      const line = idx.info(i).line;
      expect(m![1]).toContain(`:${line}`);
      expect(parseOpenPath(resolve(uri, m![2]))).toEqual({ file: c.file, line });
      // one source line on the page: the details do not repeat it as text
      expect(page.match(/source:/gi)).toHaveLength(1);
    }
    expect(parseOpenPath('/symbol/vmlinux/x')).toBeUndefined();
    expect(parseOpenPath('/open/L0x/tmp/a')).toBeUndefined();
    expect(parseOpenPath(openPath('/a/b', 0))).toEqual({ file: '/a/b', line: 1 });
  });
  it('definition: frame, address, name, kallsyms line', () => {
    expect(definition('[  1.0] RIP: 0010:foo_bar_baz+0x10/0x100', 22, index)?.range.start.line).toBe(5);
    expect(definition(' ? foo_bar+0x5/0xf0', 4, index, undefined, { openFile: () => false })?.uri).toBe(
      'ksym:/symbol/vmlinux/foo_bar?addr=ffffffff81000110',
    );
    expect(definition('addr ffffffff81000605 here', 8, index)?.range.start.line).toBe(7);
    expect(definition('called tcp_v4_rcv here', 10, index)?.range.start.line).toBe(7);
    expect(definition('ffffffffc0000100 t foo_bar\t[modx]', 20, index, undefined, { kallsyms: true })?.range.start.line).toBe(14);
    expect(definition('nothing here', 3, index)).toBeUndefined();
  });
  it('document symbols grouped by module', () => {
    const ds = documentSymbols(FIXTURE);
    expect(ds.map((d) => d.name)).toEqual(['vmlinux', 'modx']);
    expect(ds[0].children).toHaveLength(13);
    expect(ds[1].children![1]).toMatchObject({
      name: 'foo_bar',
      kind: SymbolKind.Function,
      selectionRange: { start: { line: 14, character: 19 }, end: { line: 14, character: 26 } },
    });
    const capped = documentSymbols(FIXTURE, { maxPerGroup: 2 });
    expect(capped[0].children).toHaveLength(3);
    expect(capped[0].children![2].name).toMatch(/11 more symbols/);
  });
});

describe('corpus System.map', () => {
  const ok = have(SYSTEM_MAP, 'corpus System.map search tests');
  it.runIf(ok)('type_show: every same-name symbol first, with page positions; outline', () => {
    const bytes = readFileSync(SYSTEM_MAP);
    const index = buildIndex([{ file: SYSTEM_MAP, kind: 'system.map', bytes }]);
    const all = index.byNameAll('type_show');
    expect(all.length).toBeGreaterThan(5);
    const ws = workspaceSymbols({ index, cap: 100 }, 'type_show');
    expect(
      ws.slice(0, all.length).every((w) => w.name === 'type_show' && w.containerName === 'vmlinux' && w.kind === SymbolKind.Function),
    ).toBe(true);
    expect(ws[0].location.uri).toBe('file://' + SYSTEM_MAP);
    expect(ws[0].location.range.start.line).toBe(
      index.line[all.find((i) => index.order[i] === Math.min(...all.map((j) => index.order[j])))!] - 1 || ws[0].location.range.start.line,
    );
    const page = symbolPage(symbolUri(index, all[2]), { index })!.content;
    expect(page).toContain(`${all.length} symbols named`);
    expect(page).toMatch(/3\/\d+ ← this/);
    const t0 = performance.now();
    const ds = documentSymbols(bytes.toString('latin1'), { file: SYSTEM_MAP });
    const ms = performance.now() - t0;
    expect(ds[0].name).toBe('vmlinux');
    expect(ds[0].children!.length).toBe(5001);
    expect(ms).toBeLessThan(2000);
  });
});

describe('live kernel (/proc/kallsyms + /sys/kernel/btf/vmlinux)', () => {
  const live = liveKallsyms();
  let btf: Btf | undefined;
  try {
    btf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')), '/sys/kernel/btf/vmlinux');
  } catch {
    console.warn('skipping live BTF search tests: /sys/kernel/btf/vmlinux is not readable');
  }
  const index = live ? buildIndex([{ file: '/proc/kallsyms', kind: 'kallsyms', bytes: live }]) : undefined;
  const ctx = index && { index, btf, cap: 100 };

  it.runIf(!!ctx && index!.byNameAll('tcp_v4_rcv').length > 0)('tcp_v4_rcv exact first; tvr finds it in the top 10', () => {
    const ws = workspaceSymbols(ctx!, 'tcp_v4_rcv');
    expect(ws[0]).toMatchObject({ name: 'tcp_v4_rcv', kind: SymbolKind.Function, containerName: btf ? 'vmlinux · BTF' : 'vmlinux' });
    expect(ws.findIndex((w) => w.name === 'tcp_v4_rcv_alias')).toBe(-1);
    const tvr = workspaceSymbols(ctx!, 'tvr')
      .slice(0, 10)
      .map((w) => w.name);
    expect(tvr).toContain('tcp_v4_rcv');
  });
  it.runIf(!!ctx && !!btf)('struct sk_buff is a Struct from btf; its page has the layout', () => {
    const ws = workspaceSymbols(ctx!, 'struct sk_buff');
    expect(ws[0]).toMatchObject({ name: 'sk_buff', kind: SymbolKind.Struct, containerName: 'btf' });
    expect(ws[0].location.uri).toMatch(/^ksym:\/btf\/struct\/sk_buff\?id=\d+$/);
    const page = symbolPage(ws[0].location.uri, ctx!)!.content;
    expect(page).toContain('struct sk_buff {');
    expect(definition('see struct sk_buff here', 12, index!, btf)?.uri).toMatch(/^ksym:\/btf\/struct\/sk_buff/);
    const plain = workspaceSymbols(ctx!, 'sk_buff');
    expect(plain[0].containerName).toBe('btf');
    const td = workspaceSymbols(ctx!, 'u32').find((w) => w.containerName === 'btf' && w.name === 'u32');
    expect(td?.kind).toBe(SymbolKind.TypeParameter);
  });
  it.runIf(!!ctx && !!btf && index!.byNameAll('vfs_read').length > 0)(
    "one entry per symbol: a BTF FUNC is the vmlinux symbol's detail",
    () => {
      const ws = workspaceSymbols(ctx!, 'vfs_read');
      const exact = ws.filter((w) => w.name === 'vfs_read');
      expect(exact).toHaveLength(index!.byNameAll('vfs_read').length);
      expect(exact[0]).toMatchObject({ kind: SymbolKind.Function, containerName: 'vmlinux · BTF' });
      expect(ws.some((w) => w.containerName === 'btf' && w.kind === SymbolKind.Function && index!.byNameAll(w.name).length > 0)).toBe(
        false,
      );
      // The page it opens has the BTF prototype.
      const page = workspaceSymbols({ ...ctx!, openFile: () => false }, 'vfs_read').find((w) => w.name === 'vfs_read')!;
      expect(symbolPage(page.location.uri, ctx!)!.content).toMatch(/ssize_t vfs_read\(struct file \*/);
    },
  );
  it.runIf(!!ctx && index!.byNameAll('vfs_read').length > 0)(
    'an address of the running kernel lists the symbol covering it (oracle: /proc/kallsyms)',
    () => {
      const i = index!.byNameAll('vfs_read')[0];
      const at = index!.addressOf(i) + 0x10n;
      if (index!.addressOf(i) === 0n) return console.warn('skipping: kallsyms addresses are hidden (kptr_restrict)');
      const ws = workspaceSymbols(ctx!, at.toString(16));
      expect(ws[0].name).toMatch(new RegExp(`^${at.toString(16)} → vfs_read\\+0x10/0x[0-9a-f]+$`));
      expect(workspaceSymbols(ctx!, 'vfs_read+0x10')[0].name).toBe(index!.resolve(at)!.text);
    },
  );
  it.runIf(!!ctx && !!btf)('function page has the BTF prototype; every query is bounded and fast', () => {
    const i = index!.byNameAll('tcp_v4_rcv')[0];
    if (i !== undefined) expect(symbolPage(symbolUri(index!, i), ctx!)!.content).toMatch(/int tcp_v4_rcv\(struct sk_buff \*skb\)/);
    const srcs = searchSources(ctx!);
    search(srcs, 'warm');
    const times: number[] = [];
    for (const q of ['', 'a', 'tcp', 'tvr', 'schedule', 'kmalloc', 'xyzzy_nope', 'rcv', 'do_sys_open', 'sk_buff']) {
      const t0 = performance.now();
      const r = search(srcs, q, { cap: 100 });
      times.push(performance.now() - t0);
      expect(r.length).toBeLessThanOrEqual(100);
    }
    expect(Math.max(...times)).toBeLessThan(500); // generous: correctness test, not a benchmark
  });
  it.runIf(!!live)('outline of /proc/kallsyms', () => {
    const t0 = performance.now();
    const ds = documentSymbols(live!.toString('latin1'), { file: '/proc/kallsyms' });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(ds[0].name).toBe('vmlinux');
    expect(ds.reduce((n, d) => n + d.children!.length, 0)).toBeLessThanOrEqual(20000 + ds.length);
  });
});
