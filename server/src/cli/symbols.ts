/** `ksym symbols`: a module's symbol table in symtab order, like readelf -sW plus what the kernel keeps. */
import { parseArgs } from 'node:util';
import { describeError } from '../core/common/errors';
import { readModuleBytes } from '../core/modules/read';
import { parseModule, type ModuleSymbols } from '../core/modules/symtab';
import { fail, help, UsageError } from './common';

export async function cmdSymbols(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      module: { type: 'string' },
      kept: { type: 'boolean' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return help('symbols');
  const file = values.module ?? positionals[0];
  if (!file) throw new UsageError('symbols: --module FILE.ko is required');
  if (values.kept && values.all) throw new UsageError('symbols: --kept and --all exclude each other');
  let mod: ModuleSymbols;
  try {
    mod = parseModule(await readModuleBytes(file), file);
  } catch (e) {
    fail(2, `ksym: ${describeError(file, e, 'a module (.ko)')}`);
  }
  const rows = mod.jsonRows({ keptOnly: !!values.kept });
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const kept = `${mod.keptCount} kept after load${mod.isLivepatch ? ' (livepatch: all kept)' : ''}`;
  process.stdout.write(`${file}: module ${mod.name}, ${mod.count} symbols, ${kept}\n`);
  process.stdout.write('   Num            Value     Size T Bind   Ndx       Kept Section              Name\n');
  for (const r of rows) {
    const cols = [
      String(r.index).padStart(6),
      r.value.toString(16).padStart(16, '0'),
      String(r.size).padStart(8),
      r.type,
      r.binding.padEnd(6),
      String(r.sectionIndex).padEnd(9),
      r.kept ? 'yes ' : 'no  ',
      r.section.padEnd(20),
      r.name,
    ];
    process.stdout.write(cols.join(' ') + '\n');
  }
  return 0;
}
