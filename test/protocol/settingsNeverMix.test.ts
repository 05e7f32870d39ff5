/**
 * Never mix kernels (issue 16 §2) for the files named directly in the settings
 * (ksym.kallsyms / ksym.systemMap with ksym.btf and ksym.modules), over the protocol:
 * - module files whose `.modinfo` vermagic names another release than the served symbols'
 *   are refused (one summary line in the status, one line per file in the log, the
 *   store's refusal on the hover of a frame in such a module), never rendered;
 * - a BTF whose content is not of the served symbols' kernel is refused even where its
 *   path names the right release or none (one short line, no types, no prototype);
 * - the matching set (Debian System.map + its BTF + its modules) still answers.
 * Oracles: readelf -p .modinfo (vermagic of every module file), /proc/version (the running
 * release), readelf -sW of drbd.ko (its symbol values), bpftool btf dump (the prototypes
 * each BTF holds).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ready, startClient } from '../helpers/lspclient';
import { have, koFiles, SYSTEM_MAP } from '../helpers/corpus';
import { kernelData } from '../helpers/kernelData';
import { BTF61, DRBD, drbdOracle, h, MODS } from '../helpers/kernelLogs';
import { haveTools, needs } from '../helpers/skip';
import type { StatusParams } from '../../server/src/protocol';

const LIVE_BTF = '/sys/kernel/btf/vmlinux';
/** The corpus kernel's release (its System.map's name). */
const CORPUS_REL = '6.1.0-56-amd64';
/** The kernel `npm run fetch-data` fetched (whatever ABI Debian's archive serves today). */
const kd = kernelData();
const FETCHED_MODS = kd ? join(kd.dir, 'modules') : '';

const haveCorpus = have(SYSTEM_MAP, 'settings never-mix protocol tests') && have(DRBD, 'settings never-mix protocol tests');
const liveKallsyms = (() => {
  try {
    return !/^0{8,16} /.test(readFileSync('/proc/kallsyms', 'latin1').slice(0, 40));
  } catch {
    return false;
  }
})();
const haveLive = needs(
  liveKallsyms && existsSync(LIVE_BTF),
  'running-kernel tests: /proc/kallsyms hides addresses or no /sys/kernel/btf/vmlinux',
);
const haveFetched =
  !!kd &&
  needs(existsSync(FETCHED_MODS), `the fetched-kernel module tests: ${FETCHED_MODS} is absent (npm run fetch-data)`) &&
  needs(
    kd.abi !== CORPUS_REL,
    `the fetched-kernel module tests: the fetched ABI is ${CORPUS_REL}, the corpus kernel's own (no other kernel to refuse)`,
  );
const haveBpftool = haveTools(['bpftool'], 'the BTF prototype oracle tests');

/** The running release, from /proc/version (the oracle the kernel gives). */
const runningRelease = () => /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
/** readelf -p .modinfo: the release a module's vermagic names. */
function vermagic(file: string): string {
  const out = execFileSync('readelf', ['-p', '.modinfo', file], { encoding: 'utf8' });
  return /vermagic=(\S+)/.exec(out)![1];
}
/** bpftool btf dump … format c: the C declaration of a function, if the BTF has it. */
function btfPrototype(btf: string, fn: string): string | undefined {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', btf, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return new RegExp(`\\] FUNC '${fn}' type_id=\\d+`).exec(out)?.[0];
}

const tmp = mkdtempSync(join(tmpdir(), 'ksym-nevermix-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const refusals = (s: StatusParams, what: 'modules' | 'btf') => s.messages.filter((m) => m.startsWith(`ksym.${what} refused`));
const FRAME = ' drbd_adm_attach+0x2f/0xee0 [drbd]\n do_syscall_64+0x3b/0x90\n';

describe.skipIf(!haveCorpus)('settings that mix kernels are kept to the symbols’ kernel (protocol)', () => {
  it.skipIf(!haveLive)(
    'the running /proc/kallsyms with the Debian 6.1 modules: every module refused (one status line, one log line each), the frame not answered from them',
    async () => {
      const rel = runningRelease();
      const files = koFiles(MODS);
      // The oracle: every corpus module is built for 6.1.0-56-amd64, not the running kernel.
      const other = files.filter((f) => vermagic(f) !== rel);
      expect(other).toHaveLength(15);
      expect(new Set(other.map(vermagic))).toEqual(new Set(['6.1.0-56-amd64']));
      const c = await startClient({ modules: [MODS] });
      try {
        const s = await c.waitStatus((x) => ready(x) && x.moduleFiles === 15, 'module scan and check');
        const r = refusals(s, 'modules');
        expect(r).toHaveLength(1);
        expect(r[0]).toMatch(
          new RegExp(
            `^ksym\\.modules refused: 15 module files are built for 6\\.1\\.0-56-amd64 \\(vermagic\\), not ${rel.replace(/\./g, '\\.')}: `,
          ),
        );
        expect(r[0].length).toBeLessThan(240);
        // The log names each refused file once.
        for (const f of other) {
          const base = f.slice(f.lastIndexOf('/') + 1);
          expect(
            c.logs.filter((l) => l.includes(`ksym.modules refused: ${base} is built for 6.1.0-56-amd64 (vermagic), not ${rel}`)),
          ).toHaveLength(1);
        }
        const uri = 'file:///mixed-modules.log';
        await c.open(uri, 'kernel-log', FRAME);
        const refusal = `drbd.ko is built for 6.1.0-56-amd64 (vermagic), not ${rel}: refused`;
        const md = (await c.hover(uri, 0, 4))!;
        // Said once, by the module part: not again by the source line or the BTF note (also once the work behind them settled).
        expect(md.split(refusal)).toHaveLength(2);
        const again = (await c.hover(uri, 0, 4))!;
        expect(again.split(refusal)).toHaveLength(2);
        expect(again).not.toContain('module file lookup failed');
        expect(again).not.toContain('**source line**');
        // Nothing of drbd.ko is rendered: no symbol table, no kernel form, no position.
        expect(md).not.toContain('symtab #');
        expect(md).not.toContain('kernel form');
        expect(md).not.toContain(`0x${h(drbdOracle('drbd_adm_attach').value)}`);
        // Not the split-BTF mismatch of another kernel's module either, and no hint to add the directory that holds it: it is there, and refused.
        expect(md).not.toContain('split BTF does not match');
        expect(md).not.toContain('add the directory holding');
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!haveFetched)(
    'the Debian 6.1.0-56 System.map with the fetched kernel’s modules: refused by vermagic (same release line, another ABI)',
    async () => {
      const files = koFiles(FETCHED_MODS);
      expect(files.length).toBeGreaterThan(0);
      expect(files.map((f) => f.slice(f.lastIndexOf('/') + 1))).toContain('xfs.ko');
      // The oracle: readelf names one release, the fetched one, in every module's vermagic (not the corpus kernel's).
      const rel = vermagic(join(FETCHED_MODS, 'xfs.ko'));
      expect(rel).toBe(kd!.abi);
      expect(rel).not.toBe(CORPUS_REL);
      for (const f of files) expect(vermagic(f)).toBe(rel);
      const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], modules: [FETCHED_MODS], btf: '' });
      try {
        const s = await c.waitStatus((x) => ready(x) && x.moduleFiles === files.length, 'module scan and check');
        const r = refusals(s, 'modules');
        expect(r).toHaveLength(1);
        expect(r[0]).toContain(`${files.length} module files are built for ${rel} (vermagic), not ${CORPUS_REL}`);
        const uri = 'file:///fetched.log';
        await c.open(uri, 'kernel-log', ' xfs_buf_read_map+0x3b/0x200 [xfs]\n');
        const md = (await c.hover(uri, 0, 4))!;
        expect(md.split(`xfs.ko is built for ${rel} (vermagic), not ${CORPUS_REL}: refused`)).toHaveLength(2);
        expect(md).not.toContain('symtab #');
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!haveLive || !haveBpftool)(
    'the Debian 6.1 System.map with the running kernel’s BTF under a 6.1 name: refused by content, no prototype rendered',
    async () => {
      // The path names 6.1.0-56-amd64; the content is the running kernel's (a copy of /sys/kernel/btf/vmlinux).
      const disguised = join(tmp, 'vmlinux-6.1.0-56-amd64.btf');
      copyFileSync(LIVE_BTF, disguised);
      // Oracle: the running BTF has a do_syscall_64 FUNC (bpftool), so an accepted BTF would render it.
      expect(btfPrototype(disguised, 'do_syscall_64')).toBeDefined();
      const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: disguised });
      try {
        const s = await c.waitStatus((x) => ready(x) && refusals(x, 'btf').length > 0, 'BTF refusal');
        const r = refusals(s, 'btf');
        expect(r).toHaveLength(1);
        expect(r[0]).toMatch(
          /^ksym\.btf refused: BTF vmlinux-6\.1\.0-56-amd64\.btf is not of 6\.1\.0-56-amd64\b.*: \d+ of \d+ sampled functions/,
        );
        expect(r[0].length).toBeLessThan(240);
        expect(s.btfTypes).toBe(0);
        expect(s.sources).not.toContain(disguised);
        const uri = 'file:///mixed-btf.log';
        await c.open(uri, 'kernel-log', FRAME);
        const md = (await c.hover(uri, 1, 4))!;
        expect(md).toContain('do_syscall_64');
        expect(md).not.toContain('**BTF**');
        expect(md).not.toMatch(/\b(void|bool|long) do_syscall_64\(/);
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!haveLive || !have(BTF61, 'Debian BTF'))(
    'ksym.btf changed under an open log to another kernel’s BTF: the prototype shown before is not shown after',
    async () => {
      const disguised = join(tmp, 'swap', 'vmlinux-6.1.0-56-amd64.btf');
      mkdirSync(dirname(disguised));
      copyFileSync(LIVE_BTF, disguised);
      const base = { kallsyms: [], systemMap: [SYSTEM_MAP], modules: [] };
      const c = await startClient({ ...base, btf: BTF61 });
      try {
        await c.waitStatus((x) => ready(x) && x.btfTypes > 0, 'the 6.1 BTF');
        const uri = 'file:///swap.log';
        await c.open(uri, 'kernel-log', FRAME);
        expect(await c.hover(uri, 1, 4)).toContain('**BTF**');
        const n = c.statuses.length;
        await c.setSettings({ ...base, btf: disguised });
        await c.waitStatus((x) => c.statuses.indexOf(x) >= n && refusals(x, 'btf').length === 1, 'the refusal');
        const md = (await c.hover(uri, 1, 4))!;
        expect(md).toContain('do_syscall_64');
        expect(md).not.toContain('**BTF**');
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!haveLive || !have(BTF61, 'Debian BTF'))(
    'the running /proc/kallsyms with the Debian 6.1 BTF under a name without a release: refused by content',
    async () => {
      const plain = join(tmp, 'vmlinux.btf');
      copyFileSync(BTF61, plain);
      const c = await startClient({ btf: plain });
      try {
        const s = await c.waitStatus((x) => ready(x) && refusals(x, 'btf').length > 0, 'BTF refusal');
        const r = refusals(s, 'btf');
        expect(r).toHaveLength(1);
        expect(r[0]).toMatch(new RegExp(`^ksym\\.btf refused: BTF vmlinux\\.btf is not of ${runningRelease().replace(/\./g, '\\.')}\\b`));
        expect(s.btfTypes).toBe(0);
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!have(BTF61, 'Debian BTF') || !haveBpftool)(
    'the matching set — Debian System.map, its BTF and its modules: nothing refused, module symbols and prototypes rendered',
    async () => {
      // Oracles: bpftool finds do_syscall_64 in the 6.1 BTF; readelf -sW gives drbd_adm_attach's value in drbd.ko.
      expect(btfPrototype(BTF61, 'do_syscall_64')).toBeDefined();
      const c = await startClient({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: BTF61, modules: [MODS] });
      try {
        const s = await c.waitStatus((x) => ready(x) && x.moduleFiles === 15 && x.btfTypes > 0, 'modules and BTF');
        expect(s.messages.filter((m) => m.includes('refused'))).toEqual([]);
        expect(s.messages.filter((m) => m.includes('not checked'))).toEqual([]);
        const uri = 'file:///matching.log';
        await c.open(uri, 'kernel-log', FRAME);
        const mod = (await c.hover(uri, 0, 4))!;
        expect(mod).toContain('symtab #');
        expect(mod).toContain(`\`0x${h(drbdOracle('drbd_adm_attach').value)}\``);
        expect(mod).not.toContain('refused');
        const vm = (await c.hover(uri, 1, 4))!;
        expect(vm).toContain('**BTF**');
        expect(vm).toMatch(/do_syscall_64\(/);
      } finally {
        await c.close();
      }
    },
  );

  it.skipIf(!haveLive)(
    'a System.map whose release nothing names, with the default ksym.kallsyms: the map replaces /proc/kallsyms (one index, one kernel)',
    async () => {
      const dir = mkdtempSync(join(tmp, 'norel-default-'));
      const map = join(dir, 'System.map');
      copyFileSync(SYSTEM_MAP, map);
      // Oracles: do_syscall_64 in the map and in /proc/kallsyms (another kernel, or KASLR: other addresses); the map's line count.
      const addrIn = (text: string) => BigInt('0x' + new RegExp('^([0-9a-f]+) [Tt] do_syscall_64$', 'm').exec(text)![1]);
      const inMap = addrIn(readFileSync(map, 'latin1'));
      const inLive = addrIn(readFileSync('/proc/kallsyms', 'latin1'));
      expect(inLive).not.toBe(inMap);
      const mapLines = readFileSync(map, 'latin1')
        .split('\n')
        .filter((l) => /^[0-9a-f]+ \S /.test(l)).length;
      const c = await startClient({ systemMap: [map] }); // ksym.kallsyms, ksym.modules, ksym.btf: the defaults
      try {
        const s = await c.waitStatus(ready, 'index');
        expect(s.sources.filter((f) => f === '/proc/kallsyms' || f === map)).toEqual([map]);
        expect(s.symbols).toBe(mapLines);
        expect(s.messages).toContain(
          `ksym.systemMap System.map names no release, so nothing says it is the running kernel's (${runningRelease()}): it replaces /proc/kallsyms, which is not indexed (kernels are never mixed)`,
        );
        const uri = 'file:///norel-default.log';
        await c.open(uri, 'kernel-log', ' do_syscall_64+0x3b/0xb0\n');
        const md = (await c.hover(uri, 0, 4))!;
        expect(md).toContain(`\`${h(inMap + 0x3bn)}\``);
        expect(md).not.toContain(h(inLive + 0x3bn));
        expect(md).not.toContain('/proc/kallsyms');
      } finally {
        await c.close();
      }
    },
  );

  it('a System.map whose release nothing names: the modules are used and the status says they are not checked', async () => {
    const dir = mkdtempSync(join(tmp, 'norel-'));
    const map = join(dir, 'System.map');
    copyFileSync(SYSTEM_MAP, map);
    const c = await startClient({ kallsyms: [], systemMap: [map], modules: [MODS], btf: '' });
    try {
      const s = await c.waitStatus((x) => ready(x) && x.moduleFiles === 15, 'module scan');
      const notes = s.messages.filter((m) => m.startsWith('ksym.modules is not checked'));
      expect(notes).toEqual([
        `ksym.modules is not checked against the kernel: the release of ${map} is unknown (neither its name nor a version file next to it says which)`,
      ]);
      expect(refusals(s, 'modules')).toEqual([]);
      const uri = 'file:///norel.log';
      await c.open(uri, 'kernel-log', FRAME);
      expect(await c.hover(uri, 0, 4)).toContain('symtab #');
    } finally {
      await c.close();
    }
  });
});
