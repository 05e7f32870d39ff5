/**
 * `ksym trace NAME...`: can this kernel function be traced (fentry, fexit, fmod_ret,
 * kprobe, kretprobe), with which arguments, which copy, and ready-to-paste snippets.
 * The work is in core/trace; this reads the inputs and prints.
 */
import { parseArgs } from 'node:util';
import { readable, SOURCE_OPTIONS, withUsage } from './common';
import { loadBtfFor } from './loadIndex';
import { readGuardedSync } from '../core/common/readGuarded';
import { writeStdout } from './stdout';
import type { Btf } from '../core/btf';
import { DEFAULT_BTF } from '../core/btf/read';
import { loadBtfFile } from '../core/btf/store';
import { loadIndex } from '../core/kallsyms/load';
import { sourceKind } from '../core/kallsyms/parse';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { ElfView } from '../core/dwarf/elf';
import { inlinedInto } from '../core/dwarf/inlinedInto';
import { fileSource } from '../core/dwarf/readFile';
import { readVmlinuxKfuncs, sameBtf } from '../core/trace/btfIds';
import { readTraceFacts } from '../core/trace/readFacts';
import { ATTACH_KINDS, traceFunction, type TraceFacts, type TraceReport } from '../core/trace/rules';

export const TRACE_USAGE = `Usage: ksym trace [--btf FILE] [--vmlinux FILE] [--kallsyms FILE]... [OPTION]... [--json] NAME...

Whether the kernel function NAME can be traced with fentry, fexit, fmod_ret, kprobe
and kretprobe, following the kernel's own rules (btf_distill_func_proto,
bpf_check_attach_target, the trampoline's argument limit, ftrace sites, the kprobe
blacklist); its arguments as 'bpftrace -lv' lists them; which copy a by-name attach
reaches when the name has several; a bpftrace probe and a libbpf skeleton.

  --btf FILE               vmlinux BTF (default ${DEFAULT_BTF})
  --vmlinux FILE           that kernel's vmlinux ELF (a -dbg package's): kfunc sets and
                           flags from .BTF_ids, its own .BTF, callers of inlined functions
  --kallsyms FILE          kallsyms text or System.map (repeatable; default ${DEFAULT_KALLSYMS})
  --filter-functions FILE  available_filter_functions of that kernel
  --kprobe-blacklist FILE  debugfs kprobes/blacklist of that kernel
  --error-injection FILE   debugfs error_injection/list of that kernel
  --config FILE            that kernel's .config (or config.gz)
  --bpftrace-version V     snippet dialect: 0.19+ fentry:, 0.21+ args.x (default: the
                           current syntax, with a comment on the older one; no program
                           is run to find out)
  --json                   [{name, copies, kfunc, args, attach, reasons, snippets}]

For the running kernel (the defaults) the live tracefs/debugfs files and
/proc/config.gz are read when readable; with another kernel's files only what is given.
Each verdict is true, false or "unknown", and every false or unknown says why.
Exit status: 0 every NAME is a function ksym knows (in kallsyms or BTF), 1 one is not
(a function inlined everywhere is not one: with --vmlinux the report names its
callers, the places to attach instead), 2 unusable input.`;

class TraceUsageError extends Error {}

function readText(f: string): string {
  const g = readGuardedSync(f, { maxBytes: 64 << 20, pseudo: true, what: 'text file' });
  const b = Buffer.from(g.buffer, g.byteOffset, g.byteLength);
  if (f.endsWith('.gz'))
    return (require('node:zlib') as typeof import('node:zlib')).gunzipSync(b, { maxOutputLength: 64 << 20 }).toString('latin1');
  return b.toString('latin1');
}

export function cmdTrace(argv: string[]): Promise<number> {
  return withUsage(
    'trace',
    TRACE_USAGE,
    (e) => e instanceof TraceUsageError,
    () => run(argv),
  );
}

function hex(a: bigint): string {
  return a.toString(16).padStart(16, '0');
}

/** The issue's JSON shape, exactly. */
export function traceJson(r: TraceReport): object {
  return {
    name: r.name,
    copies: r.copies.map((c) => ({ address: hex(c.address), module: c.module ?? null, type: c.type, byName: c.byName })),
    kfunc: r.kfunc,
    ...(r.kfuncFlags ? { kfuncFlags: r.kfuncFlags } : {}),
    ...(r.kfuncSets ? { kfuncSets: r.kfuncSets } : {}),
    args: r.args.map((a) => ({ name: a.name, type: a.type })),
    attach: r.attach,
    reasons: r.reasons.map((x) => ({ attach: x.attach, reason: x.reason })),
    snippets: r.snippets,
  };
}

function text(r: TraceReport): string {
  const lines: string[] = [`${r.name}${r.kfunc ? ' (kfunc' + (r.kfuncFlags?.length ? `: ${r.kfuncFlags.join(' | ')}` : '') + ')' : ''}`];
  for (const k of ATTACH_KINDS) lines.push(`  ${k.padEnd(9)} ${r.attach[k] === 'unknown' ? 'unknown' : r.attach[k] ? 'yes' : 'no'}`);
  for (const x of r.reasons) lines.push(`    ${x.attach}: ${x.reason}`);
  if (r.args.length || r.ret) {
    lines.push('  args:');
    for (const a of r.args) lines.push(`    ${a.decl}`);
    if (r.ret) lines.push(`    ${r.ret.decl}`);
  }
  for (const c of r.copies)
    lines.push(`  copy ${hex(c.address)} ${c.type} ${c.name}${c.module ? ` [${c.module}]` : ''}${c.byName ? '  <- by name' : ''}`);
  for (const c of r.variants) lines.push(`  variant ${hex(c.address)} ${c.type} ${c.name}${c.module ? ` [${c.module}]` : ''}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.snippets.bpftrace) lines.push('', r.snippets.bpftrace.trimEnd(), '', r.snippets.libbpf.trimEnd());
  return lines.join('\n') + '\n';
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseTraceArgs(argv);
  if (values.help) {
    process.stdout.write(TRACE_USAGE + '\n');
    return 0;
  }
  if (positionals.length === 0) throw new TraceUsageError('no NAME given');
  // --vmlinux: its .BTF_ids kfunc sets hold ids of its own .BTF, so that BTF serves, and any other
  // file given must be of the same kernel
  let elfKfuncs: ReturnType<typeof readVmlinuxKfuncs> | undefined;
  let elfSrc: ReturnType<typeof fileSource> | undefined;
  let elf: ElfView | undefined;
  if (values.vmlinux !== undefined) {
    try {
      elfSrc = fileSource(values.vmlinux);
      elf = new ElfView(elfSrc);
      elfKfuncs = readVmlinuxKfuncs(elf);
    } catch (e) {
      elfSrc?.close?.();
      process.stderr.write(`ksym: --vmlinux ${values.vmlinux}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  try {
    return await report(values, positionals, elfKfuncs, elf);
  } finally {
    elfSrc?.close?.();
  }
}

type TraceValues = ReturnType<typeof parseTraceArgs>['values'];

function parseTraceArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...SOURCE_OPTIONS,
      btf: { type: 'string' },
      vmlinux: { type: 'string' },
      'filter-functions': { type: 'string' },
      'kprobe-blacklist': { type: 'string' },
      'error-injection': { type: 'string' },
      config: { type: 'string' },
      'bpftrace-version': { type: 'string' },
    },
  });
}

async function report(
  values: TraceValues,
  positionals: string[],
  elfKfuncs: ReturnType<typeof readVmlinuxKfuncs> | undefined,
  elf?: ElfView,
): Promise<number> {
  const files = values.kallsyms?.length ? values.kallsyms : [DEFAULT_KALLSYMS];
  const live = files.length === 1 && files[0] === DEFAULT_KALLSYMS && (values.btf === undefined || values.btf === DEFAULT_BTF);
  if (elfKfuncs?.btf && live) {
    // the running kernel's files serve only when the vmlinux is the running kernel's
    const running = readable(DEFAULT_BTF) ? await loadBtfFile(DEFAULT_BTF) : undefined;
    if (!running?.ok || !sameBtf(running.btf, elfKfuncs.btf)) {
      process.stderr.write(
        `ksym: --vmlinux ${values.vmlinux} is not the running kernel (its .BTF differs from ${DEFAULT_BTF}); give that kernel's System.map with --kallsyms\n`,
      );
      return 2;
    }
  }
  const loaded = await loadIndex(files.map((file) => ({ file, kind: sourceKind(file) })));
  for (const w of loaded.warnings) process.stderr.write(`ksym: warning: ${w}\n`);
  if (!loaded.index) {
    process.stderr.write(loaded.errors.map((e) => `ksym: ${e}`).join('\n') + '\n');
    return 2;
  }
  for (const e of loaded.errors) process.stderr.write(`ksym: ${e}\n`);

  const b = await loadBtfFor(loaded.index, values.kallsyms, values.btf);
  if (b.fatal) {
    process.stderr.write(`ksym: ${b.fatal}\n`);
    return 2;
  }
  let btf: Btf | undefined = b.btf;
  let btfProblem: string | undefined = b.problem;
  if (elfKfuncs?.btf) {
    if (values.btf !== undefined && btf && !sameBtf(btf, elfKfuncs.btf)) {
      process.stderr.write(`ksym: --btf ${values.btf} and --vmlinux ${values.vmlinux} are of different kernels (their BTF differs)\n`);
      return 2;
    }
    btf = elfKfuncs.btf;
    btfProblem = undefined;
  }

  const facts: TraceFacts = live ? readTraceFacts() : {};
  if (elfKfuncs) {
    facts.kfuncSets = elfKfuncs.byName;
    facts.release ??= elfKfuncs.release;
  }
  if (elf) {
    const seen = new Map<string, string[] | undefined>();
    facts.inlineCallers = (name) => {
      if (!seen.has(name)) {
        try {
          const r = inlinedInto(elf, name);
          seen.set(name, r.callers.length ? [...r.callers.map((c) => c.caller), ...(r.complete ? [] : [`… (${r.note})`])] : undefined);
        } catch (e) {
          process.stderr.write(`ksym: --vmlinux ${values.vmlinux}: DWARF: ${(e as Error).message}\n`);
          seen.set(name, undefined);
        }
      }
      return seen.get(name);
    };
  }
  const given = (opt: string | undefined, set: (t: string) => void, label: string) => {
    if (opt === undefined) return;
    try {
      set(readText(opt));
    } catch (e) {
      throw new TraceUsageError(`${label} ${opt}: ${(e as Error).message}`);
    }
  };
  given(
    values['filter-functions'],
    (t) => ((facts.availableFilterFunctions = t), (facts.availableFilterFunctionsProblem = undefined)),
    '--filter-functions',
  );
  given(values['kprobe-blacklist'], (t) => ((facts.kprobeBlacklist = t), (facts.kprobeBlacklistProblem = undefined)), '--kprobe-blacklist');
  given(values['error-injection'], (t) => ((facts.errorInjectionList = t), (facts.errorInjectionProblem = undefined)), '--error-injection');
  given(values.config, (t) => (facts.config = t), '--config');
  if (!live) {
    facts.availableFilterFunctionsProblem ??= 'not given for this kernel (--filter-functions)';
    facts.kprobeBlacklistProblem ??= 'not given for this kernel (--kprobe-blacklist)';
    facts.errorInjectionProblem ??= 'not given for this kernel (--error-injection)';
  }
  const bpftraceVersion = values['bpftrace-version'];

  const reports = positionals.map((name) => traceFunction({ name, btf, btfProblem, index: loaded.index, facts, bpftraceVersion }));
  if (values.json) writeStdout(JSON.stringify(reports.map(traceJson), null, 2) + '\n');
  else writeStdout(reports.map(text).join('\n'));
  return reports.every((r) => r.btfId !== undefined || r.copies.length > 0) ? 0 : 1;
}
