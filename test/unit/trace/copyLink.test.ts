/**
 * The hover's copy links: a hostile snippet (names with `)`, `](command:...)`, quotes, newlines,
 * backticks, HTML) stays inside the one command's argument, and decodes back to itself the way
 * VS Code parses command URIs (decodeURIComponent of the query, then JSON.parse).
 */
import { describe, expect, it } from 'vitest';
import { marked } from 'marked';
import { COPY_SNIPPET_COMMAND } from '../../../server/src/protocol';
import { MAX_LINK_SNIPPET, copySnippetLink } from '../../../server/src/lsp/hover/copyLink';

const HOSTILE = [
  'fentry:vmlinux:vfs_read\n{\n\tprintf("x\\n");\n}\n',
  'a)](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)',
  'x\') [y](command:evil) "z" <img src=x onerror=alert(1)> ``` *_~!',
  '%22%5D%2C%5B%22 %E2%80%AE \u0000\u202e',
];

function targets(md: string): string[] {
  return [...md.matchAll(/\]\(([^)\s]*)/g)].map((m) => m[1]);
}

describe('copySnippetLink', () => {
  for (const s of HOSTILE)
    it(`keeps ${JSON.stringify(s.slice(0, 30))} inside one ${COPY_SNIPPET_COMMAND} argument`, () => {
      const md = copySnippetLink('Copy bpftrace probe', s);
      const t = targets(md);
      expect(t).toHaveLength(1);
      expect(t[0]).toMatch(new RegExp(`^command:${COPY_SNIPPET_COMMAND.replace('.', '\\.')}\\?[A-Za-z0-9_.%-]+$`));
      expect(JSON.parse(decodeURIComponent(t[0].slice(t[0].indexOf('?') + 1)))).toEqual([s]);
      // a markdown renderer sees exactly one link, to this command
      const html = marked.parse(md, { async: false }) as string;
      const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      expect(hrefs).toHaveLength(1);
      expect(hrefs[0].startsWith(`command:${COPY_SNIPPET_COMMAND}?`)).toBe(true);
      expect(html).not.toMatch(/<img|onerror=/);
    });

  it('gives no link for nothing, or for more than the command accepts', () => {
    expect(copySnippetLink('Copy', '')).toBe('');
    expect(copySnippetLink('Copy', 'x'.repeat(MAX_LINK_SNIPPET + 1))).toBe('');
  });
});
