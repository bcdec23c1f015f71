import { twinkitProject } from '../../vitest.shared.ts';

/**
 * Interop with the official Azure IoT SDKs, unmodified. They can only dial the standard ports
 * (443, 8883, 5671), so these files bind 127.0.0.1 on them and must not run concurrently.
 */
export default twinkitProject('interop', {
  include: ['test/interop/**/*.test.ts'],
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 120_000,
});
