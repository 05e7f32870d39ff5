/**
 * Reads the tracing facts of the running kernel: available_filter_functions, the kprobe
 * blacklist, the error-injection list and the kernel config, each when readable, with a
 * plain reason when lockdown, permissions or an unmounted tracefs/debugfs hide it.
 */
import { existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readGuardedSync } from '../common/readGuarded';
import type { TraceFacts } from './rules';

const MAX_TEXT = 64 * 1024 * 1024;
const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

function why(file: string, e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'EPERM') return `${file}: Operation not permitted (kernel lockdown hides it; see /sys/kernel/security/lockdown)`;
  if (code === 'EACCES') return `${file}: permission denied (run as root)`;
  if (code === 'ENOENT') return `${file}: not present (tracefs/debugfs not mounted, or the kernel lacks the feature)`;
  return `${file}: ${(e as Error).message}`;
}

function readFirst(files: string[]): { text?: string; problem?: string } {
  const problems: string[] = [];
  for (const f of files) {
    try {
      // tracefs/debugfs files through the guarded reader: never a FIFO, at most MAX_TEXT bytes (EFBIG past it).
      return { text: latin1(readGuardedSync(f, { maxBytes: MAX_TEXT, pseudo: true, what: 'tracefs/debugfs list' })) };
    } catch (e) {
      problems.push(why(f, e));
    }
  }
  // the most telling reason: a refusal beats "not mounted"
  const refusal = problems.find((p) => !/not present/.test(p));
  return { problem: refusal ?? (problems.length > 1 ? `${problems[0]} (nor ${files.slice(1).join(', ')})` : problems[0]) };
}

export interface ReadFactsOptions {
  tracing?: string[];
  debugfs?: string;
  config?: string[];
}

/** Facts of the running kernel (paths overridable for tests). */
export function readTraceFacts(opts: ReadFactsOptions = {}): TraceFacts {
  const tracing = opts.tracing ?? ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
  const debugfs = opts.debugfs ?? '/sys/kernel/debug';
  const afs = readFirst(tracing.map((d) => `${d}/available_filter_functions`));
  const bl = readFirst([`${debugfs}/kprobes/blacklist`]);
  const ei = readFirst([`${debugfs}/error_injection/list`]);
  const facts: TraceFacts = {
    availableFilterFunctions: afs.text,
    availableFilterFunctionsProblem: afs.problem,
    kprobeBlacklist: bl.text,
    kprobeBlacklistProblem: bl.problem,
    errorInjectionList: ei.text,
    errorInjectionProblem: ei.problem,
  };
  try {
    facts.release = latin1(readGuardedSync('/proc/sys/kernel/osrelease', { maxBytes: 4096, pseudo: true })).trim();
  } catch {
    // the release stays unknown: the newest rules apply
  }
  for (const f of opts.config ?? ['/proc/config.gz']) {
    try {
      if (!existsSync(f)) continue;
      const raw = Buffer.from(readGuardedSync(f, { maxBytes: MAX_TEXT, pseudo: true, what: 'kernel config' }));
      facts.config = (f.endsWith('.gz') ? gunzipSync(raw, { maxOutputLength: MAX_TEXT }) : raw).toString('latin1');
      break;
    } catch {
      // no config: kprobe availability stays unknown
    }
  }
  return facts;
}
