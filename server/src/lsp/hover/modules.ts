/**
 * Hover sections for module frames and addresses resolved from `.ko` files (the
 * module store). Never throws: every failure becomes a line of markdown.
 */
import type { FrameToken } from '../../core/log/scan';
import type { FrameCandidate, ModuleStore, SymbolPlacement } from '../../core/modules/store';
import { code, hex, text } from '../markdown';

/**
 * The size a row shows: the kernel's (the distance to the next symbol, what a frame's
 * `/0xsize` prints) for a candidate, with ELF `st_size` named where it differs; a row of
 * the same-name list has only `st_size`, and says so.
 */
function sizeCell(p: SymbolPlacement | FrameCandidate): string {
  if (!('kernelSize' in p)) return code(hex(p.size));
  return p.kernelSize === p.size ? code(hex(p.kernelSize)) : `${code(hex(p.kernelSize))} (st_size ${code(hex(p.size))})`;
}

function placementRow(p: SymbolPlacement | FrameCandidate, extra = ''): string {
  const pos = p.kept ? `${p.keptPosition}` : `— (init only; ${p.initPosition} before init)`;
  return `| ${p.index} | ${code(p.section || '?')} | ${code(hex(p.value))} | ${sizeCell(p)} | ${p.binding} | ${code(p.type)} | ${pos} |${extra}`;
}

/** What a build id check adds to the module line. */
function buildIdMark(match: boolean | undefined): string {
  return match === false ? ' ⚠ does not match the log' : match ? ' ✓' : '';
}

const DIFFERS = '⚠ differs from the log: the module file is probably not the one that was loaded';

/** What the user can do when a module's `.ko` is not found: point ksym.modules at it. */
export function setModulesHint(module: string): string {
  if (!/^[\w-]{1,64}$/.test(module)) return ''; // not a module name: nothing to point at
  return `To see its symbol table, add the directory holding ${code(`${module}.ko`)} to ${code('ksym.modules')}.`;
}

/** Candidates: the kernel's size; the same-name list: ELF st_size. */
const head = (size: string) => `| symtab # | section | value | ${size} | binding | type | position |\n|---|---|---|---|---|---|---|`;
const HEAD = head('size');
const ST_HEAD = head('st_size');

/** Markdown for a `func+0xoff/0xsize [mod]` frame resolved in the module's `.ko`. */
export async function moduleFrameMarkdown(store: ModuleStore, frame: FrameToken, primary: boolean): Promise<string | undefined> {
  try {
    if (!frame.module) return undefined;
    await store.scan();
    if (!store.has(frame.module) && !primary) return undefined;
    const r = await store.resolveModuleFrame(frame);
    if (!r.ok) {
      const fix = r.notFound && setModulesHint(r.module ?? frame.module) ? ` ${setModulesHint(r.module ?? frame.module)}` : '';
      return primary ? `${code(r.frameText)}: ${text(r.error)}.${fix}` : `module file: ${text(r.error)}.${fix}`;
    }
    const out: string[] = [];
    const title = primary ? '' : '**Module file** ';
    out.push(
      `${title}${code(r.module)} from ${code(r.file)}${r.buildId ? ` (build id ${code(r.buildId)}${buildIdMark(r.buildIdMatch)})` : ''}`,
    );
    const chosen: FrameCandidate | undefined = r.candidates.length === 1 ? r.candidates[0] : undefined;
    if (chosen?.printed) {
      const where =
        chosen.address !== undefined
          ? ` at ${code(chosen.address.toString(16))}`
          : ` (${code(`${chosen.section}+${hex(chosen.value + (frame.offset ?? 0))}`)})`;
      out.push(
        `kernel form${where}: **${code(chosen.printed.text)}** ${chosen.printedMatches ? '✓ matches the log' : DIFFERS}` +
          (chosen.basis === 'section' ? ' (size to the next symbol in the section; load addresses unknown)' : ''),
      );
    }
    if (r.candidates.length > 1)
      out.push(
        `${r.candidates.length} symbols named ${code(frame.name)} match${r.narrowedBySize ? ' even after narrowing by size' : ''}: the frame is ambiguous`,
      );
    out.push(`${HEAD}\n${r.candidates.map((c) => placementRow(c)).join('\n')}`);
    const others = r.sameName.filter((s) => !r.candidates.some((c) => c.index === s.index));
    if (others.length > 0)
      out.push(
        `Every ${code(frame.name)} in ${code(r.module)} (${r.sameName.length}):\n\n${ST_HEAD}\n${r.sameName
          .slice(0, 40)
          .map((s) => placementRow(s))
          .join('\n')}`,
      );
    for (const m of [...r.messages, ...r.warnings]) out.push(`⚠ ${text(m)}`);
    return out.join('\n\n');
  } catch (e) {
    return `module file: internal error: ${text(String(e))}`;
  }
}

/** Markdown for a runtime address inside a module whose load addresses are known. */
export async function moduleAddressMarkdown(store: ModuleStore, address: bigint, returnAddress: boolean): Promise<string | undefined> {
  try {
    const r = await store.resolveAddress(address, { returnAddress });
    if (!r.ok) return undefined;
    return (
      `${code(address.toString(16))} → **${code(r.print.text)}** ` +
      `(${returnAddress ? '%pB, return address' : '%pS'})\n\nfrom ${code(r.file)}: section ` +
      `${code(r.section)} + ${code(hex(r.sectionOffset))}, symbol #${r.symbol.index} ` +
      `${code(r.symbol.name)} at ${code(r.symbol.section)}+${code(hex(r.symbol.value))}`
    );
  } catch {
    return undefined;
  }
}
