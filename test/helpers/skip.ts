/**
 * Skipping with a reason (issue 13 §6). A test that cannot run here (absent data, a missing
 * tool) says why with one `skipping <reason>` line on the console while its file is
 * collected; test/skipReporter.mjs collects those lines and ends `npm test` with one line
 * counting the skipped tests by reason.
 */

/** The prefix the reporter recognises (the existing helpers in corpus.ts and kernelData.ts use it too). */
export const SKIP_PREFIX = 'skipping ';

/** Record why the tests of this file that depend on `ok` skip; returns `ok` (for `describe.skipIf(!needs(...))`). */
export function needs(ok: boolean, reason: string): boolean {
  if (!ok) console.warn(`${SKIP_PREFIX}${reason}`);
  return ok;
}
