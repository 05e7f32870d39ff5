import { defineConfig } from 'vitest/config';
// End-to-end tests in a real VS Code (code-server) and Neovim: `npm run test:e2e`.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 120000,
    hookTimeout: 300000,
    pool: 'forks',
    fileParallelism: false,
  },
});
