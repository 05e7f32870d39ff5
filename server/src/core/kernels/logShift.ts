/**
 * The AddressShift of one log against one symbol index, for the LSP and the CLI: the
 * `Kernel Offset:` line (cross-checked with the frames), else the shift inferred from
 * frame/address pairs, else a configured offset (`ksym.kaslrOffset`, `--kaslr-offset`)
 * used as given. Module shifts as learned from the log's `[mod]` frames. Pure.
 *
 * Every log address then goes through `AddressShift.toIndex`: the vmlinux shift only
 * inside the kernel image, never on a module address.
 */
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import type { KaslrFact } from './identity';
import { lookupFromIndex } from './indexLookup';
import { AddressShift, addressShift, framePairs, inferKaslr, moduleRanges } from './kaslr';

export interface LogShift {
  shift: AddressShift;
  /** Why the shift is unknown or doubtful: one short sentence each (raw text). */
  problems: string[];
}

export function logShift(text: string, index: SymbolIndex, kaslr: KaslrFact | undefined, configured?: bigint): LogShift {
  const lookup = lookupFromIndex(index);
  const inference = inferKaslr(framePairs(text), lookup);
  const r = addressShift(kaslr, inference, lookup);
  if (r.shift.vmlinuxShift !== undefined || configured === undefined) return r;
  // Nothing in the log: the configured offset, used as given (module shifts stay as learned).
  const mods = new Map<string, bigint>();
  for (const [m, f] of inference.modules) if (f.learned) mods.set(m, f.learned.shift);
  return { shift: new AddressShift(configured, lookup.imageRange(), mods, undefined, moduleRanges(mods, lookup)), problems: [] };
}

/** No shift at all (an index read with no log, a kallsyms document). */
export const NO_SHIFT = new AddressShift(0n, undefined);
