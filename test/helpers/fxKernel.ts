/**
 * The gcc-built "kernel" fixtures of the source-line tests (test/protocol and test/e2e): a
 * small kernel-tree layout compiled here with `gcc -g -O2`, so the index and the debug files
 * match and no download is needed. What those tests share: the header of inline helpers
 * (a chain of 3 by llvm-symbolizer), the tree's marks, a System.map from the fixture's own
 * `nm -n`, the return addresses of its call sites (objdump -d), the kernel form of an address
 * (ksym lookup) and the locations a hover's source part shows.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { OracleFrame } from '../unit/dwarf/oracle';
import { CLI } from './lspclient';

/** `<p>_leaf` inlined into `<p>_mid` (always_inline), both inlined into their callers; `<p>_sink` keeps them honest. */
export function inlineHeader(p: string): string {
  const guard = `${p.toUpperCase()}HELP_H`;
  return `#ifndef ${guard}
#define ${guard}
extern volatile int ${p}_sink;
static inline int ${p}_leaf(int x)
{
	${p}_sink = x;
	return x * 3 + (x >> 2);
}
static inline __attribute__((always_inline)) int ${p}_mid(int x)
{
	if (x > 10)
		return ${p}_leaf(x) + 1;
	return ${p}_leaf(x - 1);
}
#endif
`;
}

/** The top-level files that make `tree` a kernel source tree (a Makefile with the version, a Kconfig). */
export function markKernelTree(tree: string): void {
  writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n');
  writeFileSync(join(tree, 'Kconfig'), 'mainmenu "fixture"\n');
}

/** Write `map`, the System.map of a linked fixture (its text, data, bss and rodata symbols by `nm -n`); returns nm's output. */
export function writeSystemMap(vmlinux: string, map: string): string {
  const nm = execFileSync('nm', ['-n', vmlinux], { encoding: 'utf8' });
  writeFileSync(
    map,
    nm
      .split('\n')
      .filter((l) => /^[0-9a-f]+ [TtDdBbRr] /.test(l))
      .join('\n') + '\n',
  );
  return nm;
}

export interface CallSite {
  /** The return address (the instruction after the call): section-relative in a relocatable object. */
  ret: number;
  /** The calling function. */
  fn: string;
  section: string;
}

/** Every call site of `obj` by `objdump -d`, in order. */
export function callSites(obj: string): CallSite[] {
  const d = execFileSync('objdump', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8' });
  const out: CallSite[] = [];
  let fn = '';
  let section = '';
  let pending = false;
  for (const l of d.split('\n')) {
    const s = /^Disassembly of section (\S+):$/.exec(l);
    if (s) section = s[1];
    const f = /^[0-9a-f]+ <([^>]+)>:$/.exec(l);
    if (f) {
      fn = f[1];
      pending = false;
      continue;
    }
    const m = /^\s+([0-9a-f]+):\s+(\S+)/.exec(l);
    if (!m) continue;
    if (pending) out.push({ ret: parseInt(m[1], 16), fn, section });
    pending = m[2] === 'call';
  }
  return out;
}

/** The kernel form (%pS) of each address with this System.map, by `ksym lookup`. */
export function kernelForms(map: string, addrs: bigint[]): string[] {
  const o = execFileSync(process.execPath, [CLI, 'lookup', '--kallsyms', map, ...addrs.map((a) => '0x' + a.toString(16))], {
    encoding: 'utf8',
  });
  return o
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/)[1]);
}

/** The locations of a hover's source part, in order: the label (file:line) and the link's target, if it is a link. */
export function sourceLocations(md: string): { label: string; target?: string }[] {
  const part = md.slice(md.indexOf('**source**'));
  const lines = part.split('\n').filter((l) => l.startsWith('**source**') || l.startsWith('↳'));
  return lines.map((l) => {
    const link = /\[((?:\\.|[^\]\\])+)\]\(([^)]+)\)/.exec(l);
    if (link) return { label: link[1].replace(/\\(.)/g, '$1'), target: link[2] };
    const c = /`([^`]+:\d+)`/.exec(l);
    return { label: c ? c[1] : '' };
  });
}

/** An oracle's chain as ksym shows it for a fixture built in `tree`: tree-relative file:line, innermost first. */
export function treeRelative(o: OracleFrame[], tree: string): string[] {
  return o.map((f) => `${relative(tree, f.file)}:${f.line}`);
}

/** A file:line of Debian's kernel build as ksym shows it without a source tree: relative to the tree (the build prefix stripped). */
export function debianRelative(f: OracleFrame): string {
  return `${f.file.replace(/^.*?debian\/build\/build_amd64_none_amd64\//, '').replace(/^\/build\/reproducible-path\/linux-[^/]+\//, '')}:${f.line}`;
}
