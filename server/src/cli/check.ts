/**
 * `ksym check [--kallsyms FILE]... [--module FILE|DIR]... [--json] FILE...`
 *
 * Checks livepatch symbol positions in text/C files and built livepatch modules
 * (ELF detected by magic, compressed .ko too) against the target kernel's kallsyms
 * and modules. Text output: `file:line:col: severity: message` (1-based; `.ko`
 * findings are reported at 1:1 and name the symbol index). `--json`: an array of
 * {file, line, column, endColumn, severity, code, message, candidates}.
 * Exit status: 1 when any error, else 0; 2 on unusable input.
 *
 * No default kallsyms: a livepatch is checked against its target kernel, which is
 * rarely the machine running the check; without --kallsyms vmlinux references are
 * reported as undecidable.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SOURCE_OPTIONS } from './common';
import { describeError } from '../core/common/errors';
import { readGuardedSync } from '../core/common/readGuarded';
import { loadIndex } from '../core/kallsyms/load';
import { sourceKind } from '../core/kallsyms/parse';
import { SymbolIndex } from '../core/kallsyms/symbolIndex';
import { diagnoseDocument, diagnoseKo, SymposDiagnostic } from '../core/livepatch/checks';
import { decompressModule, detectCompression } from '../core/modules/decompress';
import { isElf, parseElf } from '../core/modules/elf';
import { isModuleFile, moduleNameFromPath } from '../core/modules/names';
import { MAX_MODULE_FILE, MIN_MODULE_BYTES, readModuleBytes, smallFilesSummary, walkModuleTree } from '../core/modules/read';
import { ModuleSymbols, parseModule } from '../core/modules/symtab';
import { belongsTo, type Kernel } from '../core/kernels/kernels';
import { parseVermagic } from '../core/kernels/source';
import { kernelOfFiles } from './loadIndex';

const CHECK_USAGE = `Usage: ksym check [--kallsyms FILE]... [--module FILE|DIR]... [--json] FILE...

Checks livepatch symbol positions with the kernel's own rules: every
.klp.sym.OBJ.SYMBOL,POS and .klp.rela.OBJ.SECTION name in any text file, klp_func
(.old_name/.old_sympos) and KLP_SYMPOS entries in C files, and the .klp.sym symbols
and .klp.rela sections of built livepatch modules (.ko, also compressed).

  --kallsyms FILE   the target kernel's /proc/kallsyms (or System.map: approximate)
  --module PATH     a target module (.ko[.gz|.xz|.zst]) or a directory of them
  --json            an array of {file, line, column, endColumn, severity, code, message, candidates}

Output: file:line:col: severity: message (1-based). Exit status: 1 when any error,
0 otherwise, 2 on unusable input.`;

/** `--module DIR`: the walk of ksym.modules, deeper than the workspace's. */
const WALK = { maxDepth: 12, maxEntries: 500_000, minBytes: MIN_MODULE_BYTES };

/** Modules by kernel module name, read on first use. */
class ModuleFiles {
  /** The --kallsyms kernel: a module file whose vermagic names another release is refused (never mix kernels). */
  constructor(private readonly kernel?: Kernel) {}

  private readonly paths = new Map<string, string>();
  private readonly loaded = new Map<string, Promise<ModuleSymbols | undefined>>();
  readonly errors: string[] = [];
  /** Summaries of files the walks skipped unread (empty or truncated module files). */
  readonly warnings: string[] = [];

  async add(path: string): Promise<boolean> {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      this.errors.push(describeError(path, e));
      return false;
    }
    if (st.isDirectory()) {
      const w = await walkModuleTree(path, WALK);
      this.errors.push(...w.errors);
      const small = smallFilesSummary(w);
      if (small) this.warnings.push(`${path}: ${small}`);
      for (const f of w.files) if (!this.paths.has(moduleNameFromPath(f))) this.paths.set(moduleNameFromPath(f), f);
      return true;
    }
    // An explicit file: parse now and index by its real module name too.
    try {
      const mod = this.checked(parseModule(await readModuleBytes(path), path), path);
      this.paths.set(mod.name, path);
      this.paths.set(moduleNameFromPath(path), path);
      this.loaded.set(mod.name, Promise.resolve(mod));
      return true;
    } catch (e) {
      this.errors.push(describeError(path, e));
      return false;
    }
  }

  get size(): number {
    return this.paths.size;
  }

  /** The module, or an Error naming both kernels when it is built for another one (core/kernels belongsTo). */
  private checked(mod: ModuleSymbols, path: string): ModuleSymbols {
    if (!this.kernel?.release) return mod;
    const vm = mod.elf.modinfoValue('vermagic');
    const why = belongsTo(this.kernel, { kind: 'module', path, vermagicRelease: vm ? parseVermagic(vm)?.release : undefined });
    if (why) throw new Error(`${why}: refused`);
    return mod;
  }

  lookup = (name: string): Promise<ModuleSymbols | undefined> => {
    let p = this.loaded.get(name);
    if (!p) {
      const path = this.paths.get(name);
      p = path
        ? readModuleBytes(path).then(
            (b) => this.checked(parseModule(b, path), path),
            (e) => {
              throw new Error(describeError(path, e, 'a module file'));
            },
          )
        : Promise.resolve(undefined);
      this.loaded.set(name, p);
    }
    return p;
  };
}

function languageOf(file: string): string {
  if (/\.(c|h)$/i.test(file)) return 'c';
  if (/\.(S|s|asm)$/.test(file)) return 'asm';
  return 'plaintext';
}

export async function cmdCheck(argv: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: SOURCE_OPTIONS,
    }));
  } catch (e) {
    process.stderr.write(`ksym check: ${(e as Error).message}\n${CHECK_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(CHECK_USAGE + '\n');
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`ksym check: no FILE given\n${CHECK_USAGE}\n`);
    return 2;
  }

  let index: SymbolIndex | undefined;
  if (values.kallsyms?.length) {
    const r = await loadIndex(values.kallsyms.map((file) => ({ file, kind: sourceKind(file) })));
    for (const w of r.warnings) process.stderr.write(`ksym: warning: ${w}\n`);
    if (!r.index) {
      for (const e of r.errors.length ? r.errors : ['no usable symbol source']) process.stderr.write(`ksym: ${e}\n`);
      return 2;
    }
    index = r.index;
  }
  const modules = new ModuleFiles(values.kallsyms?.length ? kernelOfFiles(values.kallsyms) : undefined);
  for (const m of values.module ?? []) await modules.add(m);
  if (modules.errors.length) {
    for (const e of modules.errors) process.stderr.write(`ksym: ${e}\n`);
    return 2;
  }
  for (const w of modules.warnings) process.stderr.write(`ksym: warning: ${w}\n`);
  const given = (values.module ?? []).join(', ');
  const opts = {
    index,
    lookup: values.module?.length ? modules.lookup : undefined,
    moduleMissing: (name: string) =>
      values.module?.length
        ? `module ${name} is not indexed: no ${name}.ko among ${given}`
        : `module ${name} is not indexed (give its .ko with --module)`,
  };

  const results: Array<{ file: string; d: SymposDiagnostic }> = [];
  let unusable = false;
  for (const file of positionals) {
    let bytes: Uint8Array;
    try {
      // Regular files only, at most a module file's limit (a FIFO or a device is refused, never read).
      bytes = readGuardedSync(file, { maxBytes: MAX_MODULE_FILE, what: 'livepatch module or source file' });
    } catch (e) {
      process.stderr.write(`ksym: ${describeError(file, e)}\n`);
      unusable = true;
      continue;
    }
    try {
      if (detectCompression(bytes) !== 'none' && isModuleFile(file)) bytes = await decompressModule(bytes, file);
      let diags: SymposDiagnostic[];
      if (isElf(bytes)) diags = await diagnoseKo(parseElf(bytes, file), opts);
      else
        diags = await diagnoseDocument(
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
          languageOf(file),
          opts,
        );
      for (const d of diags) results.push({ file, d });
    } catch (e) {
      process.stderr.write(`ksym: ${describeError(file, e)}\n`);
      unusable = true;
    }
  }

  if (values.json) {
    const rows = results.map(({ file, d }) => ({
      file,
      line: d.line + 1,
      column: d.column + 1,
      endColumn: d.endColumn + 1,
      severity: d.severity,
      code: d.code,
      message: d.message,
      candidates: d.candidates,
      ...(d.symbolIndex !== undefined ? { symbolIndex: d.symbolIndex } : {}),
      ...(d.section !== undefined ? { section: d.section } : {}),
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  } else {
    let text = '';
    for (const { file, d } of results) text += `${file}:${d.line + 1}:${d.column + 1}: ${d.severity}: ${d.message}\n`;
    process.stdout.write(text);
  }
  if (unusable) return 2;
  return results.some((r) => r.d.severity === 'error') ? 1 : 0;
}
