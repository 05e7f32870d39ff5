/**
 * Module file and module name rules, in one place (kernel-symbols.md §3):
 *
 *  - a module file is `NAME.ko`, optionally compressed as the kernel installs it
 *    (CONFIG_MODULE_COMPRESS_GZIP/XZ/ZSTD: `.ko.gz`, `.ko.xz`, `.ko.zst`; `.ko.zstd`
 *    is accepted too). These are the formats decompress.ts reads.
 *  - a module's name is its file name without that suffix, with `-` as `_`: kbuild
 *    builds KBUILD_MODNAME with `$(subst -,_,...)` (scripts/Makefile.lib), and the
 *    kernel prints `[name]` with underscores.
 */

/** `*.ko` and its compressed forms. */
const MODULE_FILE = /\.ko(\.(gz|xz|zst|zstd))?$/;

export function isModuleFile(name: string): boolean {
  return MODULE_FILE.test(name);
}

/** A module name as the kernel spells it: `[kvm-intel]`, ` kvm-intel ` → `kvm_intel`. */
export function normalizeModuleName(name: string): string {
  return name
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/-/g, '_');
}

/** `/lib/modules/.../kvm-intel.ko.zst` → `kvm_intel`. */
export function moduleNameFromPath(path: string): string {
  return normalizeModuleName(path.replace(/^.*[\\/]/, '').replace(MODULE_FILE, ''));
}
