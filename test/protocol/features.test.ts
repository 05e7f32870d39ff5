import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ready, startClient } from '../helpers/lspclient';
import { DEBIAN, have, liveKallsyms } from '../helpers/corpus';

const LIVE_BTF = '/sys/kernel/btf/vmlinux';
const live = liveKallsyms();

describe.skipIf(!live || !existsSync(LIVE_BTF))('BTF and livepatch sympos over stdio (live kernel)', () => {
  let c: Client;
  const diags = new Map<string, { message: string; severity: number; code: string; range: { start: { line: number } } }[]>();
  beforeAll(async () => {
    c = await startClient({ kallsyms: ['/proc/kallsyms'], btf: LIVE_BTF, modules: [] });
    c.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: never[] }) => diags.set(p.uri, p.diagnostics));
    await c.waitStatus((s) => ready(s) && s.btfTypes > 0, 'index and BTF');
  });
  afterAll(() => c.close());

  it('hover on a frame adds the BTF prototype; a struct name shows its layout', async () => {
    const uri = 'file:///btf.oops';
    await c.open(uri, 'kernel-log', ' tcp_v4_rcv+0x10/0x100\n refcount went wrong on struct sk_buff here');
    const h = (await c.hover(uri, 0, 4))!;
    expect(h).toMatch(/```c[\s\S]*int tcp_v4_rcv\(struct sk_buff \*skb\)/);
    const s = (await c.hover(uri, 1, 36))!;
    expect(s).toContain('struct sk_buff {');
    expect(s).toMatch(/\/\* size: \d+, cachelines: \d+/);
  });

  it('workspace/symbol ranks exact, then suffixed/__pfx_ variants, then prefix, then word-start; kinds and containers', async () => {
    const r = (await c.conn.sendRequest('workspace/symbol', { query: 'tcp_v4_rcv' })) as {
      name: string;
      kind: number;
      containerName: string;
      location: { uri: string };
    }[];
    // One entry per symbol: the BTF FUNC record is the vmlinux symbol's detail, not a second "tcp_v4_rcv btf".
    expect(r[0]).toMatchObject({ name: 'tcp_v4_rcv', kind: 12, containerName: 'vmlinux · BTF' });
    expect(r.filter((x) => x.name === 'tcp_v4_rcv').every((x) => x.containerName !== 'btf')).toBe(true);
    expect(r[0].location.uri).toMatch(/^ksym:\/symbol\/vmlinux\/tcp_v4_rcv/);
    const names = r.map((x) => x.name);
    // The __pfx_ variant is grouped right after its base, ahead of any other prefix match.
    const pfx = names.indexOf('__pfx_tcp_v4_rcv');
    expect(pfx).toBeGreaterThan(0);
    const prefix = names.findIndex((n) => n.startsWith('tcp_v4_rcv') && n !== 'tcp_v4_rcv');
    if (prefix >= 0) expect(pfx).toBeLessThan(prefix);
    const w = (await c.conn.sendRequest('workspace/symbol', { query: 'tvr' })) as { name: string }[];
    expect(w.slice(0, 10).map((x) => x.name)).toContain('tcp_v4_rcv');
    const st = (await c.conn.sendRequest('workspace/symbol', { query: 'struct sk_buff' })) as {
      name: string;
      kind: number;
      containerName: string;
      location: { uri: string };
    }[];
    expect(st[0]).toMatchObject({ name: 'sk_buff', kind: 23, containerName: 'btf' });
    const page = (await c.conn.sendRequest('ksym/symbolPage', { uri: r[0].location.uri })) as { content: string };
    expect(page.content).toContain('tcp_v4_rcv');
    expect(page.content).toMatch(/int tcp_v4_rcv\(struct sk_buff \*skb\)/);
    // An address typed in the picker: the symbol covering it, as %pS prints it (oracle: /proc/kallsyms via the page's address).
    const addr = /addr=([0-9a-f]+)/.exec(r[0].location.uri)?.[1];
    if (addr && !/^0+$/.test(addr)) {
      const at = (BigInt('0x' + addr) + 0x10n).toString(16);
      const a = (await c.conn.sendRequest('workspace/symbol', { query: at })) as { name: string; location: { uri: string } }[];
      expect(a[0].name).toMatch(new RegExp(`^${at} → tcp_v4_rcv\\+0x10/0x[0-9a-f]+$`));
      const o = (await c.conn.sendRequest('workspace/symbol', { query: 'tcp_v4_rcv+0x10' })) as { name: string }[];
      expect(o[0].name).toBe(a[0].name.split(' → ')[1]);
    }
    const one = (await c.conn.sendRequest('workspace/symbol', { query: 'a' })) as unknown[];
    expect(one.length).toBeGreaterThan(0);
    expect(one.length).toBeLessThanOrEqual(200);
  });

  it('definition on a frame opens its symbol page; document symbols outline a kallsyms file by module', async () => {
    const uri = 'file:///def.oops';
    await c.open(uri, 'kernel-log', ' do_syscall_64+0x71/0x280');
    const loc = (await c.conn.sendRequest('textDocument/definition', { textDocument: { uri }, position: { line: 0, character: 4 } })) as {
      uri: string;
    };
    expect(loc.uri).toMatch(/^ksym:\/symbol\/vmlinux\/do_syscall_64/);
    const kuri = 'file:///tmp/outline.kallsyms';
    await c.open(kuri, 'kallsyms', readFileSync('/proc/kallsyms', 'latin1'));
    const syms = (await c.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri: kuri } })) as {
      name: string;
      children?: unknown[];
    }[];
    expect(syms[0].name).toBe('vmlinux');
    expect(syms[0].children!.length).toBeGreaterThan(100);
  });

  it('publishes sympos diagnostics for .klp.sym references and klp_func sources, with quick fixes', async () => {
    const text = [
      '.klp.sym.vmlinux.paravirt_read_msr,0',
      '.klp.sym.vmlinux.cmdline_proc_show,1',
      '.klp.sym.vmlinux.no_such_symbol_xyz,1',
    ].join('\n');
    const uri = 'file:///refs.txt';
    await c.open(uri, 'plaintext', text);
    const deadline = Date.now() + 20000;
    while (!diags.get(uri) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const d = diags.get(uri)!;
    const lines = readFileSync('/proc/kallsyms', 'latin1')
      .split('\n')
      .filter((l) => / paravirt_read_msr$/.test(l)).length;
    expect(d.find((x) => x.range.start.line === 0)?.message).toBe(
      `unresolvable ambiguity for symbol 'paravirt_read_msr' in object 'vmlinux': ${lines} matches, a position is needed`,
    );
    expect(d.find((x) => x.range.start.line === 0)?.severity).toBe(1);
    expect(d.find((x) => x.range.start.line === 1)?.severity).toBe(2);
    expect(d.find((x) => x.range.start.line === 2)?.message).toBe("symbol 'no_such_symbol_xyz' not found in symbol table");
    const actions = (await c.conn.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 10 } },
      context: { diagnostics: d.filter((x) => x.range.start.line === 0) },
    })) as { title: string; edit: { changes: Record<string, { newText: string }[]> } }[];
    expect(actions.length).toBe(lines);
    expect(actions[1].edit.changes[uri][0].newText).toBe('2');
    const h = (await c.hover(uri, 0, 12))!;
    expect(h).toMatch(/paravirt\\?_read\\?_msr/);
  });
});

describe.skipIf(!have(resolve(DEBIAN, 'modules'), 'module sympos protocol test'))('sympos against corpus modules', () => {
  it('drbd put_ldev positions: 11 is past the count, 3 is fine', async () => {
    const c = await startClient({ kallsyms: [], modules: [resolve(DEBIAN, 'modules')], btf: '' });
    const got = new Map<string, { message: string; range: { start: { line: number } } }[]>();
    c.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: never[] }) => got.set(p.uri, p.diagnostics));
    try {
      await c.waitStatus((s) => ready(s) && s.moduleFiles === 15, 'modules');
      const uri = 'file:///drbd.txt';
      await c.open(uri, 'plaintext', '.klp.sym.drbd.put_ldev,11\n.klp.sym.drbd.put_ldev,3');
      const deadline = Date.now() + 20000;
      while (!got.get(uri) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const d = got.get(uri)!;
      expect(d.find((x) => x.range.start.line === 0)?.message).toMatch(
        /^symbol position 11 for symbol 'put_ldev' in object 'drbd' not found/,
      );
      expect(d.filter((x) => x.range.start.line === 1 && /position|ambigu|not found/.test(x.message))).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
