import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registryFor, recordingFetch, startHub } from './helpers.js';

describe('User-Agent', () => {
  it('names this package at its package.json version, after the app prefix', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, seen } = recordingFetch(hub);
    await registryFor(hub, { fetch, userAgentPrefix: 'fleet-admin/2.1' }).getTwin('dev-1');
    expect(seen[0]?.headers.get('user-agent')).toBe(`fleet-admin/2.1 twinkit-service/${version}`);
  });
});
