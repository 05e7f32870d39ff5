/**
 * A minimal LSP client for protocol tests: spawns the bundled dist/server.js over
 * stdio and speaks JSON-RPC with vscode-jsonrpc. Readiness comes from the server's
 * `ksym/status` notification, never from a sleep.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { StatusParams } from '../../server/src/protocol';
import { ROOT } from './corpus';

export const SERVER = resolve(ROOT, 'dist/server.js');
export const CLI = resolve(ROOT, 'dist/cli.js');

export function assertBuilt(): void {
  if (!existsSync(SERVER) || !existsSync(CLI)) throw new Error(`${SERVER} is missing: run 'npm run build' first (npm test does)`);
}

export interface Client {
  conn: MessageConnection;
  proc: ChildProcessWithoutNullStreams;
  statuses: StatusParams[];
  logs: string[];
  /** $/progress notifications received (begin/report/end values). */
  progress: { kind: string; title?: string }[];
  settings: Record<string, unknown>;
  /** Resolves with the first status after `afterGeneration`/`count` that satisfies `pred`. */
  waitStatus(pred: (s: StatusParams) => boolean, what?: string): Promise<StatusParams>;
  open(uri: string, languageId: string, text: string): Promise<void>;
  hover(uri: string, line: number, character: number): Promise<string | undefined>;
  setSettings(s: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Extra environment of the server process. */
  env?: Record<string, string>;
  /** Sent as `initializationOptions` (default none). */
  initializationOptions?: unknown;
  /** Advertise `workspace/configuration` (default true; Neovim 0.7 does not). */
  configuration?: boolean;
  /** The configuration request is answered only once this resolves (holds the first index back). */
  holdConfiguration?: Promise<void>;
}

/** The bundled server over stdio: its process, a JSON-RPC connection to it (not listening yet) and what it wrote to stderr. */
export function spawnServer(
  args: string[] = [SERVER, '--stdio'],
  env?: Record<string, string>,
): { proc: ChildProcessWithoutNullStreams; conn: MessageConnection; stderr: string[] } {
  assertBuilt();
  const proc = spawn(process.execPath, args, { stdio: 'pipe', env: env ? { ...process.env, ...env } : process.env });
  const stderr: string[] = [];
  proc.stderr.on('data', (d) => stderr.push(String(d)));
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  return { proc, conn, stderr };
}

export async function openDocument(conn: MessageConnection, uri: string, languageId: string, text: string): Promise<void> {
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
}

/** The hover's markdown (undefined: no hover). */
export async function requestHover(conn: MessageConnection, uri: string, line: number, character: number): Promise<string | undefined> {
  const r = (await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line, character } })) as {
    contents: { value: string };
  } | null;
  return r?.contents.value;
}

/** shutdown and exit (when the server still answers), then the connection and the process end. */
export async function shutdownServer(conn: MessageConnection, proc: ChildProcessWithoutNullStreams): Promise<void> {
  try {
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
  } catch {
    /* already gone */
  }
  conn.dispose();
  proc.kill();
}

export async function startClient(
  settings: Record<string, unknown>,
  args: string[] = [SERVER, '--stdio'],
  opts: ClientOptions = {},
): Promise<Client> {
  const { proc, conn, stderr } = spawnServer(args, opts.env);
  const statuses: StatusParams[] = [];
  const logs: string[] = [];
  const progress: { kind: string; title?: string }[] = [];
  const waiters: { pred: (s: StatusParams) => boolean; res: (s: StatusParams) => void }[] = [];
  const client: Client = {
    conn,
    proc,
    statuses,
    logs,
    progress,
    settings,
    waitStatus(pred, what = 'status') {
      const hit = statuses.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((res, rej) => {
        const timer = setTimeout(
          () =>
            rej(
              new Error(
                `timed out waiting for ${what}; statuses: ${JSON.stringify(statuses)}; logs: ${logs.join('\n')}; stderr: ${stderr.join('')}`,
              ),
            ),
          30000,
        );
        waiters.push({ pred, res: (s) => (clearTimeout(timer), res(s)) });
      });
    },
    open: (uri, languageId, text) => openDocument(conn, uri, languageId, text),
    hover: (uri, line, character) => requestHover(conn, uri, line, character),
    async setSettings(s) {
      client.settings = s;
      await conn.sendNotification('workspace/didChangeConfiguration', { settings: { ksym: s } });
    },
    close: () => shutdownServer(conn, proc),
  };
  conn.onNotification('ksym/status', (s: StatusParams) => {
    statuses.push(s);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pred(s)) {
        waiters[i].res(s);
        waiters.splice(i, 1);
      }
    }
  });
  conn.onNotification('window/logMessage', (m: { message: string }) => logs.push(m.message));
  conn.onRequest('workspace/configuration', async (p: { items: { section?: string }[] }) => {
    await opts.holdConfiguration;
    return p.items.map(() => client.settings);
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', (p: { value: { kind: string; title?: string } }) => progress.push(p.value));
  conn.listen();
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    ...(opts.initializationOptions !== undefined ? { initializationOptions: opts.initializationOptions } : {}),
    capabilities: {
      workspace: { configuration: opts.configuration !== false, didChangeConfiguration: { dynamicRegistration: false } },
      window: { workDoneProgress: true },
      textDocument: { hover: { contentFormat: ['markdown'] } },
    },
  });
  await conn.sendNotification('initialized', {});
  return client;
}

export const ready = (s: StatusParams) => s.state !== 'indexing';
