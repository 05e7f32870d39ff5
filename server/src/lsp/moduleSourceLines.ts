/**
 * Source lines of module frames in the editor (issue 15 §3): `func+0xoff/0xsize [mod]` (and
 * an address the index places in a module) → the module's symbol → (section, offset) in
 * the module file (core/modules ModuleStore) → the module's DWARF: the .ko itself when it
 * carries DWARF (an in-tree build), else its debug file by build id, .gnu_debuglink or the
 * distribution debug tree (core/dwarf/loadDebug.ts openModuleDebug, the CLI's code).
 *
 * - Never a wrong line: the debug file must have the module's build id (the log's
 *   `[mod BUILDID]`, the loaded module's /sys/module/NAME/notes for the running kernel,
 *   else the .ko's own); a refusal is kept and said in every answer.
 * - Lazy and worker-free like the vmlinux (sourceLines.ts): resolving the frame, opening
 *   the debug file and each lookup are separate macrotasks; a lookup in a unit already
 *   decoded answers at once.
 * No LSP types here.
 */
import { openModuleDebug } from '../core/dwarf/loadDebug';
import type { DwarfReader, SourceResult } from '../core/dwarf/reader';
import { buildIdFromNotes } from '../core/dwarf/elf';
import { nodeProbe } from '../core/dwarf/readFile';
import type { FrameToken } from '../core/log/scan';
import type { ModuleStore } from '../core/modules/store';
import type { FrameQuery, ServedView, SourceState } from './sourceLines';

/** Module debug files kept open at once (least recently used closed first). */
const MAX_OPEN = 12;
/** Results kept per module debug file. */
const MAX_RESULTS = 20_000;
/** Frame resolutions kept per module store. */
const MAX_RESOLVED = 20_000;

/** A module frame placed in its file: (section, offset) of the looked-up byte's symbol. */
type Placed =
  | {
      ok: true;
      module: string;
      file: string;
      section: string;
      offset: number;
      /** The symbol (the outermost frame's name) and whether it is a return address (looked up at offset - 1). */
      symbol: string;
      returnAddress: boolean;
      buildId?: string;
      fileBuildId?: string;
    }
  /**
   * `quiet`: nothing to say about its source: an address no module with known load addresses
   * contains, or a module whose files are all refused (another kernel's: said once, by the module part).
   */
  | { ok: false; reason: string; quiet?: boolean };

type DebugState =
  | { kind: 'idle' }
  | { kind: 'opening'; done: Promise<void> }
  | { kind: 'open'; reader: DwarfReader; file: string; detail: string }
  | { kind: 'failed'; reason: string };

interface Waiting {
  key: string;
  run: () => void;
  resolve: () => void;
}

class ModuleDebug {
  state: DebugState = { kind: 'idle' };
  readonly results = new Map<string, SourceResult>();
  readonly units = new Set<number>();
  readonly waits = new Map<string, Promise<void>>();
  constructor(
    readonly name: string,
    readonly file: string,
    readonly expected: { buildId?: string; what: string } | undefined,
    readonly fileBuildId: string | undefined,
    readonly release: string | undefined,
  ) {}
}

export interface ModuleSourceHooks {
  log(message: string): void;
  changed(): void;
  /** Build id of a loaded module of the running kernel (tests pass their own). */
  loadedBuildId?(module: string): string | undefined;
}

/** The frame to resolve in the module file for a query (the printed frame, or one made from the index's answer). */
function frameOf(q: FrameQuery): FrameToken | undefined {
  const f = q.moduleFrame;
  if (!f || f.offset === undefined || !f.module) return undefined;
  return f;
}

const frameKey = (f: FrameToken): string =>
  `${f.module}\0${f.name}\0${f.offset}\0${f.size ?? ''}\0${f.buildId ?? ''}\0${f.role === 'trace' ? 'B' : 'S'}`;

/** Whether the module has files and every one is refused (vermagic of another kernel: ModuleStore.refusals). */
function allRefused(store: ModuleStore, module: string): boolean {
  const files = store.filesOf(module);
  if (files.length === 0) return false;
  const refused = new Set(store.refusals().map((r) => r.file));
  return files.every((f) => refused.has(f));
}

export class ModuleSourceLines {
  private readonly placed = new WeakMap<ModuleStore, Map<string, Placed | Promise<void>>>();
  private readonly debug = new Map<string, ModuleDebug>();
  private readonly queue: Waiting[] = [];
  private draining = false;
  private generation = 0;

  constructor(
    private readonly hooks: ModuleSourceHooks,
    private readonly buildPrefixes: () => readonly string[] = () => [],
  ) {}

  /** Settings or the served index changed: start over (every debug file is closed). */
  reset(): void {
    this.generation++;
    for (const d of this.debug.values()) if (d.state.kind === 'open') d.state.reader.close();
    this.debug.clear();
    for (const w of this.queue) w.resolve();
    this.queue.length = 0;
  }

  /** The answer for a module query now, or pending (work started), or why there is none. */
  peek(view: ServedView, q: FrameQuery): SourceState {
    const frame = frameOf(q);
    const addr = frame ? undefined : q.moduleAddress;
    if (!frame && addr === undefined) return { kind: 'unavailable', reason: `no module frame to look up in ${q.module ?? 'the module'}` };
    const store = view.modules;
    if (!store)
      return addr !== undefined
        ? { kind: 'unavailable', reason: '' }
        : {
            kind: 'unavailable',
            reason: `no module files to read ${frame?.module} from: set ksym.modules to its .ko (with debug info) or a directory of modules`,
          };
    // A module whose files are all refused for another kernel: the module part says so, once.
    if (frame && allRefused(store, frame.module!)) return { kind: 'unavailable', reason: '' };
    const key = frame ? frameKey(frame) : `@${addr!.toString(16)}:${q.returnAddress ? 'B' : 'S'}`;
    const cache = this.placedOf(store);
    const p = cache.get(key);
    if (p === undefined || p instanceof Promise) {
      const started = p ?? (frame ? this.place(store, frame, key) : this.placeAddress(store, addr!, q.returnAddress, key));
      return { kind: 'pending', opening: true, done: started.then(() => this.settle(view, q)) };
    }
    if (!p.ok) return { kind: 'unavailable', reason: p.quiet ? '' : p.reason };
    const d = this.debugFor(view, p);
    const s = d.state;
    if (s.kind === 'failed') return { kind: 'unavailable', reason: s.reason };
    if (s.kind !== 'open') return { kind: 'pending', opening: true, done: this.open(d).then(() => this.settle(view, q)) };
    const rkey = `${p.section}\0${p.offset}\0${p.returnAddress ? 'B' : 'S'}\0${p.symbol}`;
    const hit = d.results.get(rkey);
    if (hit) return { kind: 'ready', result: hit, debugFile: s.file };
    const unit = unitOf(s.reader, p.section, p.offset - (p.returnAddress ? 1 : 0));
    const run = () => this.lookupNow(d, p, rkey, unit);
    if (unit < 0 || d.units.has(unit)) {
      run();
      const r = d.results.get(rkey);
      if (r) return { kind: 'ready', result: r, debugFile: s.file };
    }
    return { kind: 'pending', opening: false, done: this.wait(d, rkey, run) };
  }

  /** After a step finished: wait for the rest (opening, decoding) so that `done` means peek answers. */
  private async settle(view: ServedView, q: FrameQuery): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const s = this.peek(view, q);
      if (s.kind !== 'pending') return;
      await s.done;
    }
  }

  private placedOf(store: ModuleStore): Map<string, Placed | Promise<void>> {
    let m = this.placed.get(store);
    if (!m) this.placed.set(store, (m = new Map()));
    return m;
  }

  /** Resolve the frame in the module file (the store loads and caches the .ko). */
  private place(store: ModuleStore, frame: FrameToken, key: string): Promise<void> {
    const cache = this.placedOf(store);
    const p = (async () => {
      let out: Placed;
      try {
        const r = await store.resolveModuleFrame(frame);
        if (!r.ok) out = { ok: false, reason: r.error, quiet: allRefused(store, r.module ?? frame.module!) };
        else if (r.candidates.length !== 1)
          out = {
            ok: false,
            reason: `${r.candidates.length} symbols named ${frame.name} in ${r.module}${r.candidates.length ? ': ambiguous' : ''}`,
          };
        else {
          const c = r.candidates[0];
          out = {
            ok: true,
            module: r.module,
            file: r.file,
            section: c.section,
            offset: c.value + (frame.offset ?? 0),
            symbol: frame.name,
            returnAddress: frame.role === 'trace',
            buildId: frame.buildId,
            fileBuildId: r.buildId,
          };
        }
      } catch (e) {
        out = { ok: false, reason: `${frame.name} [${frame.module}]: ${e instanceof Error ? e.message : String(e)}` };
      }
      this.placed1(cache, key, out);
    })();
    cache.set(key, p);
    return p;
  }

  private placed1(cache: Map<string, Placed | Promise<void>>, key: string, out: Placed): void {
    cache.set(key, out);
    if (cache.size > MAX_RESOLVED) cache.delete(cache.keys().next().value as string);
    // Answers that said "reading" may now say more (a refusal, or a line of a file already open).
    this.hooks.changed();
  }

  /** A runtime address inside a module whose load addresses are known (learned from the log's frames, kallsyms or sysfs). */
  private placeAddress(store: ModuleStore, address: bigint, returnAddress: boolean, key: string): Promise<void> {
    const cache = this.placedOf(store);
    const p = (async () => {
      let out: Placed;
      try {
        const r = await store.resolveAddress(address, { returnAddress });
        out = r.ok
          ? { ok: true, module: r.module, file: r.file, section: r.section, offset: r.sectionOffset, symbol: r.symbol.name, returnAddress }
          : { ok: false, reason: r.error, quiet: true };
      } catch (e) {
        out = { ok: false, reason: String(e), quiet: true };
      }
      this.placed1(cache, key, out);
    })();
    cache.set(key, p);
    return p;
  }

  /** What the module must be: the log's build id, else the loaded module's (running kernel). */
  private debugFor(view: ServedView, p: Extract<Placed, { ok: true }>): ModuleDebug {
    let expected: { buildId?: string; what: string } | undefined;
    if (p.buildId) expected = { buildId: p.buildId, what: `the build id ${p.module} has in the log` };
    else if (view.kernel?.kind === 'running') {
      const id = this.loadedBuildId(p.module);
      if (id) expected = { buildId: id, what: `the loaded ${p.module} (/sys/module/${p.module}/notes)` };
    }
    const key = `${p.file}\0${expected?.buildId ?? ''}`;
    let d = this.debug.get(key);
    if (d) {
      this.debug.delete(key);
      this.debug.set(key, d);
      return d;
    }
    d = new ModuleDebug(p.module, p.file, expected, p.fileBuildId, view.kernel?.release);
    this.debug.set(key, d);
    let open = 0;
    for (const x of this.debug.values()) if (x.state.kind === 'open') open++;
    for (const [k, x] of this.debug) {
      if (open <= MAX_OPEN) break;
      if (x.state.kind !== 'open') continue;
      x.state.reader.close();
      this.debug.delete(k);
      open--;
    }
    return d;
  }

  private loadedBuildId(module: string): string | undefined {
    if (this.hooks.loadedBuildId) return this.hooks.loadedBuildId(module);
    const b = nodeProbe.readSmall(`/sys/module/${module.replace(/-/g, '_')}/notes/.note.gnu.build-id`);
    return b ? buildIdFromNotes(b) : undefined;
  }

  /** Open and verify the module's debug file in a macrotask of its own. */
  private open(d: ModuleDebug): Promise<void> {
    if (d.state.kind === 'opening') return d.state.done;
    if (d.state.kind !== 'idle') return Promise.resolve();
    const gen = this.generation;
    const done = new Promise<void>((resolve) =>
      setImmediate(() => {
        try {
          if (gen !== this.generation) return;
          const started = performance.now();
          const o = openModuleDebug({
            name: d.name,
            file: d.file,
            release: d.release,
            expected: d.expected,
            fileBuildId: d.fileBuildId,
            buildPrefixes: this.buildPrefixes(),
          });
          if (o.reader && o.file) {
            d.state = { kind: 'open', reader: o.reader, file: o.file, detail: o.how ?? 'verified' };
            this.hooks.log(`source lines of [${d.name}]: ${o.file}: ${o.how}; opened in ${Math.round(performance.now() - started)} ms`);
          } else {
            d.state = { kind: 'failed', reason: o.problem ?? `no DWARF for ${d.name}` };
            this.hooks.log(`source lines of [${d.name}]: ${d.state.reason}`);
          }
        } catch (e) {
          d.state = { kind: 'failed', reason: `reading the debug file of ${d.name} failed: ${String(e)}` };
        } finally {
          resolve();
          if (gen === this.generation) this.hooks.changed();
        }
      }),
    );
    d.state = { kind: 'opening', done };
    return done;
  }

  private lookupNow(d: ModuleDebug, p: Extract<Placed, { ok: true }>, rkey: string, unit: number): void {
    if (d.state.kind !== 'open' || d.results.has(rkey)) return;
    const reader = d.state.reader;
    const opts = { symbol: p.symbol };
    const r: SourceResult = p.returnAddress
      ? reader.lookupReturnInSection(p.section, p.offset, opts)
      : reader.lookupInSection(p.section, p.offset, opts);
    if (unit >= 0) d.units.add(unit);
    d.results.set(rkey, r);
    if (d.results.size > MAX_RESULTS) d.results.delete(d.results.keys().next().value as string);
  }

  /** Queue a lookup (one per macrotask, shared with every module). */
  private wait(d: ModuleDebug, key: string, run: () => void): Promise<void> {
    const w = d.waits.get(key);
    if (w) return w;
    const p = new Promise<void>((resolve) => this.queue.push({ key, run, resolve }));
    d.waits.set(key, p);
    void p.then(() => d.waits.delete(key));
    if (!this.draining) this.drain();
    return p;
  }

  private drain(): void {
    this.draining = true;
    const gen = this.generation;
    const step = () => {
      const w = this.queue.shift();
      if (!w || gen !== this.generation) {
        this.draining = false;
        if (!w) this.hooks.changed();
        return;
      }
      try {
        w.run();
      } catch (e) {
        this.hooks.log(`module source line lookup failed: ${String(e)}`);
      }
      w.resolve();
      setImmediate(step);
    };
    setImmediate(step);
  }
}

/** The unit covering (section, offset) of a module's DWARF, -1 when none or unknown. */
function unitOf(reader: DwarfReader, section: string, offset: number): number {
  try {
    const s = reader.sectionOf(section);
    if (!s || offset < 0) return -1;
    const base = reader.elf.isRelocatable ? reader.elf.sectionBase(s.index) : s.addr;
    return reader.unitFor(base + offset);
  } catch {
    return -1;
  }
}
