// ESLint (flat config): typescript-eslint's recommended rules over the whole tree.
// `npm run lint` runs it with `prettier --check` (formatting: .prettierrc.json).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cache/**',
      'out/**',
      'test-output/**',
      // Generated (scripts/gen-wasm.mjs): base64 bytes, not code to read.
      'server/src/**/*Wasm.ts',
      'server/src/**/walkwasm.ts',
      // TEMPORARY (issue 12): files of the helpers working on issues 13, 14 and 15 at the same
      // time, not yet formatted or linted when the lint came in. The lead formats them
      // (`npm run format`) and removes this list.
      'server/src/core/dwarf/**',
      'server/src/core/kernels/**',
      'test/unit/dwarf/**',
      'test/unit/kernels/**',
      'test/hostile/**',
      'bench/attacks.mjs',
      'bench/dwarf*.mjs',
      'scripts/fetch-kernel-data.mjs',
      'server/src/cli/decode.ts',
      'server/src/cli/loadDebug.ts',
      'server/src/cli/lookup.ts',
      'server/src/core/common/readGuarded.ts',
      'server/src/core/log/lookup.ts',
      'server/src/core/log/source.ts',
      'server/src/lsp/hover/kallsyms.ts',
      'server/src/lsp/server.ts',
      'server/src/lsp/transport.ts',
      'test/cli/source-cli.test.ts',
      'test/helpers/sourceClient.ts',
      'fuzz/targets.mjs',
      'server/src/core/modules/decompress.ts',
      'test/protocol/moduleSourceLines.test.ts',
      'test/unit/client/trust.test.ts',
      'server/src/core/search/kfuncs.ts',
      'test/protocol/debuginfod.test.ts',
      'fuzz/dwarf.mjs',
      'test/cli/decode-debuginfod.test.ts',
      'test/protocol/sourceLines.test.ts',
      'client/src/decodeLog.ts',
      'server/src/lsp/decodeLog.ts',
      'server/src/lsp/hover/source.ts',
      'server/src/lsp/inlayHints.ts',
      'server/src/lsp/sourceDefinition.ts',
      'server/src/lsp/sourceFrames.ts',
      'server/src/lsp/sourceHandlers.ts',
      'server/src/lsp/sourceLines.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // `_name`: deliberately unused (a destructured field left out, an interface argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // require() loads optional or heavy modules on first use (node:zlib, the CLI bundles).
      '@typescript-eslint/no-require-imports': 'off',
      // Control characters are matched on purpose: untrusted text is cleaned of them.
      'no-control-regex': 'off',
      // Prettier does not break strings; this keeps every line readable.
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
);
