/**
 * debuginfod in the server (issue 16 §3): the module debug files a log names by build id
 * (`[mod BUILDID]` frames) fetched once per build id, on demand, with progress (bytes) and
 * cancel, into the shared debuginfod client cache (core/kernels/storeDebuginfod.ts).
 *
 * - Servers: `ksym.debuginfod.urls`, else DEBUGINFOD_URLS of the server's environment.
 * - Trust: nothing is ever requested from a server while `workspaceTrusted` is false (the
 *   client also drops workspace URLs in Restricted Mode); the cache still serves.
 * - A fetched file is given its module name through a private directory of `<mod>.ko`
 *   symlinks (one directory per build id: two kernels' drbd never collide); the registry
 *   puts those directories first in the log's module store, where the build id picks it.
 * - A finished fetch (or a failure) calls `changed`: the documents are recomputed and
 *   the client asked to refresh.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { fetchDebuginfod, type FetchRequest, type FetchResult } from '../core/kernels/storeDebuginfod';
import { validBuildId } from '../core/kernels/debuginfod';
import type { Arch } from '../core/kernels/arch';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import { fetchKernelSymtab } from '../core/kernels/storeSymtab';
import { elfLayoutOf } from '../core/kernels/symtabSection';
import type { Settings } from './settings';

export interface FetchState {
  /** The module name, or `vmlinux` for the kernel image's debug file (or its BTF section). */
  module: string;
  /** `/section/NAME` instead of the debug file (`.BTF`: BTF is all that is needed). */
  section?: string;
  buildId: string;
  status: 'checking' | 'fetching' | 'done' | 'local' | 'failed';
  received: number;
  total?: number;
  /** The cached file (done). */
  path?: string;
  /** Why it failed (raw text, one line). */
  message?: string;
  /** `.symtab`: the symbol index built from the fetched sections (done), and where they came from. */
  index?: SymbolIndex;
  selected?: string;
}

/** What the editor shows while a fetch runs (LSP work-done progress, cancellable). */
export interface FetchProgressUi {
  begin(
    title: string,
    message: string,
  ): Promise<{ report(message: string, percentage?: number): void; done(): void; onCancel(f: () => void): void }>;
}

export interface FetchesDeps {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** Where the `<mod>.ko` symlink directories go (a private temporary directory). */
  linkRoot: string;
  progress?: FetchProgressUi;
  log(m: string): void;
  /** A fetch finished (success or failure): recompute the documents and refresh. */
  changed(): void;
  /** The fetch (tests replace it). */
  fetch?: (r: FetchRequest) => Promise<FetchResult>;
}

/** "1.2 MB" (decimal units, as download sizes are said). */
export function mb(n: number): string {
  if (n < 1e5) return `${(n / 1e3).toFixed(0)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** "fetching debug info for drbd (1.2 MB of 3.4 MB)…" */
export function fetchingText(s: FetchState): string {
  const amount = s.total !== undefined ? ` (${mb(s.received)} of ${mb(s.total)})` : s.received > 0 ? ` (${mb(s.received)})` : '';
  return `fetching ${s.section === '.BTF' ? 'BTF' : s.section === '.symtab' ? 'symbols' : 'debug info'} for ${s.module}${amount}…`;
}

export class DebuginfodFetches {
  private states = new Map<string, FetchState>();
  private aborts = new Map<string, AbortController>();
  private urls = '';
  private trusted = false;
  /** Called once when a fetch ends (the vmlinux debug file's waiters). */
  private waiters = new Map<string, Array<() => void>>();

  constructor(private readonly deps: FetchesDeps) {}

  /** New settings: the servers and the trust decision. Failures are forgotten (the next hover retries). */
  configure(s: Pick<Settings, 'debuginfodUrls' | 'workspaceTrusted'>): void {
    const urls = s.debuginfodUrls.length ? s.debuginfodUrls.join(' ') : (this.deps.env.DEBUGINFOD_URLS ?? '');
    if (urls !== this.urls || s.workspaceTrusted !== this.trusted) {
      for (const [k, st] of this.states) if (st.status === 'failed') this.states.delete(k);
    }
    this.urls = urls;
    this.trusted = s.workspaceTrusted;
    if (!this.trusted) for (const a of this.aborts.values()) a.abort();
  }

  /** Whether any server is configured (no server: no network and no cache access, ever). */
  get enabled(): boolean {
    return this.urls.trim() !== '';
  }

  state(buildId: string): FetchState | undefined {
    return this.states.get(buildId.toLowerCase());
  }

  /**
   * A module's debug file for the build id a log printed: the state, starting the work once.
   * `haveLocal`: whether a module file at hand already carries that build id (then nothing is fetched).
   */
  module(module: string, buildIdIn: string, haveLocal: () => Promise<boolean>): FetchState | undefined {
    const buildId = validBuildId(buildIdIn);
    if (!buildId || !this.enabled || !/^[\w-]{1,64}$/.test(module)) return undefined;
    const hit = this.states.get(buildId);
    if (hit) return hit;
    const st: FetchState = { module, buildId, status: 'checking', received: 0 };
    this.states.set(buildId, st);
    void this.run(st, haveLocal);
    return st;
  }

  /**
   * The vmlinux debug file for a kernel build id no local file carries (the log's CPU: line
   * build id, or the kernel's): the state, starting the fetch once; `ended` is called once
   * when a running fetch finishes (then ask again).
   */
  vmlinux(buildIdIn: string, ended?: () => void, section?: '.BTF'): FetchState | undefined {
    const buildId = validBuildId(buildIdIn);
    if (!buildId || !this.enabled) return undefined;
    const key = section ? `${buildId}/${section}` : buildId;
    const hit = this.states.get(key);
    if (hit && (hit.status === 'checking' || hit.status === 'fetching') && ended)
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), ended]);
    if (hit) return hit;
    const st: FetchState = { module: 'vmlinux', buildId, status: 'checking', received: 0, section };
    this.states.set(key, st);
    if (ended) this.waiters.set(key, [ended]);
    void this.run(st, async () => false);
    return st;
  }

  /** The vmlinux `.BTF` section by build id (a few MB instead of the whole debug file). */
  vmlinuxBtf(buildId: string, ended?: () => void): FetchState | undefined {
    return this.vmlinux(buildId, ended, '.BTF');
  }

  /**
   * The vmlinux symbols for a log whose build id no known kernel has: `/section/.strtab` and
   * `/section/.symtab` (a few MB), checked against the log's own frames before they are used
   * (core/kernels/storeSymtab.ts). Once per build id; `ended` is called when it finishes.
   */
  vmlinuxSymtab(buildIdIn: string, logText: string, arch: Arch | undefined, ended?: () => void): FetchState | undefined {
    const buildId = validBuildId(buildIdIn);
    if (!buildId || !this.enabled) return undefined;
    const key = `${buildId}/.symtab`;
    const hit = this.states.get(key);
    if (hit && (hit.status === 'checking' || hit.status === 'fetching') && ended)
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), ended]);
    if (hit) return hit;
    const st: FetchState = { module: 'vmlinux', buildId, status: 'fetching', received: 0, section: '.symtab' };
    this.states.set(key, st);
    if (ended) this.waiters.set(key, [ended]);
    void this.runSymtab(st, key, logText, arch);
    return st;
  }

  private async runSymtab(st: FetchState, key: string, logText: string, arch: Arch | undefined): Promise<void> {
    const ac = new AbortController();
    this.aborts.set(key, ac);
    let ui: Awaited<ReturnType<FetchProgressUi['begin']>> | undefined;
    let uiStarting = false;
    let lastReport = 0;
    try {
      const r = await fetchKernelSymtab({
        buildId: st.buildId,
        env: { ...this.deps.env, DEBUGINFOD_URLS: this.urls },
        home: this.deps.home,
        allowNetwork: this.trusted,
        logText,
        ...elfLayoutOf(arch),
        signal: ac.signal,
        fetch: this.deps.fetch,
        onProgress: (p) => {
          st.received = p.received;
          st.total = p.total;
          if (!uiStarting && this.deps.progress) {
            uiStarting = true;
            void this.deps.progress
              .begin(`ksym: symbols for vmlinux ${st.buildId.slice(0, 12)}…`, fetchingText(st))
              .then((u) => {
                ui = u;
                u.onCancel(() => ac.abort());
                if (st.status !== 'fetching') u.done();
              })
              .catch(() => undefined);
          }
          const now = Date.now();
          if (ui && now - lastReport > 100) {
            lastReport = now;
            ui.report(fetchingText(st), st.total ? Math.min(100, Math.floor((st.received / st.total) * 100)) : undefined);
          }
        },
      });
      if (r.ok) {
        st.status = 'done';
        st.path = r.paths.symtab;
        st.index = r.index;
        st.selected = r.selected;
        this.deps.log(`debuginfod: ${r.note}`);
      } else {
        st.status = 'failed';
        st.message =
          r.reason === 'network-not-allowed'
            ? `the symbols of vmlinux ${st.buildId} are not in the debuginfod cache, and no server is contacted for an untrusted workspace`
            : `debuginfod: vmlinux ${r.message}`;
        this.deps.log(st.message);
      }
    } catch (e) {
      st.status = 'failed';
      st.message = `debuginfod: vmlinux ${st.buildId} .symtab: ${String(e)}`;
    }
    this.aborts.delete(key);
    if (ui) ui.done();
    const waiting = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of waiting) w();
    this.deps.changed();
  }

  /** The symlink directories of the finished fetches among `buildIds`. */
  linkDirs(buildIds: Iterable<string>): string[] {
    const out: string[] = [];
    for (const b of buildIds) {
      const st = this.states.get(b.toLowerCase());
      if (st?.status === 'done') out.push(join(this.deps.linkRoot, st.buildId));
    }
    return out;
  }

  /** Stop every fetch (shutdown). */
  dispose(): void {
    for (const a of this.aborts.values()) a.abort();
    rmSync(this.deps.linkRoot, { recursive: true, force: true });
  }

  private async run(st: FetchState, haveLocal: () => Promise<boolean>): Promise<void> {
    try {
      if (await haveLocal()) {
        st.status = 'local';
        return;
      }
    } catch {
      /* look it up then */
    }
    st.status = 'fetching';
    const ac = new AbortController();
    const key = st.section ? `${st.buildId}/${st.section}` : st.buildId;
    this.aborts.set(key, ac);
    let ui: Awaited<ReturnType<FetchProgressUi['begin']>> | undefined;
    let uiStarting: Promise<unknown> | undefined;
    let lastReport = 0;
    const startUi = () => {
      if (uiStarting || !this.deps.progress) return;
      uiStarting = this.deps.progress
        .begin(`ksym: ${st.section === '.BTF' ? 'BTF' : 'debug info'} for ${st.module}`, fetchingText(st))
        .then((u) => {
          ui = u;
          u.onCancel(() => ac.abort());
          if (st.status !== 'fetching') u.done();
        })
        .catch(() => undefined);
    };
    const fetch = this.deps.fetch ?? fetchDebuginfod;
    const r = await fetch({
      buildId: st.buildId,
      artifact: st.section ? { kind: 'section', name: st.section } : { kind: 'debuginfo' },
      allowNetwork: this.trusted,
      env: { ...this.deps.env, DEBUGINFOD_URLS: this.urls },
      home: this.deps.home,
      signal: ac.signal,
      onProgress: (p) => {
        st.received = p.received;
        st.total = p.total;
        startUi();
        const now = Date.now();
        if (ui && now - lastReport > 100) {
          lastReport = now;
          ui.report(fetchingText(st), st.total ? Math.min(100, Math.floor((st.received / st.total) * 100)) : undefined);
        }
      },
    });
    this.aborts.delete(key);
    if (r.ok && st.module === 'vmlinux') {
      st.status = 'done';
      st.path = r.path;
      this.deps.log(
        `debuginfod: vmlinux${st.section ? ` ${st.section}` : ''} ${st.buildId}: ${r.fromCache ? 'from the cache' : `fetched from ${r.server}`} (${r.path})`,
      );
    } else if (r.ok) {
      try {
        const dir = join(this.deps.linkRoot, st.buildId);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        rmSync(join(dir, `${st.module.replace(/-/g, '_')}.ko`), { force: true });
        symlinkSync(r.path, join(dir, `${st.module.replace(/-/g, '_')}.ko`));
        st.status = 'done';
        st.path = r.path;
        this.deps.log(`debuginfod: ${st.module} ${st.buildId}: ${r.fromCache ? 'from the cache' : `fetched from ${r.server}`} (${r.path})`);
      } catch (e) {
        st.status = 'failed';
        st.message = `debuginfod: ${st.module}: ${String(e)}`;
      }
    } else {
      st.status = 'failed';
      st.message =
        r.reason === 'network-not-allowed'
          ? `debug info for ${st.module} (${st.buildId}) is not in the cache, and no debuginfod server is contacted for an untrusted workspace`
          : `debuginfod: ${st.module} ${st.buildId}: ${r.message}`;
      this.deps.log(st.message);
    }
    if (ui) ui.done();
    const waiting = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of waiting) w();
    this.deps.changed();
  }
}

/** The source-lines hook for the vmlinux debug file by build id (sourceLines.ts SourceHooks.vmlinuxDebug). */
export function vmlinuxDebugHook(
  fetches: () => DebuginfodFetches | undefined,
): (buildId: string, ended: () => void) => { path?: string; waiting?: () => string; failed?: string } | undefined {
  return (buildId, ended) => {
    const st = fetches()?.vmlinux(buildId, ended);
    if (!st) return undefined;
    if (st.status === 'done' && st.path) return { path: st.path };
    if (st.status === 'failed') return { failed: st.message ?? `debuginfod: vmlinux ${st.buildId}: failed` };
    return { waiting: () => fetchingText(st) };
  };
}

/** Work-done progress over the LSP connection (cancellable: the cancel aborts the fetch). */
export function lspProgressUi(connection: Connection, hasProgress: () => boolean): FetchProgressUi {
  return {
    async begin(title, message) {
      if (!hasProgress()) return { report: () => undefined, done: () => undefined, onCancel: () => undefined };
      const p = await connection.window.createWorkDoneProgress();
      p.begin(title, 0, message, true);
      return {
        report: (m, pct) => p.report(pct ?? 0, m),
        done: () => p.done(),
        onCancel: (f) => void p.token.onCancellationRequested(f),
      };
    },
  };
}

/** The server's fetcher: the process environment's DEBUGINFOD_* variables, a private link directory. */
export function serverFetches(connection: Connection, hasProgress: () => boolean, changed: () => void): DebuginfodFetches {
  return new DebuginfodFetches({
    env: process.env,
    home: homedir(),
    linkRoot: mkdtempSync(join(tmpdir(), 'ksym-debuginfod-')),
    progress: lspProgressUi(connection, hasProgress),
    log: (m) => connection.console.log(m),
    changed,
  });
}
