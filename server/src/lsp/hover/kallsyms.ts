/**
 * Hover: kernel-exact symbol information for the token under the cursor in a kernel
 * log, a kallsyms/System.map file or any text. Never throws; returns undefined when
 * there is nothing to say.
 */
import { KALLSYMS_LINE, SYMBOL_WORD } from '../../core/kallsyms/parse';
import { hexAddr } from '../../core/common/addr';
import { FrameToken, LogToken, scanLine, scanWrapped, tokenAt } from '../../core/log/scan';
import { FrameResolution, resolveAddressToken, resolveFrame } from '../../core/log/resolve';
import { SymbolIndex, SymbolInfo } from '../../core/kallsyms/symbolIndex';
import { code, hex, text } from '../markdown';
import type { AddressShift } from '../../core/kernels/kaslr';

export interface LineSource {
  lineCount: number;
  line(n: number): string;
}

export interface HoverContext {
  index: SymbolIndex;
  /** Which shift each log address gets (KASLR; modules never get the vmlinux shift). */
  shift: AddressShift;
  languageId: string;
  /** Said before anything else (the log is not from the index's kernel); markdown. */
  headline?: string;
}

export interface HoverAnswer {
  markdown: string;
  line: number;
  start: number;
  end: number;
  /** The log token hovered, when it was one. */
  token?: LogToken;
  /** The kallsyms index resolved it. */
  resolved?: boolean;
  /** The symbol an address resolved to. */
  symbol?: { name: string; module?: string };
}

export function hover(ctx: HoverContext, doc: LineSource, line: number, col: number): HoverAnswer | undefined {
  try {
    return hoverUnsafe(ctx, doc, line, col);
  } catch (e) {
    return { markdown: `ksym: internal error while resolving: ${text(String(e))}`, line, start: col, end: col };
  }
}

function hoverUnsafe(ctx: HoverContext, doc: LineSource, line: number, col: number): HoverAnswer | undefined {
  if (line < 0 || line >= doc.lineCount) return undefined;
  const l = doc.line(line);
  if (ctx.languageId === 'kallsyms') {
    const k = kallsymsLineHover(ctx.index, l, col);
    if (k) return { ...k, line };
  }
  const tokens = scanLine(l);
  let tok: LogToken | undefined = tokenAt(tokens, col);
  if (!tok) {
    // A frame wrapped over two lines.
    const w = scanWrapped(l, line + 1 < doc.lineCount ? doc.line(line + 1) : undefined);
    if (w && col >= w.start) tok = { ...w, end: Math.min(w.end, l.length) };
    else if (line > 0) {
      const prev = doc.line(line - 1);
      const p = scanWrapped(prev, l);
      if (p && col < p.end - prev.length) tok = { ...p, start: 0, end: p.end - prev.length };
    }
  }
  if (!tok) return wordHover(ctx.index, l, line, col);
  if (tok.kind === 'kaslr') {
    const vm = ctx.shift.vmlinuxShift;
    return {
      markdown:
        `**KASLR**: log addresses are shifted by ${code(hex(tok.offset))}; ` +
        (vm === undefined
          ? 'ksym does not know the shift against this index (see the log diagnostics).'
          : `ksym subtracts ${code(hex(vm))} from addresses inside the kernel image before lookup (the log's offset minus this index's own); module addresses are never shifted by it.`),
      line,
      start: tok.start,
      end: tok.end,
    };
  }
  if (tok.kind === 'frame') {
    const f = frameMarkdown(ctx.index, tok);
    return { markdown: f.markdown, line, start: tok.start, end: tok.end, token: tok, resolved: f.resolved };
  }
  const t = tok;
  const frame =
    t.frameAt !== undefined ? (tokens.find((x) => x.kind === 'frame' && x.start === t.frameAt) as FrameToken | undefined) : undefined;
  const r = resolveAddressToken(ctx.index, t, ctx.shift, frame);
  const lines: string[] = [];
  const vmShift = r.applied === 'vmlinux' ? ctx.shift.vmlinuxShift : undefined;
  const modShift = r.applied === 'module' && frame?.module ? ctx.shift.moduleShift(frame.module) : undefined;
  const addr = hexAddr(r.address, ctx.index.addressDigits);
  const mode = r.kernel?.returnAddress ? '%pB, return address' : '%pS';
  if (!r.kernel) {
    lines.push(`${code(addr)}: no symbol in the index covers this address.`);
    if (vmShift !== undefined) lines.push(`(after subtracting the KASLR shift ${code(hex(vmShift))})`);
    else if (r.note && frame?.module) lines.push(`(${text(r.note)}; the vmlinux KASLR shift never applies to module addresses)`);
    if (ctx.index.count === 0) lines.push('The index is empty.');
    // The token keeps the log's address: module load addresses are learned in log addresses.
    return { markdown: lines.join('\n\n'), line, start: t.start, end: t.end, token: t, resolved: false };
  }
  lines.push(`${code(addr)} → **${code(r.kernel.text)}** (${mode})`);
  if (vmShift !== undefined)
    lines.push(`log address ${code(hexAddr(t.address, ctx.index.addressDigits))} minus KASLR shift ${code(hex(vmShift))}`);
  else if (modShift !== undefined)
    lines.push(
      `log address ${code(hexAddr(t.address, ctx.index.addressDigits))} minus the load shift of ${code(frame!.module!)} ${code(hex(modShift))} learned from the log`,
    );
  if (r.printed !== undefined) {
    lines.push(
      r.matchesLog
        ? `matches the frame in the log ✓`
        : `⚠ the log printed ${code(r.printed)}: this index is probably not the kernel that wrote the log`,
    );
  }
  lines.push(symbolDetails(ctx.index, r.kernel.sym));
  return {
    markdown: lines.join('\n\n'),
    line,
    start: t.start,
    end: t.end,
    token: t,
    resolved: true,
    symbol: { name: r.kernel.sym.name, module: r.kernel.sym.module },
  };
}

const UNRELIABLE = '`?` frame: found by scanning the stack, not by the unwinder; it may be stale.';

export function frameMarkdown(index: SymbolIndex, f: FrameToken): { markdown: string; resolved: boolean } {
  const r: FrameResolution = resolveFrame(index, f);
  const out: string[] = [];
  const shown =
    f.offset !== undefined
      ? `${f.name}+${hex(f.offset)}${f.size !== undefined ? '/' + hex(f.size) : ''}${f.module ? ` [${f.module}]` : ''}`
      : f.name;
  if (r.candidates.length === 1) {
    const s = r.candidates[0];
    if (r.address !== undefined && r.kernel) {
      const mode = r.kernel.returnAddress ? '%pB, return address' : '%pS';
      out.push(`${code(shown)} = ${code(hexAddr(r.address, index.addressDigits))} → **${code(r.kernel.text)}** (${mode})`);
      if (!r.matchesLog)
        out.push(
          `⚠ the log printed ${code(shown)}, this index gives ${code(r.kernel.text)}: the index is probably not the kernel that wrote the log`,
        );
    } else if (r.address !== undefined) {
      out.push(
        `${code(shown)} = ${code(hexAddr(r.address, index.addressDigits))}${f.offset !== undefined ? ': outside the symbol in this index' : ''}`,
      );
    }
    if (f.unreliable) out.push(UNRELIABLE);
    out.push(symbolDetails(index, s));
    return { markdown: out.join('\n\n'), resolved: true };
  }
  out.push(`${code(shown)}: ${text(r.problem ?? 'not resolved')}`);
  if (f.unreliable) out.push(UNRELIABLE);
  if (r.candidates.length > 1) {
    out.push('Candidates:');
    out.push(candidateTable(index, r.candidates));
  } else if (r.sameName.length > 0) {
    out.push('Symbols of that name elsewhere:');
    out.push(candidateTable(index, r.sameName));
  }
  return { markdown: out.join('\n\n'), resolved: r.candidates.length > 0 };
}

function candidateTable(index: SymbolIndex, syms: SymbolInfo[]): string {
  const rows = syms.slice(0, 50).map((s) => {
    const { position, inObject } = index.sameName(s.id);
    return `| ${code(hexAddr(s.address, index.addressDigits))} | ${code(s.type)} | ${code(s.module ?? 'vmlinux')} | ${s.size !== undefined ? code(hex(s.size)) : '?'} | ${position}/${inObject.length} |`;
  });
  const more = syms.length > 50 ? `\n\n…and ${syms.length - 50} more` : '';
  return `| address | type | object | size | position |\n|---|---|---|---|---|\n${rows.join('\n')}${more}`;
}

/** Address range, type, module, aliases and the 1-based position among same-name symbols. */
/** `source: false`: without the line naming the file the symbol was read from (a page links it instead). */
export function symbolDetails(index: SymbolIndex, s: SymbolInfo, opts: { source?: boolean } = {}): string {
  const d = index.addressDigits;
  const parts: string[] = [];
  const obj = s.module ? `${s.moduleKind === 'pseudo' ? 'pseudo module' : 'module'} ${code(s.module)}` : 'vmlinux';
  const range =
    s.size !== undefined
      ? `${code(hexAddr(s.address, d))}–${code(hexAddr(s.address + BigInt(s.size), d))} (${code(hex(s.size))} bytes)`
      : `${code(hexAddr(s.address, d))} (size unknown: last symbol of its object)`;
  parts.push(`**${code(s.name)}** · type ${code(s.type)} (${typeWord(s.type)}) · ${obj}`);
  parts.push(`range ${range}`);
  const { inObject, all, position } = index.sameName(s.id);
  if (inObject.length > 1) {
    parts.push(
      `${inObject.length} symbols named ${code(s.name)} in ${s.module ? code(s.module) : 'vmlinux'}; this is number **${position}** (livepatch sympos ${position})`,
    );
  } else {
    parts.push(`unique name in ${s.module ? code(s.module) : 'vmlinux'} (livepatch sympos 0 or 1)`);
  }
  if (all.length > inObject.length) parts.push(`${all.length - inObject.length} more of that name in other objects`);
  const aliases = index.aliases(s.id).filter((i) => i !== s.id && index.mod[i] === index.mod[s.id]);
  if (aliases.length > 0)
    parts.push(
      `aliases at this address: ${aliases
        .slice(0, 10)
        .map((i) => code(index.nameOf(i)))
        .join(', ')}${aliases.length > 10 ? ', …' : ''}`,
    );
  if (opts.source !== false) parts.push(`source: ${code(s.source)}:${s.line}`);
  return parts.join('  \n');
}

export function typeWord(t: string): string {
  const g = t === t.toUpperCase() ? 'global' : 'local';
  switch (t.toLowerCase()) {
    case 't':
      return `${g} text`;
    case 'd':
      return `${g} data`;
    case 'r':
      return `${g} read-only data`;
    case 'b':
      return `${g} bss`;
    case 'w':
    case 'v':
      return 'weak';
    case 'a':
      return `${g} absolute`;
    case 'u':
      return 'undefined';
    default:
      return 'other';
  }
}

/** Hover in a kallsyms/System.map document: the symbol of the line, as this index knows it. */
function kallsymsLineHover(index: SymbolIndex, l: string, col: number): Omit<HoverAnswer, 'line'> | undefined {
  const m = KALLSYMS_LINE.exec(l);
  if (!m) return undefined;
  const addr = BigInt('0x' + m[1]);
  const name = m[3];
  const mod = m[4];
  const ids = index.byNameAll(name).filter((i) => index.addressOf(i) === addr && index.moduleOf(i) === mod);
  const start = col <= m[1].length ? 0 : m[0].indexOf(name, m[1].length + 2);
  const end = col <= m[1].length ? m[1].length : start + name.length;
  if (ids.length === 0) {
    const same = index.byNameAll(name).filter((i) => index.moduleOf(i) === mod);
    return {
      markdown: `${code(name)} at ${code(m[1])} is not in the index${same.length ? ` (${same.length} symbol(s) of that name are, at other addresses: a different boot or kernel?)` : ''}.`,
      start,
      end,
    };
  }
  return { markdown: symbolDetails(index, index.info(ids[0])), start, end };
}

/** A bare word that names a symbol (e.g. `[inline]` frames, prose). */
function wordHover(index: SymbolIndex, l: string, line: number, col: number): HoverAnswer | undefined {
  const re = new RegExp(SYMBOL_WORD.source, 'g');
  for (let m = re.exec(l); m; m = re.exec(l)) {
    if (col < m.index || col > m.index + m[0].length) continue;
    const word = m[0].replace(/\.$/, '');
    if (word.length < 3) return undefined;
    const ids = index.byNameAll(word);
    if (ids.length === 0) return undefined;
    const body =
      ids.length === 1
        ? symbolDetails(index, index.info(ids[0]))
        : `${ids.length} symbols named ${code(word)}:\n\n${candidateTable(
            index,
            ids.map((i) => index.info(i)),
          )}`;
    return { markdown: body, line, start: m.index, end: m.index + word.length };
  }
  return undefined;
}
