/** `ksym decode`: a kernel log annotated with resolved symbols (the logic: core/log/decode.ts). */
import { parseArgs } from 'node:util';
import { decodeText, type DecodeModuleFrame, type DecodeSource } from '../core/log/decode';
import { scanLine, frameText, type FrameToken } from '../core/log/scan';
import type { SourceAnswer } from '../core/log/source';
import { debugSetFor } from './loadDebug';
import { help, UsageError } from './common';
import { kaslrOffsetArg, readLogArg } from './readLog';
import { loadIndexOrExit, moduleStoreFor, reportModuleRefusals } from './loadIndex';

/** Largest log decoded (a day of a busy dmesg is a few MiB). */

export async function cmdDecode(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kallsyms: { type: 'string', multiple: true },
      'kaslr-offset': { type: 'string' },
      vmlinux: { type: 'string' },
      module: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return help('decode');
  if (positionals.length > 1) throw new UsageError('decode: give at most one FILE');
  const file = positionals[0] ?? '-';
  const input = readLogArg(file);
  const shift = kaslrOffsetArg(values['kaslr-offset']);
  const index = await loadIndexOrExit(values.kallsyms);
  const source = await sourceHook(index, input, values.kallsyms, values.vmlinux, values.module);
  process.stdout.write(decodeText(index, input, shift, source?.hook, source?.moduleFrame) + (input.endsWith('\n') ? '' : '\n'));
  source?.close();
  return 0;
}

/**
 * Source lines for every frame (issue 15 §4): vmlinux frames through the vmlinux (given, or
 * found for the running kernel), `[mod]` frames through the module's .ko from --module,
 * resolved before the (synchronous) decode. Stack entries are looked up at addr - 1.
 */
async function sourceHook(
  index: Parameters<typeof debugSetFor>[0],
  input: string,
  kallsyms: string[] | undefined,
  vmlinux: string | undefined,
  modules: string[] | undefined,
): Promise<{ hook: DecodeSource; moduleFrame: DecodeModuleFrame; close(): void } | undefined> {
  const debug = debugSetFor(index, { kallsyms, vmlinux, modules });
  if (!vmlinux && !modules?.length && !debug.vmlinuxStatus().reader) return undefined;
  const mods = new Map<string, SourceAnswer>();
  // The verdict on each [mod] frame from the module's .ko (what the kernel would print there).
  const verdicts = new Map<string, string>();
  if (modules?.length) {
    // Checked (vermagic) against the kernel of the --kallsyms files: another kernel's module is refused, once.
    const store = moduleStoreFor(modules, kallsyms);
    const scan = await store.scan();
    for (const e of scan.errors) process.stderr.write(`ksym: ${e}\n`);
    store.useKallsyms(index);
    for (const line of input.split('\n')) {
      for (const t of scanLine(line)) {
        if (t.kind !== 'frame' || !t.module || t.offset === undefined) continue;
        const key = `${t.role === 'trace' ? 'r' : 'i'} ${frameText(t)}`;
        if (mods.has(key)) continue;
        const r = await store.resolveModuleFrame(t);
        if (r.ok && r.candidates.length === 1) {
          const c = r.candidates[0];
          const where = `${r.file.slice(r.file.lastIndexOf('/') + 1)} ${c.section}+0x${(c.value + t.offset).toString(16)}`;
          verdicts.set(
            key,
            c.printedMatches === false && c.printed
              ? `⚠ ${where}: the kernel would print ${c.printed.text}`
              : `${c.printedMatches ? '✓ ' : ''}${where}`,
          );
        } else if (r.ok && r.candidates.length > 1)
          verdicts.set(key, `${r.candidates.length} symbols named ${t.name} in ${r.module}: ambiguous`);
        // A refused module (another kernel's): the refusal is the frame's answer, no source line is looked for.
        const refused = !r.ok && store.refusals().some((x) => x.message === r.error);
        if (refused) verdicts.set(key, r.error);
        if (!r.ok) mods.set(key, { source: [], sourceProblem: refused ? '' : r.error });
        else if (r.candidates.length !== 1)
          mods.set(key, { source: [], sourceProblem: `${r.candidates.length} symbols named ${t.name} in ${r.module}: ambiguous` });
        else {
          const c = r.candidates[0];
          mods.set(
            key,
            debug.module(
              { module: r.module, file: r.file, section: c.section, offset: c.value + t.offset, buildId: t.buildId },
              { returnAddress: t.role === 'trace', symbol: t.name },
            ),
          );
        }
      }
    }
    reportModuleRefusals(store);
  }
  const hook: DecodeSource = (t: FrameToken, r) => {
    if (t.module)
      return (
        mods.get(`${t.role === 'trace' ? 'r' : 'i'} ${frameText(t)}`) ?? {
          source: [],
          sourceProblem: `module ${t.module}: give its .ko (with debug info) with --module FILE.ko|DIR`,
        }
      );
    if (r.address === undefined) return undefined;
    return debug.vmlinux(r.address, { returnAddress: t.role === 'trace', symbol: t.name });
  };
  const moduleFrame: DecodeModuleFrame = (t) => verdicts.get(`${t.role === 'trace' ? 'r' : 'i'} ${frameText(t)}`);
  return { hook, moduleFrame, close: () => debug.close() };
}
