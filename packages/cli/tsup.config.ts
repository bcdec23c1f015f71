import { defineConfig } from 'tsup';

// The `twinkit` command: one Node entry. src/cli.ts starts with `#!/usr/bin/env node`, which tsup
// keeps (and marks the output executable). Dependencies stay external.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  treeshake: true,
});
