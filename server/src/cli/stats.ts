/** `ksym stats`: statistics of a symbol table (text: core/kallsyms/stats.ts). */
import { parseArgs } from 'node:util';
import { indexStatsText } from '../core/kallsyms/stats';
import { help, UsageError } from './common';
import { loadIndexOrExit } from './loadIndex';
import { writeStdout } from './stdout';

export async function cmdStats(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { kallsyms: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return help('stats');
  if (positionals.length) throw new UsageError(`stats: unexpected argument ${positionals[0]}`);
  const index = await loadIndexOrExit(values.kallsyms);
  const st = index.stats();
  writeStdout(values.json ? JSON.stringify(st, null, 2) + '\n' : indexStatsText(st) + '\n');
  return 0;
}
