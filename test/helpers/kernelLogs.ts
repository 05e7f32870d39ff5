/**
 * Logs of other kernels for the issue-16 tests, built from real data: a Debian 6.1 drbd oops
 * whose vmlinux frames are placed with the System.map plus a KASLR shift and whose module
 * frame is placed with drbd.ko's readelf -sW values at a load address; the oracles are
 * those files, never ksym.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEBIAN, SYSTEM_MAP } from './corpus';
import { readelfSymbols } from './readelf';

export const MODS = resolve(DEBIAN, 'modules');
export const DRBD = join(MODS, 'drivers/block/drbd/drbd.ko');
export const BTF61 = join(DEBIAN, 'vmlinux-6.1.0-56-amd64.btf');

/** System.map: name → address, and each symbol's size to the next higher address (the kernel's rule). */
export function mapOracle(): { addr: (n: string) => bigint; size: (n: string) => bigint } {
  const rows = readFileSync(SYSTEM_MAP, 'latin1')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((r) => r.length === 3)
    .map((r) => ({ a: BigInt('0x' + r[0]), n: r[2] }));
  const sorted = [...new Set(rows.map((r) => r.a))].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const addr = (n: string) => rows.find((r) => r.n === n)!.a;
  const size = (n: string) => {
    const a = addr(n);
    return sorted.find((x) => x > a)! - a;
  };
  return { addr, size };
}

/** drbd.ko .symtab: a symbol's value and its size to the next symbol of its section (what kallsyms prints). */
export function drbdOracle(name: string): { value: bigint; size: bigint } {
  const syms = readelfSymbols(DRBD);
  const s = syms.find((r) => r.name === name && r.type === 'FUNC')!;
  const next = syms
    .filter((r) => r.ndx === s.ndx && r.value > s.value && r.type !== 'SECTION' && r.name !== '')
    .reduce((m, r) => Math.min(m, r.value), Infinity);
  return { value: BigInt(s.value), size: BigInt(next - s.value) };
}

export const h = (v: bigint) => v.toString(16);
export const SHIFT = 0x28000000n;
export const TEXT = 0xffffffffc0b00000n; // drbd's .text load address in this log

export function drbdLog(): {
  text: string;
  attach: string;
  rax: bigint;
  raxOffset: bigint;
  vm: { name: string; at: bigint; off: bigint; size: bigint }[];
} {
  const m = mapOracle();
  const a = drbdOracle('drbd_adm_attach');
  const attach = `drbd_adm_attach+0x2f/0x${h(a.size)} [drbd]`;
  const frame = TEXT + a.value + 0x2fn;
  const vm = [
    { name: 'genl_rcv_msg', off: 0x1c5n },
    { name: 'netlink_rcv_skb', off: 0x50n },
    { name: 'do_syscall_64', off: 0x3bn },
  ].map((f) => ({ ...f, at: m.addr(f.name) + SHIFT + f.off, size: m.size(f.name) }));
  const raxOffset = 0x61n;
  const rax = TEXT + a.value + raxOffset;
  const text = [
    'BUG: kernel NULL pointer dereference, address: 0000000000000008',
    'CPU: 1 PID: 4242 Comm: drbdsetup Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2',
    'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014',
    `RIP: 0010:${attach}`,
    `RAX: ${h(rax)} RBX: 0000000000000000 RCX: 0000000000000000`,
    'Call Trace:',
    ` [<${h(frame)}>] ${attach}`,
    ...vm.map((f) => ` [<${h(f.at)}>] ${f.name}+0x${h(f.off)}/0x${h(f.size)}`),
    `Kernel Offset: 0x${h(SHIFT)} from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)`,
  ].join('\n');
  return { text, attach, rax, raxOffset, vm };
}
