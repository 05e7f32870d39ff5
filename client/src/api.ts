/**
 * The object `activate` returns: lets end-to-end tests (and other extensions)
 * wait for the index and follow its status.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { StatusParams } from '../../server/src/protocol';

export interface KsymApi {
  readonly client: LanguageClient;
  /** Resolves with the first status that is not `indexing` (check `.state`:
   *  `ready` or `error`); rejects if the server fails to start or stops first. */
  readonly onReady: Promise<StatusParams>;
  /** The last `ksym/status` received, if any. */
  lastStatus(): StatusParams | undefined;
  /** Fires on every `ksym/status`. */
  readonly onStatus: vscode.Event<StatusParams>;
}

/** Keeps the last status and settles `onReady`. */
export class StatusWatcher implements vscode.Disposable {
  private last: StatusParams | undefined;
  private settled = false;
  private readonly emitter = new vscode.EventEmitter<StatusParams>();
  private resolveReady!: (s: StatusParams) => void;
  private rejectReady!: (e: Error) => void;
  readonly onReady: Promise<StatusParams>;
  readonly onStatus = this.emitter.event;

  constructor() {
    this.onReady = new Promise<StatusParams>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Nobody may be waiting: do not report an unhandled rejection.
    this.onReady.catch(() => undefined);
  }

  update(s: StatusParams): void {
    this.last = s;
    if (!this.settled && s.state !== 'indexing') {
      this.settled = true;
      this.resolveReady(s);
    }
    this.emitter.fire(s);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectReady(err instanceof Error ? err : new Error(String(err)));
  }

  lastStatus(): StatusParams | undefined {
    return this.last;
  }

  dispose(): void {
    this.fail(new Error('Kernel Symbols extension deactivated'));
    this.emitter.dispose();
  }
}
