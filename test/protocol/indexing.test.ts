/**
 * Issue 13 §2: no wrong answer while the first index is being built. The client holds
 * its answer to workspace/configuration back, so the server cannot have an index when
 * the requests sent right after `initialized` arrive: they must wait for it (bounded,
 * cancellable) or say that indexing is in progress, never "no symbol named ...".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { Client, ready, startClient } from '../helpers/lspclient';

const dir = mkdtempSync(join(tmpdir(), 'ksym-indexing-'));
const FIXTURE = join(dir, 'fixture.kallsyms');
const KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T _text',
  'ffffffff81a00000 t __schedule',
  'ffffffff81a00f50 T schedule',
  'ffffffff81a01000 T _etext',
  '',
].join('\n');
writeFileSync(FIXTURE, KALLSYMS);

const LOG = 'file:///early.oops';
const LOG_TEXT = [
  '[  190.000000] Call Trace:',
  '[  190.000001]  __schedule+0x3cc/0xf50',
  '[  190.000002] RIP: 0010:[<ffffffff81a00010>]',
].join('\n');
const KLP = 'file:///early-klp.txt';
const KLP_TEXT = '.klp.sym.vmlinux.__schedule,0\n.klp.sym.vmlinux.schedule,1';
const DUMP = 'file:///early/dump.kallsyms';

type Diag = { message: string; range: { start: { line: number } } };

function deferred(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

/** Everything the issue names, sent at once (no await in between) right after `initialized`. */
function sendAll(c: Client) {
  const uri = { textDocument: { uri: LOG } };
  void c.open(LOG, 'kernel-log', LOG_TEXT);
  void c.open(KLP, 'plaintext', KLP_TEXT);
  void c.open(DUMP, 'kallsyms', KALLSYMS);
  const settle = <T>(p: Promise<T>) =>
    p.then(
      (value) => ({ value, error: undefined as string | undefined }),
      (e: Error) => ({ value: undefined, error: e.message }),
    );
  return {
    frame: c.hover(LOG, 1, 18),
    address: c.hover(LOG, 2, 30),
    definition: settle(c.conn.sendRequest('textDocument/definition', { ...uri, position: { line: 1, character: 18 } }) as Promise<unknown>),
    workspace: settle(c.conn.sendRequest('workspace/symbol', { query: '__schedule' }) as Promise<{ name: string }[]>),
    outline: c.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri: DUMP } }) as Promise<
      { name: string; children?: { name: string }[] }[]
    >,
  };
}

function watchDiagnostics(c: Client) {
  const got = new Map<string, { diags: Diag[]; afterReady: boolean }[]>();
  c.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diag[] }) => {
    if (!got.has(p.uri)) got.set(p.uri, []);
    got.get(p.uri)!.push({ diags: p.diagnostics, afterReady: c.statuses.some(ready) });
  });
  return got;
}

const ABSENT = /no symbol|not found|not indexed|not in the index/i;

describe('requests sent right after initialized (issue 13 §2)', () => {
  let c: Client | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('hover, definition, workspace symbols, document symbols and diagnostics wait for the first index and answer from it', async () => {
    const hold = deferred();
    c = await startClient({ kallsyms: [FIXTURE], modules: [], btf: '' }, undefined, { holdConfiguration: hold.promise });
    const diags = watchDiagnostics(c);
    const r = sendAll(c);
    // Every request is on its way and the server has no settings yet, so no index.
    expect(c.statuses.filter(ready)).toEqual([]);
    hold.release();
    const frame = await r.frame;
    expect(frame).toContain('`__schedule+0x3cc/0xf50`');
    expect(frame).not.toMatch(ABSENT);
    expect(await r.address).toContain('__schedule+0x10/0xf50');
    const def = await r.definition;
    expect(def.error).toBeUndefined();
    expect(JSON.stringify(def.value)).toMatch(/__schedule/);
    const ws = await r.workspace;
    expect(ws.error).toBeUndefined();
    expect(ws.value!.map((s) => s.name)).toContain('__schedule');
    const outline = await r.outline;
    expect(outline[0].name).toBe('vmlinux');
    expect(outline[0].children!.map((s) => s.name)).toContain('__schedule');
    await c.waitStatus(ready, 'first index');
    // The diagnostics of the document opened before the index were computed from it.
    await expect.poll(() => diags.get(KLP)?.length ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    for (const p of diags.get(KLP)!) {
      expect(p.afterReady).toBe(true);
      expect(p.diags.map((d) => d.message).join('\n')).not.toMatch(ABSENT);
    }
    // Answered from the index: 'schedule' is unique there, so position 1 is flagged as fragile (fix: 0).
    const last = diags.get(KLP)!.at(-1)!.diags;
    expect(last.map((d) => [d.range.start.line, d.message])).toEqual([
      [
        1,
        "'schedule' is unique in vmlinux; position 1 works, but 0 (require unique) is safer: " +
          "if a second 'schedule' appears, position 1 silently keeps naming the first",
      ],
    ]);
  });

  it('past the bound they say that indexing is in progress; a cancelled request is answered at once; then the real answers', async () => {
    const hold = deferred();
    c = await startClient({ kallsyms: [FIXTURE], modules: [], btf: '' }, undefined, {
      holdConfiguration: hold.promise,
      env: { KSYM_FIRST_INDEX_WAIT_MS: '1500' },
    });
    const diags = watchDiagnostics(c);
    const order: string[] = [];
    const cts = new CancellationTokenSource();
    const cancelled = c.conn
      .sendRequest('textDocument/hover', { textDocument: { uri: LOG }, position: { line: 1, character: 18 } }, cts.token)
      .then(
        (v) => ({ value: v, error: undefined }),
        (e: Error) => ({ value: undefined, error: e.message }),
      )
      .finally(() => order.push('cancelled'));
    const r = sendAll(c);
    void r.frame.finally(() => order.push('frame'));
    cts.cancel();
    const cancelledAnswer = await cancelled;
    expect(cancelledAnswer.value ?? null).toBeNull();
    expect(order).toEqual(['cancelled']); // answered before the bound, not after it
    const frame = await r.frame;
    expect(frame).toContain('indexing in progress');
    expect(frame).toContain('does not mean the symbol is absent');
    expect(frame).not.toMatch(ABSENT);
    expect(await r.address).toContain('indexing in progress');
    expect((await r.definition).error).toMatch(/still indexing/);
    expect((await r.workspace).error).toMatch(/still indexing/);
    // Document symbols come from the document itself: answered, and right.
    expect((await r.outline)[0].children!.map((s) => s.name)).toContain('schedule');
    // More than the 200 ms debounce has passed: no diagnostics were published from the empty index.
    expect(diags.get(KLP)).toBeUndefined();
    expect(c.statuses.filter(ready)).toEqual([]);
    hold.release();
    await c.waitStatus(ready, 'first index');
    expect(await c.hover(LOG, 1, 18)).toContain('`__schedule+0x3cc/0xf50`');
    await expect.poll(() => diags.get(KLP)?.length ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(diags.get(KLP)!.every((p) => p.afterReady)).toBe(true);
  });
});
