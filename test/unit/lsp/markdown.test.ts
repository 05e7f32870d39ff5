import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { code, MAX_SHOWN, text } from '../../../server/src/lsp/markdown';

/** Rendered like VS Code renders hover markdown (marked, GFM: autolinks on). */
const html = (md: string) => marked.parse(md, { gfm: true, async: false }) as string;
/** What a renderer may produce for inert text: paragraphs, code spans, entities; nothing else. */
const inert = (out: string) => out.replace(/<\/?(p|code)>/g, '');

const HOSTILE = [
  '[click](http://evil.example) ![img](http://evil.example/x.png)',
  '<img src=x onerror=alert(1)> <script>alert(1)</script> <a href="command:workbench.action.terminal.new">x</a>',
  'command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D',
  'http://evil.example/path www.evil.example mailto:a@b.c',
  '[x][ref]\n\n[ref]: command:evil',
  '*emph* _emph_ **strong** ~~del~~ `code` | a | b |',
  '# heading\n- item\n> quote\n1. item',
  'ctl\u0000\u0007\u001b[31mred\u007f',
  '&lt;entity&gt; &#x3c;',
];

describe('markdown escaping of untrusted names', () => {
  it('code spans cannot be broken out of', () => {
    expect(code('foo')).toBe('`foo`');
    expect(code('a`b')).toBe('``a`b``');
    expect(code('`x')).toBe('`` `x ``');
    expect(code('a\nb\u0007')).toBe('`a b\uFFFD`');
  });

  it('text escapes links, images, HTML, emphasis, tables, autolinks and block starts', () => {
    expect(text('[x](http://e) ![i](j) <img src=x> *a* _b_ |c| `d`')).toBe(
      '\\[x\\](http\\://e) !\\[i\\](j) \\<img src=x\\> \\*a\\* \\_b\\_ \\|c\\| \\`d\\`',
    );
    expect(text('# head')).toBe('\\# head');
    expect(text('- item')).toBe('\\- item');
    expect(text('1. item')).toBe('1\\. item');
    expect(text('command:x www.e.org')).toBe('command\\:x www\\.e.org');
    expect(text('/tmp/a-b.ko: offset 0x10: bad')).toBe('/tmp/a-b.ko: offset 0x10: bad');
  });

  it('hostile names and log text render as inert text, with the same characters (marked, GFM)', () => {
    for (const s of HOSTILE) {
      for (const md of [text(s), code(s)]) {
        const out = html(md);
        expect(inert(out), `${JSON.stringify(s)} -> ${out}`).not.toMatch(/<[a-z]/i);
      }
      // Text keeps what was written (control characters aside): the escapes do not show.
      const shown = html(text(s))
        .replace(/<\/?p>\n?/g, '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
      expect(shown).toBe(s.replace(/[\r\n]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '\uFFFD'));
    }
  });

  it('enormous names are cut, saying how much was left out', () => {
    const long = 'x'.repeat(200_000);
    for (const md of [code(long), text(long)]) {
      expect(md.length).toBeLessThan(MAX_SHOWN + 100);
      expect(md).toContain(`(${200_000 - MAX_SHOWN} more characters)`);
    }
  });
});
