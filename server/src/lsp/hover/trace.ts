/**
 * The "Tracing" part of a kernel function's hover (core/trace): attach verdicts with their
 * reasons, the arguments, the duplicate-copy warning, kfunc flags and the snippets; and
 * what a `[bpf]` symbol's name carries (program tag and name, trampoline target).
 */
import type { Btf } from '../../core/btf';
import type { SymbolIndex } from '../../core/kallsyms/symbolIndex';
import { describeBpfSymbol, parseBpfSymbol } from '../../core/trace/bpfsyms';
import { ATTACH_KINDS, traceFunction, type TraceFacts } from '../../core/trace/rules';
import { code, codeBlock, text } from '../markdown';
import { copySnippetLink } from './copyLink';

const MARK = { true: '✓', false: '✗', unknown: '?' } as const;

/** Markdown for a vmlinux function, undefined when neither BTF nor kallsyms know it. Never throws. */
export function traceMarkdown(btf: Btf | undefined, index: SymbolIndex | undefined, name: string, facts?: TraceFacts): string | undefined {
  try {
    const r = traceFunction({ name, btf, index, facts });
    if (r.btfId === undefined && r.copies.length === 0) return undefined;
    const out: string[] = [`**Tracing**${r.kfunc ? ` — kfunc${r.kfuncFlags?.length ? ` (${r.kfuncFlags.join(' | ')})` : ''}` : ''}`, ''];
    out.push(ATTACH_KINDS.map((k) => `${MARK[String(r.attach[k]) as keyof typeof MARK]} ${k}`).join(' · '));
    out.push('');
    // the name (untrusted) only inside code spans, the rest escaped
    const md = (s: string) =>
      s
        .split(name)
        .map((part) => text(part))
        .join(code(name));
    for (const x of r.reasons.slice(0, 8)) out.push(`- ${text(x.attach)}: ${md(x.reason)}`);
    if (r.copies.length > 1) out.push('', `⚠ ${md(r.notes.find((n) => /copies of/.test(n)) ?? `${r.copies.length} copies`)}`);
    if (r.kfuncSets?.length)
      out.push(
        '',
        `kfunc set ${r.kfuncSets.map((x) => code(x)).join(', ')} (.BTF\\_ids); which program types may call it is registered ` +
          `in code (${code('register_btf_kfunc_id_set')}), not in the ELF`,
      );
    if (r.args.length) out.push('', `args: ${r.args.map((a) => code(a.decl)).join(', ')}`);
    if (r.snippets.bpftrace) {
      const copy = [
        copySnippetLink('Copy bpftrace probe', r.snippets.bpftrace),
        copySnippetLink('Copy libbpf skeleton', r.snippets.libbpf),
      ];
      out.push('', codeBlock(r.snippets.bpftrace, 'c'), codeBlock(r.snippets.libbpf, 'c'), copy.filter(Boolean).join(' · '));
    }
    return out.join('\n');
  } catch {
    return undefined;
  }
}

/** Markdown for a `[bpf]` symbol (bpf_prog_<tag>_<name>, bpf_trampoline_<key>, bpf_dispatcher_<name>). */
export function bpfSymbolMarkdown(name: string, btf: Btf | undefined): string | undefined {
  const s = parseBpfSymbol(name);
  if (!s) return undefined;
  const line = describeBpfSymbol(s, (obj, id) => (obj === 1 && btf && btf.firstId === 1 && btf.has(id) ? btf.nameOf(id) : undefined));
  return `**BPF** — ${text(line)}`;
}
