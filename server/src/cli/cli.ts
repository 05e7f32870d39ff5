/**
 * The `ksym` command line (dist/cli.js): a dispatcher that loads only the bundle of
 * the command asked for, since compiling code a command does not run is most of a
 * short command's time:
 *
 *   dist/cli-btf.js    btf                                      (btf.ts)
 *   dist/cli-cmds.js   lookup decode stats symbols check search trace (cmds.ts)
 *   dist/server.js     lsp: the language server the extension runs
 *
 * They sit next to this one and are loaded with require() at run time
 * (scripts/build.mjs keeps them external here).
 */
import { join } from 'node:path';
import { requireWithCodeCache } from '../codeCache';
import { exitOnClosedStdout, fail, failUsage, help, USAGE, UsageError } from './common';

interface CommandBundle {
  run(cmd: string, argv: string[]): Promise<number>;
}

function bundleOf(cmd: string): CommandBundle | undefined {
  switch (cmd) {
    case 'btf':
      return requireWithCodeCache(join(__dirname, 'cli-btf.js')) as CommandBundle;
    case 'lookup':
    case 'decode':
    case 'stats':
    case 'symbols':
    case 'check':
    case 'search':
    case 'trace':
      // With V8's code cache (codeCache.ts): compiling the bundle is a good part of a one-shot command.
      return requireWithCodeCache(join(__dirname, 'cli-cmds.js')) as CommandBundle;
    case 'lsp':
      return { run: lsp };
    default:
      return undefined;
  }
}

/** `ksym lsp --stdio`: dist/server.js (its transport comes from argv, --stdio). */
async function lsp(_cmd: string, argv: string[]): Promise<number> {
  exitOnClosedStdout();
  if (argv.includes('--help') || argv.includes('-h')) return help('lsp');
  if (!argv.includes('--stdio')) failUsage(new UsageError('lsp: only --stdio is supported'), 'lsp');
  require('./server.js');
  return new Promise<number>(() => undefined); // runs until the client exits
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return help(rest[0] && USAGE[rest[0]] ? rest[0] : 'main');
  }
  const bundle = bundleOf(cmd);
  if (!bundle) failUsage(new UsageError(`unknown command '${cmd}'`), cmd);
  return bundle.run(cmd, rest);
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  // Node >= 22.1 keeps V8's compiled code of the bundles in a disk cache (os.tmpdir()).
  (require('node:module') as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    // A message, never a stack trace (KSYM_DEBUG=1 shows it).
    (e) => fail(2, `ksym: ${process.env.KSYM_DEBUG ? ((e as Error).stack ?? e) : e instanceof Error ? e.message : String(e)}`),
  );
}
