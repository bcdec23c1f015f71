import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

// The hub is Node-only: one node build, ES modules with declarations (Node >= 20.19 also loads
// them from `require`). Dependencies (and @twinkit/twin-model) stay external. src/cli.ts starts with a `#!/usr/bin/env node` line, which
// tsup keeps (and marks the output executable), so the `twinkit-hub` bin runs dist/cli.js directly.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: { entry: { index: 'src/index.ts', testing: 'src/testing.ts' } },
  sourcemap: true,
  clean: true,
  treeshake: true,
  // The explorer's page and scripts are plain files read at run time from beside the bundle
  // (src/explorer/explorer-assets.ts); they ship as they are.
  onSuccess: async () => {
    cpSync('src/explorer/explorer-assets', 'dist/explorer-assets', { recursive: true });
  },
});
