/**
 * `ksym btf`: C declarations and statistics from BTF (raw BTF files such as
 * /sys/kernel/btf/vmlinux, or the .BTF section of a vmlinux/.ko ELF; split BTF
 * with --base). Bundled as dist/cli-btf.js, which the dispatcher in cli.ts loads for
 * the `btf` command (run()). `--stats` needs only core/btf/read.ts; declarations need the
 * BTF reader and the C renderer (btfdecl.ts, imported when asked for: the build puts
 * it in dist/cli-btfdecl.js).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_BTF, quickStatsSync, type BtfQuickStats } from '../core/btf/read';
import { KIND_NAMES, type BtfKindName } from '../core/btf/kinds';
import { describeError, FormatError } from '../core/common/errors';
import { writeStdout } from './stdout';
import { inert } from './common';

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

export function statsJson(st: BtfQuickStats): Record<string, number | string> {
  const out: Record<string, number | string> = { file: st.file, types: st.types };
  for (let k = 1; k < KIND_NAMES.length; k++) out[KIND_NAMES[k]] = st.kinds[KIND_NAMES[k] as BtfKindName];
  out.namedFuncs = st.namedFuncs;
  out.kfuncs = st.kfuncs;
  out.firstId = st.firstId;
  out.lastId = st.lastId;
  return out;
}

export function btfStatsText(st: BtfQuickStats): string {
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
  writeStdout(s.endsWith('\n') ? s : s + '\n');
}
function err(s: string): void {
  process.stderr.write(inert(s.endsWith('\n') ? s : s + '\n'));
}

/** An error whose message already names the file. */
class Message extends Error {}

function errText(e: unknown, file: string): string {
  return e instanceof Message ? e.message : describeError(file, e, 'a BTF file');
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
        if (!(e instanceof FormatError && /xz-compressed/.test(e.reason))) throw e;
        const r = await (await import('./btfdecl')).statsViaLoader(file, values.base);
        if ('error' in r) throw new Message(r.error);
        st = r;
      }
      out(values.json ? JSON.stringify(statsJson(st), null, 2) : btfStatsText(st));
      return 0;
    }
    if (!positionals.length) {
      err(`ksym btf: no NAME given\n\n${BTF_USAGE}`);
      return 2;
    }
    const r = await (await import('./btfdecl')).declarations(file, values.base, positionals, !values['no-layout']);
    if (!r.ok) {
      err(`ksym: ${r.error}`);
      return 2;
    }
    for (const name of r.missing)
      err(`ksym btf: ${name}: no such type or function in ${file}${values.base ? ` (over ${values.base})` : ''}`);
    if (values.json) out(JSON.stringify(r.json, null, 2));
    else if (r.texts.length) out(r.texts.join('\n\n'));
    return r.missing.length ? 1 : 0;
  } catch (e) {
    err(`ksym: ${errText(e, file)}`);
    return 2;
  }
}

/** The dist/cli-btf.js entry: `ksym btf ARGV...`. */
export function run(_cmd: string, argv: string[]): Promise<number> {
  return cmdBtf(argv);
}
