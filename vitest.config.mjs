import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 60000,
    hookTimeout: 60000,
    pool: 'forks',
    // The last line of the run: how many tests skipped, and why (issue 13 §6).
    reporters: ['default', './test/skipReporter.mjs'],
  },
});
