/**
 * Resolution of log tokens against the index: frames by name (narrowed by module and
 * size), raw addresses as %pS or %pB, KASLR shifts. Pure: no LSP, no I/O.
 */
import { AddressToken, FrameToken, frameText } from './scan';
import { Resolution, SymbolIndex, SymbolInfo } from '../kallsyms/symbolIndex';
import { normalizeModuleName as normModule } from '../modules/names';

export interface FrameResolution {
  /** Every symbol the frame may name, after narrowing (in kallsyms order). */
  candidates: SymbolInfo[];
  /** All symbols of that name before narrowing by module and size. */
  sameName: SymbolInfo[];
  /** The frame's address when exactly one candidate is left. */
  address?: bigint;
  /** What the kernel prints for that address with this index (same %pS/%pB mode as the log). */
  kernel?: Resolution;
  /** The kernel form equals the frame as printed in the log. */
  matchesLog?: boolean;
  /** Why it could not be resolved, when it could not. */
  problem?: string;
}

/** Kernel form of a frame with an offset as the log printed it, as the index prints it (no build id). */
function printedForm(f: FrameToken): string {
  return frameText(f, { buildId: false });
}

/** Symbols named by a frame: exact name, then (ppc64 ELFv1) the name without its leading dot. */
function symbolsNamed(index: SymbolIndex, name: string): number[] {
  let ids = index.byNameAll(name);
  if (ids.length === 0 && name.startsWith('.') && name.length > 1) ids = index.byNameAll(name.slice(1));
  return ids;
}

/**
 * Which index claims an absence: " of /proc/kallsyms", " of a, b and 3 more" (a frame the
 * served symbols lack may be in files they do not include: another kernel's, an unread one).
 */
function ofSources(index: SymbolIndex): string {
  const files = index.sources.map((s) => s.file);
  if (files.length === 0) return '';
  return ` of ${files.slice(0, 2).join(', ')}${files.length > 2 ? ` and ${files.length - 2} more` : ''}`;
}

/**
 * Resolve `name+0xoff/0xsize [mod]`: every symbol of that name, narrowed to the
 * module (no module: vmlinux and pseudo modules), then to the printed size.
 */
export function resolveFrame(index: SymbolIndex, f: FrameToken): FrameResolution {
  const ids = symbolsNamed(index, f.name);
  const sameName = ids.map((i) => index.info(i));
  if (ids.length === 0) return { candidates: [], sameName, problem: `no symbol named ${f.name} in the index${ofSources(index)}` };
  let narrowed = ids.filter((i) => {
    const m = index.moduleOf(i);
    if (f.module) return m !== undefined && normModule(m) === normModule(f.module);
    return index.moduleKinds[index.mod[i]] !== 'module';
  });
  if (narrowed.length === 0) {
    const where = f.module ? `module ${f.module}` : 'vmlinux';
    return {
      candidates: [],
      sameName,
      problem: `${f.name} is not in ${where} in this index (found in: ${[...new Set(sameName.map((s) => s.module ?? 'vmlinux'))].join(', ')})`,
    };
  }
  if (narrowed.length > 1 && f.size !== undefined) {
    const bySize = narrowed.filter((i) => index.size[i] === f.size);
    if (bySize.length > 0) narrowed = bySize;
  }
  const candidates = narrowed.map((i) => index.info(i));
  if (narrowed.length !== 1)
    return { candidates, sameName, problem: `${narrowed.length} symbols named ${f.name} match; the frame is ambiguous` };
  if (f.offset === undefined) return { candidates, sameName, address: candidates[0].address };
  const address = candidates[0].address + BigInt(f.offset);
  const printed = printedForm(f);
  const kernel = kernelFormFor(index, address, f.role === 'trace', printed);
  return { candidates, sameName, address, kernel, matchesLog: kernel?.text === printed };
}

/**
 * What the kernel prints for `address`: %pB for stack entries, %pS otherwise. When the
 * log shows the form for that address (`printed`), the mode that reproduces it wins:
 * some architectures and old kernels print stack entries with %pS.
 */
export function kernelFormFor(index: SymbolIndex, address: bigint, returnAddress: boolean, printed?: string): Resolution | undefined {
  const first = index.resolve(address, returnAddress);
  if (printed === undefined || first?.text === printed) return first;
  const other = index.resolve(address, !returnAddress);
  if (other && other.text === printed) return other;
  return first;
}

export interface AddressResolution {
  /** The address looked up (after the KASLR shift). */
  address: bigint;
  kernel?: Resolution;
  /** The frame printed next to it in the log, when there is one. */
  printed?: string;
  matchesLog?: boolean;
  /** Which shift was subtracted (with a ShiftMap), and why none was. */
  applied?: 'vmlinux' | 'module' | 'none';
  note?: string;
}

/**
 * Which shift a log address gets (core/kernels/kaslr.ts AddressShift): the vmlinux shift
 * only inside the kernel image, a module's own shift for a `[mod]` frame's address.
 */
export interface ShiftMap {
  toIndex(logAddress: bigint, module?: string): { address: bigint; applied: 'vmlinux' | 'module' | 'none'; note?: string };
}

/**
 * Resolve a log address. `shift`: an AddressShift (the module of `frame` decides), or a
 * constant subtracted from every address (only for callers that know no module address
 * can occur).
 */
export function resolveAddressToken(index: SymbolIndex, t: AddressToken, shift: bigint | ShiftMap, frame?: FrameToken): AddressResolution {
  const mask = t.digits <= 8 ? 0xffffffffn : 0xffffffffffffffffn;
  const to = typeof shift === 'bigint' ? undefined : shift.toIndex(t.address, frame?.module);
  const address = (to ? to.address : t.address - (shift as bigint)) & mask;
  const printed = frame && frame.offset !== undefined ? printedForm(frame) : undefined;
  const kernel = kernelFormFor(index, address, t.role === 'trace', printed);
  return {
    address,
    kernel,
    printed,
    matchesLog: printed !== undefined && kernel !== undefined ? kernel.text === printed : undefined,
    applied: to?.applied,
    note: to?.note,
  };
}
