/**
 * Imported first by the server entry point, so that it runs before the LSP libraries load:
 * starts reading the kallsyms source the client is expected to ask for (KSYM_PREFETCH, set by
 * the VS Code client from the settings; '' for none; default /proc/kallsyms).
 */
import { MAX_SOURCE_BYTES } from './loader';
import { prefetch } from './prefetch';

const target = process.env.KSYM_PREFETCH ?? '/proc/kallsyms';
if (target) prefetch(target, MAX_SOURCE_BYTES);
