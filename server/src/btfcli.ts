/**
 * `ksym btf`: C declarations and statistics from BTF (raw BTF files such as
 * /sys/kernel/btf/vmlinux, or the .BTF section of a vmlinux/.ko ELF; split BTF
 * with --base). Wired into cli.ts as the `btf` command.
 */
import { parseArgs } from 'node:util';
import { CRenderer, Kind, KIND_NAMES, type Btf, type BtfKindName } from './core/btf';
import { DEFAULT_BTF, loadBtfFile, quickStatsSync, type BtfQuickStats } from './btfstore';
import { FormatError } from './core/errors';

export const BTF_USAGE = `Usage: ksym btf [--btf FILE] [--base FILE] [--json] [--no-layout] NAME...
       ksym btf --stats [--btf FILE] [--base FILE] [--json]

Prints the C declaration of every BTF type named NAME: a function's prototype
(kfuncs marked /* __bpf_kfunc */), a struct/union layout with member offsets,
sizes and holes like pahole (--no-layout: plain C), an enum with its values, a
typedef, a variable. NAME may be 'struct X', 'union X', 'enum X' or a plain name
(which matches every kind).

  --btf FILE    raw BTF (default ${DEFAULT_BTF}) or an ELF file with a .BTF
                section (vmlinux, .ko; .ko.gz/.xz/.zst too)
  --base FILE   FILE is split BTF (a module) over this base (vmlinux) BTF
  --json        one entry per NAME: {name, kind, id, size, declaration}, or an
                array of such entries when NAME has several types
  --stats       number of types per kind (JSON keys as bpftool prints kinds:
                INT, PTR, ..., ENUM64), the total as 'types', named FUNCs as
                'namedFuncs', kfuncs as 'kfuncs'

Exit status: 0 ok, 1 a NAME was not found, 2 unusable input.`;

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

export function statsJson(st: BtfQuickStats): Record<string, number | string> {
  const out: Record<string, number | string> = { file: st.file, types: st.types };
  for (let k = 1; k < KIND_NAMES.length; k++) out[KIND_NAMES[k]] = st.kinds[KIND_NAMES[k] as BtfKindName];
  out.namedFuncs = st.namedFuncs;
  out.kfuncs = st.kfuncs;
  out.firstId = st.firstId;
  out.lastId = st.lastId;
  return out;
}

export function statsText(st: BtfQuickStats): string {
  const lines = [`${st.file}: ${st.types} types (ids ${st.firstId}..${st.lastId})`];
  for (let k = 1; k < KIND_NAMES.length; k++) {
    const n = KIND_NAMES[k];
    lines.push(`  ${n.padEnd(11)} ${String(st.kinds[n as BtfKindName]).padStart(8)}`);
  }
  lines.push(`  ${'namedFuncs'.padEnd(11)} ${String(st.namedFuncs).padStart(8)}`);
  lines.push(`  ${'kfuncs'.padEnd(11)} ${String(st.kfuncs).padStart(8)}`);
  return lines.join('\n');
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}
function err(s: string): void {
  process.stderr.write(s.endsWith('\n') ? s : s + '\n');
}

/** An error whose message already names the file. */
class Message extends Error {}

function errText(e: unknown, file: string): string {
  if (e instanceof FormatError || e instanceof Message) return e.message;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return `${file}: no such file`;
  if (code === 'EACCES' || code === 'EPERM') return `${file}: permission denied`;
  if (code === 'EISDIR') return `${file}: is a directory, not a BTF file`;
  return `${file}: ${(e as Error)?.message ?? String(e)}`;
}

/** `ksym btf ...`; returns the exit status (0 ok, 1 a NAME not found, 2 unusable input). Never throws. */
export async function cmdBtf(argv: string[]): Promise<number> {
  let values: { btf?: string; base?: string; json?: boolean; stats?: boolean; help?: boolean; 'no-layout'?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        btf: { type: 'string' },
        base: { type: 'string' },
        json: { type: 'boolean' },
        stats: { type: 'boolean' },
        'no-layout': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err(`ksym btf: ${(e as Error).message}\n\n${BTF_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(BTF_USAGE);
    return 0;
  }
  const file = values.btf || DEFAULT_BTF;
  try {
    if (values.stats) {
      if (positionals.length) {
        err(`ksym btf: --stats takes no NAME (got '${positionals[0]}')\n\n${BTF_USAGE}`);
        return 2;
      }
      let st: BtfQuickStats;
      try {
        st = quickStatsSync(file, values.base);
      } catch (e) {
        if (e instanceof FormatError && /xz-compressed/.test(e.reason)) st = await statsViaLoader(file, values.base);
        else throw e;
      }
      out(values.json ? JSON.stringify(statsJson(st), null, 2) : statsText(st));
      return 0;
    }
    if (!positionals.length) {
      err(`ksym btf: no NAME given\n\n${BTF_USAGE}`);
      return 2;
    }
    let base: Btf | undefined;
    if (values.base) {
      const b = await loadBtfFile(values.base);
      if (!b.ok) {
        err(`ksym: ${b.error}`);
        return 2;
      }
      base = b.btf;
    }
    const r = await loadBtfFile(file, base);
    if (!r.ok) {
      err(`ksym: ${r.error}`);
      return 2;
    }
    const btf = r.btf;
    const layout = !values['no-layout'];
    let missing = 0;
    const json: Array<BtfEntry | BtfEntry[]> = [];
    const texts: string[] = [];
    for (const name of positionals) {
      const entries = btfEntries(btf, name, layout);
      if (!entries.length) {
        missing++;
        err(`ksym btf: ${name}: no such type or function in ${file}${base ? ` (over ${base.file})` : ''}`);
        json.push({ name, kind: null, id: null, size: null, declaration: null });
        continue;
      }
      json.push(entries.length === 1 ? entries[0] : entries);
      for (const e of entries) texts.push(e.declaration ?? '');
    }
    if (values.json) out(JSON.stringify(json, null, 2));
    else if (texts.length) out(texts.join('\n\n'));
    return missing ? 1 : 0;
  } catch (e) {
    err(`ksym: ${errText(e, file)}`);
    return 2;
  }
}

async function statsViaLoader(file: string, baseFile?: string): Promise<BtfQuickStats> {
  let base: Btf | undefined;
  if (baseFile) {
    const b = await loadBtfFile(baseFile);
    if (!b.ok) throw new Message(b.error);
    base = b.btf;
  }
  const r = await loadBtfFile(file, base);
  if (!r.ok) throw new Message(r.error);
  const s = r.btf.stats();
  return { file, types: s.types, kinds: s.kinds, namedFuncs: s.namedFuncs, kfuncs: s.kfuncs, firstId: s.firstId, lastId: s.lastId };
}
