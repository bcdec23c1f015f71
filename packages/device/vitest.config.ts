import { twinkitProject } from '../../vitest.shared.ts';

export default twinkitProject('device');
