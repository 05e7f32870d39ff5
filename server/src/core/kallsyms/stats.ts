/** Index statistics as text (`ksym stats`); the editor's markdown form is lsp/stats.ts. */
import type { IndexStats } from './symbolIndex';

export function indexStatsText(st: IndexStats): string {
  const lines = [
    `symbols: ${st.symbols}`,
    `vmlinux symbols: ${st.vmlinuxSymbols}`,
    `modules: ${st.modules}`,
    `pseudo modules: ${st.pseudoModules}${
      st.pseudoModules
        ? ` (${st.moduleList
            .filter((m) => m.kind === 'pseudo')
            .map((m) => m.name)
            .join(', ')})`
        : ''
    }`,
    `duplicate names: ${st.duplicateNames} (${st.symbolsWithDuplicateNames} symbols)`,
    `CONFIG_KALLSYMS_ALL (inferred): ${st.kallsymsAll ? 'yes' : 'no'}`,
    `by type: ${Object.entries(st.byType)
      .sort((a, b) => b[1] - a[1])
      .map(([t, n]) => `${t}=${n}`)
      .join(' ')}`,
    ...st.sources.map(
      (s) => `source: ${s.file} (${s.kind}, ${s.symbols} symbols${s.skippedLines ? `, ${s.skippedLines} lines skipped` : ''})`,
    ),
  ];
  return lines.join('\n');
}
