/**
 * Hover on a livepatch reference (a `.klp.sym` name anywhere, klp_func / KLP_SYMPOS in
 * C): where its position resolves, the candidates in the kernel's order, and the
 * findings. The check itself is core/livepatch/checks.ts (symposAt); this is its markdown.
 */
import { symposAt, type SymposOptions } from '../../core/livepatch/checks';
import { describeCandidate, type Candidate } from '../../core/livepatch/sympos';
import { code, text as mdText } from '../markdown';

export interface SymposHover {
  markdown: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

function candidateTable(list: readonly Candidate[], chosen?: Candidate): string {
  const rows = list.slice(0, 40).map((c) => {
    const where = c.address !== undefined ? code(c.address) : code(`${c.section ?? ''}+0x${(c.value ?? 0).toString(16)}`);
    const type = `${code(c.type)}${c.elfType ? ' ' + mdText(c.elfType) : ''}${c.initOnly ? ' (init)' : ''}`;
    // What tells the copies apart: the region (vmlinux) and the nearest global symbol before each one.
    const sec = c.address !== undefined && c.section ? code(c.section) : '';
    const after = c.after ? code(`${c.after.name}+0x${c.after.offset.toString(16)}`) : '';
    return `| ${c.position > 0 ? c.position : '–'}${c === chosen ? ' ←' : ''} | ${where} | ${type} | ${[sec, after].filter(Boolean).join(' · ')} |`;
  });
  const more = list.length > 40 ? `\n\n…and ${list.length - 40} more` : '';
  return `| pos | where | type | section · nearest global before |\n|---|---|---|---|\n${rows.join('\n')}${more}`;
}

/** Hover for a `.klp.sym` name (any document) or a klp_func / KLP_SYMPOS reference (C). */
export async function hoverSympos(
  text: string,
  languageId: string,
  line: number,
  column: number,
  opts: SymposOptions,
): Promise<SymposHover | undefined> {
  const at = await symposAt(text, languageId, line, column, opts);
  if (!at) return undefined;
  const { target, resolution: res, ctx } = at;
  const parts: string[] = [`**${mdText(at.label)}**`];
  if (!target || !res) {
    const why =
      at.objname === 'vmlinux'
        ? 'No kallsyms loaded: vmlinux positions cannot be resolved.'
        : (ctx.moduleMissing ?? `module ${at.objname} is not indexed`);
    parts.push(mdText(why));
  } else {
    const src =
      target.source === 'module'
        ? `module ${target.objname} (kept symtab, symtab order)`
        : target.source === 'kallsyms'
          ? 'vmlinux (kallsyms, address order)'
          : 'vmlinux (System.map: approximate)';
    const matches = `${res.count} match${res.count === 1 ? '' : 'es'} in ${mdText(src)}.`;
    parts.push(
      res.status === 'ok' && res.chosen
        ? `Resolves to ${code(describeCandidate(res.chosen))}: ${matches}`
        : `Does not resolve (${mdText(res.status)}): ${matches}`,
    );
    if (target.kernel.length) parts.push(candidateTable(target.kernel, res.chosen));
    for (const f of at.findings) parts.push(`- ${mdText(f.severity)}: ${mdText(f.message)}`);
  }
  const r = at.range;
  return { markdown: parts.join('\n\n'), line: r.line, column: r.column, endLine: r.endLine, endColumn: r.endColumn };
}
