/**
 * Markdown for hovers built from untrusted text (symbol names, module names, log text).
 * Everything user-controlled goes through `code()` or `text()`.
 */

/** Longest untrusted string shown as is (KSYM_NAME_LEN is 512); the rest is elided and counted. */
export const MAX_SHOWN = 1024;

function clip(s: string): string {
  return s.length <= MAX_SHOWN ? s : `${s.slice(0, MAX_SHOWN)}… (${s.length - MAX_SHOWN} more characters)`;
}

/**
 * Inline code span that cannot be broken out of: the fence is longer than any backtick run
 * inside. Code spans are inert: no links, no HTML. Control characters (C0, DEL and C1: a 0x9b byte read as Latin-1 is U+009B, CSI) become U+FFFD.
 */
export function code(s: string): string {
  const clean = clip(s)
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
  let longest = 0;
  for (const m of clean.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') || clean.length === 0 ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

/**
 * Plain text with the markdown and HTML metacharacters that can start emphasis, code,
 * links, images, tables, HTML or autolinks escaped (and block starts at the front). GFM
 * autolinks (`http://`, `command:`, `www.`, `a@b.c`) are broken with an escaped `:`, `.` or `@`, which
 * renders as the same character.
 */
export function text(s: string): string {
  return clip(s)
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD')
    .replace(/[\\`*_{}[\]<>#|~&]/g, (c) => '\\' + c)
    .replace(/:(?=[^\s])/g, '\\:')
    .replace(/\b(www)\./gi, '$1\\.')
    .replace(/@/g, '\\@')
    .replace(/^(\s*)([-+=>])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/**
 * A fenced code block that nothing inside can close: the fence is longer than any
 * backtick run in `src`. Control characters (but tab and newline) become U+FFFD, CRLF
 * becomes LF, one trailing newline is dropped.
 */
export function codeBlock(src: string, lang: string): string {
  const clean = src
    .replace(/\r\n?/g, '\n')
    .replace(/\n$/, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD');
  let longest = 0;
  for (const m of clean.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${clean}\n${fence}`;
}

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}
