/**
 * The server's connection, guarded against a broken or hostile client (issue 14).
 *
 * - Params: every request and notification the server handles is checked against the
 *   shape its handler reads (`null` params, a string where an object belongs, a position
 *   that is not a pair of non-negative integers). A request that fails is answered with
 *   InvalidParams (-32602) and a message naming the field; a notification is dropped and
 *   logged. Handlers never see them, so they cannot throw on them.
 * - Framing: vscode-jsonrpc's reader, on a header without a numeric Content-Length,
 *   fires an error and drops the header; the rest of the stream is then misaligned and
 *   nothing is ever answered again. A stream cannot be resynchronised reliably, so the
 *   server says so (window/showMessage, which the client shows, and stderr) and exits
 *   with status 1 (the client restarts it). A body that is not JSON (framing intact) is
 *   only logged. A message whose body stops arriving (a Content-Length longer than the
 *   body) is the same broken stream once it has waited PARTIAL_MESSAGE_MS.
 * - The end of input ends the process (0 after shutdown, else 1), as the LSP says.
 * - Nothing a handler throws or rejects escapes: unhandled rejections and exceptions
 *   are logged to stderr, the server keeps serving.
 */
import { format } from 'node:util';
import {
  createConnection,
  ErrorCodes,
  ProposedFeatures,
  StreamMessageReader,
  StreamMessageWriter,
  type Connection,
  type DataCallback,
  type Disposable,
  type Message,
  type MessageReader,
} from 'vscode-languageserver/node';

/** How long the rest of a started message may take (KSYM_PARTIAL_MESSAGE_MS for tests). */
const PARTIAL_MESSAGE_MS = Number(process.env.KSYM_PARTIAL_MESSAGE_MS) > 0 ? Number(process.env.KSYM_PARTIAL_MESSAGE_MS) : 10_000;

type Check = (p: Record<string, unknown>) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff;

function field(p: Record<string, unknown>, path: string, ok: (v: unknown) => boolean, what: string): string | undefined {
  let v: unknown = p;
  for (const k of path.split('.')) v = isObj(v) ? v[k] : undefined;
  return ok(v) ? undefined : `params.${path} must be ${what}`;
}
const str =
  (path: string): Check =>
  (p) =>
    field(p, path, (v) => typeof v === 'string', 'a string');
const obj =
  (path: string): Check =>
  (p) =>
    field(p, path, isObj, 'an object');
const arr =
  (path: string): Check =>
  (p) =>
    field(p, path, Array.isArray, 'an array');
const uint =
  (path: string): Check =>
  (p) =>
    field(p, path, isUint, 'a non-negative integer');
const optional =
  (path: string, c: Check): Check =>
  (p) => {
    let v: unknown = p;
    for (const k of path.split('.')) v = isObj(v) ? v[k] : undefined;
    return v === undefined || v === null ? undefined : c(p);
  };
const position = (path: string): Check[] => [obj(path), uint(`${path}.line`), uint(`${path}.character`)];
const range = (path: string): Check[] => [obj(path), ...position(`${path}.start`), ...position(`${path}.end`)];
const textDocument = [obj('textDocument'), str('textDocument.uri')];

/** What each method's handler reads. `null`: no params needed. Methods not listed pass unchecked (vscode-languageserver answers MethodNotFound). */
const SHAPES: Record<string, Check[] | null> = {
  initialize: [optional('capabilities', obj('capabilities'))],
  initialized: null,
  shutdown: null,
  exit: null,
  '$/cancelRequest': [(p) => (typeof p.id === 'number' || typeof p.id === 'string' ? undefined : 'params.id must be a number or a string')],
  '$/setTrace': [str('value')],
  'workspace/didChangeConfiguration': [],
  'workspace/didChangeWorkspaceFolders': [obj('event')],
  'workspace/symbol': [str('query')],
  'textDocument/didOpen': [
    ...textDocument,
    str('textDocument.languageId'),
    (p) => field(p, 'textDocument.version', Number.isInteger, 'an integer'),
    str('textDocument.text'),
  ],
  'textDocument/didChange': [...textDocument, arr('contentChanges')],
  'textDocument/didClose': textDocument,
  'textDocument/didSave': textDocument,
  'textDocument/hover': [...textDocument, ...position('position')],
  'textDocument/definition': [...textDocument, ...position('position')],
  'textDocument/documentSymbol': textDocument,
  'textDocument/codeAction': [...textDocument, ...range('range'), obj('context'), arr('context.diagnostics')],
  'ksym/symbolPage': [str('uri')],
  'ksym/reindex': null,
  'ksym/stats': null,
};

/** Why `m`'s params do not fit its method, or undefined. Exported for the unit tests. */
export function invalidParams(method: string, params: unknown): string | undefined {
  const shape = SHAPES[method];
  if (shape === undefined) return undefined;
  if (params === undefined || params === null) return shape === null ? undefined : `${method} needs params (an object)`;
  if (!isObj(params)) return shape === null && Array.isArray(params) ? undefined : `${method}: params must be an object`;
  if (shape === null) return undefined;
  for (const c of shape) {
    const why = c(params);
    if (why) return `${method}: ${why}`;
  }
  return undefined;
}

interface Rpc {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

function reportFatal(writer: StreamMessageWriter, why: string): void {
  const message = `ksym: the language server's input stream is broken (${why}); the server exits so that the client can restart it.`;
  process.stderr.write(message + '\n');
  const exit = () => process.exit(1);
  setTimeout(exit, 500).unref();
  writer.write({ jsonrpc: '2.0', method: 'window/showMessage', params: { type: 1, message } } as Message).then(exit, exit);
}

/** A MessageReader that checks params before the connection sees a message. */
class GuardedReader implements MessageReader {
  constructor(
    private inner: StreamMessageReader,
    private writer: StreamMessageWriter,
    private log: (m: string) => void,
  ) {}
  get onError() {
    return this.inner.onError;
  }
  get onClose() {
    return this.inner.onClose;
  }
  get onPartialMessage() {
    return this.inner.onPartialMessage;
  }
  listen(callback: DataCallback): Disposable {
    return this.inner.listen((m) => {
      const r = m as Rpc;
      if (!isObj(r) || typeof r.method !== 'string') {
        callback(m); // responses (to the server's own requests)
        return;
      }
      // JSON-RPC: params, when present, are an object or an array; `null` is taken as absent.
      if (r.params === null) delete r.params;
      const why = invalidParams(r.method, r.params);
      if (!why) {
        // A method that reads no params (ksym/reindex, shutdown) gets none: vscode-jsonrpc hands a
        // handler of a params-less type its cancellation token first only when params are absent.
        if (SHAPES[r.method] === null) delete r.params;
        callback(m);
        return;
      }
      const isRequest = r.id !== undefined && r.id !== null;
      this.log(`ksym: ${isRequest ? 'refused request' : 'dropped notification'}: ${why}`);
      if (isRequest)
        void this.writer.write({ jsonrpc: '2.0', id: r.id, error: { code: ErrorCodes.InvalidParams, message: `ksym: ${why}` } } as Message);
    });
  }
  dispose(): void {
    this.inner.dispose();
  }
}

let shutdownReceived = false;

/** The LSP connection: guarded over stdio (--stdio), vscode-languageserver's own for other transports. */
export function createGuardedConnection(): Connection {
  process.on('unhandledRejection', (e) =>
    process.stderr.write(`ksym: unhandled rejection (the server goes on): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`),
  );
  process.on('uncaughtException', (e) => process.stderr.write(`ksym: uncaught exception (the server goes on): ${e.stack ?? e.message}\n`));
  if (!process.argv.includes('--stdio')) return createConnection(ProposedFeatures.all);
  // What vscode-languageserver does for --stdio, which it skips for a reader of our own:
  // console output goes to stderr (stdout is the protocol), and the end of input ends the process.
  for (const k of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    console[k] = (...a: unknown[]) => void process.stderr.write(format(...a) + '\n');
  }
  const inner = new StreamMessageReader(process.stdin);
  const writer = new StreamMessageWriter(process.stdout);
  inner.partialMessageTimeout = PARTIAL_MESSAGE_MS;
  inner.onError((e) => {
    const msg = e instanceof Error ? e.message : String(e);
    if (/Content-Length|Header must provide/i.test(msg)) reportFatal(writer, msg.split('\n')[0]);
    else process.stderr.write(`ksym: unreadable message ignored: ${msg}\n`);
  });
  inner.onPartialMessage((info) =>
    reportFatal(
      writer,
      `a message stopped arriving: waited ${info.waitingTime} ms for the rest of its body (a Content-Length longer than the body?)`,
    ),
  );
  const end = () => process.exit(shutdownReceived ? 0 : 1);
  process.stdin.on('end', end);
  process.stdin.on('close', end);
  const reader = new GuardedReader(inner, writer, (m) => process.stderr.write(m + '\n'));
  const connection = createConnection(ProposedFeatures.all, reader, writer);
  const onShutdown = connection.onShutdown.bind(connection);
  connection.onShutdown = (h) => onShutdown((token) => ((shutdownReceived = true), h(token)));
  return connection;
}
