/**
 * What the host can run, once: the WebAssembly passes (kallsyms parse, duplicate count, DWARF
 * abbreviation tables and line programs) read their memory through host-order views of
 * little-endian wasm memory, so they run only where WebAssembly exists (not under node
 * --jitless) on a little-endian host; elsewhere their JavaScript versions run.
 */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const WASM_USABLE = HOST_LE && typeof WebAssembly === 'object';
