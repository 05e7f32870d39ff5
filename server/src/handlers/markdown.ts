/**
 * Markdown for hovers built from untrusted text (symbol names, module names, log text).
 * Everything user-controlled goes through `code()` or `text()`.
 */

/** Inline code span that cannot be broken out of: the fence is longer than any backtick run inside. */
export function code(s: string): string {
  const clean = s.replace(/[\r\n]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '\uFFFD');
  let longest = 0;
  for (const m of clean.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') || clean.length === 0 ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

/**
 * Plain text with the markdown and HTML metacharacters that can start emphasis, code,
 * links, images, tables, HTML or autolinks escaped (and block starts at the front).
 */
export function text(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\u0000-\u001f\u007f]/g, '\uFFFD')
    .replace(/[\\`*_{}[\]<>#|~&]/g, (c) => '\\' + c)
    .replace(/^(\s*)([-+=>])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}
