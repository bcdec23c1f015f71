import { defineConfig } from 'tsup';

// One build serves every runtime: the service package is fetch + WebCrypto only, with no
// platform seams (docs/internals/architecture.md#seams), so a single neutral dialect is enough. twin-model stays
// external so apps that also use the device SDK load one copy of the shared error classes.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  external: ['@twinkit/twin-model', /^@twinkit\/twin-model\//],
});
