/** `ksym decode`: a kernel log annotated with resolved symbols (the logic: core/log/decode.ts). */
import { readFdBounded, readGuardedSync, type GuardOptions } from '../core/common/readGuarded';
import { parseArgs } from 'node:util';
import { parseHexAddr } from '../core/common/addr';
import { describeError } from '../core/common/errors';
import { decodeText } from '../core/log/decode';
import { fail, help, UsageError } from './common';
import { loadIndexOrExit } from './loadIndex';

/** Largest log decoded (a day of a busy dmesg is a few MiB). */
const MAX_LOG_BYTES = 256 << 20;

export async function cmdDecode(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { kallsyms: { type: 'string', multiple: true }, 'kaslr-offset': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return help('decode');
  if (positionals.length > 1) throw new UsageError('decode: give at most one FILE');
  const file = positionals[0] ?? '-';
  let input: string;
  try {
    const opts: GuardOptions = { maxBytes: MAX_LOG_BYTES, what: 'kernel log' };
    const bytes = file === '-' ? readFdBounded(0, '<stdin>', opts) : readGuardedSync(file, { ...opts, pseudo: true });
    input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  } catch (e) {
    fail(2, `ksym: ${describeError(file, e, 'a kernel log')}`);
  }
  let shift: bigint | undefined;
  if (values['kaslr-offset'] !== undefined) {
    shift = parseHexAddr(values['kaslr-offset']);
    if (shift === undefined) throw new UsageError(`--kaslr-offset: '${values['kaslr-offset']}' is not hex`);
  }
  const index = await loadIndexOrExit(values.kallsyms);
  process.stdout.write(decodeText(index, input, shift) + (input.endsWith('\n') ? '' : '\n'));
  return 0;
}
