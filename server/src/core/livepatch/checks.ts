/**
 * Livepatch sympos diagnostics, LSP-free: a document (any text, C) or a built
 * livepatch `.ko` + the kallsyms index + a module lookup → diagnostics with
 * candidates and position fixes, and a hover for a `.klp.sym` reference.
 *
 * Ranges are 0-based (line, UTF-16 column), end exclusive, as in LSP.
 */
import { ElfFile } from '../modules/elf';
import { extractKlpC } from './cInitializers';
import { scanLivepatchKo } from './koScan';
import { findKlpRefs, KlpTextRef, lineStarts, TextRange } from './textRefs';
import { ModuleSymbols } from '../modules/symtab';
import { SymbolIndex } from '../kallsyms/symbolIndex';
import {
  Candidate,
  CheckContext,
  checkKoRelaSection,
  checkKoSymbol,
  checkReference,
  Finding,
  FindingCode,
  KLP_OBJNAME_MAX,
  KLP_SYMBOL_MAX,
  moduleTarget,
  resolvePosition,
  Severity,
  SymposReference,
  type ResolveOutcome,
  SymposTarget,
  vmlinuxTarget,
} from './sympos';

export type ModuleLookup = (objname: string) => ModuleSymbols | undefined | Promise<ModuleSymbols | undefined>;

export interface SymposFix {
  title: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  newText: string;
}

export interface SymposDiagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: FindingCode;
  message: string;
  candidates: Candidate[];
  fixes: SymposFix[];
  /** `.ko` diagnostics: the symbol (.symtab index) or section concerned. */
  symbolIndex?: number;
  section?: string;
}

export interface SymposOptions {
  /** kallsyms / System.map index (vmlinux). */
  index?: SymbolIndex;
  /** Module by kernel module name (`_`, not `-`). */
  lookup?: ModuleLookup;
  /** Explains why a module is missing (default: "module X is not indexed"). */
  moduleMissing?: (objname: string) => string;
}

/** Languages whose documents are parsed as C (besides `.klp.sym` names anywhere). */
const C_LANGUAGES = new Set(['c', 'cpp', 'objective-c', 'cuda-cpp']);

class Targets {
  private cache = new Map<string, Promise<{ ctx: CheckContext; target?: SymposTarget }>>();
  constructor(private readonly opts: SymposOptions) {}

  get(objname: string, symbol: string): Promise<{ ctx: CheckContext; target?: SymposTarget }> {
    const key = `${objname}\0${symbol}`;
    let p = this.cache.get(key);
    if (!p) this.cache.set(key, (p = this.build(objname, symbol)));
    return p;
  }

  private async build(objname: string, symbol: string): Promise<{ ctx: CheckContext; target?: SymposTarget }> {
    const { index, lookup } = this.opts;
    if (objname === 'vmlinux') {
      const t = vmlinuxTarget(index, symbol);
      return { ctx: { haveVmlinux: t !== undefined, vmlinux: t }, target: t };
    }
    let mod: ModuleSymbols | undefined;
    let why: string | undefined;
    if (!lookup) why = `no modules are indexed (module ${objname} is needed)`;
    else {
      try {
        mod = await lookup(objname);
      } catch (e) {
        why = `module ${objname} could not be read: ${(e as Error)?.message ?? String(e)}`;
      }
    }
    if (!mod) {
      why ??= this.opts.moduleMissing?.(objname) ?? `module ${objname} is not indexed`;
      return { ctx: { haveVmlinux: !!index, moduleMissing: why } };
    }
    const t = moduleTarget(mod, symbol, mod.elf.file);
    return { ctx: { haveVmlinux: !!index, module: t }, target: t };
  }
}

function at(r: TextRange) {
  return { line: r.line, column: r.column, endLine: r.endLine, endColumn: r.endColumn };
}

function toDiag(f: Finding, range: TextRange, fixes: (pos: number, title: string) => SymposFix | undefined): SymposDiagnostic {
  const out: SymposFix[] = [];
  for (const s of f.suggestions) {
    const fx = fixes(s.position, s.title);
    if (fx) out.push(fx);
  }
  return { ...at(range), severity: f.severity, code: f.code, message: f.message, candidates: f.candidates, fixes: out };
}

function replaceFix(r: TextRange | undefined, insert: TextRange | undefined, insertText: (n: number) => string) {
  return (pos: number, title: string): SymposFix | undefined => {
    if (r) return { title, ...at(r), newText: String(pos) };
    if (insert) return { title, ...at(insert), newText: insertText(pos) };
    return undefined;
  };
}

async function textRefDiagnostics(ref: KlpTextRef, targets: Targets): Promise<SymposDiagnostic[]> {
  const out: SymposDiagnostic[] = [];
  const fix = replaceFix(ref.posRange, ref.insertPos, (n) => `,${n}`);
  for (const f of ref.findings) out.push(toDiag(f, ref.range, fix));
  if (ref.kind !== 'sym' || !ref.sym) return out;
  if (out.some((d) => d.severity === 'error' && d.code === 'klp-objname-dash')) return out;
  const { ctx } = await targets.get(ref.sym.objname, ref.sym.symbol);
  const r: SymposReference = { objname: ref.sym.objname, symbol: ref.sym.symbol, sympos: ref.sym.sympos, explicit: true };
  for (const f of checkReference(r, ctx)) out.push(toDiag(f, ref.range, fix));
  return out;
}

/** Diagnostics for an open document: `.klp.sym`/`.klp.rela` names anywhere; klp_func / KLP_SYMPOS in C. */
export async function diagnoseDocument(text: string, languageId: string, opts: SymposOptions): Promise<SymposDiagnostic[]> {
  const targets = new Targets(opts);
  const starts = lineStarts(text);
  const out: SymposDiagnostic[] = [];
  for (const ref of findKlpRefs(text, starts)) out.push(...(await textRefDiagnostics(ref, targets)));
  if (C_LANGUAGES.has(languageId)) {
    const c = extractKlpC(text);
    for (const n of c.notes)
      out.push({ ...at(n.range), severity: 'information', code: 'klp-unevaluated', message: n.message, candidates: [], fixes: [] });
    for (const ref of c.refs) {
      if (ref.unevaluated) {
        out.push({
          ...at(ref.range),
          severity: 'information',
          code: 'klp-unevaluated',
          message: `${ref.unevaluated}: not checked`,
          candidates: [],
          fixes: [],
        });
        continue;
      }
      if (ref.objname === undefined) {
        out.push({
          ...at(ref.range),
          severity: 'information',
          code: 'klp-unevaluated',
          message: `klp_func array '${ref.container}' is not used by a klp_object in this file: its object is unknown, '${ref.symbol}' not checked`,
          candidates: [],
          fixes: [],
        });
        continue;
      }
      const fix = replaceFix(ref.posRange, ref.insertAt, (n) => `, .old_sympos = ${n}`);
      if (ref.objname !== 'vmlinux' && ref.objname.includes('-')) {
        out.push({
          ...at(ref.range),
          severity: 'error',
          code: 'klp-objname-dash',
          message: `object name '${ref.objname}' contains '-': module names use '_'`,
          candidates: [],
          fixes: [],
        });
        continue;
      }
      if (ref.objname.length > KLP_OBJNAME_MAX) {
        out.push({
          ...at(ref.range),
          severity: 'error',
          code: 'klp-objname-too-long',
          message: `object name '${ref.objname}' is ${ref.objname.length} characters; module names have at most ${KLP_OBJNAME_MAX}`,
          candidates: [],
          fixes: [],
        });
        continue;
      }
      if (ref.symbol.length > KLP_SYMBOL_MAX) {
        out.push({
          ...at(ref.range),
          severity: 'error',
          code: 'klp-symbol-too-long',
          message: `symbol name is ${ref.symbol.length} characters; the kernel accepts at most ${KLP_SYMBOL_MAX}`,
          candidates: [],
          fixes: [],
        });
        continue;
      }
      const { ctx } = await targets.get(ref.objname, ref.symbol);
      const r: SymposReference = {
        objname: ref.objname,
        symbol: ref.symbol,
        sympos: ref.sympos,
        wantFunction: ref.kind === 'klp-func',
        explicit: ref.explicit,
      };
      const range = ref.posRange ?? ref.range;
      for (const f of checkReference(r, ctx))
        out.push(toDiag(f, f.code === 'klp-not-found' || f.code === 'klp-not-function' ? ref.range : range, fix));
    }
  }
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  return out;
}

const KO_RANGE: TextRange = { line: 0, column: 0, endLine: 0, endColumn: 0 };

/** Diagnostics for a built livepatch module (no text positions: line/column 0; symbolIndex/section say where). */
export async function diagnoseKo(elf: ElfFile, opts: SymposOptions): Promise<SymposDiagnostic[]> {
  const scan = scanLivepatchKo(elf);
  const targets = new Targets(opts);
  const out: SymposDiagnostic[] = [];
  const none = () => undefined;
  for (const p of scan.problems)
    out.push({ ...KO_RANGE, severity: 'error', code: 'klp-malformed-name', message: p, candidates: [], fixes: [] });
  for (const s of scan.relaSections) {
    for (const f of checkKoRelaSection(s.name, s.flags)) out.push({ ...toDiag(f, KO_RANGE, none), section: s.name });
  }
  for (const sym of scan.symbols) {
    const k = checkKoSymbol(sym);
    for (const f of k.findings) out.push({ ...toDiag(f, KO_RANGE, none), symbolIndex: sym.index, message: `[${sym.index}] ${f.message}` });
    if (!k.parsed || k.findings.some((f) => f.severity === 'error' && f.code === 'klp-objname-dash')) continue;
    const { ctx } = await targets.get(k.parsed.objname, k.parsed.symbol);
    const r: SymposReference = { objname: k.parsed.objname, symbol: k.parsed.symbol, sympos: k.parsed.sympos, explicit: true };
    for (const f of checkReference(r, ctx))
      out.push({ ...toDiag(f, KO_RANGE, none), symbolIndex: sym.index, message: `[${sym.index}] ${sym.name}: ${f.message}` });
  }
  return out;
}

function contains(r: TextRange, line: number, column: number): boolean {
  if (line < r.line || line > r.endLine) return false;
  if (line === r.line && column < r.column) return false;
  if (line === r.endLine && column > r.endColumn) return false;
  return true;
}

/** A livepatch reference at a text position, checked: what its hover shows. */
export interface SymposAt {
  /** The reference as written (`.klp.sym` name, or `OBJ: SYMBOL, POS`). */
  label: string;
  range: TextRange;
  objname: string;
  ctx: CheckContext;
  /** The symbols the position counts in; undefined when the object is not indexed. */
  target?: SymposTarget;
  resolution?: ResolveOutcome;
  findings: Finding[];
}

/** The `.klp.sym` name (any document) or klp_func / KLP_SYMPOS reference (C) at (line, column), checked. */
export async function symposAt(
  text: string,
  languageId: string,
  line: number,
  column: number,
  opts: SymposOptions,
): Promise<SymposAt | undefined> {
  const starts = lineStarts(text);
  let ref: { objname: string; symbol: string; sympos: bigint; range: TextRange; wantFunction: boolean; label: string } | undefined;
  for (const r of findKlpRefs(text, starts)) {
    if (r.kind === 'sym' && r.sym && contains(r.range, line, column)) {
      ref = { objname: r.sym.objname, symbol: r.sym.symbol, sympos: r.sym.sympos, range: r.range, wantFunction: false, label: r.name };
      break;
    }
  }
  if (!ref && C_LANGUAGES.has(languageId)) {
    for (const r of extractKlpC(text).refs) {
      if (r.objname && !r.unevaluated && (contains(r.range, line, column) || (r.posRange && contains(r.posRange, line, column)))) {
        ref = {
          objname: r.objname,
          symbol: r.symbol,
          sympos: r.sympos,
          range: r.range,
          wantFunction: r.kind === 'klp-func',
          label: `${r.objname}: ${r.symbol}, ${r.sympos}`,
        };
        break;
      }
    }
  }
  if (!ref) return undefined;
  const { ctx, target } = await new Targets(opts).get(ref.objname, ref.symbol);
  const out: SymposAt = { label: ref.label, range: ref.range, objname: ref.objname, ctx, target, findings: [] };
  if (!target) return out;
  out.resolution = resolvePosition(target.kernel, ref.sympos);
  out.findings = checkReference({ objname: ref.objname, symbol: ref.symbol, sympos: ref.sympos, wantFunction: ref.wantFunction }, ctx);
  return out;
}
