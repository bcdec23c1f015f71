import { twinkitProject } from '../../vitest.shared.ts';

export default twinkitProject('bundle', { include: ['*.test.ts'], testTimeout: 60_000 });
