import { describe, expect, it } from 'vitest';
import { isExplorerUrl } from './explorer-handler.js';

describe('isExplorerUrl', () => {
  it('matches /explorer and what is under it, nothing else', () => {
    for (const url of [
      'https://localhost:8443/explorer',
      'https://localhost:8443/explorer/',
      'https://127.0.0.1:1/explorer/api/twin?deviceId=a',
      'https://[::1]:1/explorer?x=1',
    ])
      expect(isExplorerUrl(url), url).toBe(true);
    for (const url of [
      'https://localhost:8443/explorers',
      'https://localhost:8443/twins/explorer',
      'https://explorer/twins/a',
      'https://localhost:8443/',
      'https://localhost:8443/devices/explorer/modules',
    ])
      expect(isExplorerUrl(url), url).toBe(false);
  });
});
