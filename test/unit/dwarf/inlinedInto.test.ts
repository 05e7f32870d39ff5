/**
 * inlinedInto(): the functions a fully inlined function went into, on the Debian 6.1 -dbg
 * vmlinux, against llvm-dwarfdump (-p on the DW_TAG_inlined_subroutine found: its abstract
 * origin names the function, its outermost DW_TAG_subprogram the caller) and llvm-symbolizer
 * --inlining at the copy's address (the chain holds the function and ends in the caller).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ElfView } from '../../../server/src/core/dwarf/elf';
import { inlinedInto } from '../../../server/src/core/dwarf/inlinedInto';
import { fileSource } from '../../../server/src/core/dwarf/readFile';
import { kernelData } from '../../helpers/kernelData';
import { haveTools } from '../../helpers/skip';

const kd = kernelData();
const tools = haveTools(['llvm-dwarfdump', 'llvm-symbolizer'], 'the inlinedInto oracle');
const run = !!kd && tools;
const src = run ? fileSource(kd!.vmlinux) : undefined;
const elf = src ? new ElfView(src) : undefined;
afterAll(() => src?.close?.());

/** llvm-dwarfdump -p of one DIE: the abstract origin's name and the outermost subprogram's name. */
function dwarfdump(die: number): { origin?: string; caller?: string } {
  const out = execFileSync('llvm-dwarfdump', [`--debug-info=${die}`, '-p', '-c=0', kd!.vmlinux], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const blocks = out.split(/\n(?=0x[0-9a-f]+:)/);
  const sub = blocks.find((b) => /DW_TAG_subprogram/.test(b));
  const last = blocks[blocks.length - 1];
  const nm = (b: string | undefined) => /DW_AT_(?:name|abstract_origin|specification)\s+\((?:0x[0-9a-f]+ )?"([^"]+)"\)/.exec(b ?? '')?.[1];
  expect(last).toMatch(/DW_TAG_inlined_subroutine/);
  return { origin: /DW_AT_abstract_origin\s+\(0x[0-9a-f]+ "([^"]+)"\)/.exec(last)?.[1], caller: nm(sub) };
}

function symbolize(addr: number): string[] {
  const a = (BigInt(addr) & 0xffffffffffffffffn).toString(16);
  const out = execFileSync('llvm-symbolizer', ['--inlining', `--obj=${kd!.vmlinux}`, `0x${a}`], { encoding: 'utf8' });
  return out.split('\n').filter((l, i) => i % 2 === 0 && l);
}

describe('inlinedInto (Debian 6.1 vmlinux DWARF)', () => {
  // context_switch: also a perf_event_attr member name (hundreds of units hold its string);
  // pick_next_task: a static in kernel/sched/core.c; both fully inlined into __schedule in 6.1
  for (const name of ['context_switch', 'pick_next_task'])
    it.skipIf(!run)(
      `${name}: every caller found agrees with llvm-dwarfdump and llvm-symbolizer`,
      () => {
        const r = inlinedInto(elf!, name);
        expect(r.complete).toBe(true);
        expect(r.callers.map((c) => c.caller)).toContain('__schedule');
        for (const c of r.callers.slice(0, 3)) {
          const d = dwarfdump(c.die);
          expect(d.origin).toBe(name);
          expect(d.caller).toBe(c.caller);
          if (c.address !== undefined) {
            const chain = symbolize(c.address);
            expect(chain).toContain(name);
            expect(chain[chain.length - 1]).toBe(c.caller);
          }
        }
      },
      120_000,
    );

  it.skipIf(!run)('a name DWARF does not know gives no callers, bounded', () => {
    expect(inlinedInto(elf!, 'no_such_function_ksym_test')).toEqual({ callers: [], complete: true, note: undefined });
    const r = inlinedInto(elf!, 'context_switch', 32, 5);
    expect(r.complete).toBe(false);
    expect(r.note).toMatch(/first 5 units/);
  });
});
