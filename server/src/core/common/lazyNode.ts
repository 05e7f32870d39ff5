/**
 * Node built-ins loaded when first needed. node:fs/promises loads ~20 of Node's own modules
 * (streams, readline, watchers): a one-shot command that never lists a directory should not
 * pay for them (bench section 9).
 */
import type * as FsPromises from 'node:fs/promises';

let fsp: typeof FsPromises | undefined;

/** node:fs/promises, loaded on the first call. */
export function fsPromises(): typeof FsPromises {
  return (fsp ??= require('node:fs/promises') as typeof FsPromises);
}
