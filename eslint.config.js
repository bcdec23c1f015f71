// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node built-ins and Node-only libraries, forbidden in shared (runtime-neutral) code. */
const builtinMessage = 'Node built-ins belong in src/platform/node/** (house-style 4.8).';
const nodeOnlyImports = {
  paths: [
    ...[
      'net',
      'tls',
      'fs',
      'http',
      'https',
      'crypto',
      'os',
      'path',
      'stream',
      'events',
      'buffer',
      'child_process',
      'url',
      'util',
      'zlib',
    ].map((name) => ({ name, message: builtinMessage })),
    ...['ws', 'rhea', 'rhea-promise', 'undici'].map((name) => ({
      name,
      message: 'Node-only libraries belong in src/platform/node/** or src/transport/amqp/**.',
    })),
  ],
  patterns: [{ group: ['node:*'], message: builtinMessage }],
};

const nodeOnlyGlobals = [
  'process',
  'Buffer',
  '__dirname',
  '__filename',
  'require',
  'window',
  'document',
].map((name) => ({
  name,
  message: `'${name}' is not available in every runtime; use a #platform seam (house-style 4.8).`,
}));

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/coverage/**',
      '**/node_modules/**',
      '.vitest/**',
      '**/*.cjs',
      '**/*.mjs',
      '**/.data/**',
      'docs/api/**',
      '**/.snippets/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-definitions': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      'no-console': 'error',
    },
  },
  // twin-model: pure, dependency-free, any runtime.
  {
    files: ['packages/twin-model/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(?!\\.)', message: 'twin-model imports nothing but its own files.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', ...nodeOnlyGlobals],
    },
  },
  // device and service shared code: web-standard core, Node at the edges.
  {
    files: ['packages/device/src/**/*.ts', 'packages/service/src/**/*.ts'],
    ignores: [
      '**/*.test.ts',
      'packages/device/src/platform/node/**',
      'packages/device/src/transport/amqp/**',
      'packages/service/src/http/platform/node/**',
    ],
    rules: {
      'no-restricted-imports': ['error', nodeOnlyImports],
      'no-restricted-globals': ['error', ...nodeOnlyGlobals],
    },
  },
  // Tests, benchmarks, examples, scripts and the hub CLI may print and may be looser with types.
  {
    files: [
      '**/*.test.ts',
      '**/*.bench.ts',
      '**/test/**/*.ts',
      '**/bench/**/*.ts',
      'examples/**/*.ts',
      'scripts/**',
      '**/*.config.ts',
      'vitest.shared.ts',
    ],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  {
    files: ['packages/hub/src/cli.ts'],
    rules: { 'no-console': 'off' },
  },
  // The explorer's browser scripts: plain JavaScript modules served as they are, outside any
  // TypeScript project, so linted without type information and with the browser's globals.
  {
    files: ['packages/hub/src/explorer/explorer-assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false, program: null },
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'document',
          'window',
          'navigator',
          'fetch',
          'EventSource',
          'URLSearchParams',
          'Response',
          'setTimeout',
          'clearTimeout',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
