/**
 * With ksym.vmlinux set, the hover's Tracing part marks a .BTF_ids kfunc (6.1 predates the
 * bpf_kfunc decl tags, so the sets are the only record) with its flags and set, once the debug
 * file is open and verified. Debian 6.1 System.map + its BTF + its -dbg vmlinux. The set
 * contents are checked against readelf -x .BTF_ids and bpftool in test/unit/trace/btfIds.test.ts;
 * kernel/cgroup/rstat.c of 6.1: BTF_ID_FLAGS(func, cgroup_rstat_flush, KF_SLEEPABLE).
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelData } from '../helpers/kernelData';
import { startSourceClient, type SourceClient } from '../helpers/sourceClient';

const data = kernelData();
const btf = data ? join(data.dir, `vmlinux-${data.abi}.btf`) : '';
const ok = !!data && existsSync(btf);
if (data && !ok) console.warn(`skipping the kfunc hover test: ${btf} is absent`);

describe.skipIf(!ok)('kfunc sets in the hover with ksym.vmlinux (Debian 6.1)', () => {
  let c: SourceClient;
  const uri = 'file:///kfunc.oops';
  beforeAll(async () => {
    c = await startSourceClient({ kallsyms: [], systemMap: [data!.systemMap], modules: [], btf, vmlinux: data!.vmlinux });
    await c.waitReady();
    await c.open(uri, 'kernel-log', ['Call Trace:', ' cgroup_rstat_flush+0x10/0x100', ' vfs_read+0x10/0x100'].join('\n'));
  }, 120_000);
  afterAll(() => c?.close());

  it('cgroup_rstat_flush is a kfunc (KF_SLEEPABLE, bpf_rstat_kfunc_ids) once the vmlinux is open; vfs_read is not', async () => {
    const refreshed = c.nextRefresh('the vmlinux opened and verified');
    const first = await c.hover(uri, 1, 3);
    expect(first.value).toContain('**Tracing**');
    await refreshed;
    const h = await c.hover(uri, 1, 3);
    expect(h.value).toContain('**Tracing** — kfunc (KF_SLEEPABLE)');
    expect(h.value).toContain('kfunc set `bpf_rstat_kfunc_ids` (.BTF\\_ids)');
    const v = await c.hover(uri, 2, 3);
    expect(v.value).toContain('**Tracing**');
    expect(v.value).not.toContain('**Tracing** — kfunc');
    expect(v.value).not.toContain('kfunc set');
  }, 120_000);
});
