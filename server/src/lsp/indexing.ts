/**
 * What a request says while the first index is still being built (issue 13 §2): never
 * "no symbol named ..." from an index that is not there yet. Requests wait for the first
 * index (IndexService.firstIndex, bounded, cancellable); past the bound they say plainly
 * that indexing is in progress.
 */
import { LSPErrorCodes, MarkupKind, ResponseError, type Hover } from 'vscode-languageserver/node';
import { FIRST_INDEX_WAIT_MS } from './indexService';

export const INDEXING_MESSAGE =
  `ksym is still indexing the kernel symbols (not finished after ${FIRST_INDEX_WAIT_MS / 1000} s): ` +
  'no answer yet, which does not mean the symbol is absent. Try again once the status bar says the index is ready.';

/** The hover shown instead of an answer from the empty index. */
export function indexingHover(): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: `**ksym: indexing in progress.** ${INDEXING_MESSAGE}` } };
}

/** The error a list request (definition, workspace symbols) answers with instead of an empty list. */
export function indexingError(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestFailed, INDEXING_MESSAGE);
}
