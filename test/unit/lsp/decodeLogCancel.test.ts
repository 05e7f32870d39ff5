// Decode Log stops when its request is cancelled (issue 14: cancellation stops the work):
// the token is checked per line and the event loop gets a turn every 2000 lines, so a
// $/cancelRequest that arrives mid-log ends the pass there instead of after the whole log.
import { describe, expect, it } from 'vitest';
import { decodeLog, type DecodeContext } from '../../../server/src/lsp/decodeLog';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';

/** A log of plain lines (no frames: nothing else of the context is asked for), counting the lines read. */
function plainLog(n: number) {
  const doc = { lineCount: n, read: 0, line: (i: number) => (doc.read++, `[${i}] a line of a long kernel log`) };
  return doc;
}

const ctx = (token?: DecodeContext['token']): DecodeContext =>
  ({
    index: buildIndex([]),
    shift: undefined,
    view: undefined,
    // Only the header asks the service (source roots, debug state).
    service: { sourceRoots: () => [], debugState: () => ({ kind: 'none', reason: 'not read' }) },
    title: 'log',
    token,
  }) as unknown as DecodeContext;

describe('Decode Log cancellation', () => {
  it('a token cancelled while the log is decoded stops the pass at the next line', async () => {
    const doc = plainLog(150_000);
    const token = { isCancellationRequested: false };
    // Cancelled from a macrotask, as a $/cancelRequest arrives: only the yields let it in.
    setImmediate(() => (token.isCancellationRequested = true));
    const r = await decodeLog(ctx(token), doc);
    expect(r.content).toBe('Kernel Symbols: decoding cancelled');
    expect(doc.read).toBeLessThan(150_000);
    expect(doc.read).toBeGreaterThan(0);
  });

  it('an uncancelled pass reads the whole log', async () => {
    const doc = plainLog(10_000);
    const r = await decodeLog(ctx({ isCancellationRequested: false }), doc);
    expect(doc.read).toBe(10_000);
    expect(r.content).toContain('[9999] a line of a long kernel log');
  });

  it('a request cancelled before it starts reads nothing', async () => {
    const doc = plainLog(10_000);
    const r = await decodeLog(ctx({ isCancellationRequested: true }), doc);
    expect(r.content).toBe('Kernel Symbols: decoding cancelled');
    expect(doc.read).toBe(0);
  });
});
