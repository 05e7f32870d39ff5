import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ready, startClient } from '../helpers/lspclient';
import { have, REAL_SYSTEM_MAP } from '../helpers/corpus';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';

describe.skipIf(!have(REAL_SYSTEM_MAP, 'System.map search protocol test'))('workspace/symbol on the corpus System.map', () => {
  let c: Client;
  beforeAll(async () => {
    c = await startClient({ kallsyms: [], systemMap: [REAL_SYSTEM_MAP], modules: [], btf: '' });
    await c.waitStatus(ready);
  });
  afterAll(() => c.close());

  it('lists every same-name symbol first, then suffixed variants, then prefixes; data after text', async () => {
    const r = (await c.conn.sendRequest('workspace/symbol', { query: 'type_show' })) as {
      name: string;
      kind: number;
      containerName: string;
      location: { uri: string };
    }[];
    const exact = readFileSync(REAL_SYSTEM_MAP, 'latin1')
      .split('\n')
      .filter((l) => / type_show$/.test(l)).length;
    expect(exact).toBeGreaterThan(1);
    expect(r.slice(0, exact).every((x) => x.name === 'type_show' && x.containerName === 'vmlinux' && x.kind === 12)).toBe(true);
    const firstPrefix = r.findIndex((x) => x.name.startsWith('type_show') && x.name !== 'type_show');
    expect(firstPrefix === -1 || firstPrefix >= exact).toBe(true);
  });

  it('opens the System.map line when the file is open in the editor, a ksym: page otherwise', async () => {
    const q = async () =>
      (
        (await c.conn.sendRequest('workspace/symbol', { query: 'do_syscall_64' })) as {
          name: string;
          location: { uri: string; range: { start: { line: number } } };
        }[]
      ).find((x) => x.name === 'do_syscall_64')!;
    expect((await q()).location.uri).toMatch(/^ksym:/);
    const uri = pathToFileURL(REAL_SYSTEM_MAP).toString();
    await c.open(uri, 'kallsyms', readFileSync(REAL_SYSTEM_MAP, 'latin1'));
    const hit = await q();
    expect(hit.location.uri).toBe(uri);
    const line = readFileSync(REAL_SYSTEM_MAP, 'latin1')
      .split('\n')
      .findIndex((l) => / do_syscall_64$/.test(l));
    expect(hit.location.range.start.line).toBe(line);
  });
});
