/**
 * The module store: where module symbol tables come from (kernel-symbols.md §3) and
 * how runtime addresses inside modules are resolved (§2).
 *
 *  - Built from a list of paths (files and directories, setting `ksym.modules`,
 *    default `/lib/modules/$(uname -r)`). `scan()` only walks directory names:
 *    `*.ko`, `*.ko.gz`, `*.ko.xz`, `*.ko.zst`, module name = file name without the
 *    suffix, `-` → `_`. Directory symlinks (`build`, `source`, ...) are not followed.
 *  - A module is read, decompressed and parsed on first need, then kept in an LRU
 *    cache (by count and by bytes). Failures are results, never exceptions.
 *  - With a build id (`[mod BUILDID]`), the file whose GNU build-id note matches wins
 *    among the files with that module name; a mismatch is reported.
 *  - Section load addresses are learned from a kallsyms index, from
 *    `/sys/module/M/sections/*` (live kernel, root only) and from frames printed
 *    with their runtime address; then runtime addresses resolve like the kernel's
 *    find_kallsyms_symbol (see resolve.ts for the size rule).
 */
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { hiOf, loOf } from '../common/addr';
import { describeError, isFormatError, reasonOf } from '../common/errors';
import { readGuardedText } from '../common/readGuarded';
import { moduleNameFromPath, normalizeModuleName as normalize } from './names';
import { fsDir, MIN_MODULE_BYTES, newTreeWalk, readModuleBytes, smallFilesSummary, walkModuleTree } from './read';
import { frameText, scanLine, type FrameToken } from '../log/scan';
import { parseModule, ModuleOptions, ModuleSymbols, SymbolView } from './symtab';
import { parseVermagic } from '../kernels/source';
import { belongsTo, type Kernel } from '../kernels/kernels';
import {
  baseFromFrame,
  BaseEvidence,
  FrameInModule,
  KernelPrint,
  inferTextBases,
  learnBasesFromSymbols,
  regionEnd,
  resolveFrameInModule,
  SectionBases,
} from './resolve';
import type { SymbolIndex } from '../kallsyms/symbolIndex';

export type { FrameCandidate, FrameInModule, KernelPrint, SymbolPlacement, BaseEvidence } from './resolve';

/** `/lib/modules/$(uname -r)` when it exists, else nothing. */
export function defaultModulePaths(): string[] {
  const p = `/lib/modules/${release()}`;
  return existsSync(p) ? [p] : [];
}

export interface ModuleStoreOptions {
  /** Parsed modules kept (default 64). */
  maxModules?: number;
  /** Decompressed bytes kept (default 512 MiB). The most recent module is always kept. */
  maxBytes?: number;
  /** Directory depth below each root (default 16). */
  maxDepth?: number;
  /** Directory entries visited per scan (default 500000). */
  maxEntries?: number;
  /** Passed to parseModule (CONFIG_KALLSYMS_ALL etc.). */
  moduleOptions?: ModuleOptions;
  /** /sys/module root to read section addresses from (live kernel); off when undefined. */
  sysfsRoot?: string;
  /** Alignment of the module text area end (see resolve.ts); default 4096. */
  textAlign?: number;
  /**
   * The release of the kernel these modules are for (never mix kernels): a file whose
   * `.modinfo` vermagic names another release is refused, one short line, never used
   * (not by load, not by the load-address learning, not by loadedModules or usableFilesOf).
   * A file without vermagic is not refused (nothing says it is of another kernel).
   */
  release?: string;
}

/** A module file refused because its vermagic names another release than the store's. */
export interface Refusal {
  file: string;
  /** The release the file's vermagic names. */
  release: string;
  /** Why, as kernels.ts belongsTo says it: `xfs.ko is built for 6.1.0-56-amd64 (vermagic), not 6.18.0`. */
  reason: string;
  /** One short line: the reason and `: refused` (what load() answers). */
  message: string;
}

/** What checkFiles found: files whose vermagic was read, and those refused. */
export interface KernelCheck {
  /** The release the files were checked against (undefined: the store has none, nothing was checked). */
  release?: string;
  /** Module files in the store. */
  files: number;
  /** Files read (vermagic looked at). */
  checked: number;
  /** Of those, without a vermagic (not refused). */
  noVermagic: number;
  /** Files that could not be read or parsed (their error is in the load result). */
  unreadable: number;
  refused: Refusal[];
}

export interface ScanReport {
  roots: string[];
  /** Module files found. */
  files: number;
  /** Distinct module names. */
  modules: number;
  directories: number;
  /** Symlinked directories not followed, and capped walks. */
  skipped: string[];
  /** Unreadable roots/directories. */
  errors: string[];
  /** The entry or depth cap was hit. */
  truncated: boolean;
  /** Module files skipped unread, smaller than an ELF header (count), and the one-line summary. */
  small: number;
  smallSummary?: string;
}

export interface LoadedModule {
  ok: true;
  name: string;
  file: string;
  module: ModuleSymbols;
  buildId?: string;
  /** The release the file's `.modinfo` vermagic names (undefined: no vermagic). */
  vermagicRelease?: string;
  /** Set when a build id was asked for: whether the chosen file has it. */
  buildIdMatch?: boolean;
  warnings: string[];
}

export interface LoadFailure {
  ok: false;
  name: string;
  file?: string;
  /** `other-kernel`: every file found was built for another kernel (vermagic). */
  kind: 'not-found' | 'format' | 'io' | 'other-kernel';
  /** Human-readable: names the file, the offset and the reason for format errors. */
  error: string;
  /** Per-file errors when several files were tried. */
  tried: Array<{ file: string; error: string }>;
}

export type ModuleLoadResult = LoadedModule | LoadFailure;

export interface StoreStats {
  modules: number;
  files: number;
  /** Files read and parsed so far (cache misses). */
  parsed: number;
  cached: number;
  cachedBytes: number;
  failures: number;
  modulesWithBases: number;
}

export interface LearnReport {
  module: string;
  source: 'kallsyms' | 'sysfs' | 'frame' | 'manual';
  file?: string;
  /** Section bases learned (section name → address). */
  bases: Map<string, bigint>;
  evidence: BaseEvidence[];
  problems: string[];
}

export type ModuleFrameResult =
  | ({
      ok: true;
      module: string;
      file: string;
      buildId?: string;
      buildIdMatch?: boolean;
      /** The frame as printed. */
      frameText: string;
      /** Section bases used (runtime sizes), when known. */
      bases?: SectionBases;
      warnings: string[];
    } & FrameInModule)
  | { ok: false; module?: string; error: string; frameText: string; /** No file of that module in the module paths. */ notFound?: boolean };

export interface AddressResult {
  ok: true;
  module: string;
  file: string;
  address: bigint;
  section: string;
  /** Section-relative offset of the address. */
  sectionOffset: number;
  symbol: { index: number; name: string; value: number; section: string };
  print: KernelPrint;
}

export type AddressResolution = AddressResult | { ok: false; address: bigint; error: string };

interface CacheEntry {
  promise: Promise<LoadedModule | LoadFailure>;
  bytes: number;
  settled: boolean;
  /** The parsed module once loaded successfully. */
  loaded?: LoadedModule;
}

interface ModuleBases {
  bases: Map<string, bigint>;
  file?: string;
  sources: Set<LearnReport['source']>;
}

export class ModuleStore {
  readonly paths: readonly string[];
  private readonly opts: Required<Omit<ModuleStoreOptions, 'sysfsRoot' | 'moduleOptions' | 'release'>> &
    Pick<ModuleStoreOptions, 'sysfsRoot' | 'moduleOptions' | 'release'>;
  private files = new Map<string, string[]>();
  private fileCount = 0;
  private scanning?: Promise<ScanReport>;
  private cache = new Map<string, CacheEntry>();
  /** A per-log store (forLog) reads and parses through its parent's cache. */
  private parent?: ModuleStore;
  /** Sum of the cache's entry bytes, kept as entries come and go (evict() runs on every load). */
  private cachedBytes = 0;
  private parsed = 0;
  private failures = 0;
  private bases = new Map<string, ModuleBases>();
  private kallsyms?: SymbolIndex;
  private kallsymsByModule?: Map<number, number[]>;
  private triedKallsyms = new Set<string>();
  private triedSysfs = new Set<string>();
  /** Files refused for another kernel's vermagic, by path (kept by the root store, shared with forLog stores). */
  private refused = new Map<string, Refusal>();

  constructor(paths: readonly string[], opts: ModuleStoreOptions = {}) {
    this.paths = [...paths];
    this.opts = {
      maxModules: opts.maxModules ?? 64,
      maxBytes: opts.maxBytes ?? 512 * 1024 * 1024,
      maxDepth: opts.maxDepth ?? 16,
      maxEntries: opts.maxEntries ?? 500_000,
      textAlign: opts.textAlign ?? 4096,
      sysfsRoot: opts.sysfsRoot,
      moduleOptions: opts.moduleOptions,
      release: opts.release,
    };
  }

  /** The release the files are checked against (vermagic), if any: a store over more paths should keep it. */
  get release(): string | undefined {
    return this.opts.release;
  }

  // ---- indexing ----------------------------------------------------------

  /** Walk the paths (once; later calls return the same report). Only names are read. */
  scan(): Promise<ScanReport> {
    this.scanning ??= this.walk();
    return this.scanning;
  }

  private async walk(): Promise<ScanReport> {
    const report: ScanReport = {
      roots: [...this.paths],
      files: 0,
      modules: 0,
      directories: 0,
      skipped: [],
      errors: [],
      truncated: false,
      small: 0,
    };
    const found: string[] = [];
    const tree = newTreeWalk();
    const walkOpts = { maxDepth: this.opts.maxDepth, maxEntries: this.opts.maxEntries, minBytes: MIN_MODULE_BYTES };
    for (const root of this.paths) {
      let st;
      try {
        st = await fsDir().stat(root);
      } catch (e) {
        report.errors.push(describeError(root, e, 'a module file or directory'));
        continue;
      }
      if (st.isDirectory()) {
        const before = tree.files.length;
        await walkModuleTree(root, walkOpts, tree);
        found.push(...tree.files.slice(before));
      } else found.push(root);
    }
    report.directories = tree.directories;
    report.skipped = tree.skipped;
    report.errors.push(...tree.errors);
    report.truncated = tree.truncated;
    report.small = tree.small.length;
    report.smallSummary = smallFilesSummary(tree);
    // depmod searches updates/ before the rest.
    const rank = (p: string) => (/[\\/]updates[\\/]/.test(p) ? 0 : 1);
    const byName = new Map<string, string[]>();
    for (const p of found) {
      const n = moduleNameFromPath(p);
      const l = byName.get(n);
      if (l) {
        if (!l.includes(p)) l.push(p);
      } else byName.set(n, [p]);
    }
    for (const l of byName.values()) l.sort((a, b) => rank(a) - rank(b));
    this.files = byName;
    this.fileCount = found.length;
    report.files = found.length;
    report.modules = byName.size;
    return report;
  }

  /** Module names indexed (after scan). */
  names(): string[] {
    return [...this.files.keys()].sort();
  }

  has(name: string): boolean {
    return this.files.has(normalize(name));
  }

  /** Files providing a module name, in preference order. */
  filesOf(name: string): string[] {
    return [...(this.files.get(normalize(name)) ?? [])];
  }

  stats(): StoreStats {
    const cachedBytes = this.cachedBytes;
    return {
      modules: this.files.size,
      files: this.fileCount,
      parsed: this.parsed,
      cached: this.cache.size,
      cachedBytes,
      failures: this.failures,
      modulesWithBases: [...this.bases.values()].filter((b) => b.bases.size > 0).length,
    };
  }

  // ---- loading -------------------------------------------------------------

  /**
   * Load one file (cached). A file built for another kernel than the store's release
   * (vermagic) comes back as an `other-kernel` failure and its parsed module is dropped.
   * Never throws.
   */
  loadFile(file: string): Promise<LoadedModule | LoadFailure> {
    if (this.parent) return this.parent.loadFile(file);
    const hit = this.cache.get(file);
    if (hit) {
      this.cache.delete(file);
      this.cache.set(file, hit);
      return hit.promise;
    }
    const name = moduleNameFromPath(file);
    const entry: CacheEntry = { bytes: 0, settled: false, promise: Promise.resolve(null as never) };
    entry.promise = (async (): Promise<LoadedModule | LoadFailure> => {
      this.parsed++;
      try {
        const bytes = await readModuleBytes(file);
        const module = parseModule(bytes, file, this.opts.moduleOptions);
        let buildId: string | undefined;
        try {
          buildId = module.elf.buildId();
        } catch {
          buildId = undefined;
        }
        let vm: string | undefined;
        try {
          vm = module.elf.modinfoValue('vermagic');
        } catch {
          vm = undefined;
        }
        const vermagicRelease = vm !== undefined ? parseVermagic(vm)?.release : undefined;
        const reason = this.otherKernel(file, vermagicRelease);
        if (reason) {
          const message = `${reason}: refused`;
          this.refused.set(file, { file, release: vermagicRelease!, reason, message });
          return { ok: false, name, file, kind: 'other-kernel', error: message, tried: [] };
        }
        entry.bytes = bytes.length;
        this.cachedBytes += bytes.length;
        entry.loaded = { ok: true, name, file, module, buildId, vermagicRelease, warnings: [] };
        return entry.loaded;
      } catch (e) {
        this.failures++;
        const fmt = isFormatError(e);
        return {
          ok: false,
          name,
          file,
          kind: fmt ? 'format' : 'io',
          error: fmt ? reasonOf(e) : describeError(file, e, 'a module file'),
          tried: [],
        };
      } finally {
        entry.settled = true;
        this.evict();
      }
    })();
    this.cache.set(file, entry);
    return entry.promise;
  }

  /** The files of a module name that are not refused for another kernel (reads them when the store has a release). */
  async usableFilesOf(name: string): Promise<string[]> {
    await this.scan();
    const files = this.filesOf(name);
    if (!this.opts.release) return files;
    const out: string[] = [];
    for (const f of files) {
      const r = await this.loadFile(f);
      if (r.ok || r.kind !== 'other-kernel') out.push(f);
    }
    return out;
  }

  /** Files refused so far for another kernel's vermagic (by checkFiles or on use). */
  refusals(): Refusal[] {
    return [...(this.parent ?? this).refused.values()];
  }

  /**
   * Read the vermagic of up to `max` module files (the first file of each name, names
   * spread evenly over the sorted list, then the other files) against the store's
   * release, so that refusals are known before anything asks for a module. Files read
   * stay in the cache (as far as it holds them). Never throws.
   */
  async checkFiles(max = 64): Promise<KernelCheck> {
    const report = await this.scan().catch(() => undefined);
    const out: KernelCheck = {
      release: this.opts.release,
      files: report?.files ?? 0,
      checked: 0,
      noVermagic: 0,
      unreadable: 0,
      refused: [],
    };
    if (!this.opts.release) return out;
    const names = this.names();
    const picked: string[] = [];
    const step = Math.max(1, names.length / max);
    for (let i = 0; i < names.length && picked.length < max; i += step) picked.push(this.filesOf(names[Math.floor(i)])[0]);
    if (picked.length < max)
      for (const n of names) for (const f of this.filesOf(n)) if (picked.length < max && !picked.includes(f)) picked.push(f);
    for (const f of picked) {
      const r = await this.loadFile(f);
      out.checked++;
      if (r.ok) {
        if (r.vermagicRelease === undefined) out.noVermagic++;
      } else if (r.kind === 'other-kernel') {
        const x = (this.parent ?? this).refused.get(f);
        if (x) out.refused.push(x);
      } else out.unreadable++;
    }
    return out;
  }

  /** Modules parsed and still cached (for workspace symbol search), most recent last. */
  loadedModules(): LoadedModule[] {
    const out: LoadedModule[] = [];
    for (const e of this.cache.values()) if (e.loaded) out.push(e.loaded);
    return out;
  }

  /** Drop the least recently used settled entries past maxModules / maxBytes: O(1) when within both. */
  private evict(): void {
    if (this.cache.size <= this.opts.maxModules && this.cachedBytes <= this.opts.maxBytes) return;
    for (const [k, e] of this.cache) {
      if (this.cache.size <= this.opts.maxModules && this.cachedBytes <= this.opts.maxBytes) break;
      if (this.cache.size <= 1) break;
      if (!e.settled) continue;
      this.cache.delete(k);
      this.cachedBytes -= e.bytes;
    }
  }

  /**
   * Load a module by name; with a build id, prefer the file whose GNU build-id note
   * matches (a mismatch is reported as `buildIdMatch: false` with a warning, and the
   * first loadable file is used). Never throws.
   */
  async load(nameIn: string, buildId?: string): Promise<ModuleLoadResult> {
    const name = normalize(nameIn);
    try {
      await this.scan();
      const files = this.files.get(name) ?? [];
      if (files.length === 0) {
        return {
          ok: false,
          name,
          kind: 'not-found',
          error: `module ${name} not found in ${this.paths.length ? this.paths.join(', ') : '(no module paths configured)'}`,
          tried: [],
        };
      }
      const tried: Array<{ file: string; error: string }> = [];
      let firstKind: LoadFailure['kind'] = 'format';
      const ok: LoadedModule[] = [];
      const want = buildId?.toLowerCase();
      for (const f of files) {
        const r = await this.loadFile(f);
        if (!r.ok) {
          if (tried.length === 0) firstKind = r.kind;
          tried.push({ file: f, error: r.error });
          continue;
        }
        if (want === undefined) return { ...r, name, warnings: tried.map((t) => `skipped ${t.error}`) };
        if (r.buildId === want) return { ...r, name, buildIdMatch: true, warnings: [] };
        ok.push(r);
      }
      if (ok.length > 0) {
        const seen = ok.map((r) => `${r.file}: ${r.buildId ?? 'no build id'}`).join('; ');
        return {
          ...ok[0],
          name,
          buildIdMatch: false,
          warnings: [
            `build id mismatch for ${name}: the log has ${want}, the module file(s) have ${seen}`,
            ...tried.map((t) => `skipped ${t.error}`),
          ],
        };
      }
      const first = tried[0];
      const more = tried.length > 1 ? ` (and ${tried.length - 1} other file(s) failed)` : '';
      return { ok: false, name, file: first.file, kind: firstKind, error: first.error + more, tried };
    } catch (e) {
      return { ok: false, name, kind: 'io', error: `${name}: ${reasonOf(e)}`, tried: [] };
    }
  }

  /**
   * "xfs.ko is built for 6.1.0-56-amd64 (vermagic), not 6.18.0" when the store is for
   * another release: the one rule of kernels.ts belongsTo, applied to the store's release.
   */
  private otherKernel(file: string, vermagicRelease: string | undefined): string | undefined {
    const want = this.opts.release;
    if (!want || vermagicRelease === undefined) return undefined;
    const k: Kernel = { label: want, kind: 'snapshot', dir: '', release: want, problems: [] };
    return belongsTo(k, { kind: 'module', path: file.replace(/\\/g, '/'), vermagicRelease });
  }

  // ---- load addresses ------------------------------------------------------

  /** Use this kallsyms index (e.g. /proc/kallsyms of the log's boot) to learn module bases on demand. */
  useKallsyms(index: SymbolIndex | undefined): void {
    this.kallsyms = index;
    this.kallsymsByModule = undefined;
    this.triedKallsyms.clear();
  }

  private kallsymsEntries(name: string): Array<{ name: string; address: bigint }> {
    const idx = this.kallsyms;
    if (!idx) return [];
    if (!this.kallsymsByModule) {
      const m = new Map<number, number[]>();
      for (let i = 0; i < idx.count; i++) {
        const k = idx.mod[i];
        if (k === 0 || idx.moduleKinds[k] !== 'module') continue;
        const l = m.get(k);
        if (l) l.push(i);
        else m.set(k, [i]);
      }
      this.kallsymsByModule = m;
    }
    const k = idx.modules.indexOf(name);
    const ids = k > 0 ? this.kallsymsByModule.get(k) : undefined;
    return (ids ?? []).map((i) => ({ name: idx.nameOf(i), address: idx.addressOf(i) }));
  }

  private record(name: string, source: LearnReport['source'], bases: Map<string, bigint>, file?: string): void {
    let b = this.bases.get(name);
    if (!b) this.bases.set(name, (b = { bases: new Map(), file, sources: new Set() }));
    for (const [s, v] of bases) b.bases.set(s, v);
    if (file) b.file = file;
    if (bases.size > 0) b.sources.add(source);
  }

  /**
   * Learn section bases of the modules present both in the store and in a kallsyms
   * index (all such modules, or `names`). Each module's files are tried in order and
   * the first whose symbols agree with kallsyms is used. Parses those modules.
   */
  async learnFromKallsyms(index: SymbolIndex, names?: string[]): Promise<LearnReport[]> {
    if (index !== this.kallsyms) this.useKallsyms(index);
    await this.scan();
    const list = names ?? index.modules.filter((m, i) => i > 0 && index.moduleKinds[i] === 'module' && this.has(m));
    const out: LearnReport[] = [];
    for (const n of list) out.push(await this.learnKallsymsFor(normalize(n)));
    return out;
  }

  private async learnKallsymsFor(name: string): Promise<LearnReport> {
    this.triedKallsyms.add(name);
    const entries = this.kallsymsEntries(name);
    const report: LearnReport = { module: name, source: 'kallsyms', bases: new Map(), evidence: [], problems: [] };
    if (entries.length === 0) {
      report.problems.push(`${name}: not in the kallsyms index`);
      return report;
    }
    let best: { file: string; learned: ReturnType<typeof learnBasesFromSymbols> } | undefined;
    for (const f of this.filesOf(name)) {
      const r = await this.loadFile(f);
      if (!r.ok) {
        report.problems.push(r.error);
        continue;
      }
      const learned = learnBasesFromSymbols(r.module, entries, name);
      const clean = learned.evidence.every((e) => e.conflicts.length === 0) && learned.problems.length === 0;
      if (!best || (clean && learned.bases.size > 0 && best.learned.problems.length > 0) || learned.matched > best.learned.matched)
        best = { file: f, learned };
      if (clean && learned.evidence.some((e) => e.verified)) {
        best = { file: f, learned };
        break;
      }
    }
    if (!best) return report;
    report.file = best.file;
    report.bases = best.learned.bases;
    report.evidence = best.learned.evidence;
    report.problems.push(...best.learned.problems);
    if (report.bases.size > 0) this.record(name, 'kallsyms', report.bases, best.file);
    return report;
  }

  /**
   * Read `/sys/module/M/sections/*` (live kernel; addresses read as 0 unless root).
   * Modules without a sections directory are skipped silently.
   */
  async learnFromSysfs(root = this.opts.sysfsRoot ?? '/sys/module', names?: string[]): Promise<LearnReport[]> {
    await this.scan();
    let list = names;
    if (!list) {
      try {
        list = (await fsDir().readdir(root)).filter((n) => this.has(n));
      } catch {
        return [];
      }
    }
    const out: LearnReport[] = [];
    for (const n of list) {
      const r = await this.sysfsFor(root, normalize(n));
      if (r) out.push(r);
    }
    return out;
  }

  private async sysfsFor(root: string, name: string): Promise<LearnReport | undefined> {
    this.triedSysfs.add(name);
    const dir = join(root, name, 'sections');
    let entries: string[];
    try {
      entries = await fsDir().readdir(dir);
    } catch {
      return undefined;
    }
    const bases = new Map<string, bigint>();
    let zero = 0;
    for (const s of entries) {
      try {
        // sysfs attributes (one address each): guarded, at most a page, never a FIFO planted in a test root.
        const t = readGuardedText(join(dir, s), { maxBytes: 4096, pseudo: true, what: 'section address file' }).trim();
        if (!/^0x[0-9a-fA-F]+$/.test(t)) continue;
        const v = BigInt(t);
        if (v === 0n) zero++;
        else bases.set(s, v);
      } catch {
        /* unreadable: skip */
      }
    }
    const report: LearnReport = { module: name, source: 'sysfs', bases, evidence: [], problems: [] };
    if (bases.size === 0 && zero > 0) report.problems.push(`${dir}: addresses hidden (read as 0); run as root`);
    if (bases.size > 0) this.record(name, 'sysfs', bases);
    return report;
  }

  /** Learn the base of a frame symbol's section from a frame with its runtime address. */
  async learnFromFrame(frame: FrameToken): Promise<LearnReport> {
    const name = normalize(frame.module ?? '');
    const report: LearnReport = { module: name, source: 'frame', bases: new Map(), evidence: [], problems: [] };
    if (!frame.module) {
      report.problems.push(`${frameText(frame)}: no [module]`);
      return report;
    }
    const r = await this.load(name, frame.buildId);
    if (!r.ok) {
      report.problems.push(r.error);
      return report;
    }
    report.file = r.file;
    const fb = baseFromFrame(r.module, frame, name);
    if (typeof fb === 'string') {
      report.problems.push(fb);
      return report;
    }
    const known = this.bases.get(name)?.bases.get(fb.section);
    if (known !== undefined && known !== fb.base) {
      report.problems.push(
        `${frameText(frame)}: implies ${fb.section} at 0x${fb.base.toString(16)}, already known at 0x${known.toString(16)}; kept the earlier one`,
      );
      return report;
    }
    report.bases.set(fb.section, fb.base);
    report.evidence.push({ section: fb.section, base: fb.base, symbols: [frame.name], verified: known === fb.base, conflicts: [] });
    this.record(name, 'frame', report.bases, r.file);
    return report;
  }

  /** Learn from every module frame with a runtime address in some log lines. */
  async learnFromLog(lines: Iterable<string>): Promise<LearnReport[]> {
    await this.scan();
    const out: LearnReport[] = [];
    for (const line of lines) {
      for (const t of scanLine(line)) {
        if (t.kind !== 'frame' || !t.module || t.address === undefined || !this.has(t.module)) continue;
        out.push(await this.learnFromFrame(t));
      }
    }
    return out;
  }

  /**
   * A store over the same files and parsed-module cache, with load addresses of its own:
   * one log's boot. Addresses learned from one log never answer for another; sysfs and a
   * kallsyms index are consulted only when they are of that boot (`sysfs`, `kallsyms`).
   */
  forLog(opts: { sysfs: boolean; kallsyms?: SymbolIndex }): ModuleStore {
    const f = new ModuleStore(this.paths, { ...this.opts, sysfsRoot: opts.sysfs ? this.opts.sysfsRoot : undefined });
    f.parent = this.parent ?? this;
    f.scanning = this.scan().then((r) => {
      f.files = this.files;
      f.fileCount = this.fileCount;
      return r;
    });
    f.useKallsyms(opts.kallsyms);
    return f;
  }

  /** Set a section base by hand. */
  setSectionBase(module: string, section: string, base: bigint): void {
    this.record(normalize(module), 'manual', new Map([[section, base]]));
  }

  /** Known section bases of a module (learning from kallsyms/sysfs on demand). */
  async sectionBases(nameIn: string): Promise<SectionBases | undefined> {
    const name = normalize(nameIn);
    try {
      if (this.opts.sysfsRoot && !this.triedSysfs.has(name)) await this.sysfsFor(this.opts.sysfsRoot, name);
      if (this.kallsyms && !this.triedKallsyms.has(name) && !this.bases.get(name)?.bases.size) await this.learnKallsymsFor(name);
    } catch {
      /* learning is best effort */
    }
    const b = this.bases.get(name)?.bases;
    return b && b.size > 0 ? b : undefined;
  }

  // ---- resolution ----------------------------------------------------------

  /**
   * Resolve a frame `func+0xoff/0xsize [mod BUILDID]` in its module: candidates
   * with section, value, size, binding, type, index and positions, what the kernel
   * would print for the offset, and every same-name symbol. Never throws.
   */
  async resolveModuleFrame(frame: FrameToken): Promise<ModuleFrameResult> {
    const text = frameText(frame);
    if (!frame.module) return { ok: false, error: `${text}: the frame names no module`, frameText: text };
    try {
      const r = await this.load(frame.module, frame.buildId);
      if (!r.ok) return { ok: false, module: r.name, error: r.error, frameText: text, notFound: r.kind === 'not-found' };
      const bases = await this.sectionBases(r.name);
      const known = this.bases.get(r.name);
      const usable = bases && (!known?.file || known.file === r.file) ? bases : undefined;
      const warnings = [...r.warnings];
      if (bases && !usable)
        warnings.push(`load addresses of ${r.name} were learned for ${known?.file}, not ${r.file}; sizes use the section rule`);
      const eff = usable ? withInferred(r.module, usable) : undefined;
      const res = resolveFrameInModule(r.module, frame, {
        moduleName: r.name,
        buildId: frame.buildId ? r.buildId : undefined,
        bases: eff,
        textAlign: this.opts.textAlign,
      });
      return {
        ok: true,
        module: r.name,
        file: r.file,
        buildId: r.buildId,
        buildIdMatch: r.buildIdMatch,
        frameText: text,
        bases: eff,
        warnings,
        ...res,
      };
    } catch (e) {
      return { ok: false, module: frame.module, error: `${text}: ${reasonOf(e)}`, frameText: text };
    }
  }

  /**
   * Resolve a runtime address inside a module whose load addresses are known
   * (%pS; `returnAddress` for %pB). `module` restricts the search. Never throws.
   */
  async resolveAddress(
    address: bigint,
    opts: { module?: string; returnAddress?: boolean; buildId?: string } = {},
  ): Promise<AddressResolution> {
    try {
      await this.scan();
      const look = opts.returnAddress ? address - 1n : address;
      const cands: string[] = [];
      if (opts.module) cands.push(normalize(opts.module));
      else {
        const idx = this.kallsyms;
        if (idx && look >= 0n && look < 1n << 64n) {
          const p = idx.floor(hiOf(look), loOf(look));
          const m = p >= 0 ? idx.moduleOf(p) : undefined;
          if (m && this.has(m)) cands.push(normalize(m));
        }
        const near: Array<[string, bigint]> = [];
        for (const [n, b] of this.bases) {
          let best: bigint | undefined;
          for (const v of b.bases.values()) if (v <= look && (best === undefined || v > best)) best = v;
          if (best !== undefined) near.push([n, look - best]);
        }
        near.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        for (const [n] of near.slice(0, 4)) if (!cands.includes(n)) cands.push(n);
      }
      if (cands.length === 0)
        return { ok: false, address, error: `0x${address.toString(16)}: no module with known load addresses contains it` };
      const errors: string[] = [];
      for (const name of cands) {
        const bases = await this.sectionBases(name);
        if (!bases) {
          errors.push(`${name}: load addresses unknown`);
          continue;
        }
        const r = await this.load(name, opts.buildId);
        if (!r.ok) {
          errors.push(r.error);
          continue;
        }
        const res = resolveIn(
          r.module,
          name,
          withInferred(r.module, bases),
          address,
          !!opts.returnAddress,
          this.opts.textAlign,
          opts.buildId ? r.buildId : undefined,
        );
        if (res) return { ...res, file: r.file };
        errors.push(`${name}: 0x${address.toString(16)} is outside its known sections`);
      }
      return { ok: false, address, error: errors.join('; ') };
    } catch (e) {
      return { ok: false, address, error: `0x${address.toString(16)}: ${reasonOf(e)}` };
    }
  }
}

/** Learned bases plus the executable sections inferred from the kernel's text layout. */
function withInferred(mod: ModuleSymbols, bases: SectionBases): SectionBases {
  const inferred = inferTextBases(mod, bases);
  if (inferred.size === 0) return bases;
  return new Map([...bases, ...inferred]);
}

function resolveIn(
  mod: ModuleSymbols,
  name: string,
  bases: SectionBases,
  address: bigint,
  returnAddress: boolean,
  textAlign: number,
  buildId?: string,
): Omit<AddressResult, 'file'> | undefined {
  const look = returnAddress ? address - 1n : address;
  const loads = new Map<number, bigint>();
  for (const [s, b] of bases) {
    const sec = mod.elf.sectionByName(s);
    if (sec && sec.index > 0 && sec.name !== '.data..percpu') loads.set(sec.index, b);
  }
  let shndx = -1;
  for (const [i, b] of loads) {
    const sz = BigInt(mod.elf.sections[i].size);
    if (look >= b && look < b + sz) {
      shndx = i;
      break;
    }
  }
  if (shndx < 0) return undefined;
  const view: SymbolView = mod.initSections.has(shndx) ? 'init' : 'kept';
  const resolver = mod.addressResolver(loads, { view });
  const r = resolver(look, regionEnd(mod, loads, shndx, textAlign));
  if (!r) return undefined;
  const off = returnAddress ? r.offset + 1 : r.offset;
  const text = `${r.name}+0x${off.toString(16)}/0x${r.size.toString(16)} [${name}${buildId ? ' ' + buildId : ''}]`;
  return {
    ok: true,
    module: name,
    address,
    section: mod.elf.sections[shndx].name,
    sectionOffset: Number(look - loads.get(shndx)!) + (returnAddress ? 1 : 0),
    symbol: { index: r.index, name: r.name, value: mod.value(r.index), section: mod.sectionName(r.index) },
    print: { index: r.index, name: r.name, offset: off, size: r.size, text, view, basis: 'runtime' },
  };
}
