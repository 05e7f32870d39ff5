import { describe, expect, it } from 'vitest';
import { code, text } from '../../server/src/handlers/markdown';

describe('markdown escaping of untrusted names', () => {
  it('code spans cannot be broken out of', () => {
    expect(code('foo')).toBe('`foo`');
    expect(code('a`b')).toBe('``a`b``');
    expect(code('`x')).toBe('`` `x ``');
    expect(code('a\nb\u0007')).toBe('`a b\uFFFD`');
  });
  it('text escapes links, images, HTML, emphasis, tables and block starts', () => {
    expect(text('[x](http://e) ![i](j) <img src=x> *a* _b_ |c| `d`')).toBe('\\[x\\](http://e) !\\[i\\](j) \\<img src=x\\> \\*a\\* \\_b\\_ \\|c\\| \\`d\\`');
    expect(text('# head')).toBe('\\# head');
    expect(text('- item')).toBe('\\- item');
    expect(text('1. item')).toBe('1\\. item');
    expect(text('/tmp/a-b.ko: offset 0x10: bad')).toBe('/tmp/a-b.ko: offset 0x10: bad');
  });
});
