/**
 * Livepatch references in C sources, pure:
 *  - `struct klp_func` initializers (`.old_name = "...", .old_sympos = N`) inside
 *    arrays referenced by `struct klp_object` initializers (`.name = "mod"`, or no
 *    name / NULL for vmlinux, `.funcs = array` or a compound literal);
 *  - `KLP_SYMPOS(sym, pos)` inside `KLP_MODULE_RELOC(obj) name[] = { ... }`.
 *
 * A small C tokenizer (comments, strings, character constants, preprocessor
 * lines with continuations skipped; simple object-like `#define NAME "str"` /
 * `#define NAME 3` remembered) and a brace-tracking initializer parser:
 * designated initializers in any order, positional initializers, several
 * objects and arrays per file.
 */
import { lineStarts, rangeOf, TextRange } from './textRefs';

interface Tok {
  t: 'id' | 'num' | 'str' | 'chr' | 'p';
  v: string;
  s: number;
  e: number;
}

export interface CKlpRef {
  kind: 'klp-func' | 'klp-reloc';
  /** 'vmlinux' or the module name; undefined when the klp_func array is not used by any klp_object in the file. */
  objname?: string;
  symbol: string;
  sympos: bigint;
  /** The position was written (`.old_sympos` / KLP_SYMPOS argument). */
  explicit: boolean;
  /** Range of the symbol (string literal or identifier). */
  range: TextRange;
  /** Range of the position expression, when written. */
  posRange?: TextRange;
  /** Where `, .old_sympos = N` would be inserted (end of the `.old_name` value). */
  insertAt?: TextRange;
  /** The klp_func array or KLP_MODULE_RELOC variable. */
  container: string;
  /** Why the position or name could not be evaluated (then sympos is 0 and the reference is not checked). */
  unevaluated?: string;
}

export interface CKlpExtraction {
  refs: CKlpRef[];
  /** Notes for the user (arrays used by no object, unevaluable values). */
  notes: Array<{ range: TextRange; message: string }>;
}

function tokenize(src: string, macros: Map<string, Tok[]>): Tok[] {
  const out: Tok[] = [];
  const n = src.length;
  let i = 0;
  let lineStart = true;
  while (i < n) {
    const c = src[i];
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') {
        if (src[i] === '\\' && src[i + 1] === '\n') i++;
        i++;
      }
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
      continue;
    }
    if (c === '#' && lineStart) {
      // Preprocessor directive: up to the end of line, with continuations; comments inside.
      const s = i;
      let buf = '';
      while (i < n && src[i] !== '\n') {
        if (src[i] === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
          i += src[i + 1] === '\r' ? 3 : 2;
          buf += ' ';
          continue;
        }
        if (src[i] === '/' && src[i + 1] === '*') {
          const e = src.indexOf('*/', i + 2);
          i = e < 0 ? n : e + 2;
          buf += ' ';
          continue;
        }
        if (src[i] === '/' && src[i + 1] === '/') {
          while (i < n && src[i] !== '\n') i++;
          break;
        }
        buf += src[i++];
      }
      const m = /^#\s*define\s+([A-Za-z_]\w*)(?!\()\s+(.*?)\s*$/.exec(buf);
      if (m) {
        const body = tokenize(m[2], new Map());
        if (body.length >= 1 && body.every((t) => t.t === 'str' || t.t === 'num' || (t.t === 'p' && (t.v === '(' || t.v === ')')))) {
          macros.set(
            m[1],
            body.map((t) => ({ ...t, s: s, e: i })),
          );
        }
      }
      continue;
    }
    lineStart = false;
    const s = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /\w/.test(src[i])) i++;
      // String literal prefixes (L"", u8"", u"", U"").
      if ((src[i] === '"' || src[i] === "'") && /^(L|u8|u|U)$/.test(src.slice(s, i))) continue;
      out.push({ t: 'id', v: src.slice(s, i), s, e: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      while (i < n && /[\w.]/.test(src[i])) i++;
      out.push({ t: 'num', v: src.slice(s, i), s, e: i });
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      let v = '';
      while (i < n && src[i] !== c && src[i] !== '\n') {
        if (src[i] === '\\' && i + 1 < n) {
          const d = src[i + 1];
          if (d === '\n') {
            i += 2;
            continue;
          }
          const simple: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '\\': '\\',
            '"': '"',
            "'": "'",
            '0': '\0',
            a: '\x07',
            b: '\b',
            f: '\f',
            v: '\v',
            '?': '?',
          };
          if (/[0-7]/.test(d)) {
            const m = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4))!;
            v += String.fromCharCode(parseInt(m[0], 8));
            i += 1 + m[0].length;
            continue;
          }
          if (d === 'x') {
            const m = /^[0-9a-fA-F]+/.exec(src.slice(i + 2));
            if (m) {
              v += String.fromCharCode(parseInt(m[0], 16) & 0xff);
              i += 2 + m[0].length;
              continue;
            }
          }
          v += simple[d] ?? d;
          i += 2;
          continue;
        }
        v += src[i++];
      }
      if (src[i] === c) i++;
      out.push({ t: c === '"' ? 'str' : 'chr', v, s, e: i });
      continue;
    }
    out.push({ t: 'p', v: c, s, e: i + 1 });
    i++;
  }
  return out;
}

type Init = { kind: 'list'; items: Item[]; s: number; e: number } | { kind: 'expr'; toks: Tok[] };
interface Item {
  field?: string;
  index?: number;
  value: Init;
}

const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

class Parser {
  constructor(readonly toks: Tok[]) {}

  /** Index of the token that closes the bracket at i. */
  close(i: number): number {
    const stack: string[] = [];
    for (let k = i; k < this.toks.length; k++) {
      const t = this.toks[k];
      if (t.t !== 'p') continue;
      if (OPEN[t.v]) stack.push(OPEN[t.v]);
      else if (t.v === ')' || t.v === ']' || t.v === '}') {
        // Tolerate mismatches: pop until the matching kind.
        while (stack.length && stack[stack.length - 1] !== t.v) stack.pop();
        stack.pop();
        if (stack.length === 0) return k;
      }
    }
    return this.toks.length - 1;
  }

  /** Parse the braced initializer list starting at `{` (index i). */
  list(i: number): { init: Init; end: number } {
    const end = this.close(i);
    const items: Item[] = [];
    let k = i + 1;
    let pos = 0;
    while (k < end) {
      let field: string | undefined;
      let index: number | undefined;
      // Designators: .a.b[3] =   (only the first is used)
      let first = true;
      while (k < end && this.toks[k].t === 'p' && (this.toks[k].v === '.' || this.toks[k].v === '[')) {
        if (this.toks[k].v === '.') {
          if (first) field = this.toks[k + 1]?.v;
          k += 2;
        } else {
          const c = this.close(k);
          if (first)
            index =
              evalInt(this.toks.slice(k + 1, c), new Map()) !== undefined
                ? Number(evalInt(this.toks.slice(k + 1, c), new Map()))
                : undefined;
          k = c + 1;
        }
        first = false;
      }
      if (field !== undefined || index !== undefined) {
        if (this.toks[k]?.t === 'p' && this.toks[k].v === '=') k++;
      }
      let value: Init;
      if (this.toks[k]?.t === 'p' && this.toks[k].v === '{') {
        const r = this.list(k);
        value = r.init;
        k = r.end + 1;
      } else {
        const s = k;
        while (k < end && !(this.toks[k].t === 'p' && this.toks[k].v === ',')) {
          if (this.toks[k].t === 'p' && OPEN[this.toks[k].v]) k = this.close(k) + 1;
          else k++;
        }
        value = { kind: 'expr', toks: this.toks.slice(s, k) };
      }
      if (index !== undefined) pos = index;
      items.push({ field, index: field === undefined ? pos : undefined, value });
      pos++;
      if (this.toks[k]?.t === 'p' && this.toks[k].v === ',') k++;
    }
    return { init: { kind: 'list', items, s: this.toks[i].s, e: this.toks[end].e }, end };
  }
}

function stripParens(toks: Tok[]): Tok[] {
  let t = toks;
  while (t.length >= 2 && t[0].v === '(' && t[t.length - 1].v === ')' && t[0].t === 'p') t = t.slice(1, -1);
  return t;
}

function expand(toks: Tok[], macros: Map<string, Tok[]>, depth = 0): Tok[] {
  if (depth > 8) return toks;
  const out: Tok[] = [];
  for (const t of toks) {
    const m = t.t === 'id' ? macros.get(t.v) : undefined;
    if (m) out.push(...expand(m, macros, depth + 1).map((x) => ({ ...x, s: t.s, e: t.e })));
    else out.push(t);
  }
  return out;
}

/** An integer constant expression limited to a literal (decimal, hex, octal, suffixes) or a simple macro. */
function evalInt(toksIn: Tok[], macros: Map<string, Tok[]>): bigint | undefined {
  const toks = stripParens(expand(toksIn, macros));
  if (toks.length !== 1 || toks[0].t !== 'num') return undefined;
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(toks[0].v);
  if (!m) return undefined;
  const d = m[1];
  if (/^0[xX]/.test(d)) return BigInt(d);
  if (d.length > 1 && d[0] === '0') return BigInt('0o' + d.slice(1));
  return BigInt(d);
}

/** A string literal (adjacent literals concatenated), possibly via a simple macro; null for NULL/0. */
function evalStr(toksIn: Tok[], macros: Map<string, Tok[]>): string | null | undefined {
  const toks = stripParens(expand(toksIn, macros));
  if (toks.length === 1 && ((toks[0].t === 'id' && toks[0].v === 'NULL') || (toks[0].t === 'num' && toks[0].v === '0'))) return null;
  if (toks.length === 0 || !toks.every((t) => t.t === 'str')) return undefined;
  return toks.map((t) => t.v).join('');
}

interface FuncEntry {
  name?: { value?: string; s: number; e: number; text: string };
  pos?: { value?: bigint; s: number; e: number; text: string };
}

function funcEntries(list: Init, macros: Map<string, Tok[]>): FuncEntry[] {
  if (list.kind !== 'list') return [];
  const out: FuncEntry[] = [];
  for (const el of list.items) {
    if (el.value.kind !== 'list') continue;
    const e: FuncEntry = {};
    for (const f of el.value.items) {
      const key = f.field ?? (f.index === 0 ? 'old_name' : f.index === 2 ? 'old_sympos' : undefined);
      if (f.value.kind !== 'expr' || f.value.toks.length === 0) continue;
      const toks = f.value.toks;
      const s = toks[0].s,
        en = toks[toks.length - 1].e;
      const text = toks.map((t) => t.v).join(' ');
      if (key === 'old_name') {
        const v = evalStr(toks, macros);
        e.name = { value: v ?? undefined, s, e: en, text };
      } else if (key === 'old_sympos') {
        e.pos = { value: evalInt(toks, macros), s, e: en, text };
      }
    }
    if (e.name) out.push(e);
  }
  return out;
}

/** Tokens after a declarator up to `=`; returns the index of the `{` that starts the initializer, or -1. */
function initializerStart(toks: Tok[], k: number): { brace: number; isArray: boolean; name?: string } {
  let name: string | undefined;
  let isArray = false;
  for (; k < toks.length; k++) {
    const t = toks[k];
    if (t.t === 'p' && (t.v === ';' || t.v === '{' || t.v === '}')) return { brace: -1, isArray };
    if (t.t === 'p' && t.v === '(') {
      // __attribute__((...)) or __section(...) or a function declarator: skip the group.
      let d = 0;
      for (; k < toks.length; k++) {
        if (toks[k].v === '(') d++;
        else if (toks[k].v === ')' && --d === 0) break;
      }
      continue;
    }
    if (t.t === 'id' && name === undefined && !/^(const|static|__\w+|volatile)$/.test(t.v)) name = t.v;
    if (t.t === 'p' && t.v === '[') isArray = true;
    if (t.t === 'p' && t.v === '=') {
      const b = toks[k + 1];
      return b && b.t === 'p' && b.v === '{' ? { brace: k + 1, isArray, name } : { brace: -1, isArray, name };
    }
  }
  return { brace: -1, isArray };
}

/** A `struct klp_object` initializer: its object name and its functions (an array's name or inline). */
interface KlpObject {
  objname: string | undefined;
  funcsName?: string;
  inline?: FuncEntry[];
}

/** The klp_object of one initializer's fields, or undefined when it sets neither name nor funcs. */
function klpObject(fields: Item[], macros: Map<string, Tok[]>, starts: number[], notes: CKlpExtraction['notes']): KlpObject | undefined {
  let objname: string | undefined = 'vmlinux';
  let funcsName: string | undefined;
  let inline: FuncEntry[] | undefined;
  let any = false;
  for (const f of fields) {
    const key = f.field ?? (f.index === 0 ? 'name' : f.index === 1 ? 'funcs' : undefined);
    if (f.value.kind !== 'expr') continue;
    const tk = f.value.toks;
    if (key === 'name') {
      any = true;
      const v = evalStr(tk, macros);
      if (v === undefined) {
        objname = undefined;
        if (tk.length)
          notes.push({
            range: rangeOf(starts, tk[0].s, tk[tk.length - 1].e),
            message: `klp_object name '${tk.map((t) => t.v).join(' ')}' is not a string literal: its functions are not checked`,
          });
      } else objname = v === null ? 'vmlinux' : v;
    } else if (key === 'funcs') {
      any = true;
      // `funcs`, `&funcs[0]`, or a compound literal `(struct klp_func[]){ ... }`.
      const brace = tk.findIndex((t) => t.t === 'p' && t.v === '{');
      if (brace >= 0) {
        const sub = new Parser(tk);
        inline = funcEntries(sub.list(brace).init, macros);
      } else {
        const id = tk.find((t) => t.t === 'id' && t.v !== 'struct' && t.v !== 'klp_func');
        funcsName = id?.v;
      }
    }
  }
  return any ? { objname, funcsName, inline } : undefined;
}

/** The KLP_SYMPOS(sym, pos) entries of `KLP_MODULE_RELOC(obj) NAME[] = { ... }` at toks[k]; the index to go on from. */
function moduleRelocRefs(toks: Tok[], k: number, P: Parser, macros: Map<string, Tok[]>, starts: number[], refs: CKlpRef[]): number {
  const c = P.close(k + 1);
  const objTok = toks.slice(k + 2, c).find((x) => x.t === 'id' || x.t === 'str');
  const objname = objTok?.v;
  const st = initializerStart(toks, c + 1);
  if (st.brace < 0 || !objname) return k;
  const end = P.close(st.brace);
  for (let j = st.brace + 1; j < end; j++) {
    if (!(toks[j].t === 'id' && toks[j].v === 'KLP_SYMPOS' && toks[j + 1]?.v === '(')) continue;
    const cj = P.close(j + 1);
    // split args at top-level commas
    const args: Tok[][] = [[]];
    for (let q = j + 2; q < cj; q++) {
      if (toks[q].t === 'p' && toks[q].v === ',') args.push([]);
      else if (toks[q].t === 'p' && OPEN[toks[q].v]) {
        const cq = P.close(q);
        args[args.length - 1].push(...toks.slice(q, cq + 1));
        q = cq;
      } else args[args.length - 1].push(toks[q]);
    }
    j = cj;
    if (args.length !== 2 || args[0].length === 0 || args[1].length === 0) continue;
    const symToks = args[0].filter((x) => !(x.t === 'p' && x.v === '&'));
    const symTok = symToks.length === 1 && (symToks[0].t === 'id' || symToks[0].t === 'str') ? symToks[0] : undefined;
    const pos = evalInt(args[1], macros);
    const posS = args[1][0].s,
      posE = args[1][args[1].length - 1].e;
    const ref: CKlpRef = {
      kind: 'klp-reloc',
      objname,
      symbol: symTok?.v ?? args[0].map((x) => x.v).join(''),
      sympos: pos ?? 0n,
      explicit: true,
      range: rangeOf(starts, args[0][0].s, args[0][args[0].length - 1].e),
      posRange: rangeOf(starts, posS, posE),
      container: st.name ?? objname,
    };
    if (!symTok) ref.unevaluated = `symbol '${ref.symbol}' is not a plain identifier`;
    else if (pos === undefined) ref.unevaluated = `position '${args[1].map((x) => x.v).join(' ')}' is not an integer constant`;
    refs.push(ref);
  }
  return end;
}

/** The references of klp_func entries (`.old_name`, `.old_sympos`) of one object. */
function funcRefs(entries: FuncEntry[], objname: string | undefined, container: string, starts: number[], refs: CKlpRef[]): void {
  for (const f of entries) {
    const name = f.name!;
    const ref: CKlpRef = {
      kind: 'klp-func',
      objname,
      symbol: name.value ?? name.text,
      sympos: f.pos?.value ?? 0n,
      explicit: f.pos !== undefined,
      range: rangeOf(starts, name.s, name.e),
      container,
    };
    if (f.pos) ref.posRange = rangeOf(starts, f.pos.s, f.pos.e);
    else ref.insertAt = rangeOf(starts, name.e, name.e);
    if (name.value === undefined) ref.unevaluated = `old_name '${name.text}' is not a string literal`;
    else if (f.pos && f.pos.value === undefined) ref.unevaluated = `old_sympos '${f.pos.text}' is not an integer constant`;
    refs.push(ref);
  }
}

export function extractKlpC(text: string): CKlpExtraction {
  const macros = new Map<string, Tok[]>();
  const toks = tokenize(text, macros);
  const starts = lineStarts(text);
  const P = new Parser(toks);
  const funcArrays = new Map<string, FuncEntry[]>();
  const objects: KlpObject[] = [];
  const objectFrom = (fields: Item[]) => {
    const o = klpObject(fields, macros, starts, notes);
    if (o) objects.push(o);
  };
  const refs: CKlpRef[] = [];
  const notes: CKlpExtraction['notes'] = [];

  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.t === 'id' && t.v === 'struct' && toks[k + 1]?.t === 'id' && (toks[k + 1].v === 'klp_func' || toks[k + 1].v === 'klp_object')) {
      const kind = toks[k + 1].v;
      // Not a declaration of a variable if followed by `{` (type definition) or `*` / `)` (casts, pointers handled below).
      const st = initializerStart(toks, k + 2);
      if (st.brace < 0 || !st.name) continue;
      const { init, end } = P.list(st.brace);
      if (init.kind !== 'list') continue;
      if (kind === 'klp_func') {
        const entries = st.isArray
          ? funcEntries(init, macros)
          : funcEntries({ kind: 'list', items: [{ value: init }], s: init.s, e: init.e }, macros);
        funcArrays.set(st.name, entries);
      } else if (st.isArray) {
        for (const el of init.items) if (el.value.kind === 'list') objectFrom(el.value.items);
      } else objectFrom(init.items);
      k = end;
      continue;
    }
    if (t.t === 'id' && t.v === 'KLP_MODULE_RELOC' && toks[k + 1]?.v === '(') k = moduleRelocRefs(toks, k, P, macros, starts, refs);
  }

  const used = new Set<string>();
  const emit = (entries: FuncEntry[], objname: string | undefined, container: string) =>
    funcRefs(entries, objname, container, starts, refs);
  for (const o of objects) {
    if (o.inline) emit(o.inline, o.objname, '(compound literal)');
    if (o.funcsName) {
      const arr = funcArrays.get(o.funcsName);
      if (arr) {
        used.add(o.funcsName);
        emit(arr, o.objname, o.funcsName);
      }
    }
  }
  for (const [name, arr] of funcArrays) {
    if (used.has(name)) continue;
    emit(arr, undefined, name);
  }
  refs.sort((a, b) => a.range.line - b.range.line || a.range.column - b.range.column);
  return { refs, notes };
}
