/** The hover's Tracing part and [bpf] symbol hovers (lsp/hover/trace.ts) on this kernel's data. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../../../server/src/core/btf';
import { buildIndex } from '../../../server/src/core/kallsyms/symbolIndex';
import { bpfSymbolMarkdown, traceMarkdown } from '../../../server/src/lsp/hover/trace';
import { liveKallsyms } from '../../helpers/corpus';

const BTF = '/sys/kernel/btf/vmlinux';
const K = liveKallsyms();
const OK = existsSync(BTF) && !!K;

describe.skipIf(!OK)('Tracing in hovers', () => {
  const btf = OK ? parseBtf(new Uint8Array(readFileSync(BTF)), BTF) : undefined;
  const index = OK ? buildIndex([{ file: '/proc/kallsyms', bytes: new Uint8Array(K!), kind: 'kallsyms' }]) : undefined;

  it('verdicts, reasons, args and snippets', () => {
    const md = traceMarkdown(btf, index, 'vfs_read')!;
    expect(md).toContain('**Tracing**');
    expect(md).toMatch(/[✓✗?] fentry · [✓✗?] fexit/);
    expect(md).toContain('`struct file *file`');
    expect(md).toContain('SEC("fentry/vfs_read")');
    expect(traceMarkdown(btf, index, 'paravirt_read_msr')).toContain('⚠');
    expect(traceMarkdown(btf, index, 'no_such_function_xyz')).toBeUndefined();
  });

  it('[bpf] symbols: tag, name, trampoline target from vmlinux BTF', () => {
    const id = btf!.idsByName('vfs_read')[0];
    expect(bpfSymbolMarkdown(`bpf_trampoline_${(1n << 32n) | BigInt(id)}`, btf)).toContain('attached to vfs\\_read');
    expect(bpfSymbolMarkdown('bpf_prog_6deef7357e7b4530_x_*y', btf)).toContain('x\\_\\*y');
  });
});
