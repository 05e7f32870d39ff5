// The straightforward Node baseline that `npm run bench` compares the ksym index with:
// read the text as a string, split it into lines, one object per symbol with a BigInt
// address, Array.prototype.sort by address, a Map from name to symbols, and a binary
// search over the object array. Deliberately plain code, no tricks.
import { readFileSync } from 'node:fs';

/** Build from a file path (read as a UTF-8 string) or from a string already in memory. */
export function buildBaseline(fileOrText, isText = false) {
  const text = isText ? fileOrText : readFileSync(fileOrText, 'utf8');
  const syms = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length < 3) continue;
    const mod = parts[3] ? parts[3].slice(1, -1) : undefined;
    syms.push({ addr: BigInt('0x' + parts[0]), type: parts[1], name: parts[2], mod });
  }
  syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  const byName = new Map();
  for (const s of syms) {
    const list = byName.get(s.name);
    if (list) list.push(s);
    else byName.set(s.name, [s]);
  }
  return { syms, byName };
}

/** Index of the last symbol with addr <= a, or -1. */
export function floorBaseline(b, a) {
  const syms = b.syms;
  let lo = 0;
  let hi = syms.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (syms[mid].addr <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** `name+0xoff/0xsize [mod]` for an address (size to the next higher address, no kernel rules). */
export function resolveBaseline(b, a) {
  let i = floorBaseline(b, a);
  if (i < 0) return undefined;
  const syms = b.syms;
  while (i > 0 && syms[i - 1].addr === syms[i].addr) i--;
  const s = syms[i];
  let j = i + 1;
  while (j < syms.length && syms[j].addr === s.addr) j++;
  const size = j < syms.length ? syms[j].addr - s.addr : undefined;
  const off = a - s.addr;
  return {
    sym: s,
    offset: off,
    text: `${s.name}+0x${off.toString(16)}${size !== undefined ? '/0x' + size.toString(16) : ''}${s.mod ? ` [${s.mod}]` : ''}`,
  };
}

const FRAME = /(\.?[A-Za-z_$][\w.$]*)\+0x([0-9a-fA-F]+)(?:\/0x([0-9a-fA-F]+))?(?:\s+\[([\w-]+)\])?/g;
const ADDR = /\[<([0-9a-fA-F]{8,16})>\]/g;

/** A naive hover: regex the line, find the token under `col`, look it up, format markdown. */
export function naiveHover(b, line, col) {
  for (const m of line.matchAll(FRAME)) {
    if (col < m.index || col > m.index + m[0].length) continue;
    const cands = (b.byName.get(m[1]) ?? []).filter((s) => (m[4] ? s.mod === m[4] : !s.mod));
    if (cands.length === 0) return `\`${m[0]}\`: not found`;
    const a = cands[0].addr + BigInt('0x' + m[2]);
    const r = resolveBaseline(b, a - 1n);
    return `\`${m[0]}\` = \`${a.toString(16).padStart(16, '0')}\` → **\`${r ? r.text : '?'}\`**\n\n**\`${cands[0].name}\`** type \`${cands[0].type}\``;
  }
  for (const m of line.matchAll(ADDR)) {
    if (col < m.index || col > m.index + m[0].length) continue;
    const a = BigInt('0x' + m[1]);
    const r = resolveBaseline(b, a - 1n);
    return r ? `\`${m[1]}\` → **\`${r.text}\`**\n\n**\`${r.sym.name}\`** type \`${r.sym.type}\`` : `\`${m[1]}\`: no symbol`;
  }
  return undefined;
}
