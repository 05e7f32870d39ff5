/**
 * Entry point of dist/server.js (transport from argv: --stdio, --node-ipc, --socket=N).
 *
 * A few lines that read the kallsyms source the client is expected to ask for
 * (KSYM_PREFETCH, set by the VS Code client from the settings; '' for none; default
 * /proc/kallsyms) while the client is still sending `initialize`, then load the language
 * server bundle (dist/server-main.js) with V8's code cache (codeCache.ts).
 */
import { join } from 'node:path';
import { requireWithCodeCache } from './codeCache';
import { DEFAULT_KALLSYMS } from '../core/kallsyms/read';
import { prefetch } from '../core/kallsyms/readEarly';

const target = process.env.KSYM_PREFETCH ?? DEFAULT_KALLSYMS;
if (target) prefetch(target);
requireWithCodeCache(join(__dirname, 'server-main.js'));
