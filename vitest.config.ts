import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'packages/hub/vitest.interop.config.ts',
      'test/*/vitest.config.ts',
      'examples/*/vitest.config.ts',
    ],
    // The JSON report gives .ci/run the pass/fail counts for its last line.
    reporters: ['default', ['json', { outputFile: '.vitest/results.json' }]],
    coverage: {
      provider: 'v8',
      include: ['packages/twin-model/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/*.bench.ts', '**/*.test-d.ts'],
      reporter: ['text-summary'],
      thresholds: {
        'packages/twin-model/src/**/*.ts': { lines: 95, branches: 95 },
      },
    },
  },
});
