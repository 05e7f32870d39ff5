/**
 * Tracing facts from the opened vmlinux debug file (ksym.vmlinux, verified against the
 * kernel by lsp/sourceLines.ts): the `.BTF_ids` kfunc sets and flags. Read once per opened
 * file; served only when the served BTF is that file's own `.BTF` (the set ids are its ids).
 * Never throws.
 */
import type { Btf } from '../../core/btf';
import type { ElfView } from '../../core/dwarf/elf';
import { readVmlinuxKfuncs, sameBtf } from '../../core/trace/btfIds';
import type { TraceFacts } from '../../core/trace/rules';

const read = new WeakMap<ElfView, ReturnType<typeof readVmlinuxKfuncs> | undefined>();
const same = new WeakMap<ElfView, WeakMap<Btf, boolean>>();

export function vmlinuxTraceFacts(elf: ElfView | undefined, btf: Btf | undefined): TraceFacts | undefined {
  if (!elf || !btf) return undefined;
  try {
    if (!read.has(elf)) {
      let k: ReturnType<typeof readVmlinuxKfuncs> | undefined;
      try {
        k = readVmlinuxKfuncs(elf);
      } catch {
        k = undefined; // a stripped or malformed file: no kfunc facts
      }
      read.set(elf, k);
    }
    const k = read.get(elf);
    if (!k?.btf) return undefined;
    let m = same.get(elf);
    if (!m) same.set(elf, (m = new WeakMap()));
    if (!m.has(btf)) m.set(btf, sameBtf(k.btf, btf));
    return m.get(btf) ? { kfuncSets: k.byName, release: k.release } : undefined;
  } catch {
    return undefined;
  }
}
