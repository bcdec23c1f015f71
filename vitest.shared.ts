import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * Vitest project config shared by every workspace package: workspace packages resolve to their
 * TypeScript sources through the `@twinkit/source` export condition, so nothing needs a build
 * before tests run (house-style 4.9, vitest's own `__vitest_source__` pattern).
 */
export function twinkitProject(name: string, test: UserWorkspaceConfig['test'] = {}) {
  // Vite adds `import`/`require` by how a module is loaded; listing `import` here as well would
  // make CommonJS dependencies (mqtt.js requiring ws) load ESM wrappers through vitest's resolver.
  const conditions = ['@twinkit/source', 'node'];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 5_000,
      ...test,
    },
  });
}
