/**
 * Every open document against the kernel that wrote it (issue 16):
 *
 * - the kernels ksym has: the configured sources (ksym.kallsyms/systemMap/modules/btf,
 *   kept to one kernel), the directories of ksym.kernels, the conventional places of
 *   this machine (the running kernel, `/` with /boot, /lib/modules, /usr/lib/debug) and
 *   a kernel build tree at the workspace root;
 * - per document (cached by version): which kernel wrote it (core/kernels kernelForLog),
 *   the index, modules and BTF of that kernel (built lazily, a few kept), the log's
 *   AddressShift against that index, and a module store with the load addresses learned
 *   from this log's own `[<addr>] f+off/size [mod]` frames;
 * - when no kernel matches: a headline said before anything else and one diagnostic on
 *   the fact's line.
 * No LSP types here except what the handlers need as plain data; never throws.
 */
import { machine } from 'node:os';
import { BtfStore } from '../core/btf/store';
import { loadIndex } from '../core/kallsyms/load';
import { buildIndex, type SymbolIndex } from '../core/kallsyms/symbolIndex';
import { archFromSymbols } from '../core/kernels/arch';
import { btfRefusal, liveBtfOfLiveSymbols, textSymbolTest } from '../core/kernels/btfCheck';
import { kernelForLog, type LogDiagnostic } from '../core/kernels/forLog';
import type { LogIdentity } from '../core/kernels/identity';
import type { AddressShift } from '../core/kernels/kaslr';
import { belongsTo, describeKernel, type Kernel, type Selection } from '../core/kernels/kernels';
import { logShift, NO_SHIFT } from '../core/kernels/logShift';
import { readVmlinuxInfo } from '../core/kernels/readKernelFiles';
import { discoverKernels, readRunningKernel } from '../core/kernels/storeKernels';
import { symtabKernel } from '../core/kernels/symtabSection';
import { usableModuleFiles } from '../core/kernels/moduleBtfFiles';
import { kernelOfSources, oneKernelSources, releaseOfSourcePath } from '../core/kernels/configured';
import { ModuleStore } from '../core/modules/store';
import type { DebuginfodFetches, FetchState } from './debuginfodFetches';
import { specsOf, type Settings } from './settings';

/** Indexes of other kernels kept at once (each is one kernel's symbols, modules and BTF). */
const MAX_VIEWS = 3;
/** Log lines with module frames read to learn load addresses. */
const MAX_LEARN_LINES = 4000;
/** Documents whose context is kept. */
const MAX_DOCS = 32;

/** What a document is resolved with: one kernel's files. */
export interface KernelView {
  /** The kernel, when known (the configured sources may be of an unknown kernel). */
  kernel?: Kernel;
  index: SymbolIndex;
  modules?: ModuleStore;
  btf?: BtfStore;
  /** The configured sources (the served index) rather than a kernel built on demand. */
  configured: boolean;
  problems: string[];
}

export interface DocContext {
  version: number;
  generation: number;
  identity?: LogIdentity;
  selection?: Selection;
  view: KernelView;
  shift: AddressShift;
  /** This log's module store (load addresses learned from its own frames). */
  modules?: ModuleStore;
  /** Learning load addresses from the log's frames; resolves when done. */
  learned: Promise<void>;
  /** Raw text, said before anything else: this log is not from the kernel ksym resolves it with. */
  headline?: string;
  diagnostics: LogDiagnostic[];
  /** debuginfod fetches of this log's `[mod BUILDID]` modules still running (live: bytes move). */
  fetching?: FetchState[];
  /** Fetches that failed or were refused, one short line each (raw text). */
  fetchProblems?: string[];
}

export interface DocumentLike {
  uri: string;
  version: number;
  languageId: string;
  getText(): string;
}

/** What the registry needs from the served (configured) index. */
export interface ConfiguredSources {
  index: SymbolIndex;
  modules?: ModuleStore;
  btf?: BtfStore;
  generation: number;
  settings?: Settings;
}

/** Documents whose kernel is looked for (a kallsyms dump or C file is not a log). */
const LOG_LANGUAGES = new Set(['kernel-log', 'log', 'plaintext']);

export class KernelRegistry {
  private running?: Kernel;
  private dirKernels: Kernel[] = [];
  private problems: string[] = [];
  private configuredKernel?: Kernel;
  private configuredKey = '';
  private servedText = '';
  private views = new Map<string, Promise<KernelView>>();
  private docs = new Map<string, DocContext>();

  constructor(
    private sources: () => ConfiguredSources,
    private log: (m: string) => void,
    private opts: { runningKernel?: () => Kernel; conventional?: string[]; fetches?: DebuginfodFetches } = {},
  ) {}

  /** Module stores over fetched debug files plus a view's modules (key: the directories). */
  private fetchedStores = new Map<string, ModuleStore>();
  /** Kernels made of a fetched vmlinux .symtab, by build id (symbols only: no modules, BTF or debug file). */
  private symtabViews = new Map<string, KernelView>();
  /** Kernel views whose debuginfod BTF was loaded or failed (asked once each). */
  private btfTried = new WeakSet<KernelView>();

  private runningKernel(): Kernel {
    this.running ??= this.opts.runningKernel ? this.opts.runningKernel() : readRunningKernel({ machine: machine() });
    return this.running;
  }

  /**
   * New settings: the kernels of ksym.kernels and the conventional places, and the
   * configured sources kept to one kernel. Returns the settings to serve.
   */
  configure(s: Settings, workspaceFolder?: string): Settings {
    this.opts.fetches?.configure(s);
    const out = keepOneKernel(s, this.runningKernel());
    this.configuredKernel = kernelOfSettings(out, this.runningKernel());
    // The output channel names the kernel being served (once per change).
    const served = servedKernelText(this.configuredKernel);
    if (served !== this.servedText) this.log((this.servedText = served));
    const found: Kernel[] = [];
    const problems: string[] = [];
    const dirs = [...s.kernels, ...(this.opts.conventional ?? ['/'])];
    if (workspaceFolder) dirs.push(workspaceFolder);
    for (const d of dirs) {
      const r = discoverKernels(d);
      found.push(...r.kernels);
      // Conventional places and the workspace are looked at quietly; ksym.kernels entries are reported.
      if (s.kernels.includes(d)) problems.push(...r.problems.map((p) => `ksym.kernels: ${p}`));
    }
    this.dirKernels = found;
    this.problems = problems;
    const key = JSON.stringify([out.kallsyms, out.systemMap, out.modules, out.btf, s.kernels]);
    if (key !== this.configuredKey) {
      this.configuredKey = key;
      this.views.clear();
    }
    this.docs.clear();
    if (problems.length) out.warnings.push(...problems);
    return out;
  }

  /** The kernels a log is matched against, the configured sources first. */
  candidates(): Kernel[] {
    const out: Kernel[] = [];
    const seen = new Set<string>();
    const add = (k: Kernel) => {
      const key = k.kind === 'running' ? 'running' : (k.symbols?.path ?? `${k.dir}:${k.release}`);
      if (seen.has(key)) return;
      seen.add(key);
      out.push(k);
    };
    if (this.configuredKernel) add(this.configuredKernel);
    for (const k of this.dirKernels) if (k.symbols) add(k);
    add(this.runningKernel());
    return out;
  }

  forget(uri: string): void {
    this.docs.delete(uri);
  }

  /** The served index, modules or BTF changed: every document's context is recomputed. */
  invalidate(): void {
    this.docs.clear();
  }

  /** The context of a document (cached per version and served index generation). Never throws. */
  context(doc: DocumentLike): DocContext {
    const src = this.sources();
    const hit = this.docs.get(doc.uri);
    if (hit && hit.version === doc.version && hit.generation === src.generation) return hit;
    let ctx: DocContext;
    try {
      ctx = this.compute(doc, src);
    } catch (e) {
      this.log(`kernel of ${doc.uri}: ${String(e)}`);
      ctx = {
        version: doc.version,
        generation: src.generation,
        view: this.configuredView(src),
        shift: NO_SHIFT,
        learned: Promise.resolve(),
        diagnostics: [],
      };
    }
    this.docs.delete(doc.uri);
    this.docs.set(doc.uri, ctx);
    while (this.docs.size > MAX_DOCS) this.docs.delete(this.docs.keys().next().value as string);
    return ctx;
  }

  /** The context once the kernel's index is built and the log's load addresses are learned. */
  async settled(doc: DocumentLike): Promise<DocContext> {
    let c = this.context(doc);
    if (c.selection?.ok && !c.view.configured) {
      // The kernel's own index: built on demand, then the context is recomputed against it.
      const v = await this.viewOf(c.selection.kernel);
      const again = this.context(doc);
      if (again.view !== v) {
        this.docs.delete(doc.uri);
        c = this.context(doc);
      } else c = again;
    }
    await c.learned;
    return c;
  }

  private configuredView(src: ConfiguredSources): KernelView {
    return {
      kernel: this.configuredKernel,
      index: src.index,
      modules: src.modules,
      btf: src.settings?.btf ? src.btf : undefined,
      configured: true,
      problems: [],
    };
  }

  private compute(doc: DocumentLike, src: ConfiguredSources): DocContext {
    const base = { version: doc.version, generation: src.generation, diagnostics: [] as LogDiagnostic[] };
    const configured = this.configuredView(src);
    if (!LOG_LANGUAGES.has(doc.languageId)) return { ...base, view: configured, shift: NO_SHIFT, learned: Promise.resolve() };
    const text = doc.getText();
    const candidates = this.candidates();
    let lk = kernelForLog(text, candidates);
    const id = lk.identity;
    const says = !!(id.release || id.buildId || id.arch);
    let view = configured;
    let headline: string | undefined;
    // A log that names no release or build id (matched by architecture only) stays with the
    // configured sources, unless they are of another architecture.
    const cfgArch = this.configuredKernel?.arch ?? archOfIndex(src.index);
    // Such a log is no mismatch when its architecture is the served one: it does not say which
    // kernel wrote it, so "from an unknown kernel … not the log's kernel" would claim what nobody
    // knows; each answer is still checked against the frame the log printed (✓/⚠).
    const silent = !id.release && !id.buildId && (!cfgArch || !id.arch || cfgArch === id.arch.value);
    const diagnostics = says && !silent ? lk.diagnostics : [];
    const archOnly = lk.selection.ok && lk.selection.by === 'arch' && (!cfgArch || cfgArch === id.arch?.value);
    if (lk.selection.ok && !archOnly) {
      const k = lk.selection.kernel;
      if (k !== this.configuredKernel && !(k.kind === 'running' && this.configuredKernel?.kind === 'running')) {
        const ready = this.readyView(k);
        if (ready) view = ready;
        else {
          void this.viewOf(k); // build it; hovers wait for it (settled)
          view = { ...configured, problems: [`building the index of ${k.label}`] };
          view.configured = false;
        }
      }
    } else if (says && !lk.selection.ok && !silent) {
      const fromSymtab = this.symtabView(text, lk);
      if (fromSymtab) {
        lk = fromSymtab.lk;
        view = fromSymtab.view;
      } else headline = lk.selection.message;
    }
    const symtabFetch =
      !lk.selection.ok && id.buildId ? this.opts.fetches?.vmlinuxSymtab(id.buildId.value, text, id.arch?.value) : undefined;
    const shiftOf = logShift(text, view.index, id.kaslr?.value, src.settings?.kaslrOffset);
    const building = view.problems.some((p) => p.startsWith('building'));
    const fetched = lk.selection.ok && !building ? this.fetchModules(view, id) : { dirs: [], fetching: [], problems: [] };
    if (lk.selection.ok && !building) this.fetchBtf(view, view.kernel?.buildId ?? id.buildId?.value, fetched);
    const store = fetched.dirs.length ? this.fetchedStore(view, fetched.dirs) : view.modules;
    const modules = store ? this.logModules({ ...view, modules: store }, shiftOf.shift, lk.selection) : undefined;
    const learned = modules ? learnFromText(modules, text, this.log) : Promise.resolve();
    return {
      ...base,
      identity: id,
      selection: lk.selection,
      view,
      shift: shiftOf.shift,
      modules,
      learned,
      headline,
      diagnostics,
      fetching: symtabFetch?.status === 'fetching' ? [...fetched.fetching, symtabFetch] : fetched.fetching,
      fetchProblems:
        symtabFetch?.status === 'failed' && symtabFetch.message ? [...fetched.problems, symtabFetch.message] : fetched.problems,
    };
  }

  /**
   * A log whose vmlinux build id no known kernel has, with a debuginfod server configured:
   * its symbols from `/section/.symtab` + `.strtab` of that build id (fetched once, checked
   * against the log's own frames), as a kernel of their own selected by build id. Undefined
   * while the fetch runs or when it failed (the mismatch headline stays; the fetch is listed).
   */
  private symtabView(
    text: string,
    lk: ReturnType<typeof kernelForLog>,
  ): { lk: ReturnType<typeof kernelForLog>; view: KernelView } | undefined {
    const id = lk.identity;
    const f = this.opts.fetches;
    if (!id.buildId || !f?.enabled) return undefined;
    const st = f.vmlinuxSymtab(id.buildId.value, text, id.arch?.value);
    if (st?.status !== 'done' || !st.index || !st.selected) return undefined;
    let v = this.symtabViews.get(st.buildId);
    if (!v) {
      const kernel = symtabKernel(id, st.buildId, st.selected);
      v = { kernel, index: st.index, configured: false, problems: [] };
      this.symtabViews.set(st.buildId, v);
      while (this.symtabViews.size > MAX_VIEWS) this.symtabViews.delete(this.symtabViews.keys().next().value as string);
    }
    const again = kernelForLog(text, [v.kernel!]);
    return again.selection.ok ? { lk: again, view: v } : undefined;
  }

  /**
   * The log's `[mod BUILDID]` modules that no module file at hand carries: asked of
   * debuginfod (once per build id; the fetcher decides trust and cache). Returns the
   * directories of the finished ones and the running ones.
   */
  private fetchModules(view: KernelView, id: LogIdentity): { dirs: string[]; fetching: FetchState[]; problems: string[] } {
    const f = this.opts.fetches;
    const out = { dirs: [] as string[], fetching: [] as FetchState[], problems: [] as string[] };
    if (!f?.enabled || id.moduleBuildIds.size === 0) return out;
    for (const [mod, fact] of id.moduleBuildIds) {
      const st = f.module(mod, fact.value, () => carries(view.modules, mod, fact.value));
      if (st && (st.status === 'fetching' || st.status === 'checking')) out.fetching.push(st);
      else if (st?.status === 'failed' && st.message) out.problems.push(st.message);
    }
    out.dirs = f.linkDirs([...id.moduleBuildIds.values()].map((x) => x.value));
    return out;
  }

  /**
   * A kernel view without BTF whose vmlinux build id is known (the kernel's, else the log's
   * CPU: line): its `/section/.BTF` from debuginfod (a few MB; BTF is all the prototypes
   * need), loaded once in the cache and checked against the kernel's symbols like a local one.
   */
  private fetchBtf(view: KernelView, buildId: string | undefined, out: { fetching: FetchState[]; problems: string[] }): void {
    const f = this.opts.fetches;
    if (!f?.enabled || !buildId || view.btf || view.configured || !view.kernel || this.btfTried.has(view)) return;
    const st = f.vmlinuxBtf(buildId);
    if (!st) return;
    if (st.status === 'fetching' || st.status === 'checking') out.fetching.push(st);
    else if (st.status === 'failed') {
      this.btfTried.add(view);
      if (st.message) view.problems.push(st.message);
    } else if (st.status === 'done' && st.path) {
      this.btfTried.add(view);
      const k = view.kernel;
      const path = st.path;
      const btf = new BtfStore({ moduleFiles: usableModuleFiles(() => view.modules) });
      void btf.load(path).then((r) => {
        const refusal = r.ok ? btfOfKernel(k, path, btf, view.index) : `BTF: ${r.error}`;
        if (refusal) {
          view.problems.push(refusal);
          this.log(`kernel ${k.label}: debuginfod BTF ${path}: ${refusal}`);
          return;
        }
        view.btf = btf;
        this.log(`kernel ${k.label}: BTF ${path} (debuginfod, build id ${buildId})`);
        this.invalidate();
      });
    }
  }

  /**
   * The fetched module files with the view's own: checked (vermagic) against the release the
   * view's modules were checked against, else the view's kernel's; no release, no check.
   */
  private fetchedStore(view: KernelView, dirs: string[]): ModuleStore {
    const paths = [...dirs, ...(view.modules?.paths ?? [])];
    const release = view.modules?.release ?? view.kernel?.release;
    const key = JSON.stringify([paths, release ?? null]);
    let s = this.fetchedStores.get(key);
    if (!s) {
      s = new ModuleStore(paths, { release });
      s.useKallsyms(view.index);
      this.fetchedStores.set(key, s);
      while (this.fetchedStores.size > MAX_VIEWS) this.fetchedStores.delete(this.fetchedStores.keys().next().value as string);
    }
    return s;
  }

  /**
   * This log's module store: shares the parsed modules, has its own load addresses. The
   * running kernel's sysfs and a kallsyms index's [mod] lines are of one boot: used only
   * when the log's vmlinux shift against that index is 0 (or unknown and nothing says otherwise).
   */
  private logModules(view: KernelView, shift: AddressShift, sel: Selection): ModuleStore {
    const sameBoot = shift.vmlinuxShift === 0n || (shift.vmlinuxShift === undefined && sel.ok && sel.kernel.kind === 'running');
    const live = sameBoot && view.kernel?.kind === 'running';
    return view.modules!.forLog({ sysfs: live, kallsyms: sameBoot ? view.index : undefined });
  }

  private readyView(k: Kernel): KernelView | undefined {
    const v = this.views.get(viewKey(k)) as (Promise<KernelView> & { value?: KernelView }) | undefined;
    return v?.value;
  }

  /** A kernel's own index, modules and BTF (built once, a few kept). */
  viewOf(k: Kernel): Promise<KernelView> {
    const key = viewKey(k);
    const hit = this.views.get(key);
    if (hit) {
      this.views.delete(key);
      this.views.set(key, hit);
      return hit;
    }
    const p = buildView(k, this.log) as Promise<KernelView> & { value?: KernelView };
    void p.then((v) => (p.value = v));
    this.views.set(key, p);
    while (this.views.size > MAX_VIEWS) this.views.delete(this.views.keys().next().value as string);
    return p;
  }

  messages(): string[] {
    return [...this.problems];
  }

  /** The debuginfod fetches (source lines fetch the vmlinux debug file through them). */
  get debuginfod(): DebuginfodFetches | undefined {
    return this.opts.fetches;
  }
}

function viewKey(k: Kernel): string {
  return JSON.stringify([k.kind, k.dir, k.release, k.symbols?.path, k.modulesDir, k.btf]);
}

async function buildView(k: Kernel, log: (m: string) => void): Promise<KernelView> {
  const problems: string[] = [];
  let index = buildIndex([]);
  if (k.symbols) {
    const r = await loadIndex([{ file: k.symbols.path, kind: k.symbols.kind }]);
    if (r.index) index = r.index;
    problems.push(...r.errors);
  } else problems.push(`${k.label}: no kallsyms or System.map`);
  const modules = k.modulesDir ? new ModuleStore([k.modulesDir], { release: k.release }) : undefined;
  modules?.useKallsyms(index);
  let btf: BtfStore | undefined;
  if (k.btf) {
    btf = new BtfStore({ moduleFiles: usableModuleFiles(() => modules) });
    const r = await btf.load(k.btf);
    const refusal = r.ok && btf.vmlinux ? btfOfKernel(k, k.btf, btf, index) : undefined;
    if (!r.ok || refusal) {
      problems.push(refusal ?? `BTF: ${r.error}`);
      btf = undefined;
    }
  }
  const parts = [`${index.count} symbols from ${k.symbols?.path ?? '(none)'}`];
  if (modules) parts.push(`modules ${k.modulesDir}`);
  if (btf) parts.push(`BTF ${k.btf}`);
  log(`kernel ${k.label}: ${parts.join(', ')}${problems.length ? `; ${problems.join('; ')}` : ''}`);
  return { kernel: k, index, modules, btf, configured: false, problems };
}

/**
 * Never mix kernels: a BTF whose ELF build id is another kernel's, or whose sampled FUNC
 * names are not this kernel's text symbols, is refused (one short line, never rendered).
 */
export function btfOfKernel(k: Kernel, file: string, btf: BtfStore, index: SymbolIndex): string | undefined {
  const b = btf.vmlinux;
  if (!b || liveBtfOfLiveSymbols(file, index)) return undefined;
  let elfBuildId: string | undefined;
  if (k.buildId) {
    try {
      elfBuildId = readVmlinuxInfo(file).buildId;
    } catch {
      elfBuildId = undefined; // raw BTF (/sys/kernel/btf/vmlinux, a .btf dump): no build id
    }
  }
  const kernel = {
    label: describeKernel(k),
    release: k.release,
    buildId: k.buildId,
    symbolCount: index.count,
    isText: textSymbolTest(index),
  };
  return btfRefusal(file, b, kernel, elfBuildId);
}

/** Whether a module file at hand carries the build id the log printed. */
async function carries(store: ModuleStore | undefined, mod: string, buildId: string): Promise<boolean> {
  if (!store) return false;
  await store.scan();
  if (!store.has(mod)) return false;
  const r = await store.load(mod, buildId);
  return r.ok && !!r.buildIdMatch;
}

/** Learn module load addresses from the log's frames printed with their address. */
async function learnFromText(store: ModuleStore, text: string, log: (m: string) => void): Promise<void> {
  try {
    const lines: string[] = [];
    let pos = 0;
    while (pos < text.length && lines.length < MAX_LEARN_LINES) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const line = text.slice(pos, Math.min(nl, pos + 4096));
      pos = nl + 1;
      if (line.includes('[<') || (line.includes('+0x') && line.includes(']') && /\b[0-9a-f]{8,16}\b/.test(line))) lines.push(line);
    }
    await store.learnFromLog(lines);
  } catch (e) {
    log(`learning module load addresses: ${String(e)}`);
  }
}

/**
 * Never mix kernels in the configured sources (core/kernels/configured.ts): a System.map not
 * known to be the running kernel's replaces /proc/kallsyms, a source of another known release
 * than the symbols' is not indexed, and BTF and module paths that belong to another kernel
 * than the symbols are refused with one short message each.
 */
export function keepOneKernel(s: Settings, running: Kernel): Settings {
  const one = oneKernelSources(s.kallsyms, s.systemMap, running);
  const out: Settings = {
    ...s,
    kallsyms: one.kallsyms,
    systemMap: one.systemMap,
    modules: [...s.modules],
    warnings: [...s.warnings, ...one.warnings],
  };
  const k = kernelOfSettings(out, running);
  if (!k) return out;
  if (out.btf) {
    const refusal = belongsTo(k, { kind: 'btf', path: out.btf, release: releaseOfSourcePath(out.btf, running) });
    if (refusal) {
      out.warnings.push(`ksym.btf refused: ${refusal}`);
      out.btf = '';
    }
  }
  out.modules = out.modules.filter((p) => {
    const refusal = belongsTo(k, { kind: 'module', path: p, release: releaseOfSourcePath(p, running) });
    if (refusal) out.warnings.push(`ksym.modules refused: ${refusal}`);
    return !refusal;
  });
  return out;
}

/** The kernel the configured symbol sources are of (undefined: no symbol source). */
export function kernelOfSettings(s: Settings, running: Kernel): Kernel | undefined {
  return kernelOfSources(specsOf(s), running);
}

/**
 * "serving kernel 6.1.0-56-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (…) (the running kernel, /proc/version)":
 * the release and version of the configured symbols, from /proc/version for the running
 * kernel, else from what the sources say (a version file next to a kallsyms snapshot, the
 * release in a System.map-REL name).
 */
export function servedKernelText(k: Kernel | undefined): string {
  if (!k) return 'serving no kernel: no kallsyms or System.map is configured';
  const what = [k.release ?? 'of unknown release', k.version].filter(Boolean).join(' ');
  if (k.kind === 'running') return `serving kernel ${what} (the running kernel, /proc/version)`;
  const from = k.symbols?.path ?? k.dir;
  return `serving kernel ${what} (${from}${k.release ? '' : ': neither its name nor a version file next to it says which'})`;
}

/** The architecture of an index from its arch-specific entry symbols. */
export function archOfIndex(index: SymbolIndex): Kernel['arch'] {
  return archFromSymbols((n) => index.byNameAll(n).length > 0)?.arch;
}

export { describeKernel };
