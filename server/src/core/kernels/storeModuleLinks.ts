/**
 * Module debug files fetched from debuginfod are named `<cache>/<BUILDID>/debuginfo`; the
 * module store names modules by file name. A private directory of `<mod>.ko` symlinks to
 * the cached files gives them their names without copying (the cache stays gdb's/perf's).
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** A temporary directory with `<module>.ko` → `path` for each entry; `dispose()` removes it. */
export function linkModules(entries: ReadonlyArray<{ module: string; path: string }>, tmpRoot: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpRoot, 'ksym-debuginfod-'));
  for (const e of entries) {
    if (!/^[\w-]{1,64}$/.test(e.module)) continue; // a module name, nothing else becomes a path
    symlinkSync(e.path, join(dir, `${e.module.replace(/-/g, '_')}.ko`));
  }
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
