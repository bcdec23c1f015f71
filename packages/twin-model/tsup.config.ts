import { defineConfig } from 'tsup';

// One build serves every runtime: twin-model has no platform seams and no dependencies.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'errors/index': 'src/errors/index.ts',
    'protocol/index': 'src/protocol/index.ts',
    'query/index': 'src/query/index.ts',
    // Shared client internals (logger, backoff, abort); not public API, see its module comment.
    'internal/index': 'src/internal/index.ts',
  },
  format: ['esm', 'cjs'],
  target: 'es2022',
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  // Shared chunks in both formats, so HubError and friends are one class across every entry.
  splitting: true,
});
