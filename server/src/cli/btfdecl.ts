/**
 * `ksym btf NAME...`: C declarations from BTF. Loads the BTF reader and the C
 * renderer, which `ksym btf --stats` does not need: btf.ts imports this module
 * only when asked for (the build puts it in dist/cli-btfdecl.js).
 */
import { CRenderer, Kind, type Btf, type BtfKindName } from '../core/btf';
import type { BtfQuickStats } from '../core/btf/read';
import { loadBtfFile } from '../core/btf/store';

export interface BtfEntry {
  name: string;
  kind: BtfKindName | null;
  id: number | null;
  size: number | null;
  declaration: string | null;
}

const SIZED_KINDS = new Set<number>([Kind.INT, Kind.FLOAT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC]);
const UNSIZED_KINDS = new Set<number>([Kind.FUNC, Kind.FUNC_PROTO, Kind.FWD, Kind.DECL_TAG]);

function sizeOf(btf: Btf, r: CRenderer, id: number): number | null {
  const k = btf.kindOf(id);
  if (SIZED_KINDS.has(k)) return btf.sizeOrType(id);
  if (UNSIZED_KINDS.has(k)) return null;
  try {
    return r.sizeOf(id);
  } catch {
    return null;
  }
}

/** Types named NAME; for `struct X` etc., definitions hide forward declarations. */
export function lookupNames(btf: Btf, name: string): number[] {
  const ids = btf.idsByName(name);
  if (/^\s*(struct|union|enum)\s/.test(name)) {
    const defs = ids.filter((id) => btf.kindOf(id) !== Kind.FWD);
    if (defs.length) return defs;
  }
  return ids;
}

export function btfEntries(btf: Btf, name: string, layout = true): BtfEntry[] {
  const r = new CRenderer(btf, { layout });
  return lookupNames(btf, name).map((id) => ({
    name: btf.nameOf(id),
    kind: btf.kindName(id) as BtfKindName,
    id,
    size: sizeOf(btf, r, id),
    declaration: btf.declaration(id, { layout }),
  }));
}

export type Declarations =
  { ok: true; json: Array<BtfEntry | BtfEntry[]>; texts: string[]; missing: string[] } | { ok: false; error: string };

/** The declarations of every NAME in `file` (split over `baseFile`); `missing`: the NAMEs with no type. */
export async function declarations(file: string, baseFile: string | undefined, names: string[], layout: boolean): Promise<Declarations> {
  let base: Btf | undefined;
  if (baseFile) {
    const b = await loadBtfFile(baseFile);
    if (!b.ok) return { ok: false, error: b.error };
    base = b.btf;
  }
  const r = await loadBtfFile(file, base);
  if (!r.ok) return { ok: false, error: r.error };
  const json: Array<BtfEntry | BtfEntry[]> = [];
  const texts: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const entries = btfEntries(r.btf, name, layout);
    if (!entries.length) {
      missing.push(name);
      json.push({ name, kind: null, id: null, size: null, declaration: null });
      continue;
    }
    json.push(entries.length === 1 ? entries[0] : entries);
    for (const e of entries) texts.push(e.declaration ?? '');
  }
  return { ok: true, json, texts, missing };
}

/** `--stats` with the whole reader (xz-compressed files, which the fast path cannot read). */
export async function statsViaLoader(file: string, baseFile?: string): Promise<BtfQuickStats | { error: string }> {
  let base: Btf | undefined;
  if (baseFile) {
    const b = await loadBtfFile(baseFile);
    if (!b.ok) return { error: b.error };
    base = b.btf;
  }
  const r = await loadBtfFile(file, base);
  if (!r.ok) return { error: r.error };
  const s = r.btf.stats();
  return { file, types: s.types, kinds: s.kinds, namedFuncs: s.namedFuncs, kfuncs: s.kfuncs, firstId: s.firstId, lastId: s.lastId };
}
