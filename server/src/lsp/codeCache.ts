/** The V8 code cache loader, shared with the CLI: server/src/codeCache.ts. */
export { requireWithCodeCache } from '../codeCache';
