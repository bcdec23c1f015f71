/**
 * The back-end flows of the Azure IoT twin samples through @twinkit/service, over real HTTPS to
 * the hub (node:https trusting the development CA): tag a device under its ETag, lose a race
 * with a stale ETag, set desired properties the device receives, and run the two "Redmond43"
 * queries page by page (docs/internals/wire-contract.md#rest-operations, docs/internals/wire-contract.md#etags-and-if-match, docs/internals/wire-contract.md#rest-query).
 */
import { type DesiredChange } from '@twinkit/device';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import {
  PreconditionFailedError,
  isPreconditionFailedError,
  type Registry,
} from '@twinkit/service';
import { describe, expect, it, vi } from 'vitest';
import { DEADLINE_IN_MS, createDeviceClient, createRegistry, httpsFetch } from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

const REDMOND43 = { location: { region: 'US', plant: 'Redmond43' } };
const PLANT_QUERY = "SELECT * FROM devices WHERE tags.location.plant = 'Redmond43'";
const CELLULAR_QUERY = `${PLANT_QUERY} AND properties.reported.connectivity.type = 'cellular'`;

function httpsRegistry(testHub: TestHub): Registry {
  return createRegistry(testHub, { fetch: httpsFetch(testHub.caCertificate) });
}

describe('Registry against the hub over HTTPS', () => {
  it('tags a device under the ETag it read, and the twin carries the tags with a new ETag', async () => {
    await using testHub = await startTestHub();
    const registry = httpsRegistry(testHub);
    await testHub.createDevice('myDeviceId');

    const twin = await registry.getTwin('myDeviceId');
    expect(twin.tags ?? {}).toEqual({});
    const updated = await registry.updateTwin(twin, { tags: REDMOND43 }, { onlyIfUnchanged: true });

    expect(updated.tags).toEqual(REDMOND43);
    expect(updated.etag).not.toBe(twin.etag);
    expect(updated.version).toBe(twin.version + 1);
    const reread = await registry.getTwin('myDeviceId');
    expect(reread.tags).toEqual(REDMOND43);
    expect(reread.etag).toBe(updated.etag);
  });

  it('rejects an update under a stale ETag with PreconditionFailedError and changes nothing', async () => {
    await using testHub = await startTestHub();
    const registry = httpsRegistry(testHub);
    await testHub.createDevice('myDeviceId');

    const stale = await registry.getTwin('myDeviceId');
    const winner = await registry.updateTwin(stale, { tags: REDMOND43 }, { onlyIfUnchanged: true });

    const losing = registry.updateTwin(
      stale,
      { tags: { location: { plant: 'Lyon1' } } },
      { onlyIfUnchanged: true },
    );
    await expect(losing).rejects.toBeInstanceOf(PreconditionFailedError);
    const error: unknown = await losing.catch((caught: unknown) => caught);
    expect(isPreconditionFailedError(error)).toBe(true);
    expect(error).toMatchObject({ statusCode: 412 });

    const current = await registry.getTwin('myDeviceId');
    expect(current.tags).toEqual(REDMOND43);
    expect(current.etag).toBe(winner.etag);
  });

  it('sets desired properties that the connected device receives as one patch with the new version', async () => {
    await using testHub = await startTestHub();
    const registry = httpsRegistry(testHub);
    const { connectionString } = await testHub.createDevice('myDeviceId');
    await using device = createDeviceClient(testHub, connectionString);
    await device.open();
    const received: DesiredChange[] = [];
    device.onDesired('climate', (change) => {
      received.push(change);
    });
    await device.getTwin();

    const twin = await registry.getTwin('myDeviceId');
    const updated = await registry.updateTwin(
      twin,
      { properties: { desired: { climate: { minTemperature: 68, maxTemperature: 76 } } } },
      { onlyIfUnchanged: true },
    );
    expect(updated.properties.desired.$version).toBe(2);

    await vi.waitFor(() => {
      expect(received).toHaveLength(1);
    }, waitOptions);
    expect(received[0]).toMatchObject({
      value: { minTemperature: 68, maxTemperature: 76 },
      version: 2,
    });
    expect((await device.getTwin()).desired).toEqual({
      climate: { minTemperature: 68, maxTemperature: 76 },
      $version: 2,
    });
  });

  it('finds the Redmond43 devices, and the cellular ones among them, page by page', async () => {
    await using testHub = await startTestHub();
    const registry = httpsRegistry(testHub);
    const plants: Record<string, string> = {
      d1: 'Redmond43',
      d2: 'Redmond43',
      d3: 'Redmond43',
      d4: 'Redmond43',
      d5: 'Lyon1',
    };
    const connectivity: Record<string, string> = {
      d1: 'cellular',
      d2: 'wifi',
      d3: 'cellular',
      d5: 'cellular',
    };
    for (const [deviceId, plant] of Object.entries(plants)) {
      const { connectionString } = await testHub.createDevice(deviceId);
      await registry.updateTwin(deviceId, { tags: { location: { region: 'US', plant } } });
      const type = connectivity[deviceId];
      if (type === undefined) continue;
      await using device = createDeviceClient(testHub, connectionString);
      await device.open();
      await device.updateReportedProperties({ connectivity: { type } });
    }

    const plantPages: string[][] = [];
    const tokens: (string | undefined)[] = [];
    for await (const page of registry.queryTwins(PLANT_QUERY).byPage({ maxPageSize: 3 })) {
      plantPages.push(page.items.map((twin) => twin.deviceId));
      tokens.push(page.continuationToken);
    }
    expect(plantPages.map((page) => page.length)).toEqual([3, 1]);
    expect(plantPages.flat().sort()).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(typeof tokens[0]).toBe('string');
    expect(tokens[1]).toBeUndefined();

    // A saved continuation token resumes the query from a new client (in-process this time).
    const resumed: string[] = [];
    for await (const page of createRegistry(testHub)
      .queryTwins(PLANT_QUERY)
      .byPage({ continuationToken: tokens[0]!, maxPageSize: 3 })) {
      resumed.push(...page.items.map((twin) => twin.deviceId));
    }
    expect(resumed).toEqual(plantPages[1]);

    const cellularPages: string[][] = [];
    for await (const page of registry.queryTwins(CELLULAR_QUERY).byPage({ maxPageSize: 1 })) {
      cellularPages.push(page.items.map((twin) => twin.deviceId));
    }
    expect(cellularPages.map((page) => page.length)).toEqual([1, 1]);
    expect(cellularPages.flat().sort()).toEqual(['d1', 'd3']);
  });
});
