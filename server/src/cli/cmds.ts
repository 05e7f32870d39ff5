/**
 * The `ksym` commands that work on symbol tables: lookup, decode, stats, symbols,
 * check, search (bundled as dist/cli-cmds.js, loaded by the dispatcher in cli.ts).
 * One file per command; each is thin (arguments and printing), the work is in core/.
 */
import { cmdCheck } from './check';
import { exitOnClosedStdout, failUsage, installInertOutput, UsageError } from './common';
import { cmdDecode } from './decode';
import { cmdDecodeKernels, wantsKernels } from './decodeKernels';
import { cmdLookup } from './lookup';
import { cmdSearch } from './search';
import { cmdStats } from './stats';
import { cmdSymbols } from './symbols';
import { cmdTrace } from './trace';

/** Runs `ksym CMD ARGV...` for the commands of this bundle; the exit status. */
export async function run(cmd: string, argv: string[]): Promise<number> {
  exitOnClosedStdout();
  installInertOutput(argv.includes('--json'));
  try {
    switch (cmd) {
      case 'lookup':
        return await cmdLookup(argv);
      case 'decode':
        // --kernel / --debuginfod / --json: the log against its own kernel (decodeKernels.ts).
        return await (wantsKernels(argv) && !argv.includes('--help') && !argv.includes('-h') ? cmdDecodeKernels(argv) : cmdDecode(argv));
      case 'stats':
        return await cmdStats(argv);
      case 'symbols':
        return await cmdSymbols(argv);
      case 'check':
        return await cmdCheck(argv);
      case 'search':
        return await cmdSearch(argv);
      case 'trace':
        return await cmdTrace(argv);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    failUsage(e, cmd);
  }
}
