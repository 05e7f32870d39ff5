/**
 * What both forms of `ksym decode` read from their arguments: the log (FILE, or standard
 * input for `-`, bounded and through the guarded reader: a FIFO or a device is refused, a
 * file over the bound is not read) and `--kaslr-offset`.
 */
import { parseHexAddr } from '../core/common/addr';
import { describeError } from '../core/common/errors';
import { readFdBounded, readGuardedSync, type GuardOptions } from '../core/common/readGuarded';
import { fail, UsageError } from './common';

/** The largest log `ksym decode` reads. */
const MAX_LOG_BYTES = 256 << 20;

/** The log's text (UTF-8); exits 2 naming the file and the reason when it cannot be read. */
export function readLogArg(file: string): string {
  try {
    const opts: GuardOptions = { maxBytes: MAX_LOG_BYTES, what: 'kernel log' };
    const bytes = file === '-' ? readFdBounded(0, '<stdin>', opts) : readGuardedSync(file, { ...opts, pseudo: true });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  } catch (e) {
    fail(2, `ksym: ${describeError(file, e, 'a kernel log')}`);
  }
}

/** `--kaslr-offset HEX`: the shift, undefined when not given; a UsageError when it is not hex. */
export function kaslrOffsetArg(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  const shift = parseHexAddr(value);
  if (shift === undefined) throw new UsageError(`--kaslr-offset: '${value}' is not hex`);
  return shift;
}
