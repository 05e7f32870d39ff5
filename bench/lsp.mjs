// A small JSON-RPC client for the bundled language server (dist/server.js --stdio), the same
// handshake as test/helpers/lspclient.ts: readiness is the first `ksym/status` that is not
// 'indexing', never a sleep.
import { spawn } from 'node:child_process';
import rpc from 'vscode-jsonrpc/node.js';

const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = rpc;

/**
 * Spawn the server and initialize it. `settings` answers workspace/configuration.
 * Resolves once `initialize` has returned; `ready` resolves with the first settled status
 * and the milliseconds from spawn to it.
 */
export async function startServer(serverJs, settings, timeoutMs = 60000, env = undefined) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [serverJs, '--stdio'], { stdio: 'pipe', env: env ? { ...process.env, ...env } : process.env });
  const stderr = [];
  proc.stderr.on('data', (d) => stderr.push(String(d)));
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  let resolveReady;
  let rejectReady;
  const ready = new Promise((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const timer = setTimeout(() => rejectReady(new Error(`server not ready after ${timeoutMs} ms: ${stderr.join('')}`)), timeoutMs);
  conn.onNotification('ksym/status', (s) => {
    if (s.state !== 'indexing') {
      clearTimeout(timer);
      resolveReady({ status: s, millis: performance.now() - t0 });
    }
  });
  conn.onNotification('window/logMessage', () => undefined);
  conn.onRequest('workspace/configuration', (p) => p.items.map(() => settings));
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', () => undefined);
  conn.listen();
  proc.on('exit', () => rejectReady(new Error(`server exited: ${stderr.join('')}`)));
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
      window: { workDoneProgress: true },
      textDocument: { hover: { contentFormat: ['markdown'] } },
    },
  });
  const initMillis = performance.now() - t0;
  await conn.sendNotification('initialized', {});
  return {
    initMillis,
    proc,
    conn,
    ready,
    open: (uri, languageId, text) => conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } }),
    hover: (uri, line, character) => conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line, character } }),
    async close() {
      clearTimeout(timer);
      try {
        await Promise.race([conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
        await conn.sendNotification('exit');
      } catch {
        /* already gone */
      }
      conn.dispose();
      if (proc.exitCode === null) proc.kill();
    },
  };
}
