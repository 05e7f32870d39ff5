/**
 * The SymbolLookup (kaslr.ts) over a kallsyms/System.map SymbolIndex. Pure. Kept apart
 * so that the KASLR code depends on a four-function interface, not on the index.
 */
import type { SymbolIndex } from '../kallsyms/symbolIndex';
import type { SymbolLookup } from './kaslr';

const UNKNOWN_SIZE = 0xffffffff;

export function lookupFromIndex(index: SymbolIndex): SymbolLookup {
  const at = (i: number) => ({ address: index.addressOf(i), size: index.size[i] === UNKNOWN_SIZE ? undefined : index.size[i] });
  const first = (name: string): bigint | undefined => {
    const i = index.byNameAll(name).find((k) => index.mod[k] === 0);
    return i === undefined ? undefined : index.addressOf(i);
  };
  let range: { start: bigint; end: bigint } | undefined | null = null;
  return {
    vmlinux: (name) =>
      index
        .byNameAll(name)
        .filter((i) => index.mod[i] === 0)
        .map(at),
    module: (module, name) => {
      const want = module.replace(/-/g, '_');
      return index
        .byNameAll(name)
        .filter((i) => index.mod[i] !== 0 && index.modules[index.mod[i]].replace(/-/g, '_') === want)
        .map(at);
    },
    textStart: () => first('_text') ?? first('_stext'),
    moduleRange: (module) => {
      const want = module.replace(/-/g, '_');
      let start: bigint | undefined;
      let end: bigint | undefined;
      for (let i = 0; i < index.count; i++) {
        const m = index.mod[i];
        if (m === 0 || index.moduleKinds[m] !== 'module' || index.modules[m].replace(/-/g, '_') !== want) continue;
        const a = index.addressOf(i);
        const e = a + BigInt(index.size[i] === UNKNOWN_SIZE ? 1 : Math.max(1, index.size[i]));
        if (start === undefined || a < start) start = a;
        if (end === undefined || e > end) end = e;
      }
      return start !== undefined && end !== undefined ? { start, end } : undefined;
    },
    imageRange: () => {
      if (range !== null) return range;
      const start = first('_text') ?? first('_stext');
      // _end (System.map); /proc/kallsyms has no _end: its highest vmlinux symbol + 1.
      let end = first('_end');
      if (end === undefined) {
        for (let i = index.count - 1; i >= 0; i--) {
          if (index.mod[i] === 0) {
            end = index.addressOf(i) + 1n;
            break;
          }
        }
      }
      range = start !== undefined && end !== undefined && end > start ? { start, end } : undefined;
      return range;
    },
  };
}
