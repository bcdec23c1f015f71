import { twinkitProject } from '../../vitest.shared.ts';

// Tests of the official Azure SDKs bind the standard ports on 127.0.0.1: they live in the separate
// `interop` project (vitest.interop.config.ts), which runs its files one at a time.
export default twinkitProject('hub', { exclude: ['test/interop/**', '**/node_modules/**'] });
