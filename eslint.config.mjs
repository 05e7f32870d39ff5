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
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
    },
  },
);
