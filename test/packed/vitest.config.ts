import { defineProject } from 'vitest/config';

/**
 * The packed-artifact suite: the global setup packs and installs the tarballs (about 20 s with a
 * warm npm cache), then every test runs programs in that app as child processes. Timeouts are
 * generous because the programs start runtimes, hubs and a browser on a shared 2-core machine.
 * No `@twinkit/source` condition: nothing here imports the workspace packages.
 */
export default defineProject({
  test: {
    name: 'packed',
    include: ['*.test.ts'],
    globalSetup: ['./setup/install-packed.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
