/**
 * What every part of the `ksym` command line shares: the usage texts, usage errors
 * and exiting with a message. Small on purpose: it is in every CLI bundle.
 */
import { accessSync, constants } from 'node:fs';

export const USAGE: Record<string, string> = {
  main: `ksym: Linux kernel symbols, resolved exactly as the kernel prints them

Usage: ksym <command> [options]

Commands:
  lookup   resolve addresses and name+0xoff/0xsize [mod] queries
  symbols  a module's symbol table (.ko)
  check    livepatch sympos diagnostics for text, C sources and livepatch .ko files
  btf      C declarations and statistics from BTF (vmlinux and module split BTF)
  search   rank every kernel symbol and BTF type for a query (like Ctrl+T)
  trace    can a function be traced (fentry/fexit/fmod_ret/kprobe), its arguments, snippets
  decode   annotate a kernel log (oops, dmesg, trace) with resolved symbols
  stats    statistics of a symbol table
  lsp      run the language server (--stdio)

Data source options:
  --kallsyms FILE   kallsyms text or System.map (repeatable; default /proc/kallsyms)
  --module PATH     a .ko file or a directory of modules (repeatable)

Run 'ksym <command> --help' for details.`,
  lookup: `Usage: ksym lookup [--kallsyms FILE]... [--vmlinux FILE|DIR] [--module FILE.ko|DIR]... [--json] QUERY...

QUERY is an address (hex, 0x optional) or name, name+0xoff, name+0xoff/0xsize,
optionally followed by ' [module]' or ' [module BUILDID]'. Addresses resolve like the
kernel's %pS. With --module, a ' [module]' query the kallsyms source cannot answer is
resolved in the module's .ko (plain, .gz, .xz or .zst): the address column is then the
runtime address when the module's load address is known (from its [mod] lines in the
kallsyms source), else 'SECTION+0xOFF'.

Source lines: with --vmlinux (a vmlinux with DWARF, or a directory holding one) and for
' [module]' answers with --module (a .ko with DWARF, or a stripped .ko whose debug file is
found by build id or under /usr/lib/debug), each answer gets its file:line and inline
chain. For the running kernel's /proc/kallsyms the usual places are searched
(/usr/lib/debug/boot/vmlinux-$(uname -r), ...). A debug file that does not belong to the
symbols served (build id against /sys/kernel/notes, else _text and a sample of symbols)
is refused, with the reason.

Output: one line per query, '<address> <kernel form> [file:line]', then one indented line
per inlined frame ('f inlined into g at file:line', outermost last).
--json: an array of {query, address, name, offset, size, module, type, candidates}; with
debug info, also 'source': [{function, file, line, column, path}] innermost first (path:
relative to the kernel tree; column null where the line table has none), and
'sourceProblem' (a string) when 'source' is [].
Exit status: 0 all resolved, 1 some query did not resolve (or is ambiguous), 2 unusable input.`,
  decode: `Usage: ksym decode [--kernel DIR]... [--debuginfod URL]... [--kallsyms F]... [--vmlinux F|DIR] [--module F|DIR]... [--json] LOG
       (also: --kaslr-offset HEX, used when the log has no 'Kernel Offset:' line; LOG '-' or absent: standard input)

Prints the log with every address and frame annotated ('  ⟶ ...'): addresses with the
kernel form (%pB in stack traces, %pS elsewhere), frames with their address, and a
warning when the log and the symbol table disagree. The KASLR shift (the 'Kernel Offset:'
line, else inferred from frames printed with their address) applies only inside the
kernel image; each module's load address is learned from its own [<addr>] f+off/size [mod]
frames, never shifted by the vmlinux offset.

Kernels: with --kernel DIR (repeatable: a kernel build tree, an extracted -dbg package or
/, or a folder with 'kallsyms' + 'version' copies of /proc/kallsyms and /proc/version),
the log's kernel is chosen among them by build id, else release and build string, else
architecture. Without --kernel, the --kallsyms files (else the running kernel) are the only
candidate. When the log's kernel is not among the candidates nothing is resolved, the
mismatch is reported and the exit status is 1.
debuginfod: [mod BUILDID] modules not at hand are fetched by build id from --debuginfod URL
(repeatable), else $DEBUGINFOD_URLS, into the shared debuginfod client cache, verified
(the ELF's build id must be the one asked for), and used; no server: no network.
With --vmlinux / --module (as for lookup), every frame also gets its source line after the
kernel form and one indented line per inlined frame; stack entries (return addresses) are
looked up at addr - 1, as the kernel's %pB does.
--json: one object {kernel: {release, version, arch, buildId, kaslrOffset, selected,
problems}, tokens: [{line, column, text, kind, address, name, offset, size, module,
matchesLog, source}]}: line 1-based, kind frame|address|ip, source as in ksym lookup --json
(with sourceProblem when it is []).`,
  stats: `Usage: ksym stats [--kallsyms FILE]... [--json]

Symbols, modules, duplicate names and counts by type.`,
  symbols: `Usage: ksym symbols --module FILE.ko [--kept|--all] [--json]

A module's symbol table in symtab order. --kept: only the symbols the kernel keeps after
load (what /proc/kallsyms shows); --all (default): the full table, as before init.
--json: [{index, name, value, size, type, binding, sectionIndex, section, kept}]
(sectionIndex as readelf's Ndx: a number, or 'UND', 'ABS', 'COM').`,
  lsp: `Usage: ksym lsp --stdio

Runs the ksym language server over standard input/output for any LSP editor.`,
};

/** The options of the commands over symbol tables: --kallsyms FILE..., --module PATH..., --json, --help. */
export const SOURCE_OPTIONS = {
  kallsyms: { type: 'string', multiple: true },
  module: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export class UsageError extends Error {}

/**
 * Terminal escape sequences in what the CLI prints are made inert, always (to a terminal,
 * a pipe or a file alike: output that is safe only when not a tty is not safe in `less`
 * or in a CI log viewer). Symbol names, module names, log text and file names are
 * untrusted: a name with ESC [ 2 J, a C1 CSI (U+009B, a 0x9b byte read as Latin-1) or a
 * backspace would otherwise clear, recolour or rewrite the user's screen. Tab, newline and
 * CRLF pass; every other C0 control, DEL and C1 control is written as a visible escape:
 * `\x1b` (text), or in --json output `\u009b` for DEL and C1 (valid inside a JSON string,
 * the same character; JSON.stringify already escapes C0).
 */
export function inert(text: string, json = false): string {
  if (!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text)) return text;
  return text.replace(/\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => {
    if (c === '\r\n') return c;
    const h = c.charCodeAt(0).toString(16).padStart(2, '0');
    return json && c.charCodeAt(0) >= 0x7f ? `\\u00${h}` : `\\x${h}`;
  });
}

/**
 * Route every string written to process.stdout/stderr through inert() (the commands of
 * cli-cmds.js). Lazily: each stream is wrapped when first used, since creating one loads
 * Node's stream machinery (~2-3 ms), which a one-shot command writing through
 * writeStdout (stdout.ts) never needs.
 */
export function installInertOutput(json: boolean): void {
  for (const name of ['stdout', 'stderr'] as const) {
    onStream(name, (stream) => {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) =>
        write(typeof chunk === 'string' ? inert(chunk, json) : chunk, ...rest)) as typeof stream.write;
    });
  }
}

type StdStream = NodeJS.WriteStream;
const streamHooks: Record<'stdout' | 'stderr', ((s: StdStream) => void)[]> = { stdout: [], stderr: [] };
const madeStreams: Partial<Record<'stdout' | 'stderr', StdStream>> = {};

/**
 * Run `hook` on process[name] when the stream exists: at once if this module's getter made it
 * already (or the property is not a getter), else when first read (process.stdout and
 * process.stderr are getters that create the stream on first use; this replaces the getter
 * with one that runs the hooks after it).
 */
function onStream(name: 'stdout' | 'stderr', hook: (s: StdStream) => void): void {
  const made = madeStreams[name];
  if (made) {
    hook(made);
    return;
  }
  const hooks = streamHooks[name];
  const d = Object.getOwnPropertyDescriptor(process, name);
  if (hooks.length === 0 && (!d || !d.get || !d.configurable)) {
    hook(process[name] as StdStream); // a plain value (replaced): hook it now
    return;
  }
  hooks.push(hook);
  if (hooks.length > 1) return; // the getter below is in place
  const get = d!.get!;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d!.enumerable,
    get() {
      let s = madeStreams[name];
      if (!s) {
        s = madeStreams[name] = get.call(process) as StdStream;
        for (const h of hooks) h(s);
      }
      return s;
    },
  });
}

export function fail(code: number, msg: string): never {
  process.stderr.write(inert(msg.endsWith('\n') ? msg : msg + '\n'));
  process.exit(code);
}

export function help(cmd: string): number {
  process.stdout.write(USAGE[cmd] + '\n');
  return 0;
}

/** A usage error or a rejected option of `cmd`: the message and the usage, exit status 2. Anything else is rethrown. */
export function failUsage(e: unknown, cmd: string | undefined): never {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    fail(2, `ksym: ${(e as Error).message}\n\n${USAGE[cmd && USAGE[cmd] ? cmd : 'main']}`);
  }
  throw e;
}

/**
 * Run a command whose usage errors (its own `isUsage` class, or an option parseArgs rejects)
 * answer with `ksym CMD: message`, its usage text and exit status 2, returned rather than
 * exited. Anything else is rethrown.
 */
export async function withUsage(cmd: string, usage: string, isUsage: (e: unknown) => boolean, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (isUsage(e) || (e as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`ksym ${cmd}: ${(e as Error).message}\n\n${usage}\n`);
      return 2;
    }
    throw e;
  }
}

/** Whether this process may read `f` (a default source such as /sys/kernel/btf/vmlinux is used only then). */
export function readable(f: string): boolean {
  try {
    accessSync(f, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** `ksym ... | head`: a closed pipe ends the command quietly. */
export function exitOnClosedStdout(): void {
  onStream('stdout', (out) => out.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 2)));
}
