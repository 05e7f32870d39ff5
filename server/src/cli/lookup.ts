/** `ksym lookup`: resolve addresses and name+0xoff/0xsize [mod] queries (the logic: core/log/lookup.ts). */
import { parseArgs } from 'node:util';
import { lookupInModule, lookupQuery, lookupSource, QueryError, type LookupEntry } from '../core/log/lookup';
import { sourceText, type SourceAnswer } from '../core/log/source';
import type { ModuleStore } from '../core/modules/store';
import { fail, help, SOURCE_OPTIONS, UsageError } from './common';
import { debugSetFor } from './loadDebug';
import { loadIndexOrExit, moduleStoreFor } from './loadIndex';
import { writeStdout } from './stdout';

/** A refusal (another kernel's module) while the symbols are the default /proc/kallsyms: worth a hint. */
function implicitRefusal(store: ModuleStore, error: string, kallsyms: string[] | undefined): boolean {
  return !kallsyms?.length && store.refusals().some((x) => x.message === error);
}

export async function cmdLookup(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...SOURCE_OPTIONS, vmlinux: { type: 'string' } },
  });
  if (values.help) return help('lookup');
  if (positionals.length === 0) throw new UsageError('lookup: no QUERY given');
  const index = await loadIndexOrExit(values.kallsyms, !!values.module?.length);
  let store: ModuleStore | undefined;
  if (values.module?.length) {
    // Checked (vermagic) against the kernel of the --kallsyms files: a query in another kernel's module says the refusal.
    store = moduleStoreFor(values.module, values.kallsyms, !values.kallsyms?.length && index.count === 0);
    const scan = await store.scan();
    for (const e of scan.errors) process.stderr.write(`ksym: ${e}\n`);
    if (scan.files === 0) fail(2, `ksym: no modules (.ko, .ko.gz, .ko.xz, .ko.zst) found in ${values.module.join(', ')}`);
    store.useKallsyms(index);
  }
  const entries: LookupEntry[] = [];
  for (const q of positionals) {
    let e: LookupEntry;
    try {
      e = lookupQuery(index, q);
    } catch (err) {
      if (err instanceof QueryError) fail(2, `ksym: lookup: ${err.message}`);
      throw err;
    }
    if (store && e.name === null && e.candidates.length === 0) {
      const m = await lookupInModule(store, index, q);
      if (m && 'error' in m)
        process.stderr.write(
          `ksym: ${m.error}${implicitRefusal(store, m.error, values.kallsyms) ? " (the symbols are the running kernel's /proc/kallsyms: give --kallsyms with the module's own kernel's System.map)" : ''}\n`,
        );
      else if (m) e = m.entry;
    }
    entries.push(e);
    // The printed size is the kernel's own (distance to the next symbol): another size, another build.
    if (e.sizeMatches === false)
      process.stderr.write(
        `ksym: ${e.query}: the printed size 0x${e.printedSize!.toString(16)} is not ${e.name}'s size in this index ` +
          `(0x${e.size!.toString(16)}): the frame comes from another build of ${e.module ?? 'the kernel'}; the answer may be wrong\n`,
      );
  }
  // Source lines (issue 15 §4): with --vmlinux/--module, or a vmlinux found for the running kernel.
  const debug = debugSetFor(index, { kallsyms: values.kallsyms, vmlinux: values.vmlinux, modules: values.module });
  const wantSource = !!values.vmlinux || !!values.module?.length || !!debug.vmlinuxStatus().reader;
  const sources: (SourceAnswer | undefined)[] = [];
  for (const e of entries) sources.push(wantSource ? await lookupSource(e, debug, store) : undefined);
  debug.close();
  if (values.json) {
    const rows = entries.map(({ text: _t, ...e }, i) => ({
      ...e,
      candidates: e.candidates.map(({ text: _c, ...c }) => c),
      ...(sources[i] ?? {}),
    }));
    writeStdout(JSON.stringify(rows, null, 2) + '\n');
  } else {
    const where = (e: LookupEntry) =>
      e.address ?? (e.section !== undefined ? `${e.section}+0x${(e.sectionOffset ?? 0).toString(16)}` : e.query);
    // One write: standard output through write(2) (stdout.ts); the notes on standard error after it.
    const out: string[] = [];
    const notes: string[] = [];
    entries.forEach((e, i) => {
      const st = sources[i] && sourceText(sources[i]!.source);
      const src = st ? ` ${st.at}${st.inlined.map((l) => `\n    ${l}`).join('')}` : '';
      if (e.name !== null) out.push(`${where(e)} ${e.text ?? `${e.name}+0x${(e.offset ?? 0).toString(16)}`}${src}\n`);
      else if (e.candidates.length > 1) {
        const list = e.candidates.map((c) => `${where(c)} ${c.text ?? c.name}`).join(', ');
        out.push(`${e.query}: ambiguous, ${e.candidates.length} candidates: ${list}\n`);
      } else out.push(`${e.address ?? e.query} ?\n`);
      if (e.name !== null && !st && sources[i]?.sourceProblem)
        notes.push(`ksym: ${e.query}: no source line: ${sources[i]!.sourceProblem}\n`);
    });
    writeStdout(out.join(''));
    for (const n of notes) process.stderr.write(n);
  }
  return entries.every((e) => e.name !== null) ? 0 : 1;
}
