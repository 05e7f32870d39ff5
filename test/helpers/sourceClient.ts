/**
 * LSP client for the source-line protocol tests: like lspclient.ts, with a workspace
 * folder and the inlay-hint refresh capability, and the server's
 * `workspace/inlayHint/refresh` requests recorded as the "new source lines" signal
 * (never a sleep). A settings change returns once the server has pulled the new settings.
 */
import { pathToFileURL } from 'node:url';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import type { StatusParams } from '../../server/src/protocol';
import { openDocument, requestHover, shutdownServer, spawnServer } from './lspclient';

export interface SourceClient {
  conn: MessageConnection;
  settings: Record<string, unknown>;
  logs: string[];
  /** Resolves at the next workspace/inlayHint/refresh request from the server. */
  nextRefresh(what?: string): Promise<void>;
  waitReady(): Promise<StatusParams>;
  open(uri: string, languageId: string, text: string): Promise<void>;
  /** Hover markdown and the round-trip milliseconds. */
  hover(uri: string, line: number, character: number): Promise<{ value: string; ms: number }>;
  setSettings(s: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startSourceClient(settings: Record<string, unknown>, workspaceFolder?: string): Promise<SourceClient> {
  const { proc, conn, stderr } = spawnServer(undefined, { KSYM_PREFETCH: '' });
  const logs: string[] = [];
  const statuses: StatusParams[] = [];
  let refreshWaiters: (() => void)[] = [];
  let configWaiters: (() => void)[] = [];
  let statusWaiters: ((s: StatusParams) => void)[] = [];
  const timeout = <T>(p: Promise<T>, what: string): Promise<T> =>
    new Promise<T>((res, rej) => {
      const t = setTimeout(
        () => rej(new Error(`timed out waiting for ${what}; logs: ${logs.join('\n')}; stderr: ${stderr.join('')}`)),
        60_000,
      );
      void p.then((v) => (clearTimeout(t), res(v)), rej);
    });
  const c: SourceClient = {
    conn,
    settings,
    logs,
    nextRefresh(what = 'inlay hint refresh') {
      return timeout(new Promise<void>((r) => refreshWaiters.push(r)), what);
    },
    waitReady() {
      const hit = statuses.find((s) => s.state !== 'indexing');
      if (hit) return Promise.resolve(hit);
      return timeout(new Promise<StatusParams>((r) => statusWaiters.push(r)), 'ready');
    },
    open: (uri, languageId, text) => openDocument(conn, uri, languageId, text),
    async hover(uri, line, character) {
      const t = performance.now();
      const value = await requestHover(conn, uri, line, character);
      return { value: value ?? '', ms: performance.now() - t };
    },
    async setSettings(s) {
      c.settings = s;
      // Applied once the server has the answer to the configuration request it sends for the change.
      const pulled = timeout(new Promise<void>((r) => configWaiters.push(r)), 'workspace/configuration');
      await conn.sendNotification('workspace/didChangeConfiguration', { settings: { ksym: s } });
      await pulled;
    },
    close: () => shutdownServer(conn, proc),
  };
  conn.onNotification('ksym/status', (s: StatusParams) => {
    statuses.push(s);
    if (s.state !== 'indexing') {
      const w = statusWaiters;
      statusWaiters = [];
      for (const f of w) f(s);
    }
  });
  conn.onNotification('window/logMessage', (m: { message: string }) => logs.push(m.message));
  conn.onRequest('workspace/configuration', (p: { items: unknown[] }) => {
    // The answer is written before the waiters run (they resolve on a later turn).
    const w = configWaiters;
    configWaiters = [];
    setImmediate(() => w.forEach((f) => f()));
    return p.items.map(() => c.settings);
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('workspace/inlayHint/refresh', () => {
    const w = refreshWaiters;
    refreshWaiters = [];
    for (const f of w) f();
    return null;
  });
  conn.listen();
  const folder = workspaceFolder ? pathToFileURL(workspaceFolder).href : null;
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: folder,
    workspaceFolders: folder ? [{ uri: folder, name: 'ws' }] : null,
    capabilities: {
      workspace: { configuration: true, inlayHint: { refreshSupport: true } },
      textDocument: { hover: { contentFormat: ['markdown'] }, inlayHint: {} },
    },
    initializationOptions: settings,
  });
  await conn.sendNotification('initialized', {});
  return c;
}
