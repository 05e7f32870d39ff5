/**
 * Hover: what every data kind has to say about the token under the cursor, combined:
 * the kallsyms index (kallsyms.ts), module `.ko` files (modules.ts), BTF (btf.ts).
 * Livepatch references have their own hover (livepatch.ts). Never throws.
 */
import type { BtfStore } from '../../core/btf/store';
import type { SymbolIndex } from '../../core/kallsyms/symbolIndex';
import type { ModuleStore } from '../../core/modules/store';
import { functionPrototypeMarkdownAsync, typeLayoutMarkdown, typeWordAt } from './btf';
import type { TraceFacts } from '../../core/trace/rules';
import { bpfSymbolMarkdown, traceMarkdown } from './trace';
import { hover, type HoverAnswer, type HoverContext, type LineSource } from './kallsyms';
import { moduleAddressMarkdown, moduleFrameMarkdown } from './modules';

/**
 * The storage class of a function's prototype from its kallsyms type: `static` when every
 * text symbol of that name in the object is local (t), none when global (T, W); undefined
 * (left out) when they differ or the index does not have it. BTF's own FUNC linkage is not
 * used: many kernels' BTF records every function as static.
 */
export function linkageOf(index: SymbolIndex, name: string, module: string | undefined): 'static' | 'none' | undefined {
  let local = 0;
  let global = 0;
  for (const i of index.byNameAll(name)) {
    if (index.moduleOf(i) !== module) continue;
    const t = index.type[i];
    if (t === 0x74)
      local++; // t
    else if (t === 0x54 || t === 0x57 || t === 0x77) global++; // T, W, w
  }
  if (local > 0 && global === 0) return 'static';
  if (global > 0 && local === 0) return 'none';
  return undefined;
}

/**
 * Hover with module files: a `[mod]` frame also gets the module's `.ko` view (section,
 * binding, positions); when kallsyms cannot answer, the module store answers alone.
 */
export async function hoverWithModules(
  ctx: HoverContext,
  doc: LineSource,
  line: number,
  col: number,
  store: ModuleStore | undefined,
  btf?: BtfStore,
  trace?: TraceFacts,
): Promise<HoverAnswer | undefined> {
  let answer = hover(ctx, doc, line, col);
  const t = answer?.token;
  if (answer && store && t) {
    if (t.kind === 'frame' && t.module) {
      const md = await moduleFrameMarkdown(store, t, !answer.resolved);
      if (md) answer.markdown = answer.resolved ? `${answer.markdown}\n\n---\n\n${md}` : md;
    } else if (t.kind === 'address' && !answer.resolved) {
      const md = await moduleAddressMarkdown(store, t.address, t.role === 'trace');
      if (md) answer.markdown = md;
    }
  }
  if (!btf?.vmlinux) return answer;
  // BTF: the prototype of the function a frame or address names; the layout of a struct/union/enum/typedef word.
  try {
    let fn: { name: string; module?: string } | undefined;
    if (t?.kind === 'frame') fn = { name: t.name.replace(/^\./, ''), module: t.module };
    else if (t?.kind === 'address' && answer?.symbol) fn = answer.symbol;
    if (fn) {
      const proto = await functionPrototypeMarkdownAsync(btf, fn.name, fn.module, { linkage: linkageOf(ctx.index, fn.name, fn.module) });
      if (proto && answer) answer.markdown += `\n\n---\n\n${proto}`;
      const traced =
        fn.module === 'bpf'
          ? bpfSymbolMarkdown(fn.name, btf.vmlinux)
          : fn.module
            ? undefined
            : traceMarkdown(btf.vmlinux, ctx.index, fn.name, trace);
      if (traced && answer) answer.markdown += `\n\n---\n\n${traced}`;
      return answer;
    }
    const l = doc.line(line);
    const w = typeWordAt(l, col);
    if (w && (ctx.languageId !== 'c' || /^(struct|union|enum)\s/.test(w.word))) {
      const layout = typeLayoutMarkdown(btf, w.word, { plainAggregates: /^(struct|union|enum)\s/.test(w.word) });
      if (layout) {
        if (answer && answer.token === undefined && answer.start <= w.start && answer.end >= w.end)
          answer.markdown += `\n\n---\n\n${layout}`;
        else if (!answer || answer.token === undefined) answer = { markdown: layout, line, start: w.start, end: w.end };
      }
    }
  } catch {
    /* BTF problems never break the hover */
  }
  return answer;
}
