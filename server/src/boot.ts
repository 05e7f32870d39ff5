/**
 * Entry point of dist/server.js (transport from argv: --stdio, --node-ipc, --socket=N).
 *
 * A few lines that start reading the kallsyms source the client is expected to ask for
 * (KSYM_PREFETCH, set by the VS Code client from the settings; '' for none; default
 * /proc/kallsyms) on a worker thread, then load the language server bundle
 * (dist/server-main.js): the kernel generates /proc/kallsyms while that bundle compiles.
 */
import { prefetch } from './prefetch';

const target = process.env.KSYM_PREFETCH ?? '/proc/kallsyms';
if (target) prefetch(target);
require('./server-main.js');
