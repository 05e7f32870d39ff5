/** The output channel names the kernel being served (issue 13 §4). Oracle: /proc/version. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KernelRegistry, servedKernelText } from '../../../server/src/lsp/kernelRegistry';
import { parseSettings } from '../../../server/src/lsp/settings';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import type { Kernel } from '../../../server/src/core/kernels/kernels';

const sources = () => ({ index: buildIndex([]), generation: 1 });

describe('the served kernel in the output channel', () => {
  it('names the running kernel from /proc/version, once per change', () => {
    const running: Kernel = {
      label: 'running',
      kind: 'running',
      dir: 'running',
      problems: [],
      release: '6.1.0-56-amd64',
      version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2',
    };
    const log: string[] = [];
    const reg = new KernelRegistry(sources as never, (m) => log.push(m), { runningKernel: () => running, conventional: [] });
    reg.configure(parseSettings({}));
    reg.configure(parseSettings({}));
    expect(log.filter((l) => l.startsWith('serving'))).toEqual([
      'serving kernel 6.1.0-56-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (the running kernel, /proc/version)',
    ]);
    reg.configure(parseSettings({ kallsyms: [], systemMap: ['/srv/k/System.map-5.10.0-9-amd64'] }));
    expect(log[log.length - 1]).toBe('serving kernel 5.10.0-9-amd64 (/srv/k/System.map-5.10.0-9-amd64)');
    reg.configure(parseSettings({ kallsyms: ['/tmp/dump.txt'] }));
    expect(log[log.length - 1]).toMatch(/^serving kernel of unknown release \(\/tmp\/dump\.txt: neither its name nor a version file/);
    expect(servedKernelText(undefined)).toContain('no kallsyms or System.map');
  });

  it.skipIf(!existsSync('/proc/version'))('on this machine: the release /proc/version gives', () => {
    const release = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))![1];
    const log: string[] = [];
    new KernelRegistry(sources as never, (m) => log.push(m), { conventional: [] }).configure(parseSettings({}));
    expect(log.find((l) => l.startsWith('serving'))).toContain(`serving kernel ${release} `);
  });
});
