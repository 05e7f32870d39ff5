/**
 * Symbol pages: the markdown content of the read-only `ksym:` documents (pageUri.ts
 * has the URI scheme): a kallsyms symbol with its aliases, same-name symbols, BTF and
 * neighbours; a BTF type's declaration; a module .ko symbol. Never throws.
 */
import { hexAddr } from '../core/common/addr';
import type { Btf } from '../core/btf/btf';
import { expandTabs } from '../core/btf/c';
import { Kind } from '../core/btf/kinds';
import { kernelForm, type SymbolIndex } from '../core/kallsyms/symbolIndex';
import type { ModuleKoSource } from '../core/search/sources';
import { linkageOf } from './hover/hover';
import { symbolDetails } from './hover/kallsyms';
import { code, codeBlock, hex, text } from './markdown';
import { btfPageKind, btfUri, openPath, parseKsymUri, symbolUri, type KsymRef } from './pageUri';

export interface PageContext {
  index: SymbolIndex;
  btf?: Btf;
  /** Module .ko sources (for ksym:/ko/ pages). */
  modules?: readonly ModuleKoSource[];
}

export interface PageContent {
  content: string;
  languageId: 'markdown';
}

/** The content of a `ksym:` URI; undefined for an unknown URI or symbol. */
export function symbolPage(uri: string, ctx: PageContext): PageContent | undefined {
  try {
    const ref = parseKsymUri(uri);
    if (!ref) return undefined;
    const md = ref.type === 'symbol' ? kallsymsPage(ctx, ref) : ref.type === 'btf' ? btfPage(ctx, ref) : koPage(ctx, ref);
    return md === undefined ? undefined : { content: md, languageId: 'markdown' };
  } catch (e) {
    return { content: `ksym: internal error while rendering ${text(uri)}: ${text(String(e))}\n`, languageId: 'markdown' };
  }
}

function link(label: string, uri: string): string {
  return `[${code(label)}](${uri})`;
}

/** One alias line of symbol i's page: alias j, its type and object, and which one the kernel prints. */
function aliasRow(index: SymbolIndex, i: number, j: number): string {
  const name = j === i ? `**${code(index.nameOf(j))}** (this symbol)` : link(index.nameOf(j), symbolUri(index, j));
  const printed = j === index.firstAlias(i) ? ' · printed by the kernel (first in kallsyms order)' : '';
  return `- ${name} · ${code(String.fromCharCode(index.type[j]))} · ${code(index.moduleOf(j) ?? 'vmlinux')}${printed}`;
}

/** Find the kallsyms symbol of a page reference. */
function findSymbol(index: SymbolIndex, ref: { object: string; name: string; address?: bigint }): number | undefined {
  const ids = index.byNameAll(ref.name).filter((i) => (index.moduleOf(i) ?? 'vmlinux') === ref.object);
  if (ref.address !== undefined) return ids.find((i) => index.addressOf(i) === ref.address);
  return ids[0];
}

function kallsymsPage(ctx: PageContext, ref: Extract<KsymRef, { type: 'symbol' }>): string | undefined {
  const { index } = ctx;
  const i = findSymbol(index, ref);
  if (i === undefined) {
    return (
      `# ` +
      `${text(ref.name)}\n\n${code(ref.name)}${ref.address !== undefined ? ` at ${code(hexAddr(ref.address, index.addressDigits))}` : ''} ` +
      `in ${code(ref.object)} is not in the current index (reindexed, or a module unloaded?).\n`
    );
  }
  const s = index.info(i);
  const src = index.sources[index.src[i]];
  const d = index.addressDigits;
  const out: string[] = [];
  out.push(`# ${text(s.name)}`);
  out.push(`Kernel form: ${code(kernelForm(s.name, 0, s.size, s.module, s.moduleKind))} at ${code(hexAddr(s.address, d))}`);
  out.push(symbolDetails(index, s, { source: !src }));
  const aliases = index.aliases(i);
  if (aliases.length > 1) {
    out.push(`## Aliases at ${code(hexAddr(s.address, d))}\n\n${aliases.map((j) => aliasRow(index, i, j)).join('\n')}`);
  }
  const same = index.byNameAll(s.name);
  if (same.length > 1) {
    const rows = same.slice(0, 200).map((j) => {
      const pos = index.sameName(j);
      const me = j === i ? ' ← this' : '';
      return (
        `| ${link(hexAddr(index.addressOf(j), d), symbolUri(index, j))} | ` +
        `${code(String.fromCharCode(index.type[j]))} | ${code(index.moduleOf(j) ?? 'vmlinux')} | ` +
        `${pos.position}/${pos.inObject.length}${me} |`
      );
    });
    out.push(
      `## ${same.length} symbols named ${code(s.name)}\n\n| address | type | object | livepatch sympos |\n|---|---|---|---|\n` +
        `${rows.join('\n')}${same.length > 200 ? `\n\n…and ${same.length - 200} more` : ''}`,
    );
  }
  if (ctx.btf) {
    const ids = ctx.btf.idsByName(s.name).filter((id) => ctx.btf!.kindOf(id) === Kind.FUNC || ctx.btf!.kindOf(id) === Kind.VAR);
    if (ids.length > 0) {
      // The storage class from the symbol's own type: BTF records many global functions as static.
      const linkage = s.type === 't' ? 'static' : 'none';
      const decls = ids.map((id) => ctx.btf!.declaration(id, { layout: true, linkage })).join('\n');
      out.push(
        `## BTF\n\n${codeBlock(expandTabs(decls), 'c')}\n\n${ids.map((id) => link(`BTF [${id}]`, btfUri(ctx.btf!, id)!)).join(' · ')}`,
      );
    }
  }
  const prev = neighbour(index, i, -1);
  const next = neighbour(index, i, +1);
  const nb: string[] = [];
  if (prev !== undefined)
    nb.push(`- previous: ${link(index.nameOf(prev), symbolUri(index, prev))} at ${code(hexAddr(index.addressOf(prev), d))}`);
  if (next !== undefined)
    nb.push(`- next: ${link(index.nameOf(next), symbolUri(index, next))} at ${code(hexAddr(index.addressOf(next), d))}`);
  if (nb.length) out.push(`## Neighbours\n\n${nb.join('\n')}`);
  // A relative link to ksym:/open/L<line>/<file> (protocol.ts, pageUri.ts openPath): the markdown preview showing
  // the page refuses file: links. It resolves the link against the page's decoded path,
  // /symbol/<object>/<name>, whose parts may hold a '/' of their own.
  if (src) {
    const up = `symbol/${ref.object}/${ref.name}`.split('/').length - 1;
    out.push(`Source: [${text(src.file)}:${s.line}](${'../'.repeat(up).slice(0, -1)}${openPath(src.file, s.line)})`);
  }
  return out.join('\n\n') + '\n';
}

/** Previous/next symbol of the same object at a different address (first alias there). */
function neighbour(index: SymbolIndex, i: number, dir: -1 | 1): number | undefined {
  const m = index.mod[i];
  const h = index.hi[i];
  const l = index.lo[i];
  let j = i + dir;
  while (j >= 0 && j < index.count && (index.mod[j] !== m || (index.hi[j] === h && index.lo[j] === l))) j += dir;
  if (j < 0 || j >= index.count) return undefined;
  return index.firstAlias(j);
}

function btfIds(btf: Btf, ref: Extract<KsymRef, { type: 'btf' }>): number[] {
  if (ref.id !== undefined && btf.has(ref.id) && btf.nameOf(ref.id) === ref.name) return [ref.id];
  const all = btf.idsByName(ref.name).filter((id) => btfPageKind(btf, id) === ref.kind);
  const defs = all.filter((id) => btf.kindOf(id) !== Kind.FWD);
  return defs.length ? defs : all;
}

/** A BTF FUNC page's storage class: from the vmlinux symbols of that name (t: static), left out when unknown or mixed. */
function pageLinkage(index: SymbolIndex, name: string): 'static' | 'none' {
  return linkageOf(index, name, undefined) ?? 'none';
}

function btfPage(ctx: PageContext, ref: Extract<KsymRef, { type: 'btf' }>): string | undefined {
  const btf = ctx.btf;
  const title = `# ${ref.kind === 'func' || ref.kind === 'var' ? '' : ref.kind + ' '}${text(ref.name)}`;
  if (!btf) return `${title}\n\nNo BTF is loaded (/sys/kernel/btf/vmlinux or the ksym.btf setting).\n`;
  const ids = btfIds(btf, ref);
  if (ids.length === 0) return `${title}\n\n${code(`${ref.kind} ${ref.name}`)} is not in ${code(btf.file)}.\n`;
  const out: string[] = [title];
  for (const id of ids) {
    const k = btf.kindOf(id);
    const size = k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64 ? ` · ${btf.sizeOrType(id)} bytes` : '';
    out.push(`BTF ${code(btf.kindName(id))} [${id}]${size} · ${code(btf.file)}${btf.isKfunc(id) ? ' · kfunc' : ''}`);
    out.push(codeBlock(expandTabs(btf.declaration(id, { layout: true, linkage: pageLinkage(ctx.index, ref.name) })), 'c'));
  }
  if (ref.kind === 'func' || ref.kind === 'var') {
    const syms = ctx.index.byNameAll(ref.name);
    if (syms.length)
      out.push(
        `## Symbols\n\n${syms
          .slice(0, 50)
          .map(
            (j) =>
              `- ${link(`${ctx.index.nameOf(j)}`, symbolUri(ctx.index, j))} at ` +
              `${code(hexAddr(ctx.index.addressOf(j), ctx.index.addressDigits))} in ${code(ctx.index.moduleOf(j) ?? 'vmlinux')}`,
          )
          .join('\n')}`,
      );
  }
  return out.join('\n\n') + '\n';
}

function koPage(ctx: PageContext, ref: Extract<KsymRef, { type: 'ko' }>): string | undefined {
  const src = ctx.modules?.find((m) => m.moduleName === ref.module);
  const title = `# ${text(ref.name)} [${text(ref.module)}.ko]`;
  if (!src) return `${title}\n\nModule ${code(ref.module)} is not loaded in the module store.\n`;
  const entries = src.exact(ref.name);
  const e = ref.sym !== undefined ? (entries.find((x) => src.syms[x] === ref.sym) ?? entries[0]) : entries[0];
  if (e === undefined) return `${title}\n\n${code(ref.name)} is not in ${code(src.file ?? ref.module)}.\n`;
  const m = src.module;
  const s = m.symbol(src.syms[e]);
  const out = [
    title,
    `${code(s.type)} · ${code(s.binding)} · ${code(s.elfType)} · section ` +
      `${code(s.section)}+${code(hex(s.value))} · size ${code(hex(s.size))}${s.kept ? '' : ' · init only (dropped after the module init)'}`,
  ];
  if (entries.length > 1)
    out.push(`${entries.length} symbols named ${code(ref.name)} in this module; this is number ${entries.indexOf(e) + 1}`);
  if (src.file) out.push(`File: ${code(src.file)}`);
  const live = ctx.index.byNameAll(ref.name).filter((j) => ctx.index.moduleOf(j) === ref.module);
  if (live.length)
    out.push(
      `In the kallsyms index: ${live.map((j) => link(hexAddr(ctx.index.addressOf(j), ctx.index.addressDigits), symbolUri(ctx.index, j))).join(', ')}`,
    );
  return out.join('\n\n') + '\n';
}
