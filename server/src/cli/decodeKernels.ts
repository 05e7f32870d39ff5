/**
 * `ksym decode` with kernels (issue 16 §4):
 *
 *   ksym decode [--kernel DIR]... [--debuginfod URL]... [--kallsyms F]... [--vmlinux F|DIR]
 *               [--module F|DIR]... [--kaslr-offset HEX] [--json] LOG
 *
 * The kernel is chosen per log among the candidates (--kernel directories; without any,
 * the --kallsyms files as one kernel, else the running kernel alone). `[mod BUILDID]`
 * frames whose module is not at hand are fetched from debuginfod (--debuginfod URL, or
 * DEBUGINFOD_URLS) by build id, verified, and resolved. Exit status 1 when the log's kernel
 * is not among the candidates. The work is in core/kernels (decodeLog).
 */
import { homedir, machine, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { parseHexAddr } from '../core/common/addr';
import { describeError } from '../core/common/errors';
import { readFdBounded, readGuardedSync, type GuardOptions } from '../core/common/readGuarded';
import { loadIndex } from '../core/kallsyms/load';
import { sourceKind } from '../core/kallsyms/parse';
import { buildIndex, type SymbolIndex } from '../core/kallsyms/symbolIndex';
import { decodeLog, type DecodedLog } from '../core/kernels/decodeLog';
import { kernelForLog } from '../core/kernels/forLog';
import type { Kernel } from '../core/kernels/kernels';
import { logShift } from '../core/kernels/logShift';
import { releaseFromPath } from '../core/kernels/source';
import { fetchDebuginfod } from '../core/kernels/storeDebuginfod';
import { discoverKernels, readRunningKernel } from '../core/kernels/storeKernels';
import { linkModules } from '../core/kernels/storeModuleLinks';
import { ModuleStore } from '../core/modules/store';
import { fail, help, UsageError } from './common';

const MAX_LOG_BYTES = 256 << 20;

/** Whether `ksym decode` is asked for the kernel-aware form (these options only exist there). */
export function wantsKernels(argv: readonly string[]): boolean {
  return argv.some((a) => /^--(kernel|debuginfod|json)(=|$)/.test(a));
}

function kernelOfFiles(files: string[]): Kernel {
  const file = files[0];
  const known = discoverKernels(dirname(file)).kernels.find((k) => k.symbols?.path === file);
  if (known) return known;
  const release = releaseFromPath(file)?.release;
  return { label: release ?? file, kind: 'snapshot', dir: file, release, symbols: { kind: sourceKind(file), path: file }, problems: [] };
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
  let input: string;
  try {
    const opts: GuardOptions = { maxBytes: MAX_LOG_BYTES, what: 'kernel log' };
    const bytes = file === '-' ? readFdBounded(0, '<stdin>', opts) : readGuardedSync(file, { ...opts, pseudo: true });
    input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  } catch (e) {
    fail(2, `ksym: ${describeError(file, e, 'a kernel log')}`);
  }
  let configured: bigint | undefined;
  if (values['kaslr-offset'] !== undefined) {
    configured = parseHexAddr(values['kaslr-offset']);
    if (configured === undefined) throw new UsageError(`--kaslr-offset: '${values['kaslr-offset']}' is not hex`);
  }

  // The candidates.
  const candidates: Kernel[] = [];
  const problems: string[] = [];
  for (const d of values.kernel ?? []) {
    const r = discoverKernels(d);
    candidates.push(...r.kernels);
    problems.push(...r.problems);
  }
  const explicitFiles = !values.kernel?.length && values.kallsyms?.length ? values.kallsyms : undefined;
  if (explicitFiles) candidates.push(kernelOfFiles(explicitFiles));
  else if (!values.kernel?.length) candidates.push(readRunningKernel({ machine: machine() }));
  const lk = kernelForLog(input, candidates);
  const sel = lk.selection;
  const k = sel.ok ? sel.kernel : undefined;
  const selected = k ? (k.kind === 'running' ? 'running' : explicitFiles ? explicitFiles.join(',') : k.dir) : null;

  const { index, errors } = k
    ? await indexOf(k, explicitFiles ?? (values.kernel?.length ? values.kallsyms : undefined))
    : { index: buildIndex([]), errors: [] };
  problems.push(...errors);
  const shift = logShift(input, index, lk.identity.kaslr?.value, configured);

  // Modules: --module, else the kernel's own; [mod BUILDID] frames fetched from debuginfod.
  const modulePaths = values.module?.length ? [...values.module] : k?.modulesDir ? [k.modulesDir] : [];
  const urls = [...(values.debuginfod ?? [])];
  const env = { ...process.env, DEBUGINFOD_URLS: urls.length ? urls.join(' ') : process.env.DEBUGINFOD_URLS };
  let links: { dir: string; dispose(): void } | undefined;
  if (k && lk.identity.moduleBuildIds.size > 0 && (env.DEBUGINFOD_URLS ?? '').trim()) {
    const have = new ModuleStore(modulePaths);
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
  try {
    const store = modulePaths.length ? new ModuleStore(modulePaths) : undefined;
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
          const c = r.ok && r.candidates.length === 1 ? r.candidates[0] : undefined;
          if (!r.ok || !c?.printed) return undefined;
          const p = c.printed;
          return { name: p.name, offset: p.offset, size: p.size, module: r.module, matchesLog: !!c.printedMatches };
        },
      },
      noSource:
        values.vmlinux || values.module
          ? 'source lines need the DWARF reader of ksym lookup (not wired into decode --json yet)'
          : undefined,
    });
    decoded.kernel.problems.push(...problems);
    if (values.json) process.stdout.write(JSON.stringify(decoded, null, 1) + '\n');
    else {
      if (!sel.ok) process.stderr.write(`ksym: ${sel.message}\n`);
      for (const p of sel.ok ? decoded.kernel.problems : problems) process.stderr.write(`ksym: ${p}\n`);
      process.stdout.write(renderText(input, decoded));
    }
  } finally {
    links?.dispose();
  }
  return sel.ok ? 0 : 1;
}

/** The log with `  ⟶ name+0xoff/0xsize [mod]` (or ✓ when the kernel prints what the log printed) per line. */
function renderText(input: string, d: DecodedLog): string {
  const byLine = new Map<number, string[]>();
  for (const t of d.tokens) {
    if (t.name === null) continue;
    const form = `${t.name}+0x${(t.offset ?? 0).toString(16)}${t.size !== null ? `/0x${t.size.toString(16)}` : ''}${t.module ? ` [${t.module}]` : ''}`;
    const note = t.matchesLog ? '✓' : t.kind === 'frame' ? `${t.text} = ${t.address} ⚠ ${form}` : `${t.text} = ${form}`;
    const l = byLine.get(t.line) ?? [];
    if (!l.includes(note)) l.push(note);
    byLine.set(t.line, l);
  }
  const lines = input.split('\n');
  const out = lines.map((l, i) => (byLine.has(i + 1) ? `${l}  ⟶ ${byLine.get(i + 1)!.join('; ')}` : l));
  return out.join('\n') + (input.endsWith('\n') ? '' : '\n');
}
