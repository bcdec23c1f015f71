import { defineConfig, type Options } from 'tsup';

// Two dialects (docs/internals/architecture.md#runtime-seams): esbuild resolves the package "imports" map with each
// build's conditions, so `#platform/*` becomes the Node or the web implementation and no `#`
// specifier survives into dist. One .d.ts set (from the Node build) serves both: the platform
// files implement the same signatures (src/platform/types.ts).
// AMQP and the file store are Node-only: the web build's `amqp` and `file-store` entries are stubs whose factories throw
// UnsupportedRuntimeError, so isomorphic apps still type-check and fail clearly at run time.
const entry = {
  index: 'src/index.ts',
  testing: 'src/testing.ts',
  'testing/contract': 'src/testing-contract.ts',
  'indexeddb-store': 'src/store/indexeddb-store.ts',
};

// Node-only entries; the web build gets stubs that throw UnsupportedRuntimeError.
const nodeOnly = {
  amqp: 'src/transport/amqp/index.ts',
  'file-store': 'src/platform/node/file-store/index.ts',
};

const shared: Options = {
  target: 'es2022',
  sourcemap: true,
  clean: true,
  treeshake: true,
  // Runtime dependencies and the workspace packages stay external; the testing/contract entry
  // needs the app's own vitest (an optional peer dependency), the testing entry does not.
  external: ['mqtt', 'rhea-promise', /^@twinkit\//, 'vitest'],
};

export default defineConfig([
  {
    ...shared,
    entry: { ...entry, ...nodeOnly },
    outDir: 'dist/node',
    platform: 'node',
    format: ['esm'],
    esbuildOptions(options) {
      options.conditions = ['node'];
    },
  },
  {
    ...shared,
    entry: {
      ...entry,
      amqp: 'src/transport/amqp-web.ts',
      'file-store': 'src/store/file-store-web.ts',
    },
    outDir: 'dist/web',
    platform: 'neutral',
    format: ['esm'],
    esbuildOptions(options) {
      options.conditions = ['worker', 'browser'];
      options.mainFields = ['module', 'main'];
    },
  },
  {
    entry: { ...entry, ...nodeOnly },
    outDir: 'dist/types',
    format: ['esm'],
    clean: true,
    dts: { only: true },
  },
]);
