/**
 * Issue 16 over the protocol: a log against its own kernel.
 * - KASLR: the `Kernel Offset:` shift applies to vmlinux addresses only, never to module
 *   addresses (`[<ffffffffc0b2661f>] drbd_adm_attach+0x2f/0xee0 [drbd]`);
 * - module load addresses learned from the log's own `[<addr>] f+off/size [mod]` frames
 *   answer the log's other module addresses (a register value);
 * - the log's kernel first: the mismatch before any symbol answer, one diagnostic on the
 *   fact's line, a quick action; never mixing BTF/modules of another kernel.
 * Oracles: the Debian System.map (vmlinux addresses), readelf -sW of drbd.ko (module
 * symbols and sizes to the next symbol of the section), the log's own printed frames.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ready, startClient, type Client } from '../helpers/lspclient';
import { have, OOPS, SYSTEM_MAP } from '../helpers/corpus';
import { BTF61, DRBD, drbdLog, drbdOracle, h, MODS, SHIFT, TEXT } from '../helpers/kernelLogs';

const haveAll = have(SYSTEM_MAP, 'kernel protocol tests') && have(DRBD, 'kernel protocol tests');

function collectDiagnostics(c: Client): Map<string, { message: string; range: { start: { line: number } }; severity: number }[]> {
  const got = new Map();
  c.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: never[] }) => got.set(p.uri, p.diagnostics));
  return got;
}

async function until<T>(f: () => T | undefined, what: string, ms = 15000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!haveAll)('a log against its own kernel (protocol)', () => {
  it('Kernel Offset applies to vmlinux addresses only; module addresses resolve with load addresses learned from the log', async () => {
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], modules: [MODS], btf: '' });
    try {
      await c.waitStatus((s) => ready(s) && s.moduleFiles === 15, 'module scan');
      const log = drbdLog();
      const uri = 'file:///drbd.oops';
      await c.open(uri, 'kernel-log', log.text);
      const lines = log.text.split('\n');
      const frameLine = lines.findIndex((l) => l.startsWith(' [<') && l.includes('[drbd]'));
      // The address of the module frame: not shifted, resolved in drbd.ko at the learned load address.
      const onAddr = (await c.hover(uri, frameLine, 4))!;
      expect(onAddr).toContain(`**\`${log.attach}\`**`);
      expect(onAddr).not.toContain('minus KASLR shift');
      // The register value inside drbd: answered from the load address the frame taught (the frame is the oracle: base = address - 0x2f - value).
      const raxLine = lines.findIndex((l) => l.startsWith('RAX:'));
      const onRax = (await c.hover(uri, raxLine, 6))!;
      const a = drbdOracle('drbd_adm_attach');
      expect(onRax).toContain(`**\`drbd_adm_attach+0x${h(log.raxOffset)}/0x${h(a.size)} [drbd]\`**`);
      // vmlinux frames: the Kernel Offset shift applies (System.map is the oracle).
      for (const f of log.vm) {
        const n = lines.findIndex((l) => l.includes(` ${f.name}+`));
        const md = (await c.hover(uri, n, 4))!;
        expect(md).toContain(`**\`${f.name}+0x${h(f.off)}/0x${h(f.size)}\`**`);
        expect(md).toContain(`minus KASLR shift \`0x${h(SHIFT)}\``);
      }
      // The module frame's own hover shows the runtime address from the learned base.
      const onFrame = (await c.hover(uri, frameLine, 30))!;
      expect(onFrame).toContain(`kernel form at \`${h(TEXT + a.value)}\``); // the symbol's runtime start: learned .text base + readelf value
      expect(onFrame).toContain('✓ matches the log');
    } finally {
      await c.close();
    }
  });

  it('a second log of another boot gets its own module load addresses', async () => {
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], modules: [MODS], btf: '' });
    try {
      await c.waitStatus((s) => ready(s) && s.moduleFiles === 15, 'module scan');
      const one = drbdLog();
      const moved = 0x7000n; // drbd loaded elsewhere in the other boot
      const two = one.text.replace(/\b(ffffffffc0b[0-9a-f]{5})\b/g, (x) => h(BigInt('0x' + x) + moved));
      await c.open('file:///one.oops', 'kernel-log', one.text);
      await c.open('file:///two.oops', 'kernel-log', two);
      const raxLine = one.text.split('\n').findIndex((l) => l.startsWith('RAX:'));
      const a = drbdOracle('drbd_adm_attach');
      const want = `**\`drbd_adm_attach+0x${h(one.raxOffset)}/0x${h(a.size)} [drbd]\`**`;
      expect(await c.hover('file:///one.oops', raxLine, 6)).toContain(want);
      expect(await c.hover('file:///two.oops', raxLine, 6)).toContain(want);
    } finally {
      await c.close();
    }
  });

  it('an arm64 log against the x86_64 System.map: the mismatch first, one diagnostic on the release line, a quick action', async () => {
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: '' });
    const diags = collectDiagnostics(c);
    try {
      await c.waitStatus(ready, 'index');
      const file = join(OOPS, '05-arm64-5.9-oops-pc-lr-calltrace-interleaved.txt');
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n');
      // Oracle: the log's own CPU: line.
      const relLine = lines.findIndex((l) => /CPU: \d+ PID: .* Not tainted /.test(l));
      const release = /Not tainted (\S+)/.exec(lines[relLine])![1];
      const uri = 'file:///arm64.oops';
      await c.open(uri, 'kernel-log', text);
      const d = await until(() => diags.get(uri)?.find((x) => x.severity === 1), 'the mismatch diagnostic');
      // The configured System.map comes first; the running kernel is a candidate too.
      expect(d.message.startsWith(`this log is from ${release} (arm64); ksym has 6.1.0-56-amd64 (x86_64)`)).toBe(true);
      expect(d.range.start.line).toBe(relLine);
      expect(diags.get(uri)!.filter((x) => x.severity === 1)).toHaveLength(1);
      const frameLine = lines.findIndex((l) => /\]\s+security_socket_sendmsg\+0x/.test(l));
      const col = lines[frameLine].search(/\w+\+0x/);
      const md = (await c.hover(uri, frameLine, col + 1))!;
      const head = md.indexOf('this log is from');
      expect(head).toBeGreaterThanOrEqual(0);
      expect(head).toBeLessThan(md.indexOf('---'));
      const actions = (await c.conn.sendRequest('textDocument/codeAction', {
        textDocument: { uri },
        range: d.range,
        context: { diagnostics: [d] },
      })) as { title: string; command?: { command: string } }[];
      expect(actions.map((x) => x.command?.command)).toContain('ksym.chooseKernel');
    } finally {
      await c.close();
    }
  });

  it('a log that names no kernel, of the served architecture: no mismatch claimed (no headline, no error)', async () => {
    // Only an x86 RIP: line and a call trace: the log does not say which kernel wrote it, and
    // ksym has several x86_64 kernels (the System.map, the running one). Saying "from an
    // unknown kernel … not the log's kernel" would claim what nobody knows.
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: '' });
    const diags = collectDiagnostics(c);
    try {
      await c.waitStatus(ready, 'index');
      const uri = 'file:///anon.oops';
      const text = [
        'BUG: kernel NULL pointer dereference, address: 0000000000000008',
        'RIP: 0010:do_syscall_64+0x5c/0xb0',
        'Call Trace:',
        ' <TASK>',
        ' vfs_read+0x20/0x170',
        ' </TASK>',
        '',
      ].join('\n');
      await c.open(uri, 'kernel-log', text);
      const got = await until(() => diags.get(uri), 'diagnostics');
      expect(got.filter((x) => x.severity === 1)).toEqual([]);
      const md = (await c.hover(uri, 1, 14))!;
      expect(md).toContain('do_syscall_64');
      expect(md).not.toMatch(/this log is from/);
    } finally {
      await c.close();
    }
  });

  it('a Debian 6.1 log against the Debian 6.1 System.map: matched, no mismatch', async () => {
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: '' });
    const diags = collectDiagnostics(c);
    try {
      await c.waitStatus(ready, 'index');
      const uri = 'file:///deb.oops';
      await c.open(uri, 'kernel-log', drbdLog().text);
      const got = await until(() => diags.get(uri), 'diagnostics');
      expect(got.filter((x) => x.severity === 1)).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it.skipIf(!have('/sys/kernel/btf/vmlinux', 'running-kernel BTF refusal'))(
    'ksym.systemMap of Debian 6.1 with the default BTF (the running kernel): the BTF is refused with one short message, never rendered',
    async () => {
      const c = await startClient({ systemMap: [SYSTEM_MAP] });
      try {
        const s = await c.waitStatus(ready, 'index');
        const refusal = s.messages.filter((m) => m.startsWith('ksym.btf refused'));
        expect(refusal).toHaveLength(1);
        expect(refusal[0].length).toBeLessThan(200);
        expect(s.btfTypes).toBe(0);
        // /proc/kallsyms (the running kernel) is not mixed into the 6.1 index.
        expect(s.sources).not.toContain('/proc/kallsyms');
        const uri = 'file:///deb2.oops';
        await c.open(uri, 'kernel-log', ' do_syscall_64+0x3b/0x90\n');
        const md = (await c.hover(uri, 0, 3))!;
        expect(md).toContain('do_syscall_64');
        expect(md).not.toMatch(/\bvoid do_syscall_64\(|\bbool do_syscall_64\(/); // no prototype from another kernel's BTF
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!have(BTF61, 'Debian BTF'))('the matching BTF is kept: prototypes from the 6.1 BTF', async () => {
    const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: BTF61 });
    try {
      const s = await c.waitStatus((x) => ready(x) && x.btfTypes > 0, 'BTF');
      expect(s.messages.filter((m) => m.includes('refused'))).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
