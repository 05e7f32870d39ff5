/**
 * Source lines in the editor (issue 15 §3): the debug file's life cycle for the language
 * server, and the source roots the recorded paths are mapped onto.
 *
 * - Lazy: nothing is opened before a hover, an inlay hint, F12 or Decode Log asks for a
 *   line. The first ask starts the work and answers "reading debug info" at once.
 * - No worker, never blocking a request for long: opening the vmlinux, verifying it against
 *   the served symbols, and each unit decode are separate macrotasks (setImmediate), so
 *   LSP messages are handled between them. A lookup in a unit already decoded is answered
 *   synchronously; a lookup that needs one more unit is queued (`pending`) and the caller
 *   decides how long to wait.
 * - Never a wrong line: a debug file is used only when core/dwarf/verify.ts accepts it for
 *   the index being served (build id, or `_text` and sampled symbols with one shift); a
 *   refusal is kept and said in every answer. One target per index: a log read against
 *   another kernel's index gets its own verdict.
 * No LSP types here: the server wires `changed` to the refresh requests.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { addrToNumber, type DwarfReader, type SourceFrame, type SourceResult } from '../core/dwarf/reader';
import type { ElfView } from '../core/dwarf/elf';
import { readGuardedSync } from '../core/common/readGuarded';
import { nodeProbe, readDwarfFile } from '../core/dwarf/readFile';
import { vmlinuxCandidates, type Candidate } from '../core/dwarf/locate';
import { verifyVmlinux } from '../core/dwarf/verify';
import type { SymbolIndex } from '../core/kallsyms/symbolIndex';
import type { Kernel } from '../core/kernels/kernels';
import type { FrameToken } from '../core/log/scan';
import type { ModuleStore } from '../core/modules/store';
import { ModuleSourceLines } from './moduleSourceLines';

/** A frame or address to look up: index addresses; `returnAddress` for %pB (stack entries: addr - 1). */
export interface FrameQuery {
  readonly address: bigint;
  readonly returnAddress: boolean;
  /** The symbol as the kernel prints it (the outermost frame's name). */
  readonly symbol?: string;
  /** The symbol's module, when it is one (module frames). */
  readonly module?: string;
  /** A module symbol as `func+0xoff [mod]` (printed, or the index's answer): looked up at (section, offset) in the module's DWARF. */
  readonly moduleFrame?: FrameToken;
  /** A log address the index does not place: looked up among the modules whose load addresses are known. */
  readonly moduleAddress?: bigint;
}

export type SourceState =
  | { readonly kind: 'ready'; readonly result: SourceResult; readonly debugFile: string }
  /** The debug file is being opened or the unit decoded; `done` resolves when `peek` can answer. */
  | { readonly kind: 'pending'; readonly done: Promise<void>; readonly opening: boolean }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Where the debug files and source trees come from (the settings and what the workspace has). */
export interface SourceConfig {
  /** ksym.vmlinux: a file or a directory ('' for none). */
  readonly vmlinux: string;
  /** ksym.sourceRoots. */
  readonly sourceRoots: readonly string[];
  /** The workspace folder (a kernel source or build tree gives both vmlinux and the source root). */
  readonly workspaceFolder?: string;
}

/** The view a document is served with: the index, and the kernel it is of when known. */
export interface ServedView {
  readonly index: SymbolIndex;
  readonly kernel?: Kernel;
  /** The kernel's module files: module frames are read through them. */
  readonly modules?: ModuleStore;
  /** The vmlinux build id (the kernel's, else the log's CPU: line): a debug file no local file has is fetched by it. */
  readonly buildId?: string;
}

export interface SourceHooks {
  log(message: string): void;
  /** New source lines are available (answers that said "reading" would now say more). */
  changed(): void;
  /** Bytes of /sys/kernel/notes (the running kernel's build id); tests pass their own. */
  kernelNotes?(): Uint8Array | undefined;
  /**
   * The vmlinux debug file by build id from debuginfod (when configured): `path` once in the
   * cache, `waiting` (a live one-line text) while it is fetched (`ended` is called when it
   * finishes), `failed` with the reason; undefined when no server is configured.
   */
  vmlinuxDebug?(buildId: string, ended: () => void): { path?: string; waiting?: () => string; failed?: string } | undefined;
}

/** Targets (one per served index) kept open at once. */
const MAX_TARGETS = 3;
/** Results kept per target. */
const MAX_RESULTS = 20_000;
/** Delay before the debug file is opened, so that the request which asked goes out first. */
const OPEN_DELAY_MS = 20;
/** Path existence answers kept. */
const MAX_PATHS = 50_000;

/** Does `dir` look like a Linux source tree (Makefile with VERSION/PATCHLEVEL, Kconfig, kernel/, include/linux/)? */
export function looksLikeKernelTree(dir: string): boolean {
  try {
    if (!statSync(join(dir, 'Kconfig')).isFile()) return false;
    if (!statSync(join(dir, 'kernel')).isDirectory() || !statSync(join(dir, 'include/linux')).isDirectory()) return false;
    const mk = Buffer.from(readGuardedSync(join(dir, 'Makefile'), { maxBytes: 1 << 20, what: 'Makefile' })).toString('latin1', 0, 8192);
    return /^VERSION\s*=/m.test(mk) && /^PATCHLEVEL\s*=/m.test(mk);
  } catch {
    return false;
  }
}

type TargetState =
  | { kind: 'idle' }
  | { kind: 'opening'; done: Promise<void> }
  | { kind: 'open'; reader: DwarfReader; shift: bigint; file: string; detail: string }
  | { kind: 'failed'; reason: string; live?: () => string };

interface Waiting {
  query: FrameQuery;
  key: string;
  resolve: () => void;
}

class Target {
  state: TargetState = { kind: 'idle' };
  readonly results = new Map<string, SourceResult>();
  /** Units (their .debug_info offsets) this target has decoded: lookups there answer at once. */
  readonly units = new Set<number>();
  readonly queue: Waiting[] = [];
  readonly waits = new Map<string, Promise<void>>();
  draining = false;
  constructor(readonly view: ServedView) {}
}

export class SourceLineService {
  private config: SourceConfig = { vmlinux: '', sourceRoots: [] };
  private targets = new Map<SymbolIndex, Target>();
  private roots: string[] = [];
  private exists = new Map<string, boolean>();
  private generation = 0;
  private readonly mods: ModuleSourceLines;

  constructor(private hooks: SourceHooks) {
    this.mods = new ModuleSourceLines({ log: (m) => hooks.log(m), changed: () => hooks.changed() });
  }

  /** New settings: every target is closed (a new debug file or tree may apply). */
  configure(c: SourceConfig): void {
    if (keyOf(c) === this.configKey()) return;
    this.config = c;
    this.reset();
  }

  /** What the configuration is, as a comparable key. */
  configKey(): string {
    return keyOf(this.config);
  }

  /** The served index changed: verdicts are against the old one, so start over. */
  reset(): void {
    this.generation++;
    for (const t of this.targets.values()) this.close(t);
    this.targets.clear();
    this.mods.reset();
    this.exists.clear();
    const roots: string[] = [];
    for (const r of this.config.sourceRoots) if (r) roots.push(r);
    const w = this.config.workspaceFolder;
    if (w && looksLikeKernelTree(w)) roots.push(w);
    this.roots = [...new Set(roots)];
  }

  dispose(): void {
    this.reset();
  }

  /** The source roots in use (settings first, then a kernel tree open as the workspace). */
  sourceRoots(view?: ServedView): string[] {
    const extra = view?.kernel?.sourceTree;
    return extra && !this.roots.includes(extra) ? [...this.roots, extra] : this.roots;
  }

  private close(t: Target): void {
    if (t.state.kind === 'open') t.state.reader.close();
    for (const w of t.queue) w.resolve();
    t.queue.length = 0;
  }

  private target(view: ServedView): Target {
    let t = this.targets.get(view.index);
    if (t) {
      this.targets.delete(view.index);
      this.targets.set(view.index, t);
      return t;
    }
    t = new Target(view);
    this.targets.set(view.index, t);
    while (this.targets.size > MAX_TARGETS) {
      const [k, old] = this.targets.entries().next().value as [SymbolIndex, Target];
      this.close(old);
      this.targets.delete(k);
    }
    return t;
  }

  /** The state of the debug file for `view`, starting to open it when nothing was tried. */
  debugState(view: ServedView): { kind: 'none' | 'opening' | 'open' | 'failed'; file?: string; detail?: string; reason?: string } {
    const t = this.target(view);
    const s = t.state;
    if (s.kind === 'open') return { kind: 'open', file: s.file, detail: s.detail };
    if (s.kind === 'failed') return { kind: 'failed', reason: s.reason };
    return { kind: s.kind === 'idle' ? 'none' : 'opening' };
  }

  /** The ELF of `view`'s vmlinux debug file once it is open and verified (never starts opening it). */
  openedElf(view: ServedView): ElfView | undefined {
    const s = this.targets.get(view.index)?.state;
    return s?.kind === 'open' ? s.reader.elf : undefined;
  }

  /**
   * The source answer for `q` if it can be given now; else `pending` (the work is started,
   * `done` resolves when asking again answers) or `unavailable` with the reason.
   */
  peek(view: ServedView, q: FrameQuery): SourceState {
    if (q.module !== undefined || q.moduleAddress !== undefined) return this.mods.peek(view, q);
    const t = this.target(view);
    const s = t.state;
    if (s.kind === 'failed') return { kind: 'unavailable', reason: s.live?.() ?? s.reason };
    if (s.kind === 'idle' || s.kind === 'opening') {
      const done = this.open(t).then(() => this.wait(t, q));
      return { kind: 'pending', done, opening: true };
    }
    const key = queryKey(q);
    const hit = t.results.get(key);
    if (hit) return { kind: 'ready', result: hit, debugFile: s.file };
    const dwarfAddr = q.address - (q.returnAddress ? 1n : 0n) - s.shift;
    let unit = -1;
    try {
      unit = s.reader.unitFor(addrToNumber(dwarfAddr));
    } catch {
      unit = -1;
    }
    if (unit < 0 || t.units.has(unit)) return { kind: 'ready', result: this.lookupNow(t, q, key), debugFile: s.file };
    return { kind: 'pending', done: this.wait(t, q), opening: false };
  }

  /** Wait until `q` can be answered (opening and decoding in the background). */
  async resolve(view: ServedView, q: FrameQuery): Promise<SourceState> {
    for (let i = 0; i < 3; i++) {
      const s = this.peek(view, q);
      if (s.kind !== 'pending') return s;
      await s.done;
    }
    return this.peek(view, q);
  }

  private lookupNow(t: Target, q: FrameQuery, key: string): SourceResult {
    const s = t.state;
    if (s.kind !== 'open') return { kind: 'no-unit', reason: 'the debug file is not open' };
    const addr = q.address - s.shift;
    const r = q.returnAddress ? s.reader.lookupReturn(addr, { symbol: q.symbol }) : s.reader.lookup(addr, { symbol: q.symbol });
    try {
      const u = s.reader.unitFor(addrToNumber(addr - (q.returnAddress ? 1n : 0n)));
      if (u >= 0) t.units.add(u);
    } catch {
      /* the lookup said what is wrong */
    }
    t.results.set(key, r);
    if (t.results.size > MAX_RESULTS) t.results.delete(t.results.keys().next().value as string);
    return r;
  }

  /** Queue a lookup (one unit decode per macrotask); resolves when it is done. */
  private wait(t: Target, q: FrameQuery): Promise<void> {
    if (t.state.kind !== 'open') return Promise.resolve();
    const key = queryKey(q);
    if (t.results.has(key)) return Promise.resolve();
    const w = t.waits.get(key);
    if (w) return w;
    const p = new Promise<void>((resolve) => t.queue.push({ query: q, key, resolve }));
    t.waits.set(key, p);
    if (!t.draining) this.drain(t);
    return p;
  }

  private drain(t: Target): void {
    t.draining = true;
    const gen = this.generation;
    const step = () => {
      const w = t.queue.shift();
      if (!w || gen !== this.generation) {
        t.draining = false;
        if (!w) this.hooks.changed();
        return;
      }
      try {
        if (!t.results.has(w.key)) this.lookupNow(t, w.query, w.key);
      } catch (e) {
        this.hooks.log(`source line lookup failed: ${String(e)}`);
      }
      t.waits.delete(w.key);
      w.resolve();
      setImmediate(step);
    };
    setImmediate(step);
  }

  /** Find, open and verify the vmlinux for this target: each step its own macrotask. */
  private open(t: Target): Promise<void> {
    if (t.state.kind === 'opening') return t.state.done;
    if (t.state.kind !== 'idle') return Promise.resolve();
    const gen = this.generation;
    const turn = () => new Promise<void>((r) => setImmediate(r));
    const done = (async () => {
      // Start after the answer that asked for the line is written (vscode-jsonrpc writes on a setImmediate of its own).
      await new Promise<void>((r) => setTimeout(r, OPEN_DELAY_MS));
      const cands = this.candidates(t.view);
      const refusals: string[] = [];
      const missingExplicit: string[] = [];
      for (const c of cands) {
        if (gen !== this.generation) return;
        if (!nodeProbe.isFile(c.path)) {
          if (c.explicit && !nodeProbe.isDir(c.path) && cands.indexOf(c) === 0) missingExplicit.push(c.path);
          continue;
        }
        const started = performance.now();
        let reader: DwarfReader;
        try {
          reader = readDwarfFile(c.path);
        } catch (e) {
          refusals.push(`${c.path}: ${e instanceof Error ? e.message : String(e)}`);
          await turn();
          continue;
        }
        await turn();
        if (gen !== this.generation) return reader.close();
        const v = this.verify(t.view, c.path, reader);
        if (!v.ok) {
          reader.close();
          refusals.push(v.reason);
          await turn();
          continue;
        }
        t.state = { kind: 'open', reader, shift: v.shift, file: c.path, detail: v.detail };
        this.hooks.log(
          `source lines: ${c.path} (${c.why}): ${v.detail}; opened and verified in ${Math.round(performance.now() - started)} ms`,
        );
        return;
      }
      // No local file: the debug file by build id from debuginfod (never for an untrusted workspace: the hook says why).
      const bid = t.view.buildId ?? t.view.kernel?.buildId;
      const f = bid && this.hooks.vmlinuxDebug ? this.hooks.vmlinuxDebug(bid, () => this.retryAfterFetch(t, gen)) : undefined;
      if (f?.waiting) {
        t.state = { kind: 'failed', reason: f.waiting(), live: f.waiting };
        return;
      }
      if (f?.failed) refusals.push(f.failed);
      if (f?.path && gen === this.generation) {
        const started = performance.now();
        try {
          const reader = readDwarfFile(f.path);
          await turn();
          if (gen !== this.generation) return reader.close();
          const v = this.verify(t.view, f.path, reader, bid);
          if (v.ok) {
            t.state = { kind: 'open', reader, shift: v.shift, file: f.path, detail: v.detail };
            this.hooks.log(
              `source lines: ${f.path} (debuginfod, build id ${bid}): ${v.detail}; opened and verified in ${Math.round(performance.now() - started)} ms`,
            );
            return;
          }
          reader.close();
          refusals.push(v.reason);
        } catch (e) {
          refusals.push(`${f.path}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const reason = failureReason(this.config.vmlinux, cands, refusals, missingExplicit);
      t.state = { kind: 'failed', reason };
      this.hooks.log(`source lines: ${reason}`);
    })()
      .catch((e: unknown) => {
        t.state = { kind: 'failed', reason: `reading the debug file failed: ${String(e)}` };
      })
      .finally(() => {
        if (gen === this.generation) this.hooks.changed();
      });
    t.state = { kind: 'opening', done };
    return done;
  }

  /** A debuginfod fetch this target waited for ended: open again (the file is in the cache, or the failure is said). */
  private retryAfterFetch(t: Target, gen: number): void {
    if (gen !== this.generation || t.state.kind !== 'failed' || !t.state.live) return;
    t.state = { kind: 'idle' };
    this.hooks.changed();
  }

  private verify(view: ServedView, file: string, reader: DwarfReader, buildId = view.kernel?.buildId) {
    const index = view.index;
    const running = view.kernel?.kind === 'running';
    const notes = running ? (this.hooks.kernelNotes ? this.hooks.kernelNotes() : nodeProbe.readSmall('/sys/kernel/notes')) : undefined;
    return verifyVmlinux({
      file,
      elf: reader.elf,
      kernelNotes: notes,
      buildId,
      symbols: {
        lookup: (name) =>
          index
            .byNameAll(name)
            .filter((i) => index.moduleOf(i) === undefined)
            .map((i) => index.addressOf(i)),
      },
    });
  }

  private candidates(view: ServedView): Candidate[] {
    const k = view.kernel;
    const out: Candidate[] = [];
    if (k?.vmlinuxDebug && !this.config.vmlinux) out.push({ path: k.vmlinuxDebug, why: `debug vmlinux of ${k.label}` });
    const w = this.config.workspaceFolder;
    const trees = [...this.config.sourceRoots, ...(w && looksLikeKernelTree(w) ? [w] : [])];
    out.push(
      ...vmlinuxCandidates({
        explicit: this.config.vmlinux || undefined,
        release: k?.release,
        buildId: k?.buildId,
        workspaceRoots: trees,
      }),
    );
    return out;
  }

  /**
   * A recorded path on disk: `path` (relative to the tree) under the first source root
   * that has it, or the recorded absolute file when it exists. Undefined when not found.
   */
  onDisk(f: Pick<SourceFrame, 'file' | 'path'>, view?: ServedView): string | undefined {
    if (f.path && !f.path.startsWith('/') && !f.path.split('/').includes('..'))
      for (const r of this.sourceRoots(view)) {
        const p = join(r, f.path);
        if (this.fileExists(p)) return p;
      }
    if (f.file.startsWith('/') && this.fileExists(f.file)) return f.file;
    return undefined;
  }

  private fileExists(p: string): boolean {
    const hit = this.exists.get(p);
    if (hit !== undefined) return hit;
    const ok = nodeProbe.isFile(p);
    this.exists.set(p, ok);
    if (this.exists.size > MAX_PATHS) this.exists.delete(this.exists.keys().next().value as string);
    return ok;
  }
}

function keyOf(c: SourceConfig): string {
  return JSON.stringify([c.vmlinux, c.sourceRoots, c.workspaceFolder]);
}

function queryKey(q: FrameQuery): string {
  return `${q.address.toString(16)}:${q.returnAddress ? 'B' : 'S'}:${q.symbol ?? ''}`;
}

function failureReason(explicit: string, cands: readonly Candidate[], refusals: readonly string[], missing: readonly string[]): string {
  if (refusals.length) return refusals.join('; ');
  if (missing.length) return `ksym.vmlinux names ${missing[0]}, which does not exist`;
  if (explicit) return `no vmlinux in ${explicit} (ksym.vmlinux); tried ${cands.map((c) => c.path).join(', ')}`;
  const shown = cands.slice(0, 4).map((c) => c.path);
  const tried = shown.length ? `tried ${shown.join(', ')}${cands.length > shown.length ? ', …' : ''}` : 'the kernel release is not known';
  return `no vmlinux with debug info found (${tried}); set ksym.vmlinux to a vmlinux with DWARF (a build tree's, or the -dbg package's)`;
}
