/**
 * The vmlinux debug file by build id through debuginfod in the server (issue 16 §3): the
 * log's CPU: line names the vmlinux build id, no local file has it (the kernel is the
 * System.map of the fetched Debian kernel alone), so the source line of a RIP: frame comes
 * from the debug file fetched from a fake debuginfod on 127.0.0.1 serving the real -dbg
 * vmlinux. Oracles: readelf -n (build id), addr2line on the same vmlinux (the line), its
 * banner (the Debian package version of the CPU: line).
 * An untrusted workspace never makes the request.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have } from '../helpers/corpus';
import { bannerDebianVersion, kernelData } from '../helpers/kernelData';
import { startClient, ready } from '../helpers/lspclient';

// The fetched kernel (npm run fetch-data), whatever ABI the archive serves.
const kd = kernelData();
const VML = kd?.vmlinux ?? '';
const MAP = kd?.systemMap ?? '';
const BTF = kd ? `${kd.vmlinux}.btf` : '';
const haveAll = !!kd && have(MAP, `the System.map of the fetched kernel ${kd.abi}`);

async function until<T>(f: () => T | undefined | Promise<T | undefined>, what: string, ms = 60000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!haveAll)('the vmlinux debug file by the log build id, from debuginfod (protocol)', () => {
  const buildId = haveAll ? /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', VML], { encoding: 'utf8' }))![1] : '';
  // vfs_read and the next symbol from the System.map: the RIP: frame and its size.
  const map = haveAll ? readFileSync(MAP, 'latin1') : '';
  const m = /^([0-9a-f]{16}) [tT] vfs_read\n([0-9a-f]{16}) /m.exec(map);
  const at = m ? BigInt('0x' + m[1]) : 0n;
  const size = m ? BigInt('0x' + m[2]) - at : 0n;
  const line = haveAll ? execFileSync('addr2line', ['-e', VML, (at + 0x20n).toString(16)], { encoding: 'utf8' }).trim() : '';
  const fileLine = line.slice(line.lastIndexOf('/') + 1); // read_write.c:454
  const log = [
    `CPU: 0 PID: 1 Comm: cat Not tainted ${kd?.abi} #1 Debian ${haveAll ? bannerDebianVersion(VML) : ''} ${buildId}`,
    `RIP: 0010:vfs_read+0x20/0x${size.toString(16)}`,
  ].join('\n');
  const requests: string[] = [];
  let url = '';
  let srv: http.Server;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ksym-dbgd-vmlinux-'));
    srv = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const file =
        req.url === `/buildid/${buildId}/debuginfo`
          ? VML
          : req.url === `/buildid/${buildId}/section/.BTF` && existsSync(BTF)
            ? BTF
            : undefined;
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Length': statSync(file).size });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => (srv?.closeAllConnections(), srv?.close(() => r(undefined))));
    rmSync(dir, { recursive: true, force: true });
  });
  const settings = (trusted: boolean) => ({
    kallsyms: [],
    systemMap: [MAP],
    modules: [],
    btf: '',
    vmlinux: join(dir, 'none'),
    debuginfod: { urls: [url] },
    workspaceTrusted: trusted,
  });
  const env = (name: string) => ({ DEBUGINFOD_URLS: '', DEBUGINFOD_CACHE_PATH: join(dir, name, 'cache'), HOME: join(dir, name) });

  it('untrusted: no request, the hover says why', async () => {
    const c = await startClient(settings(false), undefined, { env: env('untrusted') });
    try {
      await c.waitStatus(ready, 'index');
      await c.open('file:///u.oops', 'kernel-log', log);
      const md = await until(async () => {
        const h = await c.hover('file:///u.oops', 1, 14);
        return h?.includes('untrusted workspace') ? h : undefined;
      }, 'the untrusted refusal');
      expect(md).not.toContain(fileLine);
      expect(requests).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('trusted: fetched once by the CPU: line build id, verified, and the RIP: frame gets its line (addr2line)', async () => {
    expect(fileLine).toMatch(/^read_write\.c:\d+$/);
    const c = await startClient(settings(true), undefined, { env: env('trusted') });
    try {
      await c.waitStatus(ready, 'index');
      await c.open('file:///t.oops', 'kernel-log', log);
      const md = await until(async () => {
        const h = await c.hover('file:///t.oops', 1, 14);
        return h?.includes(fileLine) ? h : undefined;
      }, `the line ${fileLine} in the hover`);
      expect(md).toContain('vfs_read+0x20');
      expect(requests).toEqual([`/buildid/${buildId}/debuginfo`]);
      expect(existsSync(join(dir, 'trusted', 'cache', buildId, 'debuginfo'))).toBe(true);
    } finally {
      await c.close();
    }
  }, 120000);

  it.skipIf(!existsSync(BTF))(
    'a kernel directory without BTF: its /section/.BTF by the log build id, checked against its symbols, gives the prototypes',
    async () => {
      // The kernel: a directory with the fetched kernel's System.map alone (no vmlinux, no BTF).
      const kdir = join(dir, 'kernel');
      mkdirSync(kdir, { recursive: true });
      symlinkSync(MAP, join(kdir, basename(MAP)));
      const before = requests.length;
      const c = await startClient(
        { kernels: [kdir], btf: '', vmlinux: join(dir, 'none'), debuginfod: { urls: [url] }, workspaceTrusted: true },
        undefined,
        { env: env('btf') },
      );
      try {
        await c.waitStatus(ready, 'index');
        await c.open('file:///b.oops', 'kernel-log', log);
        // bpftool btf dump file vmlinux-<ABI>.btf: FUNC 'vfs_read' with (file, buf, count, pos).
        const dump = execFileSync('bpftool', ['btf', 'dump', 'file', BTF], { encoding: 'utf8', maxBuffer: 1 << 28 });
        expect(dump).toMatch(/FUNC 'vfs_read' type_id=\d+/);
        const md = await until(async () => {
          const h = await c.hover('file:///b.oops', 1, 14);
          return h && /vfs_read\s*\(/.test(h) && h.includes('loff_t') ? h : undefined;
        }, 'the BTF prototype of vfs_read');
        expect(md).toContain(kd!.abi);
        expect(requests.slice(before).filter((r) => r.endsWith('/section/.BTF'))).toEqual([`/buildid/${buildId}/section/.BTF`]);
        expect(existsSync(join(dir, 'btf', 'cache', buildId, 'section-.BTF'))).toBe(true);
      } finally {
        await c.close();
      }
    },
    120000,
  );
});
