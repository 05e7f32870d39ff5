/**
 * Paths as DWARF records them, normalised lexically (`/./`, `//`, `a/../`), and mapped
 * onto a kernel source tree: strip the unit's DW_AT_comp_dir (Debian: the relative
 * `debian/build/build_amd64_none_amd64`) or the absolute build prefix
 * (`/build/reproducible-path/linux-6.1.192/`), then normalise.
 */

/** Lexical normalisation: collapse `//` and `/./`, resolve `x/..` where x is a name; keep leading `..` of relative paths. */
export function normalizePath(p: string): string {
  if (p === '') return '';
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  return abs ? '/' + s : s || '.';
}

/** Join `b` onto `a` (b absolute → b), normalised. */
export function joinPath(a: string, b: string): string {
  if (b.startsWith('/') || a === '') return normalizePath(b);
  if (b === '') return normalizePath(a);
  return normalizePath(a + '/' + b);
}

/** Top-level directories of a Linux source tree (used to find the tree root in absolute paths). */
export const KERNEL_TOP_DIRS = new Set([
  'arch',
  'block',
  'certs',
  'crypto',
  'drivers',
  'fs',
  'include',
  'init',
  'io_uring',
  'ipc',
  'kernel',
  'lib',
  'mm',
  'net',
  'rust',
  'samples',
  'scripts',
  'security',
  'sound',
  'tools',
  'usr',
  'virt',
]);

/**
 * The path of `file` relative to the kernel source tree, or undefined when it cannot be
 * placed: under comp_dir → strip comp_dir; relative → as is; absolute → strip a given
 * build prefix, or everything before the first component that is a kernel top-level
 * directory and is followed by more components.
 */
export function treeRelative(file: string, compDir: string, buildPrefixes: readonly string[] = []): string | undefined {
  const f = normalizePath(file);
  const cd = compDir ? normalizePath(compDir) : '';
  if (cd && cd !== '.' && f.startsWith(cd + '/')) return f.slice(cd.length + 1);
  for (const p of buildPrefixes) {
    const q = normalizePath(p);
    if (f.startsWith(q + '/')) return f.slice(q.length + 1);
  }
  if (!f.startsWith('/')) return f.startsWith('../') ? undefined : f;
  const parts = f.slice(1).split('/');
  for (let i = 0; i + 1 < parts.length; i++) {
    if (!KERNEL_TOP_DIRS.has(parts[i])) continue;
    if (i === 0 && (parts[0] === 'usr' || parts[0] === 'lib')) continue; // /usr/include, /usr/lib/gcc: system files
    return parts.slice(i).join('/');
  }
  return undefined;
}
