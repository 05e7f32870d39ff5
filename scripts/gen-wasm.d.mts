/** Types for scripts/gen-wasm.mjs (used by test/unit/kallsyms-wasm.test.ts). */
export function generate(src: { wat: string; out: string; name: string }): Promise<string>;
