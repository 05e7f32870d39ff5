/**
 * Creates the LanguageClient for the ksym language server (dist/server.js, node IPC).
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
  type ConfigurationParams,
  type CancellationToken,
} from 'vscode-languageclient/node';
import { SECTION, expandConfigurationValue, expandSetting, readConfig } from './config';
import { restrictUntrusted } from './trust';
import { COPY_SNIPPET_COMMAND } from '../../server/src/protocol';

const CLIENT_ID = 'ksym';
const CLIENT_NAME = 'Kernel Symbols';

// C and assembler sources are included for the livepatch sympos checks (klp_func, .klp.sym).
const LANGUAGES = ['kernel-log', 'kallsyms', 'log', 'plaintext', 'c', 'cpp', 'asm'];
const SCHEMES = ['file', 'untitled'];

/** Restricted Mode (untrusted workspace) applied to one workspace/configuration answer. */
function restrictSection(section: string | undefined, value: unknown): unknown {
  if (section === SECTION && value && typeof value === 'object' && !Array.isArray(value)) return restrictUntrusted(value, expandSetting);
  const key = section?.startsWith(`${SECTION}.`) ? section.slice(SECTION.length + 1) : undefined;
  if (key === undefined) return value;
  return (restrictUntrusted({ [key]: value }, expandSetting) as Record<string, unknown>)[key];
}

export function createClient(
  context: vscode.ExtensionContext,
  outputChannel: vscode.OutputChannel,
  traceOutputChannel: vscode.OutputChannel,
): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  // The server reads its first source as it starts, before its bundle loads (server/src/lsp/boot.ts).
  const first = restrictUntrusted(readConfig(), expandSetting);
  const env = { ...process.env, KSYM_PREFETCH: first.kallsyms[0] ?? first.systemMap[0] ?? '' };
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { env } },
    debug: {
      module,
      transport: TransportKind.ipc,
      options: { env, execArgv: ['--nolazy', '--inspect=6009'] },
    },
  };

  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.flatMap((language) => SCHEMES.map((scheme) => ({ language, scheme }))),
    synchronize: { configurationSection: SECTION },
    // The server gets the settings up front with paths already expanded...
    initializationOptions: () => restrictUntrusted(readConfig(), expandSetting),
    outputChannel,
    traceOutputChannel,
    // Hovers may run one command, the snippet copy (their links carry only percent-encoded text).
    markdown: { isTrusted: { enabledCommands: [COPY_SNIPPET_COMMAND] } },
    middleware: {
      workspace: {
        // ...and again, expanded, whenever it pulls them with workspace/configuration.
        configuration: async (params: ConfigurationParams, token: CancellationToken, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) return result;
          return result.map((value, i) =>
            restrictSection(params.items[i]?.section, expandConfigurationValue(params.items[i]?.section, value)),
          );
        },
      },
    },
  };

  // The id "ksym" makes the client honour the `ksym.trace.server` setting.
  return new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
}
