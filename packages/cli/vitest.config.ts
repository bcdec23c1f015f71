import { twinkitProject } from '../../vitest.shared.ts';

export default twinkitProject('cli', { testTimeout: 20_000 });
