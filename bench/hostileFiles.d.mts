/** Types for bench/hostileFiles.mjs (used by test/hostile/cli.test.ts). */
export declare const SMALL_KALLSYMS: string[];
export declare function hostileFiles(dir: string): {
  kallsyms(name: string, lines?: string[]): string;
  fifo(name: string): string;
  sparse(name: string, size: number): string;
  bomb(name: string, tool: string, mib?: number): string;
};
