/**
 * `ksym search`: the workspace symbol ranking on the command line (wired into cli.ts).
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SOURCE_OPTIONS, withUsage } from './common';
import { kernelOfFiles, loadBtfFor } from './loadIndex';
import { hexAddr } from '../core/common/addr';
import type { Btf } from '../core/btf';
import type { ModuleSymbols } from '../core/modules/symtab';
import { MATCH_NAMES, search } from '../core/search/ranking';
import { kfuncQuery, searchKfuncs } from '../core/search/kfuncs';
import { searchSources } from '../core/search/sources';
import { DEFAULT_BTF } from '../core/btf/read';
import { loadIndex, type SourceSpec } from '../core/kallsyms/load';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { sourceKind } from '../core/kallsyms/parse';
import { ModuleStore } from '../core/modules/store';

const SEARCH_USAGE = `Usage: ksym search [--kallsyms FILE]... [--module FILE|DIR]... [--btf FILE] [--kfuncs] [--json] [--limit N] QUERY

Searches every symbol of the kallsyms/System.map sources (default /proc/kallsyms),
the BTF types and functions (default ${DEFAULT_BTF} when the symbols are the running kernel's) and the
symbols of the given module files, with the editor's Go to Symbol ranking:
exact name, then its compiler-suffixed and __pfx_ variants, prefix, word-start
('tvr' finds tcp_v4_rcv), substring; ties: text before data, vmlinux before
modules, shorter names first. 'struct X' / 'union X' / 'enum X' search BTF types only.
An all-lowercase QUERY matches case-insensitively.

  --kallsyms FILE   kallsyms text or System.map (repeatable)
  --module PATH     a .ko (plain, .gz, .xz, .zst) or a directory of modules (repeatable)
  --btf FILE        raw BTF or an ELF with a .BTF section; --btf none: no BTF
  --limit N         at most N results (default 50)
  --kfuncs          kfuncs only (BTF FUNCs tagged bpf_kfunc); same as a 'kfunc:' QUERY prefix
  --json            [{name, kind, container, address, detail}] in rank order

Output: one line per result: address (or '-'), kind, name, container, match class.
Exit status: 0 results found, 1 none, 2 unusable input.`;

class SearchUsageError extends Error {}

/** Per-module warnings printed for a directory before they are only counted. */
const MAX_WARNINGS = 10;

export function cmdSearch(argv: string[]): Promise<number> {
  return withUsage(
    'search',
    SEARCH_USAGE,
    (e) => e instanceof SearchUsageError,
    () => run(argv),
  );
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...SOURCE_OPTIONS,
      btf: { type: 'string' },
      limit: { type: 'string' },
      kfuncs: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(SEARCH_USAGE + '\n');
    return 0;
  }
  if (positionals.length === 0 && !values.kfuncs) throw new SearchUsageError('no QUERY given');
  const kq = kfuncQuery(positionals.join(' '));
  const query = kq.query;
  const onlyKfuncs = kq.kfuncs || values.kfuncs === true;
  let limit = 50;
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1)
      throw new SearchUsageError(`--limit: '${values.limit}' is not a positive number`);
    limit = Number(values.limit);
  }
  const files = values.kallsyms?.length ? values.kallsyms : [DEFAULT_KALLSYMS];
  const specs: SourceSpec[] = files.map((file) => ({ file, kind: sourceKind(file) }));
  const loaded = await loadIndex(specs);
  for (const w of loaded.warnings) process.stderr.write(`ksym: warning: ${w}\n`);
  if (!loaded.index) {
    process.stderr.write(loaded.errors.map((e) => `ksym: ${e}`).join('\n') + '\n');
    return 2;
  }
  for (const e of loaded.errors) process.stderr.write(`ksym: ${e}\n`);
  const index = loaded.index;

  const b = await loadBtfFor(index, values.kallsyms, values.btf);
  if (b.fatal) {
    process.stderr.write(`ksym: ${b.fatal}\n`);
    return 2;
  }
  const btf: Btf | undefined = b.btf;
  if (b.problem && b.problem !== '--btf none' && !b.problem.endsWith('is not readable'))
    process.stderr.write(`ksym: note: BTF types not searched: ${b.problem}\n`);

  const modules: { module: ModuleSymbols; file?: string }[] = [];
  const kernel = values.module?.length ? kernelOfFiles(values.kallsyms) : undefined;
  for (const p of values.module ?? []) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      process.stderr.write(`ksym: ${p}: no such file\n`);
      return 2;
    }
    // Module files of another kernel than the symbols' (vermagic) are refused, never searched.
    const store = new ModuleStore([p], { maxModules: 100000, maxBytes: Number.MAX_SAFE_INTEGER, release: kernel?.release });
    if (isDir) {
      const scan = await store.scan();
      for (const e of scan.errors) process.stderr.write(`ksym: ${e}\n`);
      if (scan.smallSummary) process.stderr.write(`ksym: warning: ${p}: ${scan.smallSummary}\n`);
      // A directory of broken files is summarised: the first few warnings, then a count.
      let unreadable = 0;
      for (const name of store.names()) {
        const r = await store.load(name);
        if (r.ok) modules.push({ module: r.module, file: r.file });
        else if (++unreadable <= MAX_WARNINGS) process.stderr.write(`ksym: warning: ${r.error}\n`);
      }
      if (unreadable > MAX_WARNINGS)
        process.stderr.write(
          `ksym: warning: ${unreadable - MAX_WARNINGS} more modules under ${p} could not be used (${unreadable} in all)\n`,
        );
    } else {
      const r = await store.loadFile(p);
      if (!r.ok) {
        process.stderr.write(`ksym: ${r.error}\n`);
        return 2;
      }
      modules.push({ module: r.module, file: r.file });
    }
  }

  const sources = searchSources({ index, btf, modules });
  const hits = onlyKfuncs ? searchKfuncs(sources, query, { cap: limit }) : search(sources, query, { cap: limit });
  const rows = hits.map((h) => {
    const a = h.source.address(h.id);
    return {
      name: h.name,
      kind: h.source.kind(h.id),
      container: h.source.container(h.id),
      address: a === undefined ? null : hexAddr(a, index.addressDigits),
      detail: h.source.detail(h.id),
      match: MATCH_NAMES[h.match],
    };
  });
  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        rows.map(({ match: _m, ...r }) => r),
        null,
        2,
      ) + '\n',
    );
  } else {
    const w = Math.max(1, ...rows.map((r) => (r.address ?? '-').length));
    for (const r of rows)
      process.stdout.write(`${(r.address ?? '-').padEnd(w)} ${r.kind.padEnd(8)} ${r.name}  ${r.container}  (${r.match}; ${r.detail})\n`);
  }
  return rows.length > 0 ? 0 : 1;
}
