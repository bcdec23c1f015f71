/**
 * Rollouts from the back end's side, against real devices over MQTT: `waitForReported` sees a
 * device acknowledge a desired change, and `getRolloutStatus` sorts a fleet into acknowledged,
 * in progress, failed and pending from one projection query
 * (docs/internals/wire-contract.md#writable-property-acknowledgements).
 */
import { mqtt } from '@twinkit/device';
import { startTestHub } from '@twinkit/hub/testing';
import { ReportedTimeoutError, type FetchLike } from '@twinkit/service';
import { OperationTimeoutError } from '@twinkit/twin-model/errors';
import { describe, expect, it } from 'vitest';
import { createDeviceClient, createRegistry, httpsFetch } from './helpers.js';

describe('rollouts', () => {
  it('waitForReported resolves with the twin once the device acknowledges the desired version', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { connectionString } = await testHub.createDevice('t-1');
    await using device = createDeviceClient(testHub, connectionString, { transport: mqtt() });
    device.onDesired('targetTemperature', async (change) => {
      await device.updateReportedProperties({
        targetTemperature: { value: change.value, ac: 200, av: change.version },
      });
    });
    await device.open();
    const set = await registry.updateTwin('t-1', {
      properties: { desired: { targetTemperature: 22 } },
    });
    const version = set.properties.desired.$version;

    const twin = await registry.waitForReported<
      object,
      { targetTemperature?: { av: number; value: number } }
    >('t-1', (candidate) => (candidate.properties.reported.targetTemperature?.av ?? 0) >= version, {
      timeoutInMs: 10_000,
      pollIntervalInMs: 20,
    });
    expect(twin.properties.reported.targetTemperature).toEqual({ value: 22, ac: 200, av: version });
  });

  it('waitForReported gives up with a ReportedTimeoutError carrying the last twin', async () => {
    await using testHub = await startTestHub({ listen: false });
    const registry = createRegistry(testHub);
    await testHub.createDevice('silent');
    const error: unknown = await registry
      .waitForReported('silent', () => false, { timeoutInMs: 50, pollIntervalInMs: 10 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReportedTimeoutError);
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect((error as ReportedTimeoutError).twin?.deviceId).toBe('silent');
    expect((error as ReportedTimeoutError).message).toMatch(/'silent' did not match within 50 ms/);
  });

  it('waitForReported stops when aborted, with the abort reason', async () => {
    await using testHub = await startTestHub({ listen: false });
    const registry = createRegistry(testHub);
    await testHub.createDevice('aborted');
    const reason = new Error('stop');
    const controller = new AbortController();
    const waiting = registry.waitForReported('aborted', () => false, {
      timeoutInMs: 60_000,
      pollIntervalInMs: 10,
      abortSignal: controller.signal,
    });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('getRolloutStatus sorts a fleet by its acknowledgements of the current desired version, over one query', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const ids = ['ok', 'busy', 'bad', 'stale', 'silent', 'other-site'];
    const devices = new Map<string, string>();
    for (const id of ids) devices.set(id, (await testHub.createDevice(id)).connectionString);
    await registry.updateTwins(
      ids.map((deviceId) => ({
        deviceId,
        tags: { site: deviceId === 'other-site' ? 'paris' : 'lyon' },
        properties: { desired: { thermostat1: { targetTemperature: 21 } } },
      })),
    );
    // The bulk update set the property at desired $version 2 on every device.
    const answers: Record<string, object> = {
      ok: { value: 21, ac: 200, av: 2 },
      busy: { value: 19, ac: 202, av: 2, ad: 'heating' },
      bad: { value: 19, ac: 400, av: 2, ad: 'out of range' },
      stale: { value: 18, ac: 200, av: 1 },
    };
    for (const [id, answer] of Object.entries(answers)) {
      await using device = createDeviceClient(testHub, devices.get(id)!, { transport: mqtt() });
      await device.open();
      await device.updateReportedProperties({
        thermostat1: { __t: 'c', targetTemperature: answer },
      });
    }
    // A later change of another property moves the desired $version on, but the acknowledgement
    // still answers the version the property was set at.
    await registry.updateTwin('ok', { properties: { desired: { unrelated: true } } });

    const { fetch, requests } = countingFetch(httpsFetch(testHub.caCertificate));
    const counted = createRegistry(testHub, { fetch });
    const status = await counted.getRolloutStatus('thermostat1.targetTemperature', {
      query: "tags.site = 'lyon'",
    });
    expect(status.counts).toEqual({
      total: 5,
      acknowledged: 1,
      inProgress: 1,
      failed: 1,
      pending: 2,
    });
    expect(status.acknowledged.map((d) => d.deviceId)).toEqual(['ok']);
    expect(status.inProgress.map((d) => d.deviceId)).toEqual(['busy']);
    expect(status.failed).toMatchObject([
      { deviceId: 'bad', desiredValue: 21, ack: { ac: 400, ad: 'out of range' } },
    ]);
    expect(status.pending.map((d) => d.deviceId).sort()).toEqual(['silent', 'stale']);
    for (const device of [...status.acknowledged, ...status.pending])
      expect(device.desiredVersion).toBe(2);
    expect(requests()).toBe(1);

    const paged = await counted.getRolloutStatus('thermostat1.targetTemperature', {
      maxPageSize: 2,
    });
    expect(paged.counts.total).toBe(6);
    expect(requests()).toBe(1 + 3);
  });

  it('getRolloutStatus refuses a malformed property path or a whole SELECT as the condition', async () => {
    await using testHub = await startTestHub({ listen: false });
    const registry = createRegistry(testHub);
    await expect(registry.getRolloutStatus('a b')).rejects.toThrow(TypeError);
    await expect(
      registry.getRolloutStatus('rate', { query: 'SELECT * FROM devices' }),
    ).rejects.toThrow(/condition after WHERE/);
  });
});

function countingFetch(inner: FetchLike): { fetch: FetchLike; requests: () => number } {
  let count = 0;
  return {
    fetch: (input, init) => {
      count += 1;
      return inner(input, init);
    },
    requests: () => count,
  };
}
