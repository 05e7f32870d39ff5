/**
 * BtfStore: the vmlinux BTF (setting `ksym.btf`, default /sys/kernel/btf/vmlinux)
 * loaded once, and per-module split BTF found lazily:
 *
 *   1. /sys/kernel/btf/<mod>, when it exists and the base is the live vmlinux;
 *   2. else the `.BTF` section of the module's `.ko` (found through a lookup
 *      function, e.g. ModuleStore.filesOf), parsed as split BTF over the base.
 *
 * Files are read into one buffer each and never copied again (the Btf keeps a
 * view of it; an ELF's `.BTF` section is a subarray). The public API never
 * throws: failures are messages naming the file, the byte offset and the reason.
 * A failed reload keeps the previous good BTF serving.
 */
import { statSync } from 'node:fs';
import { realPathOf } from '../common/readGuarded';
import { join } from 'node:path';
import { describeError, reasonOf } from '../common/errors';
import { normalizeModuleName as normModule } from '../modules/names';
import { Btf, parseBtf } from './btf';
import { splitMismatches } from './split';
import { DEFAULT_BTF, readBtfBytes, readBtfBytesSync, type BtfBytes } from './read';

const DEFAULT_SYSFS_BTF = '/sys/kernel/btf';

// ---- errors -----------------------------------------------------------------------------

function errMessage(e: unknown, file: string): string {
  return describeError(file, e, 'a BTF file');
}

// ---- loading one file --------------------------------------------------------------------------

export type BtfFileResult =
  | { ok: true; btf: Btf; file: string; container: 'raw' | 'elf'; fileBytes: number; millis: number }
  | { ok: false; file: string; error: string };

function parseLoaded(file: string, b: BtfBytes, base: Btf | undefined, t0: number): BtfFileResult {
  let btf: Btf;
  try {
    btf = parseBtf(b.bytes, file, base);
  } catch (e) {
    const msg = errMessage(e, file);
    if (base) {
      return { ok: false, file, error: `${msg} (split BTF in ${file} does not match the base ${base.file}?)` };
    }
    return { ok: false, file, error: msg };
  }
  if (base) {
    const bad = splitMismatches(btf);
    if (bad.length) {
      return {
        ok: false,
        file,
        error:
          `${file}: split BTF does not match the base ${base.file} (${base.lastId} types): built for a ` +
          `different kernel? e.g. ${bad.slice(0, 3).join('; ')}`,
      };
    }
  }
  return { ok: true, btf, file, container: b.container, fileBytes: b.fileBytes, millis: performance.now() - t0 };
}

/** Load raw BTF or an ELF's `.BTF` (split over `base` when given). Never throws (xz-compressed input fails; use loadBtfFile). */
export function loadBtfFileSync(file: string, base?: Btf): BtfFileResult {
  const t0 = performance.now();
  let b: BtfBytes;
  try {
    b = readBtfBytesSync(file);
  } catch (e) {
    return { ok: false, file, error: errMessage(e, file) };
  }
  return parseLoaded(file, b, base, t0);
}

/** Load raw BTF or an ELF's `.BTF` (any compression; split over `base` when given). Never throws. */
export async function loadBtfFile(file: string, base?: Btf): Promise<BtfFileResult> {
  const t0 = performance.now();
  let b: BtfBytes;
  try {
    b = await readBtfBytes(file);
  } catch (e) {
    return { ok: false, file, error: errMessage(e, file) };
  }
  return parseLoaded(file, b, base, t0);
}

// ---- the store ------------------------------------------------------------------------------------

/**
 * Module files (.ko, .ko.gz/.xz/.zst) of a module name, in preference order. It may throw a
 * ModuleFilesRefused when every file of the module is refused (built for another kernel).
 */
export type ModuleFileLookup = (module: string) => readonly string[] | Promise<readonly string[]>;

/**
 * Thrown by a ModuleFileLookup when the module's files exist but are all refused (never mix
 * kernels: their vermagic names another release). The refusal is said once where the module
 * itself is answered; the BTF result keeps it in `refused` and has nothing more to say.
 */
export class ModuleFilesRefused extends Error {
  override name = 'ModuleFilesRefused';
}

export interface BtfStoreOptions {
  /** vmlinux BTF: raw BTF or an ELF with a .BTF section (default /sys/kernel/btf/vmlinux). */
  path?: string;
  /** Module files (.ko, .ko.gz/.xz/.zst) by module name, in preference order (e.g. ModuleStore.filesOf). */
  moduleFiles?: ModuleFileLookup;
  /** Where the running kernel exposes BTF (default /sys/kernel/btf). */
  sysfsDir?: string;
}

export interface BtfLoadReport {
  ok: boolean;
  /** The file asked for. */
  file: string;
  /** Types in the BTF now serving (the previous one when this load failed). */
  types: number;
  millis: number;
  /** Nothing was read: the same file was already loaded and is unchanged. */
  cached?: boolean;
  /** The error, naming file, offset and reason (ok: false). */
  error?: string;
}

export interface ModuleBtfResult {
  module: string;
  btf?: Btf;
  /** File the split BTF came from. */
  source?: string;
  /** Why there is no module BTF (or notes about rejected candidates). */
  message?: string;
  /** No file of the module was found in the module directories (a setting can fix that). */
  noModuleFile?: boolean;
  /**
   * Every file of the module is refused (another kernel's, ModuleFilesRefused): the reason.
   * `message` is then empty: the refusal is said where the module is answered, not again here.
   */
  refused?: string;
}

interface Loaded {
  btf: Btf;
  file: string;
  key: string;
  live: boolean;
}

function fileKey(file: string): string {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

const real = realPathOf;

export class BtfStore {
  private opts: Required<Omit<BtfStoreOptions, 'moduleFiles'>> & { moduleFiles?: ModuleFileLookup };
  private cur: Loaded | undefined;
  private lastError: string | undefined;
  private readonly modules = new Map<string, ModuleBtfResult>();
  private readonly pending = new Map<string, Promise<ModuleBtfResult>>();
  private generation = 0;

  constructor(opts: BtfStoreOptions = {}) {
    this.opts = { path: opts.path || DEFAULT_BTF, sysfsDir: opts.sysfsDir || DEFAULT_SYSFS_BTF, moduleFiles: opts.moduleFiles };
  }

  /** The configured vmlinux BTF path. */
  get path(): string {
    return this.opts.path;
  }

  /** The vmlinux BTF serving now (undefined until a load succeeded). */
  get vmlinux(): Btf | undefined {
    return this.cur?.btf;
  }

  /** The file the serving BTF came from. */
  get file(): string | undefined {
    return this.cur?.file;
  }

  /** Whether the serving base is this machine's running kernel (/sys/kernel/btf/vmlinux). */
  get isLive(): boolean {
    return this.cur?.live ?? false;
  }

  /** The error of the last vmlinux load, if it failed. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Errors worth showing: the last load error and every module that could not be loaded. */
  messages(): string[] {
    const out: string[] = [];
    if (this.lastError) out.push(this.lastError);
    for (const m of this.modules.values()) if (!m.btf && m.message) out.push(m.message);
    return out;
  }

  /** Change settings; a changed path takes effect at the next load(). A new lookup clears module results. */
  configure(opts: BtfStoreOptions): void {
    if (opts.path !== undefined) this.opts.path = opts.path || DEFAULT_BTF;
    if (opts.sysfsDir !== undefined) this.opts.sysfsDir = opts.sysfsDir || DEFAULT_SYSFS_BTF;
    if ('moduleFiles' in opts) {
      this.opts.moduleFiles = opts.moduleFiles;
      this.clearModules();
    }
  }

  /** Forget module results (e.g. after the module store rescanned). */
  clearModules(): void {
    this.modules.clear();
    this.pending.clear();
    this.generation++;
  }

  /**
   * Load (or reload) the vmlinux BTF from `path` (default: the configured path,
   * which `path` replaces). An unchanged file already loaded is not read again
   * unless `force`. A failure keeps the previous BTF. Never throws.
   */
  loadSync(path?: string, opts: { force?: boolean } = {}): BtfLoadReport {
    return this.finish(this.begin(path, opts), (file) => loadBtfFileSync(file));
  }

  /** As loadSync, also for xz-compressed inputs. Never throws (the promise never rejects). */
  async load(path?: string, opts: { force?: boolean } = {}): Promise<BtfLoadReport> {
    const b = this.begin(path, opts);
    if ('report' in b) return b.report;
    let r: BtfFileResult;
    try {
      r = await loadBtfFile(b.file);
    } catch (e) {
      r = { ok: false, file: b.file, error: errMessage(e, b.file) };
    }
    return this.finish(b, () => r);
  }

  private begin(
    path: string | undefined,
    opts: { force?: boolean },
  ): { report: BtfLoadReport } | { file: string; key: string; t0: number } {
    if (path) this.opts.path = path;
    const file = this.opts.path;
    const t0 = performance.now();
    const key = fileKey(file);
    if (!opts.force && this.cur && this.cur.file === file && key !== '' && this.cur.key === key) {
      this.lastError = undefined;
      return { report: { ok: true, file, types: this.cur.btf.types, millis: performance.now() - t0, cached: true } };
    }
    return { file, key, t0 };
  }

  private finish(
    b: { report: BtfLoadReport } | { file: string; key: string; t0: number },
    load: (file: string) => BtfFileResult,
  ): BtfLoadReport {
    if ('report' in b) return b.report;
    let r: BtfFileResult;
    try {
      r = load(b.file);
    } catch (e) {
      r = { ok: false, file: b.file, error: errMessage(e, b.file) };
    }
    const millis = performance.now() - b.t0;
    if (!r.ok) {
      this.lastError = this.cur ? `${r.error} (still using ${this.cur.file})` : r.error;
      return { ok: false, file: b.file, types: this.cur?.btf.types ?? 0, millis, error: r.error };
    }
    let live = false;
    try {
      live = real(b.file) === real(join(this.opts.sysfsDir, 'vmlinux'));
    } catch {
      live = false;
    }
    this.cur = { btf: r.btf, file: b.file, key: b.key, live };
    this.lastError = undefined;
    this.clearModules();
    return { ok: true, file: b.file, types: r.btf.types, millis };
  }

  /** A module's BTF if it was already loaded (or failed): no I/O. */
  cachedModule(module: string): ModuleBtfResult | undefined {
    return this.modules.get(normModule(module));
  }

  /**
   * A module's split BTF over the vmlinux base, loaded on first use and cached
   * (failures too, until the base or the module lookup changes). Never rejects.
   */
  module(module: string): Promise<ModuleBtfResult> {
    const name = normModule(module);
    const got = this.modules.get(name);
    if (got) return Promise.resolve(got);
    const p = this.pending.get(name);
    if (p) return p;
    const gen = this.generation;
    const q = this.loadModule(name)
      .then(
        (r) => r,
        (e) => ({ module: name, message: `module ${name}: ${errMessage(e, name)}` }),
      )
      .then((r) => {
        if (gen === this.generation) {
          this.modules.set(name, r);
          this.pending.delete(name);
        }
        return r;
      });
    this.pending.set(name, q);
    return q;
  }

  private async loadModule(name: string): Promise<ModuleBtfResult> {
    const cur = this.cur;
    if (!cur) return { module: name, message: `module ${name}: no vmlinux BTF loaded${this.lastError ? ` (${this.lastError})` : ''}` };
    if (!name || /[/\\\0]/.test(name) || name === '.' || name === '..')
      return { module: name, message: `module ${JSON.stringify(name)}: not a module name` };
    const base = cur.btf;
    const notes: string[] = [];
    if (cur.live) {
      const sys = join(this.opts.sysfsDir, name);
      let exists = false;
      try {
        exists = statSync(sys).isFile();
      } catch {
        exists = false;
      }
      if (exists) {
        const r = loadBtfFileSync(sys, base);
        if (r.ok) return { module: name, btf: r.btf, source: sys };
        notes.push(r.error);
      }
    }
    let files: readonly string[] = [];
    if (this.opts.moduleFiles) {
      try {
        files = (await this.opts.moduleFiles(name)) ?? [];
      } catch (e) {
        if (e instanceof ModuleFilesRefused) return { module: name, message: '', refused: e.message };
        notes.push(`module ${name}: module file lookup failed: ${reasonOf(e)}`);
      }
    }
    for (const f of files) {
      const r = await loadBtfFile(f, base);
      if (r.ok) return { module: name, btf: r.btf, source: f, message: notes.length ? notes.join('; ') : undefined };
      notes.push(r.error);
    }
    if (notes.length) return { module: name, message: `module ${name}: no usable BTF: ${notes.join('; ')}` };
    const where = [
      cur.live ? `not in ${join(this.opts.sysfsDir, name)}` : undefined,
      this.opts.moduleFiles ? `no ${name}.ko in the module directories` : 'no module directories are configured',
    ]
      .filter(Boolean)
      .join('; ');
    return { module: name, message: `module ${name}: no BTF found (${where})`, noModuleFile: true };
  }
}
