import { twinkitProject } from '../../vitest.shared.ts';

export default twinkitProject('examples', { include: ['*.test.ts'], testTimeout: 120_000 });
