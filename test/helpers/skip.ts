/**
 * Skipping with a reason (issue 13 §6). A test that cannot run here (absent data, a missing
 * tool) says why with one `skipping <reason>` line on the console while its file is
 * collected; test/skipReporter.mjs collects those lines and ends `npm test` with one line
 * counting the skipped tests by reason.
 */

import { execFileSync } from 'node:child_process';

/** The prefix the reporter recognises (the existing helpers in corpus.ts and kernelData.ts use it too). */
export const SKIP_PREFIX = 'skipping ';

/** Record why the tests of this file that depend on `ok` skip; returns `ok` (for `describe.skipIf(!needs(...))`). */
export function needs(ok: boolean, reason: string): boolean {
  if (!ok) console.warn(`${SKIP_PREFIX}${reason}`);
  return ok;
}

/** Whether every command in `tools` runs (`TOOL --version`), else the reason is recorded as with needs(). */
export function haveTools(tools: readonly string[], what: string): boolean {
  const missing = tools.filter((t) => {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  return needs(missing.length === 0, `${what}: ${missing.join(' and ')} not installed`);
}
