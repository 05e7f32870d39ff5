/** Address samples of a vmlinux / module for the oracle comparisons (deterministic). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TextSym {
  addr: bigint;
  name: string;
}

/** Text symbols of a System.map between _stext and _etext, sorted. */
export function textSymbols(systemMap: string): { syms: TextSym[]; stext: bigint; etext: bigint } {
  const syms: TextSym[] = [];
  let stext = 0n,
    etext = 0n;
  for (const l of readFileSync(systemMap, 'latin1').split('\n')) {
    const m = /^([0-9a-f]{16}) ([tTwW]) (\S+)$/.exec(l);
    if (!m) continue;
    const a = BigInt('0x' + m[1]);
    if (m[3] === '_stext') stext = a;
    if (m[3] === '_etext') etext = a;
    syms.push({ addr: a, name: m[3] });
  }
  return {
    syms: syms.filter((s) => s.addr >= stext && s.addr < etext).sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0)),
    stext,
    etext,
  };
}

/** Return addresses (the instruction after each call) found by objdump in windows of `obj`. */
export function returnAddresses(obj: string, windows: [bigint, bigint][], section?: string): bigint[] {
  const out: bigint[] = [];
  for (const [a, b] of windows) {
    const args = [
      '-d',
      '--no-show-raw-insn',
      `--start-address=0x${a.toString(16)}`,
      `--stop-address=0x${b.toString(16)}`,
      ...(section ? ['-j', section] : []),
      obj,
    ];
    const txt = execFileSync('objdump', args, { maxBuffer: 1 << 28, encoding: 'latin1' });
    let pendingCall = false;
    for (const l of txt.split('\n')) {
      const m = /^\s*([0-9a-f]+):\s+(\S+)/.exec(l);
      if (!m) continue;
      const addr = BigInt('0x' + m[1]);
      if (pendingCall) out.push(addr);
      pendingCall = m[2] === 'call' || m[2] === 'callq';
    }
  }
  return out;
}

export function pick<T>(r: () => number, xs: T[], n: number): T[] {
  if (xs.length <= n) return xs.slice();
  const out: T[] = [];
  const seen = new Set<number>();
  while (out.length < n) {
    const i = Math.floor(r() * xs.length);
    if (seen.has(i)) continue;
    seen.add(i);
    out.push(xs[i]);
  }
  return out;
}
