// Workspace trust (Restricted Mode): which paths named by an untrusted workspace's settings may be read.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInside, partitionPaths, restrictedMessage, restrictedSummary } from '../../../client/src/trustpaths';
import { parseSettings } from '../../../server/src/lsp/settings';

describe('Restricted Mode path filter', () => {
  const root = mkdtempSync(join(tmpdir(), 'ksym-trust-'));
  const ws = join(root, 'ws');
  const outside = join(root, 'secret');
  mkdirSync(join(ws, 'dumps'), { recursive: true });
  mkdirSync(join(root, 'ws2'));
  writeFileSync(join(ws, 'dumps/kallsyms'), 'ffffffff81000000 T _stext\n');
  writeFileSync(outside, 'not yours\n');
  symlinkSync(outside, join(ws, 'dumps/link-out'));
  symlinkSync(join(ws, 'dumps/kallsyms'), join(root, 'link-in'));

  it('keeps files inside a workspace folder, symlinks resolved', () => {
    expect(isInside(join(ws, 'dumps/kallsyms'), [ws])).toBe(true);
    expect(isInside(ws, [ws])).toBe(true);
    expect(isInside(join(ws, 'dumps/not-yet-there'), [ws])).toBe(true);
    // A link outside the workspace that points into it names a file inside.
    expect(isInside(join(root, 'link-in'), [ws])).toBe(true);
  });

  it('drops files outside: absolute, ../ escapes, links pointing out, look-alike folder names, /proc', () => {
    expect(isInside(outside, [ws])).toBe(false);
    expect(isInside(join(ws, '../secret'), [ws])).toBe(false);
    expect(isInside(join(ws, 'dumps/link-out'), [ws])).toBe(false);
    expect(isInside(join(root, 'ws2/x'), [ws])).toBe(false);
    expect(isInside('/proc/kallsyms', [ws])).toBe(false);
    expect(isInside(join(ws, 'dumps/kallsyms'), [])).toBe(false);
  });

  it('partitions a list, and the server reports what was dropped', () => {
    const p = partitionPaths([join(ws, 'dumps/kallsyms'), '/etc/passwd', join(ws, 'dumps/link-out')], [join(root, 'other'), ws]);
    expect(p).toEqual({ kept: [join(ws, 'dumps/kallsyms')], dropped: ['/etc/passwd', join(ws, 'dumps/link-out')] });
    const msg = restrictedMessage('ksym.kallsyms', p.dropped);
    const s = parseSettings({ kallsyms: p.kept, restricted: [msg] });
    expect(s.kallsyms).toEqual(p.kept);
    expect(s.problems).toEqual([msg]);
    expect(msg).toMatch(/^Restricted Mode: ksym\.kallsyms names \/etc\/passwd, .* until you trust this workspace$/);
  });
});

describe('Restricted Mode notification', () => {
  it('is one short sentence naming the settings and files (the full messages stay in the status and output)', () => {
    const kallsyms = restrictedMessage('ksym.kallsyms', ['/home/u/dumps/outside.kallsyms']);
    const btf = restrictedMessage('ksym.btf', ['/a/vmlinux.btf', '/b/x.btf', '/c/y.btf']);
    const di = 'Restricted Mode: ksym.debuginfod.urls from the workspace is not used until you trust this workspace';
    expect(restrictedSummary([kallsyms])).toBe(
      'Restricted Mode: ksym.kallsyms (outside.kallsyms) from this workspace is not read until you trust it.',
    );
    const all = restrictedSummary([kallsyms, btf, di])!;
    expect(all).toBe(
      'Restricted Mode: ksym.kallsyms (outside.kallsyms), ksym.btf (vmlinux.btf, x.btf +1 more) and ksym.debuginfod.urls from this workspace are not read until you trust it.',
    );
    expect(all.length).toBeLessThan(kallsyms.length + btf.length + di.length);
    // Any other problem: no summary (the full messages are shown).
    expect(restrictedSummary([kallsyms, '/x: no such file'])).toBeUndefined();
    expect(restrictedSummary([])).toBeUndefined();
  });
});
