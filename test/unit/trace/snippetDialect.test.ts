/**
 * The bpftrace snippet's dialect comes from --bpftrace-version or is the current syntax with a
 * comment on the older one: `ksym trace` runs no program to find out (it used to run
 * `bpftrace --version`, ~2 s, on every call).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../../../server/src/core/btf';
import { traceFunction } from '../../../server/src/core/trace/rules';
import { REAL_BTF, ROOT, have } from '../../helpers/corpus';

const ok = have(REAL_BTF, 'the default bpftrace dialect test (Debian 6.1 BTF)');

describe('bpftrace snippet dialect', () => {
  it.skipIf(!ok)('defaults to fentry: and args.x, naming the older kfunc:/args-> syntax in a comment', () => {
    const btf = parseBtf(new Uint8Array(readFileSync(REAL_BTF)), REAL_BTF);
    const r = traceFunction({ name: 'vfs_read', btf });
    const lines = r.snippets.bpftrace.split('\n');
    expect(lines[0]).toBe('// bpftrace < 0.21: args->NAME for args.NAME; < 0.19: kfunc:vmlinux:vfs_read for fentry:vmlinux:vfs_read');
    expect(lines[1]).toBe('fentry:vmlinux:vfs_read');
    expect(r.snippets.bpftrace).toContain('args.count');
    const given = traceFunction({ name: 'vfs_read', btf, bpftraceVersion: '0.20.1' });
    expect(given.snippets.bpftrace.split('\n')[0]).toBe('fentry:vmlinux:vfs_read');
    expect(given.snippets.bpftrace).toContain('args->count');
  });

  it('ksym trace executes nothing (no child_process in the command or core/trace)', () => {
    for (const f of [
      'server/src/cli/trace.ts',
      'server/src/core/trace/rules.ts',
      'server/src/core/trace/btfIds.ts',
      'server/src/core/trace/readFacts.ts',
    ])
      expect(readFileSync(join(ROOT, f), 'utf8'), f).not.toMatch(/child_process|execFile|spawn\(/);
  });
});
