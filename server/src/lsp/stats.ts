/** Index statistics as markdown (the "Show Index Statistics" command; `ksym stats` prints core/kallsyms/stats.ts). */
import type { IndexStats } from '../core/kallsyms/symbolIndex';
import { code, text } from './markdown';

function statsMarkdownOf(st: IndexStats, state: { state: string; messages: string[]; millis: number }): string {
  const out = [
    '# Kernel Symbols: index statistics',
    '',
    `State: **${state.state}**, built in ${state.millis} ms`,
    '',
    '| | |',
    '|---|---|',
    `| symbols | ${st.symbols} |`,
    `| vmlinux symbols | ${st.vmlinuxSymbols} |`,
    `| modules | ${st.modules} |`,
    `| pseudo modules | ${st.pseudoModules} |`,
    `| duplicate names | ${st.duplicateNames} (${st.symbolsWithDuplicateNames} symbols) |`,
    `| CONFIG_KALLSYMS_ALL (inferred) | ${st.kallsymsAll ? 'yes' : 'no'} |`,
    '',
    '## Sources',
    '',
    ...st.sources.map(
      (s) => `- ${code(s.file)}: ${s.kind}, ${s.symbols} symbols${s.skippedLines ? `, ${s.skippedLines} malformed lines skipped` : ''}`,
    ),
    '',
    '## Symbols by type',
    '',
    '| type | count |',
    '|---|---|',
    ...Object.entries(st.byType)
      .sort((a, b) => b[1] - a[1])
      .map(([t, n]) => `| ${code(t)} | ${n} |`),
  ];
  const mods = st.moduleList.slice().sort((a, b) => b.symbols - a.symbols);
  if (mods.length) {
    out.push(
      '',
      '## Modules',
      '',
      '| module | kind | symbols |',
      '|---|---|---|',
      ...mods.slice(0, 200).map((m) => `| ${code(m.name)} | ${m.kind} | ${m.symbols} |`),
    );
  }
  if (state.messages.length) out.push('', '## Messages', '', ...state.messages.map((m) => `- ${text(m)}`));
  return out.join('\n');
}

export function statsMarkdown(service: {
  index: { stats(): IndexStats };
  status(): { state: string; messages: string[]; millis: number };
}): string {
  return statsMarkdownOf(service.index.stats(), service.status());
}
