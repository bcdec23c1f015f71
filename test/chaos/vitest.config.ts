import { twinkitProject } from '../../vitest.shared.ts';

export default twinkitProject('chaos', { include: ['*.chaos.test.ts'], testTimeout: 180_000 });
