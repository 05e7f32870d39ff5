// What the bench scripts share: a deterministic PRNG, the median, and reading the live
// kernel's /proc/kallsyms (or why it cannot serve).
import { readFileSync } from 'node:fs';

/** mulberry32: small deterministic PRNG, values in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The median (the mean of the two middle values for an even count; NaN for none). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * /proc/kallsyms as bytes, or why it cannot serve: unreadable, empty, or (with
 * `needAddresses`) its addresses hidden by kptr_restrict.
 */
export function readLiveKallsyms({ needAddresses = false } = {}) {
  try {
    const bytes = readFileSync('/proc/kallsyms');
    if (bytes.length === 0) return { why: '/proc/kallsyms is empty' };
    if (needAddresses && !/^0*[1-9a-f][0-9a-f]* /m.test(bytes.toString('latin1')))
      return { why: 'addresses are hidden (kptr_restrict / no CAP_SYSLOG)' };
    return { bytes };
  } catch (e) {
    return { why: `/proc/kallsyms unreadable (${e.code ?? e.message})` };
  }
}
