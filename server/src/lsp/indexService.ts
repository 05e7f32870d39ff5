/**
 * The served index and its life cycle: settings → sources → index, reindexing on
 * settings and file changes. The previous good index keeps serving until a new one
 * is complete; a failed build leaves it in place and reports the error.
 * No LSP types here: the server passes callbacks.
 */
import { watch, FSWatcher } from 'node:fs';
import { machine } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { realPathOf } from '../core/common/readGuarded';
import { buildIndex, SymbolIndex } from '../core/kallsyms/symbolIndex';
import { loadIndex, type BuildStop, type IndexLoadResult } from '../core/kallsyms/load';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { IndexState, StatusParams } from '../protocol';
import { ModuleStore, type KernelCheck, type Refusal, type ScanReport } from '../core/modules/store';
import { DEFAULT_SEARCH_LIMIT } from '../core/search/ranking';
import { specsOf, type Settings } from './settings';
import type { SymposOptions } from '../core/livepatch/checks';
import { BtfStore } from '../core/btf/store';
import { usableModuleFiles } from '../core/kernels/moduleBtfFiles';
import type { Kernel } from '../core/kernels/kernels';
import { releaseFromPath } from '../core/kernels/source';
import { readRunningKernel } from '../core/kernels/storeKernels';
import { btfOfKernel, describeKernel, kernelOfSettings } from './kernelRegistry';

/** Event-loop turns without a new reindex request before a build starts, and the most turns waited. */
const QUIET_TURNS = 3;
const MAX_JOIN_TURNS = 10_000;

/** How long a prefetched index (read at initialize) may wait for the settings to confirm it. */
const PREFETCH_TTL_MS = 10_000;
const KEPT = 'index not rebuilt, keeping the previous one';
/** Module files whose vermagic is read right after the scan (the others are checked when used). */
const MODULES_CHECKED = 64;
/** Refused module files named in the status summary. */
const REFUSALS_NAMED = 3;
/** How long a request waits for the first index before it says that indexing is in progress (KSYM_FIRST_INDEX_WAIT_MS: tests). */
export const FIRST_INDEX_WAIT_MS = Number(process.env.KSYM_FIRST_INDEX_WAIT_MS) || 10_000;

/** A cancellation token's shape (vscode-jsonrpc's CancellationToken fits it). */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface ServiceHooks {
  log(message: string): void;
  status(s: StatusParams): void;
  progress(title: string): Promise<{ done(): void }>;
  /** The running kernel (tests); default: read from /proc/version and /sys/kernel/notes (once). */
  runningKernel?(): Kernel;
}

export class IndexService {
  index: SymbolIndex = buildIndex([]);
  /**
   * Module files (.ko) from ksym.modules; names are walked up front, symbols loaded on
   * demand. Files whose vermagic names another release than the served symbols' are refused.
   */
  modules?: ModuleStore;
  private moduleScan?: ScanReport;
  /** The vermagic check of the module files right after the scan. */
  private moduleCheck?: KernelCheck;
  /** Said when the module files cannot be checked (the served symbols' release is unknown). */
  private moduleNote?: string;
  /**
   * The vmlinux BTF (ksym.btf) last loaded, with its module split BTF on demand: served
   * (servedBtf) only while it passes the check against the served symbols. A store is
   * never loaded again once made: a new ksym.btf is loaded into a new one, so a store that
   * a document's context holds never changes its BTF behind the check.
   */
  private btfCandidate?: BtfStore;
  /** The candidate, once it passed the check against the served symbols (btfCheck.ts through btfOfKernel). */
  private servedBtf?: BtfStore;
  /** Served in place of a BTF that is not of the served symbols' kernel (or not loaded or checked yet): no types. */
  private readonly noBtf = new BtfStore({ path: '/nonexistent/ksym-no-btf' });
  /** Why the candidate is not served (one short line), or that it could not be checked. */
  private btfNote?: string;
  /** The last ksym.btf load error (the previous candidate, if any, stays). */
  private btfLoadError?: string;
  private btfPath?: string;
  /** The kernel the served symbols are of (kernelRegistry.ts kernelOfSettings). */
  private kernel?: Kernel;
  private runningK?: Kernel;
  private settings?: Settings;
  private state: IndexState = 'indexing';
  private messages: string[] = [];
  private millis = 0;
  private generation = 0;
  private requested = 0;
  private watchers: FSWatcher[] = [];
  private watchTimer?: NodeJS.Timeout;

  private indexListeners: (() => void)[] = [];
  /** An index read before the client confirmed its settings; used only if they name the same sources. */
  private speculative?: { key: string; at: number; result: Promise<IndexLoadResult> };

  /** Resolved when the first build has ended (an index, or the first attempt's errors). */
  private firstEnded!: () => void;
  private readonly first = new Promise<void>((r) => (this.firstEnded = r));

  constructor(private hooks: ServiceHooks) {}

  /**
   * The vmlinux BTF and module split BTF being served: the ksym.btf file once it is known
   * to be of the served symbols' kernel (never mix kernels), else a store with no types.
   */
  get btf(): BtfStore {
    return this.servedBtf ?? this.noBtf;
  }

  private runningKernel(): Kernel {
    this.runningK ??= this.hooks.runningKernel ? this.hooks.runningKernel() : readRunningKernel({ machine: machine() });
    return this.runningK;
  }

  /** The kernel of the settings' symbol sources (undefined: no source, or it could not be told). */
  private kernelOf(s: Settings): Kernel | undefined {
    try {
      return kernelOfSettings(s, this.runningKernel());
    } catch (e) {
      this.hooks.log(`the kernel of the symbol sources: ${String(e)}`);
      return undefined;
    }
  }

  /**
   * Whether the first index build has ended: before that, an empty answer would be a
   * wrong answer (the symbol is not absent, the index is not there yet).
   */
  get indexed(): boolean {
    return this.generation > 0;
  }

  /** Resolves when the first index build has ended. */
  whenIndexed(): Promise<void> {
    return this.first;
  }

  /**
   * Wait for the first index build to end, at most `maxMs` and no longer than the
   * request is wanted (`token`): true when it has ended, false when the caller must say
   * that indexing is in progress.
   */
  firstIndex(token?: Cancellation, maxMs = FIRST_INDEX_WAIT_MS): Promise<boolean> {
    if (this.indexed) return Promise.resolve(true);
    if (token?.isCancellationRequested) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => end(false), maxMs);
      const sub = token?.onCancellationRequested(() => end(false));
      const end = (v: boolean) => {
        clearTimeout(timer);
        sub?.dispose();
        resolve(v);
      };
      void this.first.then(() => end(true));
    });
  }

  /** Called after every successful (re)index and module rescan. */
  onIndexChanged(f: () => void): void {
    this.indexListeners.push(f);
  }

  private indexChanged(): void {
    for (const f of this.indexListeners) {
      try {
        f();
      } catch (e) {
        this.hooks.log(`index listener failed: ${String(e)}`);
      }
    }
  }

  searchCap(): number {
    return this.settings?.searchLimit ?? DEFAULT_SEARCH_LIMIT;
  }

  /** What the livepatch checks need: the vmlinux index and a module lookup by object name. */
  symposOptions(): SymposOptions {
    const store = this.modules;
    const paths = this.settings?.modules ?? [];
    return {
      index: this.index.count > 0 ? this.index : undefined,
      lookup: async (objname) => {
        if (!store) return undefined;
        const r = await store.load(objname);
        return r.ok ? r.module : undefined;
      },
      moduleMissing: (objname) =>
        store
          ? `module ${objname} is not among the modules in ${paths.join(', ')} (ksym.modules)`
          : `module ${objname} is not indexed: set ksym.modules to its .ko file or directory`,
    };
  }

  /**
   * Start reading and indexing the sources `s` names (the settings the client sent with
   * `initialize`, or the defaults) while the client is still answering the configuration
   * request. Nothing is served from it unless the confirmed settings name the same sources.
   */
  prefetch(s: Settings): void {
    if (this.generation > 0 || this.requested > 0 || this.speculative) return;
    const specs = specsOf(s);
    this.speculative = { key: JSON.stringify(specs), at: Date.now(), result: loadIndex(specs) };
  }

  /** Apply new settings: reindex when the sources changed. */
  configure(s: Settings): Promise<void> {
    const before = this.settings ? JSON.stringify(specsOf(this.settings)) : '';
    const modulesChanged =
      JSON.stringify(this.settings?.modules) !== JSON.stringify(s.modules) ||
      this.settings?.kallsyms.includes(DEFAULT_KALLSYMS) !== s.kallsyms.includes(DEFAULT_KALLSYMS);
    this.hooks.log(`settings from ${s.source ?? 'defaults'}`);
    const sourceChanged = this.settings !== undefined && this.settings.source !== s.source;
    this.settings = s;
    const kernel = this.kernelOf(s);
    const kernelChanged = kernelKey(kernel) !== kernelKey(this.kernel);
    this.kernel = kernel;
    const btfChanged = s.btf !== this.btfPath;
    const rebuild =
      before !== JSON.stringify(specsOf(s)) || this.generation === 0 ? this.reindex('settings', { supersede: true }) : Promise.resolve();
    if (sourceChanged && this.generation > 0) this.sendStatus(); // the status names where the settings came from
    // kallsyms first (it is what "ready" means); modules and BTF load right after.
    return rebuild.then(() => {
      // The modules are checked against the served kernel's release: a new kernel, a new store.
      if (modulesChanged || kernelChanged) this.configureModules(s.modules);
      if (btfChanged) this.configureBtf(s.btf);
      else if (kernelChanged && this.checkBtf()) {
        this.sendStatus();
        this.indexChanged();
      }
    });
  }

  /** The build asked for and not started yet (every request until it starts joins it), and whether one runs. */
  private queued?: QueuedBuild;
  private running = false;
  private joins = 0;
  /** The build running now: a newer request or settings change supersedes it, its callers' cancellation stops it. */
  private active?: { queued: QueuedBuild; stop: RunningStop };

  /**
   * Rebuild from the current settings. Requests coalesce: a request joins the build that
   * has not started yet (the newest reason and the settings of the moment it starts win),
   * so a storm of ksym/reindex or a burst of file events makes one build, not one each,
   * and at most two indexes exist at once. A build (but the first) starts once the
   * requests queued behind the previous one have joined (letRequestsJoin). Each caller's promise resolves when the build it joined ends.
   *
   * The build is cooperative (loadIndex checks between sources and phases): with
   * `supersede` (a reindex request, a settings change) the running build stops at its next
   * step and the queued one replaces it; when every caller of a build has cancelled
   * (`token`: $/cancelRequest), it stops too ('build cancelled'). A stopped build
   * publishes nothing: the previous good index keeps serving. A file change does not
   * supersede (a file rewritten in a loop must not starve the index); it queues behind.
   */
  reindex(reason: string, opts: { token?: Cancellation; supersede?: boolean } = {}): Promise<void> {
    this.joins++;
    if (opts.supersede && this.active) this.active.stop.superseded = true;
    if (this.queued) {
      this.queued.reason = reason;
      this.queued.tokens.push(opts.token);
      return this.queued.promise;
    }
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.queued = { reason, promise, resolve, tokens: [opts.token] };
    if (!this.running) void this.drain();
    return promise;
  }

  /**
   * Let the requests queued behind the previous (synchronous) build join this one:
   * vscode-jsonrpc handles one message per event-loop turn (setImmediate), so wait turn by
   * turn until QUIET_TURNS pass without a join (at most MAX_JOIN_TURNS).
   */
  private async letRequestsJoin(): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < MAX_JOIN_TURNS && quiet < QUIET_TURNS; turn++) {
      const before = this.joins;
      await new Promise((r) => setImmediate(r));
      quiet = this.joins === before ? quiet + 1 : 0;
    }
  }

  private async drain(): Promise<void> {
    this.running = true;
    let superseded = false;
    try {
      while (this.queued) {
        if (this.generation > 0 || superseded) await this.letRequestsJoin();
        const q = this.queued;
        this.queued = undefined;
        const stop = new RunningStop(q.tokens);
        this.active = { queued: q, stop };
        superseded = false;
        let stopped = false;
        try {
          stopped = await this.build(q.reason, stop);
        } catch (e) {
          this.hooks.log(`${q.reason}: index build failed: ${String(e)}`);
        } finally {
          this.active = undefined;
          const next = this.queued as QueuedBuild | undefined;
          if (stopped && stop.superseded && next) {
            // Its callers wait for the build that replaced it.
            superseded = true;
            next.tokens.push(...q.tokens);
            void next.promise.then(q.resolve);
          } else q.resolve();
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** One build; `stop` is asked between its steps (once complete, a build is published). True when it stopped. */
  private async build(reason: string, stop: RunningStop): Promise<boolean> {
    const settings = this.settings;
    if (!settings) return false;
    const ticket = ++this.requested;
    const before = this.state;
    this.state = 'indexing';
    this.sendStatus();
    // The progress request's round trip to the client is not waited for before reading.
    const starting = this.hooks.progress('Indexing kernel symbols');
    let ended = false;
    let started: { done(): void } | undefined;
    const progress = {
      done: () => {
        if (ended) return;
        ended = true;
        if (started) started.done();
        else void starting.then((p) => p.done());
      },
    };
    try {
      const specs = specsOf(settings);
      const spec = this.speculative;
      this.speculative = undefined;
      const fresh = spec && spec.key === JSON.stringify(specs) && Date.now() - spec.at < PREFETCH_TTL_MS;
      const result = fresh ? await spec.result : await loadIndex(specs, stop);
      started = await starting;
      if (result.stopped) {
        // Nothing of it is published; a superseding build sends its own status.
        this.hooks.log(
          `${reason}: build ${stop.superseded ? 'superseded by a newer request' : 'cancelled'} after ${Math.round(result.millis)} ms; ${KEPT}`,
        );
        this.state = before === 'indexing' && this.generation > 0 ? 'ready' : before;
        progress.done();
        if (!stop.superseded || !this.queued) this.sendStatus();
        return true;
      }
      if (ticket !== this.requested) return false; // a newer request superseded this one
      const problems = [...settings.problems, ...result.errors];
      if (result.index) {
        this.index = result.index;
        this.generation++;
        this.modules?.useKallsyms(this.index);
        // Never mix kernels: the BTF is checked against the symbols now served, before anything reads them.
        this.checkBtf();
      }
      this.millis = Math.round(result.millis);
      this.messages = [...problems, ...settings.warnings, ...result.warnings];
      this.state = problems.length > 0 ? 'error' : 'ready';
      if (!result.index && this.generation === 0) this.generation = 1; // first attempt failed: ready with an empty index
      if (this.generation > 0) this.firstEnded();
      this.hooks.log(
        `${reason}: ${result.index ? `indexed ${this.index.count} symbols from ${specs.map((s) => s.file).join(', ')} in ${this.millis} ms` : KEPT}` +
          (this.messages.length ? `\n  ${this.messages.join('\n  ')}` : ''),
      );
      this.watchSources(specs.map((s) => s.file));
      progress.done(); // the progress ends before the status says ready
      this.sendStatus();
      if (result.index) {
        // Ready is signalled first; the name index (frames, search, sympos) is built right after.
        const idx = result.index;
        setImmediate(() => this.index === idx && idx.buildNameIndex()); // compacts the names, then sorts them (unless already replaced)
        this.indexChanged();
      }
      return false;
    } finally {
      progress.done();
    }
  }

  private configureBtf(path: string): void {
    this.btfPath = path;
    this.btfLoadError = undefined;
    if (!path) {
      this.btfCandidate = undefined;
      if (this.checkBtf()) this.indexChanged();
      return;
    }
    // Split BTF from the module files not refused for another kernel (a refusal is said once, by the module part).
    const staged = new BtfStore({ moduleFiles: usableModuleFiles(() => this.modules) });
    void staged.load(path).then((r) => {
      if (path !== this.btfPath) return; // a newer ksym.btf replaced it
      this.hooks.log(r.ok ? `BTF: ${r.types} types from ${r.file} in ${Math.round(r.millis)} ms` : `BTF: ${r.error}`);
      if (r.ok) this.btfCandidate = staged;
      else this.btfLoadError = this.btfCandidate?.file ? `${r.error} (still using ${this.btfCandidate.file})` : r.error;
      const changed = this.checkBtf();
      this.sendStatus();
      if (changed) this.indexChanged();
    });
  }

  /**
   * Never mix kernels: serve the loaded BTF only when it is of the served symbols' kernel —
   * the same rule as a kernel of the registry (kernelRegistry.ts btfOfKernel: the build id
   * when the ELF and the kernel both have one, else a sample of its FUNC names must be
   * text symbols of the served index). Synchronous, so nothing reads a BTF in between.
   * Returns whether what is served changed (the documents' contexts must be recomputed).
   */
  private checkBtf(): boolean {
    const before = { served: this.servedBtf, note: this.btfNote };
    const b = this.btfCandidate;
    const file = b?.file;
    if (!this.btfPath || !b?.vmlinux || !file) {
      this.servedBtf = undefined;
      this.btfNote = undefined;
    } else {
      const k: Kernel = this.kernel ?? { label: 'the configured symbols', kind: 'snapshot', dir: '', problems: [] };
      let refusal: string | undefined;
      try {
        refusal = btfOfKernel(k, file, b, this.index);
      } catch (e) {
        refusal = `BTF ${file}: could not be checked against the symbols (${String(e)}), not used`;
      }
      this.servedBtf = refusal === undefined ? b : undefined;
      this.btfNote =
        refusal !== undefined
          ? `ksym.btf refused: ${refusal}`
          : this.index.count === 0
            ? `ksym.btf ${file} is not checked against the kernel's symbols: no kallsyms or System.map is indexed`
            : undefined;
      if (refusal !== undefined && this.btfNote !== before.note) this.hooks.log(this.btfNote!);
    }
    return this.servedBtf !== before.served || this.btfNote !== before.note;
  }

  private configureModules(paths: string[]): void {
    this.moduleCheck = undefined;
    this.moduleNote = undefined;
    if (paths.length === 0) {
      this.modules = undefined;
      this.moduleScan = undefined;
      return;
    }
    // Section load addresses from /sys/module/<mod>/sections only when the log is read
    // against the running kernel (its /proc/kallsyms is a source).
    const live = this.settings?.kallsyms.includes(DEFAULT_KALLSYMS) ?? false;
    // Never mix kernels: module files are checked (vermagic) against the served symbols' release.
    const k = this.kernel;
    const release = k?.release;
    if (k && !release)
      this.moduleNote = `ksym.modules is not checked against the kernel: the release of ${k.symbols?.path ?? k.label} is unknown (neither its name nor a version file next to it says which)`;
    const store = new ModuleStore(paths, { sysfsRoot: live ? '/sys/module' : undefined, release });
    this.modules = store;
    store.useKallsyms(this.index);
    // Files are checked when used; up front too (to say so in the status) unless every path is
    // the conventional …/lib/modules/<the served release> (thousands of compressed modules).
    const upFront = !!release && !paths.every((p) => releaseFromPath(p)?.release === release);
    void store
      .scan()
      .then(async (r) => {
        const check = upFront ? await store.checkFiles(MODULES_CHECKED) : undefined;
        return { r, check };
      })
      .then(({ r, check }) => {
        if (this.modules !== store) return;
        this.moduleScan = r;
        this.moduleCheck = check;
        this.btfCandidate?.clearModules();
        this.hooks.log(
          `modules: ${r.modules} modules (${r.files} files) under ${r.roots.join(', ')}` +
            [...r.errors, ...(r.smallSummary ? [r.smallSummary] : [])].map((e) => `; ${e}`).join(''),
        );
        if (check) {
          const n = check.refused.length;
          this.hooks.log(
            `modules: vermagic of ${check.checked} of ${check.files} files checked against ${release}: ${n === 0 ? 'none refused' : `${n} refused`}` +
              (check.noVermagic ? `; ${check.noVermagic} without vermagic (kept)` : ''),
          );
          for (const x of check.refused) this.hooks.log(`ksym.modules refused: ${x.reason}`);
        }
        if (this.moduleNote) this.hooks.log(this.moduleNote);
        this.sendStatus();
        this.indexChanged();
      });
  }

  /**
   * One short line for the module files refused so far (at the scan's check or on use),
   * grouped by the release their vermagic names; the single file's own refusal when only one is.
   */
  private moduleRefusalSummary(): string | undefined {
    const store = this.modules;
    const release = this.kernel?.release;
    if (!store || !release) return undefined;
    const refused: Refusal[] = store.refusals();
    if (refused.length === 0) return undefined;
    if (refused.length === 1) return `ksym.modules refused: ${refused[0].reason}`;
    const base = (f: string) => f.slice(f.lastIndexOf('/') + 1);
    const rels = [...new Set(refused.map((x) => x.release))];
    const named = refused.slice(0, REFUSALS_NAMED).map((x) => base(x.file));
    const more = refused.length > REFUSALS_NAMED ? ', …' : '';
    const c = this.moduleCheck;
    const partial = c && c.checked < c.files ? ` (${c.checked} of ${c.files} files checked so far; the others are checked when used)` : '';
    return (
      `ksym.modules refused: ${refused.length} module files are built for ${rels.join(', ')} (vermagic), not ${release}: ` +
      `${named.join(', ')}${more}${partial}`
    );
  }

  status(): StatusParams {
    const scanErrors = this.moduleScan?.errors ?? [];
    return {
      state: this.state,
      symbols: this.index.count,
      modules: this.index.modules.length - 1,
      pseudoModules: this.index.moduleKinds.filter((k) => k === 'pseudo').length,
      moduleFiles: this.moduleScan?.modules ?? 0,
      sources: [...this.index.sources.map((s) => s.file), ...(this.settings?.modules ?? []), ...(this.btf.file ? [this.btf.file] : [])],
      messages: [
        ...this.messages,
        ...scanErrors,
        ...[this.moduleRefusalSummary(), this.moduleNote].filter((m): m is string => m !== undefined),
        ...[this.btfLoadError, this.btfNote].filter((m): m is string => m !== undefined),
        ...(this.btfPath && this.servedBtf ? this.servedBtf.messages() : []),
      ],
      btfTypes: this.btfPath ? (this.btf.vmlinux?.types ?? 0) : 0,
      millis: this.millis,
      generation: this.generation,
      settingsSource: this.settings?.source ?? 'defaults',
    };
  }

  private sendStatus(): void {
    this.hooks.status(this.status());
  }

  /** The generation of the served index (documents' contexts are recomputed when it changes). */
  get servedGeneration(): number {
    return this.generation;
  }

  /** The settings being served (undefined before the first configure). */
  get current(): Settings | undefined {
    return this.settings;
  }

  /**
   * Watch regular files (not /proc, /sys) and reindex shortly after they change. The
   * directories are watched, not the files: a file's watch dies with it, a directory's
   * sees the file deleted, re-created, renamed over or written (and a symlinked source's
   * target directory too).
   */
  private watchSources(files: string[]): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const byDir = new Map<string, Set<string>>();
    const add = (p: string) => {
      if (p.startsWith('/proc/') || p.startsWith('/sys/')) return;
      const d = dirname(p);
      if (!byDir.has(d)) byDir.set(d, new Set());
      byDir.get(d)!.add(basename(p));
    };
    for (const f of files) {
      add(f);
      const real = realPathOf(f);
      if (real !== f) add(real);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name !== null && !names.has(String(name))) return;
          clearTimeout(this.watchTimer);
          this.watchTimer = setTimeout(() => void this.reindex(`${join(dir, String(name ?? ''))} changed`), 200);
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        /* a missing directory: the read error is already reported */
      }
    }
  }

  dispose(): void {
    for (const w of this.watchers) w.close();
    clearTimeout(this.watchTimer);
  }
}

/** What a kernel is compared by when the settings change (the checks depend on these). */
function kernelKey(k: Kernel | undefined): string {
  return k ? JSON.stringify([k.kind, k.release, k.buildId, k.symbols?.path, describeKernel(k)]) : '';
}

interface QueuedBuild {
  reason: string;
  promise: Promise<void>;
  resolve: () => void;
  /** One per caller; undefined for a caller that cannot cancel (settings, file changes, prefetch). */
  tokens: (Cancellation | undefined)[];
}

/** What a running build asks between its steps (loadIndex's BuildStop). */
class RunningStop implements BuildStop {
  superseded = false;
  constructor(private readonly tokens: readonly (Cancellation | undefined)[]) {}
  /** Every caller cancelled (none of them needs the build any more). */
  get cancelled(): boolean {
    return this.tokens.length > 0 && this.tokens.every((t) => t?.isCancellationRequested === true);
  }
  get stopped(): boolean {
    return this.superseded || this.cancelled;
  }
}
