// Hostile input to the pure pieces: decompression bombs against the output caps (gzip,
// zstd without a declared size, xz), C1 controls in markdown, escape sequences in CLI
// output, queries that cannot be addresses, params of every LSP method.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../server/src/core/common/errors';
import { decompressCap, decompressModule, decompressModuleSync, MAX_DECOMPRESSED } from '../../server/src/core/modules/decompress';
import { code, codeBlock, text } from '../../server/src/lsp/markdown';
import { inert } from '../../server/src/cli/common';
import { lookupQuery, QueryError } from '../../server/src/core/log/lookup';
import { buildIndex } from '../../server/src/core/kallsyms/symbolIndex';
import { invalidParams } from '../../server/src/lsp/transport';

/** `mib` MiB of zeros compressed by the system tool (streamed: the test never holds them). */
function bomb(tool: string, mib: number): Uint8Array {
  return new Uint8Array(execFileSync('sh', ['-c', `head -c ${mib}M /dev/zero | ${tool}`], { maxBuffer: 64 << 20 }));
}

function heapAfter<T>(f: () => Promise<T>): Promise<{ error?: unknown; ms: number; grewMiB: number }> {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  return f().then(
    () => ({ ms: performance.now() - t0, grewMiB: (process.memoryUsage().rss - before) / 2 ** 20 }),
    (error) => ({ error, ms: performance.now() - t0, grewMiB: (process.memoryUsage().rss - before) / 2 ** 20 }),
  );
}

describe('decompression output caps', () => {
  it('the cap: 64x the input, at least 16 MiB, at most 256 MiB', () => {
    expect(decompressCap(1000)).toBe(16 << 20);
    expect(decompressCap(1 << 20)).toBe(64 << 20);
    expect(decompressCap(100 << 20)).toBe(MAX_DECOMPRESSED);
  });

  for (const [kind, tool] of [
    ['gzip', 'gzip -1'],
    ['zstd (no content size in the frame)', 'zstd -q -19 --no-content-size'],
    ['zstd (content size declared)', 'zstd -q -3'],
    ['xz', 'xz -1 -T1'],
  ] as const) {
    it(`a 256 MiB ${kind} bomb stops at the cap, in bounded time and memory`, async () => {
      const b = bomb(tool, 256);
      const r = await heapAfter(() => decompressModule(b, 'evil.ko'));
      expect(r.error).toBeInstanceOf(FormatError);
      expect((r.error as FormatError).message).toMatch(
        /^evil\.ko: offset 0x0: (gzip|zstd|xz) data (decompresses to more than|frame declares)/,
      );
      expect(r.ms).toBeLessThan(5000);
      expect(r.grewMiB).toBeLessThan(400);
    });
  }

  it('real data under the cap comes out whole, for every format', async () => {
    const plain = Buffer.alloc(3 << 20);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 7919) >>> 8;
    for (const tool of ['gzip -1', 'zstd -q --no-content-size', 'zstd -q', 'xz -1 -T1']) {
      const packed = new Uint8Array(execFileSync('sh', ['-c', tool], { input: plain, maxBuffer: 64 << 20 }));
      expect(Buffer.from(await decompressModule(packed, 'ok.ko')).equals(plain), tool).toBe(true);
    }
    expect(Buffer.from(decompressModuleSync(gzipSync(plain), 'ok.ko.gz')).equals(plain)).toBe(true);
  });

  it('a caller can ask for a smaller cap', () => {
    expect(() => decompressModuleSync(gzipSync(Buffer.alloc(20 << 20)), 'x.gz', 1 << 20)).toThrow(/decompresses to more than 1 MiB/);
  });
});

describe('C1 controls are inert in hovers and pages (markdown.ts)', () => {
  const evil = 'evil\u009b2J\u001b[31m\u0085x\u009f';
  it('code spans, text and code blocks replace C0, DEL and C1 with U+FFFD', () => {
    for (const out of [code(evil), text(evil), codeBlock(evil, 'c')]) {
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      expect(out).toContain('\uFFFD2J');
    }
    expect(code('\u00a0ok\u00ff')).toBe('`\u00a0ok\u00ff`'); // Latin-1 letters past C1 stay
  });
});

describe('escape sequences are inert in CLI output (cli/common.ts inert)', () => {
  it('C0, DEL and C1 become visible escapes; tab, newline and CRLF pass', () => {
    expect(inert('evil\u001b[31m\u009b2J\u007f\r\n\tok\n')).toBe('evil\\x1b[31m\\x9b2J\\x7f\r\n\tok\n');
    expect(inert('a\rb\bc')).toBe('a\\x0db\\x08c');
    expect(inert('plain')).toBe('plain');
  });
  it('in --json output DEL and C1 become \\u escapes: still valid JSON, the same string', () => {
    const name = 'evil\u009b2J\u007f';
    const out = inert(JSON.stringify({ name }), true);
    expect(out).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(out).name).toBe(name);
  });
});

describe('offsets that cannot be addresses (core/log/lookup.ts)', () => {
  const index = buildIndex([
    {
      file: 'k',
      kind: 'kallsyms',
      bytes: new TextEncoder().encode(
        'ffffffff81000000 T _stext\nffffffff81001000 T schedule\nffffffff81002000 T _etext\nffffffffffffff00 T top\n',
      ),
    },
  ]);
  it('an offset past 2^53, a hex address past 64 bits, a symbol plus offset past 2^64: QueryError', () => {
    expect(() => lookupQuery(index, 'schedule+0x' + 'f'.repeat(300))).toThrow(QueryError);
    expect(() => lookupQuery(index, 'schedule+0x' + 'f'.repeat(300))).toThrow(/offset of 302 characters is larger than any symbol/);
    expect(() => lookupQuery(index, 'schedule+0x1fffffffffffffffff')).toThrow(/larger than any symbol/);
    expect(() => lookupQuery(index, 'schedule+0x10/0x' + 'f'.repeat(40))).toThrow(/size of 42 characters/);
    expect(() => lookupQuery(index, '0x1ffffffff81001000')).toThrow(/17 hex digits: wider than a 64-bit address/);
    expect(() => lookupQuery(index, 'top+0x100')).toThrow(/past the end of the 64-bit address space/);
    expect(lookupQuery(index, 'schedule+0x10').address).toBe('ffffffff81001010');
  });
});

describe('LSP params (lsp/transport.ts invalidParams)', () => {
  it('null or missing params where a handler reads them', () => {
    for (const m of [
      'textDocument/hover',
      'textDocument/definition',
      'ksym/symbolPage',
      'workspace/didChangeConfiguration',
      'textDocument/didOpen',
      'workspace/symbol',
      'textDocument/codeAction',
      '$/cancelRequest',
    ]) {
      expect(invalidParams(m, null), m).toBe(`${m} needs params (an object)`);
      expect(invalidParams(m, 'x'), m).toBe(`${m}: params must be an object`);
      expect(invalidParams(m, [1]), m).toBe(`${m}: params must be an object`);
    }
  });
  it('fields of the wrong type', () => {
    expect(invalidParams('textDocument/hover', { textDocument: { uri: 'file:///a' }, position: { line: -1, character: 0 } })).toBe(
      'textDocument/hover: params.position.line must be a non-negative integer',
    );
    expect(invalidParams('textDocument/hover', { textDocument: { uri: 7 }, position: { line: 0, character: 0 } })).toBe(
      'textDocument/hover: params.textDocument.uri must be a string',
    );
    expect(invalidParams('textDocument/didOpen', { textDocument: { uri: 'u', languageId: 'c', version: 1, text: null } })).toBe(
      'textDocument/didOpen: params.textDocument.text must be a string',
    );
    expect(invalidParams('workspace/symbol', { query: 3 })).toBe('workspace/symbol: params.query must be a string');
    expect(invalidParams('ksym/symbolPage', { uri: {} })).toBe('ksym/symbolPage: params.uri must be a string');
  });
  it('well-formed params, and methods without params', () => {
    expect(
      invalidParams('textDocument/hover', { textDocument: { uri: 'file:///a' }, position: { line: 3, character: 9 } }),
    ).toBeUndefined();
    expect(invalidParams('workspace/didChangeConfiguration', { settings: null })).toBeUndefined();
    expect(invalidParams('shutdown', undefined)).toBeUndefined();
    expect(invalidParams('ksym/reindex', {})).toBeUndefined();
    expect(invalidParams('some/unknown', null)).toBeUndefined(); // the library answers MethodNotFound
  });
});
