import { defineConfig } from 'tsup';

// One build serves every runtime: twin-model has no platform seams and no dependencies.
// Shared chunks hold many modules, so an app's bundler can drop an unused constant only when it
// knows building it has no side effects: top-level tables built by calls (`Object.freeze`,
// helpers, IIFEs) carry `/* @__PURE__ */`, and helpers used only to build them carry
// `/* @__NO_SIDE_EFFECTS__ */`; esbuild keeps both annotations in dist (test/bundle checks the
// service and device programs leave the device-only and query-engine tables out).
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
