import { fileURLToPath } from 'node:url';
import { twinkitProject } from '../../vitest.shared.ts';

/**
 * The chaos figures: slow (they wait out the hub's real deadlines) and noisy on a shared machine,
 * so they are not in the root `vitest.config.ts` projects; `pnpm test:chaos` runs them, one file
 * at a time so the figures of one concern do not disturb another's.
 */
export default twinkitProject('chaos', {
  // Run from the repository root by `pnpm test:chaos`; the files are found next to this config.
  dir: fileURLToPath(new URL('.', import.meta.url)),
  include: ['*.chaos.test.ts'],
  fileParallelism: false,
  testTimeout: 180_000,
  hookTimeout: 60_000,
});
