/**
 * The hover's Tracing part carries the copy links over stdio: each decodes (as VS Code parses a
 * command URI) to the snippet shown in the code block above it. Debian 6.1 System.map + BTF.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ready, startClient } from '../helpers/lspclient';
import { REAL_BTF, REAL_SYSTEM_MAP, have } from '../helpers/corpus';

const ok = have(REAL_SYSTEM_MAP, 'the hover copy-link protocol test') && have(REAL_BTF, 'the hover copy-link protocol test');

describe.skipIf(!ok)('hover copy links (Debian 6.1 System.map + BTF)', () => {
  let c: Client;
  beforeAll(async () => {
    c = await startClient({ kallsyms: [REAL_SYSTEM_MAP], btf: REAL_BTF, modules: [] });
    await c.waitStatus((s) => ready(s) && s.btfTypes > 0, 'index and BTF');
  });
  afterAll(() => c.close());

  it('a frame hover links ksym.copySnippet with the bpftrace probe and the libbpf skeleton', async () => {
    const uri = 'file:///copy.oops';
    await c.open(uri, 'kernel-log', ' vfs_read+0x10/0x100\n');
    const h = (await c.hover(uri, 0, 4))!;
    expect(h).toContain('**Tracing**');
    const links = [...h.matchAll(/\[(Copy [^\]]+)\]\(command:ksym\.copySnippet\?([A-Za-z0-9_.%-]+) "[^"]*"\)/g)];
    expect(links.map((m) => m[1])).toEqual(['Copy bpftrace probe', 'Copy libbpf skeleton']);
    const [bpftrace, libbpf] = links.map((m) => (JSON.parse(decodeURIComponent(m[2])) as string[])[0]);
    expect(bpftrace).toMatch(/^\/\/ bpftrace < 0\.21[^\n]*\nfentry:vmlinux:vfs_read\n/);
    expect(libbpf).toContain('SEC("fentry/vfs_read")');
    // the same text as the code blocks the hover shows
    expect(h).toContain(bpftrace.trimEnd());
    expect(h).toContain(libbpf.trimEnd());
    // no other command link in the hover
    expect([...h.matchAll(/\]\(command:([^?)\s]+)/g)].every((m) => m[1] === 'ksym.copySnippet')).toBe(true);
  });
});
