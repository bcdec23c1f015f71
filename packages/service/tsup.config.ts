import { defineConfig, type Options } from 'tsup';

// Two dialects, as in @twinkit/device (docs/internals/architecture.md#runtime-seams): esbuild resolves the package
// "imports" map with each build's conditions, so `#platform/transport` becomes Node's undici
// dispatcher or the web's fetch (docs/internals/architecture.md#seams) and no `#` specifier
// survives into dist. One .d.ts set serves both. twin-model stays external so apps that also use
// the device SDK load one copy of the shared error classes; undici stays external and is loaded
// on the first request.
const shared: Options = {
  entry: { index: 'src/index.ts', twins: 'src/twins/index.ts' },
  format: ['esm'],
  target: 'es2022',
  sourcemap: true,
  clean: true,
  treeshake: true,
  external: ['@twinkit/twin-model', /^@twinkit\/twin-model\//, 'undici'],
};

export default defineConfig([
  {
    ...shared,
    outDir: 'dist/node',
    platform: 'node',
    esbuildOptions(options) {
      options.conditions = ['node'];
    },
  },
  {
    ...shared,
    outDir: 'dist/web',
    platform: 'neutral',
    esbuildOptions(options) {
      options.conditions = ['worker', 'browser'];
      options.mainFields = ['module', 'main'];
    },
  },
  {
    entry: { index: 'src/index.ts', twins: 'src/twins/index.ts' },
    outDir: 'dist/types',
    format: ['esm'],
    clean: true,
    dts: { only: true },
  },
]);
