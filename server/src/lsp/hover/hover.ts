/**
 * Hover: what every data kind has to say about the token under the cursor, combined:
 * the kallsyms index (kallsyms.ts), module `.ko` files (modules.ts), BTF (btf.ts).
 * Livepatch references have their own hover (livepatch.ts). Never throws.
 */
import type { BtfStore } from '../../core/btf/store';
import type { ModuleStore } from '../../core/modules/store';
import { functionPrototypeMarkdownAsync, typeLayoutMarkdown, typeWordAt } from './btf';
import { hover, type HoverAnswer, type HoverContext, type LineSource } from './kallsyms';
import { moduleAddressMarkdown, moduleFrameMarkdown } from './modules';

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
      const proto = await functionPrototypeMarkdownAsync(btf, fn.name, fn.module);
      if (proto && answer) answer.markdown += `\n\n---\n\n${proto}`;
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
