/**
 * Markdown command links that copy a snippet: `[label](command:ksym.copySnippet?ARGS)`, ARGS
 * the URI-encoded JSON array `[snippet]`. Everything of the snippet is percent-encoded,
 * including the `( ) ' ! * ~` that encodeURIComponent leaves, so a hostile function name inside
 * it cannot end the link, start another, or name another command: the target holds only
 * [A-Za-z0-9_.-] and %XX. The client trusts hovers for this one command only.
 */
import { COPY_SNIPPET_COMMAND } from '../../protocol';
import { text } from '../markdown';

/** Longest snippet a link carries (the hover's own are a few hundred bytes). */
export const MAX_LINK_SNIPPET = 16 * 1024;

export function encodeCommandArgs(args: readonly unknown[]): string {
  return encodeURIComponent(JSON.stringify(args)).replace(
    /[!'()*~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** A copy link, or '' when there is nothing (or too much) to copy. */
export function copySnippetLink(label: string, snippet: string): string {
  if (!snippet || snippet.length > MAX_LINK_SNIPPET) return '';
  return `[${text(label)}](command:${COPY_SNIPPET_COMMAND}?${encodeCommandArgs([snippet])} "Copy to the clipboard")`;
}
