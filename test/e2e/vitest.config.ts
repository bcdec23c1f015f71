import { twinkitProject } from '../../vitest.shared.ts';

export default twinkitProject('e2e', { include: ['*.test.ts'], testTimeout: 20_000 });
