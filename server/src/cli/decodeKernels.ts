/**
 * `ksym decode` with kernels (issue 16 §4):
 *
 *   ksym decode [--kernel DIR]... [--debuginfod URL]... [--kallsyms F]... [--vmlinux F|DIR]
 *               [--module F|DIR]... [--kaslr-offset HEX] [--json] LOG
 *
 * The kernel is chosen per log among the candidates (--kernel directories; without any,
 * the --kallsyms files as one kernel, else the running kernel alone). With a debuginfod
 * server (--debuginfod URL, or DEBUGINFOD_URLS):
 * - a log whose vmlinux build id (its `CPU:` line) no candidate has gets its kernel's
 *   symbols from `/section/.symtab` + `.strtab` of that build id, kept only when the log's
 *   own frames come out as the kernel would print them from those symbols (a section
 *   answer carries no build id to verify); `kernel.selected` is then
 *   `debuginfod:BUILDID/section/.symtab`;
 * - `[mod BUILDID]` frames whose module is not at hand are fetched by build id, verified,
 *   and resolved.
 * Module files (--module, the kernel's own, fetched) are checked (vermagic) against the
 * chosen kernel's release. Exit status 1 when the log's kernel is not among the candidates.
 * The work is in core/kernels (decodeLog).
 */
import { statSync } from 'node:fs';
import { homedir, machine, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { describeError } from '../core/common/errors';
import { loadIndex } from '../core/kallsyms/load';
import { sourceKind } from '../core/kallsyms/parse';
import { buildIndex, type SymbolIndex } from '../core/kallsyms/symbolIndex';
import { DebugSet } from '../core/dwarf/loadDebug';
import { nodeProbe } from '../core/dwarf/readFile';
import { decodeLog, type DecodedLog, type FrameSource } from '../core/kernels/decodeLog';
import { versionsCompatible, type LogIdentity } from '../core/kernels/identity';
import { belongsTo, type Kernel } from '../core/kernels/kernels';
import { readVmlinuxInfo } from '../core/kernels/readKernelFiles';
import { buildIdsMatch } from '../core/kernels/source';
import { kernelForLog } from '../core/kernels/forLog';
import { logShift } from '../core/kernels/logShift';
import { fetchDebuginfod } from '../core/kernels/storeDebuginfod';
import { fetchKernelSymtab } from '../core/kernels/storeSymtab';
import { elfLayoutOf, symtabKernel } from '../core/kernels/symtabSection';
import { modulesNotChecked } from '../core/kernels/configured';
import { discoverKernels, readRunningKernel } from '../core/kernels/storeKernels';
import { linkModules } from '../core/kernels/storeModuleLinks';
import { sourceText, type SourceJson } from '../core/log/source';
import { ModuleStore } from '../core/modules/store';
import { help, UsageError } from './common';
import { kaslrOffsetArg, readLogArg } from './readLog';
import { kernelOfFiles } from './loadIndex';
import { runningModuleBuildId, vmlinuxSymbols } from './loadDebug';

/** Whether `ksym decode` is asked for the kernel-aware form (these options only exist there). */
export function wantsKernels(argv: readonly string[]): boolean {
  return argv.some((a) => /^--(kernel|debuginfod|json)(=|$)/.test(a));
}

async function indexOf(k: Kernel, files: string[] | undefined): Promise<{ index: SymbolIndex; errors: string[] }> {
  const specs = files?.length
    ? files.map((file) => ({ file, kind: sourceKind(file) }))
    : k.symbols
      ? [{ file: k.symbols.path, kind: k.symbols.kind }]
      : [];
  if (specs.length === 0) return { index: buildIndex([]), errors: [`${k.label}: no kallsyms or System.map`] };
  const r = await loadIndex(specs);
  return { index: r.index ?? buildIndex([]), errors: r.errors };
}

export async function cmdDecodeKernels(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kernel: { type: 'string', multiple: true },
      debuginfod: { type: 'string', multiple: true },
      kallsyms: { type: 'string', multiple: true },
      vmlinux: { type: 'string' },
      module: { type: 'string', multiple: true },
      'kaslr-offset': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return help('decode');
  if (positionals.length > 1) throw new UsageError('decode: give at most one LOG');
  const file = positionals[0] ?? '-';
  const input = readLogArg(file);
  const configured = kaslrOffsetArg(values['kaslr-offset']);

  // The candidates.
  const candidates: Kernel[] = [];
  const problems: string[] = [];
  for (const d of values.kernel ?? []) {
    const r = discoverKernels(d);
    candidates.push(...r.kernels);
    problems.push(...r.problems);
  }
  const explicitFiles = !values.kernel?.length && values.kallsyms?.length ? values.kallsyms : undefined;
  const ofFiles = explicitFiles && kernelOfFiles(explicitFiles);
  if (ofFiles) candidates.push(ofFiles);
  else if (!values.kernel?.length) candidates.push(readRunningKernel({ machine: machine() }));
  const urls = [...(values.debuginfod ?? [])];
  const env = { ...process.env, DEBUGINFOD_URLS: urls.length ? urls.join(' ') : process.env.DEBUGINFOD_URLS };
  let lk = kernelForLog(input, candidates);
  // No known kernel has the log's vmlinux build id: its symbols by build id from debuginfod
  // (/section/.symtab + .strtab, checked against the log's own frames) when a server is configured.
  const fromSymtab =
    !lk.selection.ok && lk.identity.buildId && (env.DEBUGINFOD_URLS ?? '').trim() ? await symtabOfLog(lk, input, env) : undefined;
  if (fromSymtab?.ok) lk = kernelForLog(input, [...candidates, fromSymtab.kernel]);
  else if (fromSymtab) problems.push(fromSymtab.message);
  const sel = lk.selection;
  const k = sel.ok ? sel.kernel : undefined;
  const symtab = fromSymtab?.ok && k === fromSymtab.kernel ? fromSymtab : undefined;
  const selected = k
    ? k.kind === 'running'
      ? 'running'
      : symtab
        ? symtab.selected
        : explicitFiles
          ? explicitFiles.join(',')
          : k.dir
    : null;

  const { index, errors } = symtab
    ? { index: symtab.index, errors: [] }
    : k
      ? await indexOf(k, explicitFiles ?? (values.kernel?.length ? values.kallsyms : undefined))
      : { index: buildIndex([]), errors: [] };
  problems.push(...errors);
  const shift = logShift(input, index, lk.identity.kaslr?.value, configured);

  // Modules: --module, else the kernel's own; [mod BUILDID] frames fetched from debuginfod.
  // Every module file is checked (vermagic) against the chosen kernel's release: another kernel's is refused.
  const modulePaths = values.module?.length ? [...values.module] : k?.modulesDir ? [k.modulesDir] : [];
  const release = k?.release;
  if (k && !release && values.module?.length) problems.push(modulesNotChecked('--module', k));
  let links: { dir: string; dispose(): void } | undefined;
  if (k && lk.identity.moduleBuildIds.size > 0 && (env.DEBUGINFOD_URLS ?? '').trim()) {
    const have = new ModuleStore(modulePaths, { release });
    await have.scan();
    const fetched: { module: string; path: string }[] = [];
    for (const [mod, fact] of lk.identity.moduleBuildIds) {
      const local = have.has(mod) ? await have.load(mod, fact.value) : undefined;
      if (local?.ok && local.buildIdMatch) continue;
      const r = await fetchDebuginfod({ buildId: fact.value, artifact: { kind: 'debuginfo' }, allowNetwork: true, env, home: homedir() });
      if (r.ok) fetched.push({ module: mod, path: r.path });
      else problems.push(`debuginfod: ${mod} ${fact.value}: ${r.message}`);
    }
    if (fetched.length) {
      links = linkModules(fetched, tmpdir());
      modulePaths.unshift(links.dir);
    }
  }
  // Source lines: the selected kernel's own debug files only (its vmlinux, verified against
  // its symbols and the log's build id; module debug files verified by build id).
  const vmlinux = k && values.vmlinux ? vmlinuxOfKernel(k, lk.identity, values.vmlinux, problems) : undefined;
  const debug = k ? debugSetForKernel(k, index, lk.identity, vmlinux) : undefined;
  try {
    const store = modulePaths.length ? new ModuleStore(modulePaths, { release }) : undefined;
    const logStore = store?.forLog({ sysfs: false, kallsyms: shift.shift.vmlinuxShift === 0n ? index : undefined });
    if (logStore) await logStore.learnFromLog(input.split('\n').filter((l) => l.includes('[<') || l.includes('+0x')));
    const decoded: DecodedLog = await decodeLog(input, {
      lk,
      selected,
      index,
      shift: shift.shift,
      shiftProblems: shift.problems,
      modules: logStore && {
        address: async (a, ret) => {
          const r = await logStore.resolveAddress(a, { returnAddress: ret });
          return r.ok
            ? { text: r.print.text, name: r.print.name, offset: r.print.offset, size: r.print.size, module: r.module }
            : undefined;
        },
        frame: async (t) => {
          const r = await logStore.resolveModuleFrame(t);
          if (!r.ok) return { problem: r.error };
          const c = r.candidates.length === 1 ? r.candidates[0] : undefined;
          if (!c?.printed) return undefined;
          const p = c.printed;
          return { name: p.name, offset: p.offset, size: p.size, module: r.module, matchesLog: !!c.printedMatches };
        },
      },
      source: debug && tokenSource(debug, logStore),
    });
    decoded.kernel.problems.push(...problems, ...(store?.refusals() ?? []).map((x) => `--module refused: ${x.reason}`));
    if (values.json) process.stdout.write(JSON.stringify(decoded, null, 1) + '\n');
    else {
      if (symtab) process.stderr.write(`ksym: ${symtab.note}\n`);
      if (!sel.ok) process.stderr.write(`ksym: ${sel.message}\n`);
      for (const p of sel.ok ? decoded.kernel.problems : problems) process.stderr.write(`ksym: ${p}\n`);
      process.stdout.write(renderText(input, decoded));
    }
  } finally {
    debug?.close();
    links?.dispose();
  }
  return sel.ok ? 0 : 1;
}

/** The log's kernel symbols by its vmlinux build id from debuginfod (.symtab + .strtab), or why not (one line). */
async function symtabOfLog(
  lk: ReturnType<typeof kernelForLog>,
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: true; kernel: Kernel; index: SymbolIndex; selected: string; note: string } | { ok: false; message: string }> {
  const id = lk.identity;
  const buildId = id.buildId!.value;
  const r = await fetchKernelSymtab({
    buildId,
    env,
    home: homedir(),
    allowNetwork: true,
    logText: input,
    ...elfLayoutOf(id.arch?.value),
  });
  if (!r.ok) return { ok: false, message: `debuginfod: vmlinux ${r.message}` };
  return { ok: true, kernel: symtabKernel(id, buildId, r.selected), index: r.index, selected: r.selected, note: r.note };
}

/**
 * --vmlinux FILE when it is of the chosen kernel (its banner's release and version, its build
 * id against the kernel's and the log's); else undefined and one short line in `problems`.
 * A directory is searched by the DebugSet and verified there.
 */
function vmlinuxOfKernel(k: Kernel, id: LogIdentity, file: string, problems: string[]): string | undefined {
  let info: ReturnType<typeof readVmlinuxInfo>;
  try {
    if (!statSync(file).isFile()) return file;
    info = readVmlinuxInfo(file);
  } catch (e) {
    problems.push(`--vmlinux: ${describeError(file, e, 'a vmlinux')}`);
    return undefined;
  }
  const logId = id.buildId?.value;
  const refusal =
    logId && info.buildId && !buildIdsMatch(logId, info.buildId)
      ? `${file} has build id ${info.buildId}, the log's kernel ${logId}`
      : belongsTo(k, { kind: 'debug', path: file, buildId: info.buildId, release: info.banner?.release });
  const version = info.banner?.version;
  const otherBuild = !refusal && version && k.version && info.banner?.release === k.release && !versionsCompatible(k.version, version);
  if (refusal || otherBuild) {
    problems.push(`--vmlinux: ${refusal ?? `${file} is ${info.banner!.release} ${version}, the log's kernel ${k.version}`}: not used`);
    return undefined;
  }
  return file;
}

/** The DebugSet of the chosen kernel: --vmlinux, else its own vmlinux debug file; the running kernel's usual places. */
function debugSetForKernel(k: Kernel, index: SymbolIndex, id: LogIdentity, vmlinux: string | undefined): DebugSet {
  const running = k.kind === 'running';
  return new DebugSet({
    vmlinux: vmlinux ?? k.vmlinuxDebug,
    autoLocate: running,
    release: k.release,
    kernelNotes: running ? nodeProbe.readSmall('/sys/kernel/notes') : undefined,
    buildId: k.buildId ?? id.buildId?.value,
    symbols: vmlinuxSymbols(index),
    moduleBuildId: (name) => {
      const fromLog = id.moduleBuildIds.get(name)?.value ?? id.moduleBuildIds.get(name.replace(/_/g, '-'))?.value;
      return fromLog || !running ? fromLog : runningModuleBuildId(name);
    },
  });
}

/** Source lines per token: vmlinux ones through the kernel's vmlinux, module ones through the file the store resolved them in. */
function tokenSource(debug: DebugSet, store: ModuleStore | undefined): FrameSource {
  const noModule = (m: string) => ({
    source: [],
    sourceProblem: `module ${m}: no file of it (give --module FILE.ko|DIR or --debuginfod URL)`,
  });
  return async (t, r) => {
    const returnAddress = t.role === 'trace';
    if (r.vmlinux !== undefined) return debug.vmlinux(r.vmlinux, { returnAddress, symbol: r.symbol });
    if (!r.module) return undefined;
    if (!store) return noModule(r.module);
    if (t.kind === 'frame') {
      if (t.offset === undefined) return undefined;
      const f = await store.resolveModuleFrame(t);
      if (!f.ok) return { source: [], sourceProblem: f.error };
      if (f.candidates.length !== 1)
        return { source: [], sourceProblem: `${f.candidates.length} symbols named ${t.name} in ${f.module}: ambiguous` };
      const c = f.candidates[0];
      return debug.module(
        { module: f.module, file: f.file, section: c.section, offset: c.value + t.offset, buildId: t.buildId },
        { returnAddress, symbol: t.name },
      );
    }
    const a = await store.resolveAddress(t.address, { returnAddress });
    if (!a.ok) return { source: [], sourceProblem: a.error };
    return debug.module(
      { module: a.module, file: a.file, section: a.section, offset: a.sectionOffset },
      { returnAddress, symbol: a.symbol.name },
    );
  };
}

/** The log with `  ⟶ name+0xoff/0xsize [mod]` (or ✓ when the kernel prints what the log printed) per line. */
function renderText(input: string, d: DecodedLog): string {
  const byLine = new Map<number, string[]>();
  for (const t of d.tokens) {
    if (t.name === null) continue;
    const form = `${t.name}+0x${(t.offset ?? 0).toString(16)}${t.size !== null ? `/0x${t.size.toString(16)}` : ''}${t.module ? ` [${t.module}]` : ''}`;
    const at = t.kind === 'frame' ? sourceText(t.source as SourceJson[])?.at : undefined;
    const note =
      (t.matchesLog ? '✓' : t.kind === 'frame' ? `${t.text}${t.address ? ` = ${t.address}` : ''} ⚠ ${form}` : `${t.text} = ${form}`) +
      (at ? ` ${at}` : '');
    const l = byLine.get(t.line) ?? [];
    if (!l.includes(note)) l.push(note);
    byLine.set(t.line, l);
  }
  const lines = input.split('\n');
  const out = lines.map((l, i) => (byLine.has(i + 1) ? `${l}  ⟶ ${byLine.get(i + 1)!.join('; ')}` : l));
  return out.join('\n') + (input.endsWith('\n') ? '' : '\n');
}
