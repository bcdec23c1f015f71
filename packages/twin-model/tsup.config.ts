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
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  // Shared chunks, so HubError and friends are one class across every entry. ES modules only:
  // `require()` on Node >= 20.19 loads the same modules, so there is never a second copy.
  splitting: true,
});
