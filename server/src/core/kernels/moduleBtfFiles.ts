/**
 * The files a module's split BTF may be read from (never mix kernels): the module's files
 * not refused for another kernel (ModuleStore.usableFilesOf, vermagic against the store's
 * release). When the module has files and every one is refused, the lookup throws
 * ModuleFilesRefused with the store's refusal: the BTF result then says nothing more (the
 * refusal is said once, where the module is answered) and never "no such module file".
 */
import { ModuleFilesRefused, type ModuleFileLookup } from '../btf/store';
import type { ModuleStore } from '../modules/store';

export function usableModuleFiles(store: () => ModuleStore | undefined): ModuleFileLookup {
  return async (name) => {
    const s = store();
    if (!s) return [];
    const usable = await s.usableFilesOf(name);
    if (usable.length > 0) return usable;
    const files = new Set(s.filesOf(name));
    const refused = s.refusals().find((r) => files.has(r.file));
    if (refused) throw new ModuleFilesRefused(refused.message);
    return [];
  };
}
