/**
 * Livepatch `.ko` files in the workspace: found with a bounded walk, checked with the
 * sympos rules. I/O is limited to reading directories and the candidate files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decompressModule } from '../core/decompress';
import { parseElf } from '../core/elf';
import { diagnoseKo, SymposDiagnostic, SymposOptions } from './diagnostics';

const MAX_ENTRIES = 20000;
const MAX_DEPTH = 8;
const SKIP = new Set(['node_modules', '.git', '.cache', 'dist']);

export async function findKoFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  let seen = 0;
  async function walk(dir: string, depth: number): Promise<void> {
    if (depth > MAX_DEPTH || seen > MAX_ENTRIES) return;
    let ents;
    try {
      ents = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (++seen > MAX_ENTRIES) return;
      if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.')) await walk(join(dir, e.name), depth + 1);
      else if (e.isFile() && /\.ko(\.(gz|xz|zst))?$/.test(e.name)) out.push(join(dir, e.name));
    }
  }
  await walk(root, 0);
  return out;
}

/** Diagnostics for one `.ko` when it is a livepatch module (modinfo `livepatch`); undefined otherwise. */
export async function checkLivepatchKo(file: string, opts: SymposOptions): Promise<SymposDiagnostic[] | undefined> {
  try {
    const bytes = await decompressModule(await readFile(file), file);
    const elf = parseElf(bytes, file);
    const isLivepatch = elf.modinfo().some(([k]) => k === 'livepatch') || elf.sections.some((s) => s.name.startsWith('.klp.rela.'));
    if (!isLivepatch) return undefined;
    return await diagnoseKo(elf, opts);
  } catch (e) {
    return [{ line: 0, column: 0, endLine: 0, endColumn: 0, severity: 'error', code: 'klp-unreadable', message: `${(e as Error).message}`, candidates: [], fixes: [] }];
  }
}
