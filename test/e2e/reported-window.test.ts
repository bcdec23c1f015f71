/**
 * Several reported patches in flight on one connection (OutboxOptions.maxPatchesInFlight): the
 * hub answers a connection's twin requests in order, so the patches take effect in call order;
 * beyond the window calls are coalesced; and when a patch cut off by a dropped connection is sent
 * again after patches that overtook it, the client notices from the `$version`s and sends those
 * again, so the twin still ends as in call order.
 */
import { mqtt, type TransportFactory } from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import { DEADLINE_IN_MS, createDeviceClient, createRegistry } from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

const transports: readonly {
  name: string;
  faults: 'mqtt' | 'amqp';
  transport: (testHub: TestHub) => TransportFactory;
}[] = [
  { name: 'MQTT over TLS', faults: 'mqtt', transport: () => mqtt() },
  {
    name: 'AMQP over TLS',
    faults: 'amqp',
    transport: (testHub) => amqp({ port: testHub.amqpPort! }),
  },
];

/** Sixteen patches; patch i sets `step: i` and a key of its own. */
function sixteenPatches(): Record<string, number | boolean>[] {
  return Array.from({ length: 16 }, (_, index) => ({
    step: index + 1,
    [`s${String(index + 1)}`]: true,
  }));
}

/** The key of its own that each of the sixteen calls sets. */
const everyOwnKey = Object.fromEntries(
  Array.from({ length: 16 }, (_, index) => [`s${String(index + 1)}`, true]),
);

/**
 * Makes one call per patch, each in a turn of its own (calls made in the same turn go out as one
 * patch), without waiting for any answer: no answer can arrive between them, so the window fills.
 */
async function callOneByOne<T>(
  patches: readonly Record<string, number | boolean>[],
  call: (patch: Record<string, number | boolean>) => Promise<T>,
): Promise<Promise<T>[]> {
  const calls: Promise<T>[] = [];
  for (const patch of patches) {
    calls.push(call(patch));
    await Promise.resolve();
  }
  return calls;
}

function isSorted(values: readonly number[]): boolean {
  return values.every((value, index) => index === 0 || (values[index - 1] ?? value) <= value);
}

describe.each(transports)('reported patches in flight over $name', ({ faults, transport }) => {
  it('keeps four in flight, coalesces the rest, and they take effect in call order', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('windowDevice');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
      outbox: { maxPatchesInFlight: 4 },
    });
    await device.open();
    const { version: base } = await device.updateReportedProperties({ step: 0 });

    const results = await Promise.all(
      await callOneByOne(sixteenPatches(), (patch) => device.updateReportedProperties(patch)),
    );
    const versions = results.map((result) => result.version);

    // Four single writes, then the twelve calls behind the window as one: five hub writes.
    expect(versions).toEqual([
      base + 1,
      base + 2,
      base + 3,
      base + 4,
      ...Array.from({ length: 12 }, () => base + 5),
    ]);
    const reported = (await registry.getTwin('windowDevice')).properties.reported;
    // No write was repeated (the hub answered in order) and the last call's value won.
    expect(reported.$version).toBe(base + 5);
    expect(reported.step).toBe(16);
    expect(reported).toMatchObject(everyOwnKey);
  });

  it('repairs the order when a patch cut off by a dropped connection lands after later ones', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('windowDevice');
    await using device = createDeviceClient(testHub, connectionString, {
      transport: transport(testHub),
      outbox: { maxPatchesInFlight: 4 },
      operationTimeoutInMs: 30_000,
    });
    await device.open();
    const { version: base } = await device.updateReportedProperties({ step: 0 });

    // The hub applies the first patch but holds its answer back, so the device cannot know.
    testHub.hub.faults[faults].delayNextTwinResponses({
      deviceId: 'windowDevice',
      operation: 'updateReported',
      delayInMs: 25_000,
    });
    const patches = sixteenPatches();
    const settled: boolean[] = patches.map(() => false);
    let index = 0;
    const calls = await callOneByOne(patches, (patch) => {
      const own = index++;
      return device.updateReportedProperties(patch).finally(() => {
        settled[own] = true;
      });
    });
    // The other writes went ahead while the first answer was outstanding.
    await vi.waitFor(async () => {
      const reported = (await registry.getTwin('windowDevice')).properties.reported;
      expect(reported.$version).toBe(base + 5);
      expect(reported.step).toBe(16);
    }, waitOptions);
    expect(settled.some(Boolean)).toBe(false);

    // Losing the connection loses the first answer; the first patch is sent again and lands
    // after the others, which the client then sends again in call order.
    expect(testHub.hub.faults[faults].dropConnection({ deviceId: 'windowDevice' })).toBe(true);
    const versions = (await Promise.all(calls)).map((result) => result.version);
    expect(isSorted(versions)).toBe(true);
    const reported = (await registry.getTwin('windowDevice')).properties.reported;
    expect(reported.step).toBe(16);
    expect(reported.$version).toBe(versions.at(-1));
    expect(reported).toMatchObject(everyOwnKey);
  });
});
