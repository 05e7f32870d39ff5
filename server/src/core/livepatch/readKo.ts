/**
 * Livepatch `.ko` files in the workspace: found with a bounded walk, checked with the
 * sympos rules. I/O is limited to reading directories and the candidate files.
 */
import { describeError } from '../common/errors';
import { parseElf } from '../modules/elf';
import { readModuleBytes, walkModuleTree } from '../modules/read';
import { diagnoseKo, SymposDiagnostic, SymposOptions } from './checks';

const MAX_ENTRIES = 20000;
const MAX_DEPTH = 8;
const SKIP = new Set(['node_modules', '.git', '.cache', 'dist']);

/** Module files under a workspace folder (hidden directories, node_modules and dist skipped). Never throws. */
export async function findKoFiles(root: string): Promise<string[]> {
  const w = await walkModuleTree(root, { maxDepth: MAX_DEPTH, maxEntries: MAX_ENTRIES, skipDir: (n) => SKIP.has(n) || n.startsWith('.') });
  return w.files;
}

/** Diagnostics for one `.ko` when it is a livepatch module (modinfo `livepatch`); undefined otherwise. */
export async function checkLivepatchKo(file: string, opts: SymposOptions): Promise<SymposDiagnostic[] | undefined> {
  try {
    const elf = parseElf(await readModuleBytes(file), file);
    const isLivepatch = elf.modinfo().some(([k]) => k === 'livepatch') || elf.sections.some((s) => s.name.startsWith('.klp.rela.'));
    if (!isLivepatch) return undefined;
    return await diagnoseKo(elf, opts);
  } catch (e) {
    const message = describeError(file, e, 'a module file');
    return [
      { line: 0, column: 0, endLine: 0, endColumn: 0, severity: 'error', code: 'klp-unreadable', message, candidates: [], fixes: [] },
    ];
  }
}
