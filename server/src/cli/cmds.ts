/**
 * The `ksym` commands that work on symbol tables: lookup, decode, stats, symbols,
 * check, search (bundled as dist/cli-cmds.js, loaded by the dispatcher in cli.ts).
 * One file per command; each is thin (arguments and printing), the work is in core/.
 */
import { exitOnClosedStdout, failUsage, installInertOutput, UsageError } from './common';

// Each command is imported when it runs (the bundle initialises only its modules, and Node
// loads only the built-ins they use: no https/tls for `ksym lookup`), which is a good part
// of a one-shot command's time (bench section 9).

/** Runs `ksym CMD ARGV...` for the commands of this bundle; the exit status. */
export async function run(cmd: string, argv: string[]): Promise<number> {
  exitOnClosedStdout();
  installInertOutput(argv.includes('--json'));
  try {
    switch (cmd) {
      case 'lookup':
        return await (await import('./lookup')).cmdLookup(argv);
      case 'decode': {
        // --kernel / --debuginfod / --json: the log against its own kernel (decodeKernels.ts).
        const k = await import('./decodeKernels');
        if (k.wantsKernels(argv) && !argv.includes('--help') && !argv.includes('-h')) return await k.cmdDecodeKernels(argv);
        return await (await import('./decode')).cmdDecode(argv);
      }
      case 'stats':
        return await (await import('./stats')).cmdStats(argv);
      case 'symbols':
        return await (await import('./symbols')).cmdSymbols(argv);
      case 'check':
        return await (await import('./check')).cmdCheck(argv);
      case 'search':
        return await (await import('./search')).cmdSearch(argv);
      case 'trace':
        return await (await import('./trace')).cmdTrace(argv);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    failUsage(e, cmd);
  }
}
