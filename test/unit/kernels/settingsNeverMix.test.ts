/**
 * Never mix kernels for the sources named directly in the settings (issue 16 §2), in the
 * index service: ksym.btf is served only once its content is of the served symbols'
 * kernel (btfCheck.ts through kernelRegistry.ts btfOfKernel, the view's rule), and again
 * after every index change; ksym.modules is checked by vermagic against the served
 * symbols' release (System.map-REL name, /proc/version, a `version` file beside a
 * kallsyms snapshot); an unknown release is said, not guessed. Oracles: /proc/version,
 * readelf -p .modinfo, bpftool btf dump (the FUNC records each BTF has), /proc/kallsyms.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IndexService } from '../../../server/src/lsp/indexService';
import { parseSettings, type Settings } from '../../../server/src/lsp/settings';
import type { StatusParams } from '../../../server/src/protocol';
import { DEBIAN, have, SYSTEM_MAP } from '../../helpers/corpus';
import { kernelData } from '../../helpers/kernelData';
import { haveTools, needs } from '../../helpers/skip';

const BTF56 = resolve(DEBIAN, 'vmlinux-6.1.0-56-amd64.btf');
const MODS = resolve(DEBIAN, 'modules');
const LIVE_BTF = '/sys/kernel/btf/vmlinux';
const haveCorpus = have(BTF56, 'settings never-mix tests') && have(SYSTEM_MAP, 'settings never-mix tests');
const liveKallsyms = (() => {
  try {
    return !/^0{8,16} /.test(readFileSync('/proc/kallsyms', 'latin1').slice(0, 40)) && existsSync(LIVE_BTF);
  } catch {
    return false;
  }
})();
const haveLive = needs(liveKallsyms, 'running-kernel settings tests: /proc/kallsyms hides addresses or no /sys/kernel/btf/vmlinux');

/** The corpus kernel's release (its System.map's name). */
const CORPUS_REL = '6.1.0-56-amd64';
/** The kernel `npm run fetch-data` fetched (whatever ABI Debian's archive serves today). */
const kd = kernelData();
const haveFetched = !!kd && needs(existsSync(kd.systemMap), `the build-id tests: ${kd.systemMap} is absent (npm run fetch-data)`);
const haveFetchedOther =
  haveFetched &&
  needs(
    kd!.abi !== CORPUS_REL,
    `the fetched-kernel module test: the fetched ABI is ${CORPUS_REL}, the corpus kernel's own (no other kernel to refuse)`,
  );
const haveBpftool = haveTools(['bpftool'], 'the BTF FUNC oracle tests');

/** readelf -p .modinfo: the release a module's vermagic names. */
const readelfVermagic = (f: string) => /vermagic=(\S+)/.exec(execFileSync('readelf', ['-p', '.modinfo', f], { encoding: 'utf8' }))![1];
/** readelf -n: the GNU build id of an ELF file. */
const readelfBuildId = (f: string) =>
  /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', f], { encoding: 'utf8', maxBuffer: 1 << 24 }))![1];

const tmp = mkdtempSync(join(tmpdir(), 'ksym-settings-nevermix-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** bpftool: whether a BTF has a FUNC record of this name (an accepted BTF would render its prototype). */
function btfHasFunc(btf: string, fn: string): boolean {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', btf, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return new RegExp(`\\] FUNC '${fn}' type_id=`).test(out);
}

/** An index service with its statuses and log; `until` waits for a status (no sleeps). */
function service() {
  const statuses: StatusParams[] = [];
  const logs: string[] = [];
  const waiters: { pred: (s: StatusParams) => boolean; res: (s: StatusParams) => void }[] = [];
  const svc = new IndexService({
    log: (m) => logs.push(m),
    status: (s) => {
      statuses.push(s);
      for (let i = waiters.length - 1; i >= 0; i--)
        if (waiters[i].pred(s)) {
          waiters[i].res(s);
          waiters.splice(i, 1);
        }
    },
    progress: () => Promise.resolve({ done: () => undefined }),
  });
  const until = (pred: (s: StatusParams) => boolean, what: string) =>
    new Promise<StatusParams>((res, rej) => {
      const t = setTimeout(
        () => rej(new Error(`timed out waiting for ${what}: ${JSON.stringify(statuses.at(-1))}\n${logs.join('\n')}`)),
        20000,
      );
      waiters.push({ pred, res: (s) => (clearTimeout(t), res(s)) });
    });
  return { svc, statuses, logs, until };
}

const settings = (raw: Record<string, unknown>): Settings => parseSettings(raw);
const btfRefused = (s: StatusParams) => s.messages.filter((m) => m.startsWith('ksym.btf refused'));

describe.skipIf(!haveCorpus)('ksym.btf and ksym.modules are kept to the served symbols’ kernel', () => {
  it.skipIf(!haveLive || !haveBpftool)(
    'a BTF whose name says nothing is refused by content, and rechecked when the symbols change',
    async () => {
      // One System.map file, first the Debian 6.1 map, then rewritten with the running kernel's
      // vmlinux symbols (the lines of /proc/kallsyms without a [module]: System.map's format).
      const map = join(tmp, 'System.map');
      copyFileSync(SYSTEM_MAP, map);
      const btf = join(tmp, 'vmlinux.btf');
      copyFileSync(BTF56, btf);
      expect(btfHasFunc(btf, 'do_syscall_64')).toBe(true);
      const { svc, until } = service();
      try {
        await svc.configure(settings({ kallsyms: [], systemMap: [map], btf, modules: [] }));
        const ok = await until((s) => s.btfTypes > 0, 'the 6.1 BTF accepted for the 6.1 map');
        expect(btfRefused(ok)).toEqual([]);
        expect(svc.btf.vmlinux?.idsByName('do_syscall_64').length).toBeGreaterThan(0);
        const vmlinuxLines = readFileSync('/proc/kallsyms', 'latin1')
          .split('\n')
          .filter((l) => l && !l.includes('['))
          .join('\n');
        writeFileSync(map, vmlinuxLines + '\n');
        await svc.reindex('test: the map changed');
        const s = svc.status();
        expect(btfRefused(s)).toHaveLength(1);
        expect(btfRefused(s)[0]).toMatch(
          /^ksym\.btf refused: BTF vmlinux\.btf is not of .*: \d+ of \d+ sampled functions \(e\.g\. .*\) are not in its symbols, refused$/,
        );
        expect(s.btfTypes).toBe(0);
        expect(svc.btf.vmlinux).toBeUndefined();
      } finally {
        svc.dispose();
      }
    },
  );

  it.skipIf(!haveLive)(
    'the running kernel’s /proc/kallsyms: its own BTF is served, the Debian 6.1 modules are refused by vermagic',
    async () => {
      const rel = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
      const { svc, until, logs } = service();
      try {
        await svc.configure(settings({ modules: [MODS] }));
        const s = await until((x) => x.moduleFiles === 15 && x.btfTypes > 0, 'modules checked and BTF served');
        expect(btfRefused(s)).toEqual([]);
        const m = s.messages.filter((x) => x.startsWith('ksym.modules refused'));
        expect(m).toHaveLength(1);
        expect(m[0]).toContain(`15 module files are built for 6.1.0-56-amd64 (vermagic), not ${rel}`);
        expect(logs.filter((l) => l.startsWith('ksym.modules refused: ') && l.endsWith(`(vermagic), not ${rel}`))).toHaveLength(15);
        // The split BTF of a refused module is not read: the refusal is the answer, kept in
        // `refused`; the message is empty (the module part of a hover says it, once).
        const b = await svc.btf.module('drbd');
        expect(b.btf).toBeUndefined();
        expect(b.refused).toBe(`drbd.ko is built for 6.1.0-56-amd64 (vermagic), not ${rel}: refused`);
        expect(b.message).toBe('');
        expect(b.noModuleFile).toBeFalsy();
      } finally {
        svc.dispose();
      }
    },
  );

  it.skipIf(!haveLive)(
    'a kallsyms snapshot (copies of /proc/kallsyms and /proc/version): the version file’s release is the one checked',
    async () => {
      const dir = join(tmp, 'snap');
      mkdirSync(dir);
      // (read and written: copy_file_range copies nothing out of procfs, whose files have size 0)
      writeFileSync(join(dir, 'kallsyms'), readFileSync('/proc/kallsyms'));
      writeFileSync(join(dir, 'version'), readFileSync('/proc/version'));
      const rel = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
      const { svc, until } = service();
      try {
        await svc.configure(settings({ kallsyms: [join(dir, 'kallsyms')], modules: [MODS], btf: '' }));
        const s = await until((x) => x.moduleFiles === 15, 'modules checked');
        // The version file names the running release; the corpus modules' vermagic (readelf) says 6.1.0-56-amd64.
        const m = s.messages.filter((x) => x.startsWith('ksym.modules refused'));
        expect(m).toHaveLength(1);
        expect(m[0]).toContain(`15 module files are built for 6.1.0-56-amd64 (vermagic), not ${rel}`);
        expect(s.messages.filter((x) => x.includes('not checked'))).toEqual([]);
      } finally {
        svc.dispose();
      }
    },
  );

  it.skipIf(!haveFetched || !haveLive)(
    'a vmlinux ELF as ksym.btf: its build id decides, against the running kernel and against its own System.map',
    async () => {
      // Under a name without a release: the path check cannot tell.
      const plain = join(tmp, 'vmlinux');
      symlinkSync(kd!.vmlinux, plain);
      const id = readelfBuildId(kd!.vmlinux);
      const a = service();
      try {
        await a.svc.configure(settings({ btf: plain, modules: [] }));
        const s = await a.until((x) => btfRefused(x).length > 0, 'the fetched vmlinux refused for the running kernel');
        expect(btfRefused(s)).toHaveLength(1);
        expect(btfRefused(s)[0]).toMatch(
          new RegExp(`^ksym\\.btf refused: BTF vmlinux has build id ${id}, .* has [0-9a-f]{40}: another kernel, refused$`),
        );
        expect(s.btfTypes).toBe(0);
      } finally {
        a.svc.dispose();
      }
      // Its own System.map (the directory holds both: the kernel's build id is the vmlinux's).
      const b = service();
      try {
        await b.svc.configure(settings({ kallsyms: [], systemMap: [kd!.systemMap], btf: kd!.vmlinux, modules: [] }));
        const s = await b.until((x) => x.btfTypes > 0, 'the fetched BTF served with its System.map');
        expect(btfRefused(s)).toEqual([]);
      } finally {
        b.svc.dispose();
      }
    },
  );

  it.skipIf(!haveFetchedOther)(
    'modules under a lib/modules/<served release> path are still checked when used (the fetched kernel’s files named 6.1.0-56)',
    async () => {
      // The path names the served release (the path check passes); the files' vermagic (readelf) is the fetched kernel's.
      const rel = readelfVermagic(join(kd!.dir, 'modules', 'xfs.ko'));
      expect(rel).toBe(kd!.abi);
      expect(rel).not.toBe(CORPUS_REL);
      const dir = join(tmp, 'root/lib/modules');
      mkdirSync(dir, { recursive: true });
      const mods = join(dir, CORPUS_REL);
      symlinkSync(join(kd!.dir, 'modules'), mods);
      const { svc, until, logs } = service();
      try {
        await svc.configure(settings({ kallsyms: [], systemMap: [SYSTEM_MAP], modules: [mods], btf: '' }));
        await until((x) => x.moduleFiles > 0, 'module scan');
        // Not read up front (a conventional tree may hold thousands of compressed modules) …
        expect(logs.filter((l) => l.includes('vermagic of'))).toEqual([]);
        // … but refused when used, and then said in the status.
        const r = await svc.modules!.load('xfs');
        expect(r.ok ? 'loaded' : r.error).toBe(`xfs.ko is built for ${rel} (vermagic), not ${CORPUS_REL}: refused`);
        expect(svc.status().messages).toContain(`ksym.modules refused: xfs.ko is built for ${rel} (vermagic), not ${CORPUS_REL}`);
      } finally {
        svc.dispose();
      }
    },
  );

  it('a System.map whose release nothing names: modules used and said to be unchecked; the BTF still checked by content', async () => {
    const dir = join(tmp, 'norel');
    mkdirSync(dir);
    const map = join(dir, 'System.map');
    copyFileSync(SYSTEM_MAP, map);
    const { svc, until } = service();
    try {
      await svc.configure(settings({ kallsyms: [], systemMap: [map], modules: [MODS], btf: BTF56 }));
      const s = await until((x) => x.moduleFiles === 15 && x.btfTypes > 0, 'modules scanned and BTF served');
      expect(s.messages.filter((x) => x.includes('refused'))).toEqual([]);
      expect(s.messages.filter((x) => x.startsWith('ksym.modules is not checked'))).toEqual([
        `ksym.modules is not checked against the kernel: the release of ${map} is unknown (neither its name nor a version file next to it says which)`,
      ]);
      const r = await svc.modules!.load('xfs');
      expect(r.ok).toBe(true);
    } finally {
      svc.dispose();
    }
  });
  it.skipIf(!haveLive || !haveBpftool)(
    'the running kernel’s own BTF file is sampled like any other once the symbols are not /proc/kallsyms (the Debian 6.1 map: refused)',
    async () => {
      // The /proc/kallsyms + /sys/kernel/btf/vmlinux pair is taken as one kernel without a
      // sample; the same BTF file beside another kernel's map is not. Oracle: bpftool — a FUNC
      // of the running BTF that the 6.1 map does not list.
      const mapNames = new Set(
        readFileSync(SYSTEM_MAP, 'latin1')
          .split('\n')
          .map((l) => l.split(' ')[2]),
      );
      const raw = execFileSync('bpftool', ['btf', 'dump', 'file', LIVE_BTF, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const funcs = [...raw.matchAll(/\] FUNC '([^']+)' type_id=/g)].map((m) => m[1]);
      expect(funcs.filter((f) => !mapNames.has(f)).length).toBeGreaterThan(funcs.length * 0.1);
      const { svc, until } = service();
      try {
        await svc.configure(settings({ kallsyms: [], systemMap: [SYSTEM_MAP], btf: LIVE_BTF, modules: [] }));
        const s = await until((x) => btfRefused(x).length > 0, 'the running BTF refused for the 6.1 map');
        expect(btfRefused(s)[0]).toMatch(/^ksym\.btf refused: BTF vmlinux is not of .*sampled functions/);
        expect(svc.btf.vmlinux).toBeUndefined();
        const own = service();
        try {
          await own.svc.configure(settings({}));
          const t = await own.until((x) => x.btfTypes > 0, 'the running BTF served beside /proc/kallsyms');
          expect(btfRefused(t)).toEqual([]);
          expect(own.svc.btf.vmlinux?.idsByName(funcs[0]).length).toBeGreaterThan(0);
        } finally {
          own.svc.dispose();
        }
      } finally {
        svc.dispose();
      }
    },
  );
});
