/**
 * Hover markdown from BTF: a function's C prototype (kfuncs marked; the module's
 * split BTF for module frames) and the layout of `struct NAME` / `union NAME` /
 * `enum NAME` / typedef names (member offsets, sizes and holes, like pahole).
 *
 * Small functions over a BtfStore or Btf objects; they never throw and return
 * undefined when BTF has nothing to say. Every BTF name shown outside a code
 * block goes through code()/text(); C goes into a fenced ```c block whose fence is
 * longer than any backtick run inside it.
 */
import type { Btf } from '../../core/btf';
import { Kind } from '../../core/btf';
import { expandTabs } from '../../core/btf/c';
import type { BtfStore, ModuleBtfResult } from '../../core/btf/store';
import { code, codeBlock, text } from '../markdown';
import { setModulesHint } from './modules';

/** Default number of C lines shown in one hover before truncating. */
const HOVER_MAX_LINES = 120;
/** At most this many distinct declarations for one name. */
const MAX_DECLS = 3;

export interface BtfHoverOptions {
  /** Truncate each declaration after this many lines (default HOVER_MAX_LINES). */
  maxLines?: number;
  /** A plain NAME also matches `struct NAME`/`union NAME`/`enum NAME` (default: typedefs only). */
  plainAggregates?: boolean;
  /** Explain why there is no BTF answer for a module (default true). */
  explainMissing?: boolean;
  /**
   * The prototype's storage class, from the symbol's nm type (`static` for t, none for T);
   * undefined leaves it out: the FUNC record's own linkage says `static` for every
   * function in many kernels' BTF.
   */
  linkage?: 'static' | 'none';
}

/** Either a store (vmlinux + lazily loaded modules) or a Btf (vmlinux or split). */
export type BtfLookup = BtfStore | Btf | undefined;

/**
 * C in a fenced block that nothing inside can close (markdown.ts codeBlock), tabs expanded
 * to spaces at pahole's 8-column stops: editors render tabs in hovers at other widths,
 * which leaves the offset/size comments ragged.
 */
export function cBlock(src: string): string {
  return codeBlock(expandTabs(src), 'c');
}

/**
 * Keep at most `max` lines; the pahole summary at the end (`/* size: ... *\/` and
 * the closing brace) is kept and a note says how many lines were left out.
 */
export function truncateLines(src: string, max: number, hint?: string): string {
  const lines = src.split('\n');
  if (!(max > 0) || lines.length <= max) return src;
  let tailStart = lines.length - 1;
  for (let i = lines.length - 1; i >= Math.max(0, lines.length - 8); i--) {
    if (/^\s*\/\* size: /.test(lines[i])) {
      tailStart = i;
      if (i > 0 && lines[i - 1].trim() === '') tailStart = i - 1;
      break;
    }
  }
  const tail = lines.slice(tailStart);
  const keep = Math.max(1, max - tail.length - 1);
  if (keep >= tailStart) return src;
  const omitted = tailStart - keep;
  const note = `\t/* ... ${omitted} more line${omitted === 1 ? '' : 's'}${hint ? `; ${hint.replace(/\*\//g, '* /')}` : ''} ... */`;
  return [...lines.slice(0, keep), note, ...tail].join('\n');
}

function isStore(s: BtfLookup): s is BtfStore {
  return typeof (s as BtfStore | undefined)?.cachedModule === 'function';
}

interface Resolved {
  btf: Btf | undefined;
  /** Where it came from, for the hover text. */
  label: string;
  /** Module split BTF (its own types preferred). */
  split: boolean;
  note?: string;
  /** The note is that no file of the module was found (ksym.modules can fix it). */
  noModuleFile?: boolean;
}

/** The note about a module's BTF (after `prefix`), with what the user can do about it. */
function noteText(r: Resolved, module: string, prefix = ''): string {
  const hint = r.noModuleFile ? setModulesHint(module) : '';
  return `_${prefix}${text(r.note ?? '')}_${hint ? ` ${hint}` : ''}`;
}

function pick(src: BtfLookup, module: string | undefined): Resolved {
  if (!isStore(src)) return { btf: src, label: src?.base ? 'module BTF' : 'vmlinux BTF', split: !!src?.base };
  const v = src.vmlinux;
  if (!module) return { btf: v, label: 'vmlinux BTF', split: false };
  const m: ModuleBtfResult | undefined = src.cachedModule(module);
  if (m?.btf) return { btf: m.btf, label: `BTF of module ${module}`, split: true };
  return {
    btf: v,
    label: 'vmlinux BTF',
    split: false,
    note: m?.message ?? `BTF of module ${module} is not loaded yet`,
    noModuleFile: m?.noModuleFile,
  };
}

function funcIds(btf: Btf, name: string, preferOwn: boolean): number[] {
  const tryName = (n: string) => btf.idsByName(n).filter((id) => btf.kindOf(id) === Kind.FUNC);
  let ids = tryName(name);
  if (!ids.length) {
    // Compiler clones: foo.isra.0, foo.constprop.0, foo.cold, foo.part.1 → foo
    const stem = name.replace(/\..*$/, '');
    if (stem && stem !== name) ids = tryName(stem);
  }
  if (preferOwn && btf.base) {
    const own = ids.filter((id) => id >= btf.firstId);
    if (own.length) return own;
  }
  return ids;
}

function header(kind: string, name: string, where: string, extra = ''): string {
  // `struct task_struct` already says what it is: no "struct struct task_struct".
  const word = name.startsWith(`${kind} `) ? '' : `${kind} `;
  return `**BTF** ${word}${code(name)} (${text(where)})${extra}`;
}

/**
 * The C prototype of FUNC `name` (with parameter names), marked when it is a kfunc.
 * `module`: the frame's module; with a BtfStore its split BTF is used once loaded
 * (see functionPrototypeMarkdownAsync), else vmlinux. Undefined when BTF has no
 * such function (and there is nothing to explain).
 */
export function functionPrototypeMarkdown(src: BtfLookup, name: string, module?: string, opts: BtfHoverOptions = {}): string | undefined {
  try {
    const r = pick(src, module);
    const btf = r.btf;
    const explain = opts.explainMissing ?? true;
    const missing = () => (explain && module && r.note ? noteText(r, module, 'BTF: ') : undefined);
    if (!btf || !name) return missing();
    const ids = funcIds(btf, name, r.split);
    if (!ids.length) return missing();
    const decls: string[] = [];
    let kfunc = false;
    for (const id of ids) {
      if (btf.isKfunc(id)) kfunc = true;
      const d = btf.declaration(id, { layout: true, linkage: opts.linkage ?? 'none' });
      if (!decls.includes(d)) decls.push(d);
      if (decls.length >= MAX_DECLS) break;
    }
    const more =
      ids.length > decls.length && decls.length >= MAX_DECLS ? `\n\n_${ids.length - decls.length} more FUNC records with this name._` : '';
    const shown = ids[0] !== undefined ? btf.nameOf(ids[0]) : name;
    const parts = [header('prototype of', shown, r.label, kfunc ? ' — **kfunc**' : ''), cBlock(decls.join('\n'))];
    if (r.note && module) parts.push(noteText(r, module));
    return parts.join('\n\n') + more;
  } catch (e) {
    return `_BTF: internal error: ${text(e instanceof Error ? e.message : String(e))}_`;
  }
}

/** As functionPrototypeMarkdown, loading the module's split BTF first (never rejects). */
export async function functionPrototypeMarkdownAsync(
  store: BtfStore,
  name: string,
  module?: string,
  opts: BtfHoverOptions = {},
): Promise<string | undefined> {
  try {
    if (module) await store.module(module);
  } catch {
    // store.module never rejects; be safe anyway
  }
  return functionPrototypeMarkdown(store, name, module, opts);
}

const WORD = /^\s*(?:(struct|union|enum)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/;

/** `struct NAME` / `union NAME` / `enum NAME` / plain NAME, or undefined when not a C type word. */
function parseTypeWord(word: string): { tag?: 'struct' | 'union' | 'enum'; name: string } | undefined {
  const m = WORD.exec(word);
  if (!m) return undefined;
  return { tag: m[1] as 'struct' | 'union' | 'enum' | undefined, name: m[2] };
}

function typeIds(btf: Btf, w: { tag?: string; name: string }, plainAggregates: boolean): number[] {
  if (w.tag) {
    const ids = btf.idsByName(`${w.tag} ${w.name}`);
    const defs = ids.filter((id) => btf.kindOf(id) !== Kind.FWD);
    return defs.length ? defs : ids;
  }
  const all = btf.idsByName(w.name);
  const tds = all.filter((id) => btf.kindOf(id) === Kind.TYPEDEF);
  if (tds.length || !plainAggregates) return tds;
  return all.filter((id) => {
    const k = btf.kindOf(id);
    return k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64;
  });
}

/** The named struct/union/enum a typedef chain ends at, or 0. */
function typedefTarget(btf: Btf, id: number): number {
  let t = id;
  for (let d = 0; d < 32; d++) {
    const k = btf.kindOf(t);
    if (k === Kind.TYPEDEF || k === Kind.CONST || k === Kind.VOLATILE || k === Kind.TYPE_TAG || k === Kind.RESTRICT) t = btf.sizeOrType(t);
    else if ((k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64) && btf.nameOf(t) !== '') return t;
    else return 0;
  }
  return 0;
}

const KIND_WORD: Record<string, string> = {
  STRUCT: 'struct',
  UNION: 'union',
  ENUM: 'enum',
  ENUM64: 'enum',
  TYPEDEF: 'typedef',
  FWD: 'declaration',
};

/**
 * Layout of `struct NAME`, `union NAME`, `enum NAME` or a typedef NAME (member
 * offsets, sizes, holes and padding as pahole shows them), truncated after
 * opts.maxLines lines with a note. Undefined when BTF has no such type.
 */
export function typeLayoutMarkdown(src: BtfLookup, word: string, opts: BtfHoverOptions & { module?: string } = {}): string | undefined {
  try {
    const w = parseTypeWord(word);
    if (!w) return undefined;
    const r = pick(src, opts.module);
    const btf = r.btf;
    if (!btf) return undefined;
    let ids = typeIds(btf, w, opts.plainAggregates ?? false);
    if (r.split && btf.base) {
      const own = ids.filter((id) => id >= btf.firstId);
      if (own.length) ids = own;
    }
    if (!ids.length) return undefined;
    const id = ids[0];
    const kind = btf.kindName(id);
    const max = opts.maxLines ?? HOVER_MAX_LINES;
    const shownName = w.tag ? `${w.tag} ${w.name}` : w.name;
    const hint = `ksym btf '${shownName}' prints all`;
    const blocks: string[] = [truncateLines(btf.declaration(id, { layout: true }), max, hint)];
    if (kind === 'TYPEDEF') {
      const target = typedefTarget(btf, id);
      // Anonymous targets are rendered inline by the typedef itself.
      if (target) blocks.push(truncateLines(btf.declaration(target, { layout: true }), max, hint));
    }
    let size = '';
    const sk = btf.kindOf(typedefTarget(btf, id) || id);
    if (sk === Kind.STRUCT || sk === Kind.UNION || sk === Kind.ENUM || sk === Kind.ENUM64) {
      const n = btf.sizeOrType(typedefTarget(btf, id) || id);
      size = `, ${n} byte${n === 1 ? '' : 's'}`;
    }
    const others = ids.length > 1 ? `\n\n_${ids.length - 1} more type${ids.length === 2 ? '' : 's'} named ${text(shownName)} in BTF._` : '';
    const parts = [header(KIND_WORD[kind] ?? kind.toLowerCase(), shownName, `${r.label}, [${id}]${size}`), cBlock(blocks.join('\n\n'))];
    if (r.note && opts.module) parts.push(noteText(r, opts.module));
    return parts.join('\n\n') + others;
  } catch (e) {
    return `_BTF: internal error: ${text(e instanceof Error ? e.message : String(e))}_`;
  }
}

/** As typeLayoutMarkdown, loading the module's split BTF first when `opts.module` is given (never rejects). */
export async function typeLayoutMarkdownAsync(
  store: BtfStore,
  word: string,
  opts: BtfHoverOptions & { module?: string } = {},
): Promise<string | undefined> {
  try {
    if (opts.module) await store.module(opts.module);
  } catch {
    // never rejects
  }
  return typeLayoutMarkdown(store, word, opts);
}

/**
 * The `struct NAME` / `union NAME` / `enum NAME` word at column `col` of `line`
 * (or the identifier there), for hover in logs and kallsyms documents.
 */
export function typeWordAt(line: string, col: number): { word: string; start: number; end: number } | undefined {
  const re = /\b(?:(struct|union|enum)\s+)?([A-Za-z_][A-Za-z0-9_]*)/g;
  for (const m of line.matchAll(re)) {
    const start = m.index ?? 0;
    const end = start + m[0].length;
    if (col >= start && col < end) return { word: m[1] ? `${m[1]} ${m[2]}` : m[2], start, end };
  }
  return undefined;
}
