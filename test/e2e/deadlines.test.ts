/**
 * Deadlines and cancellation over a real connection (docs/internals/architecture.md#client-conventions): a twin response the hub
 * holds back past `operationTimeoutInMs` ends in `OperationTimeoutError`, an abort signal rejects
 * with its own reason, and `close()` during `open()` returns promptly.
 */
import {
  DeviceClient,
  OperationTimeoutError,
  TransportError,
  isOperationTimeoutError,
} from '@twinkit/device';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_IN_MS,
  TokenGate,
  createDeviceClient,
  createRegistry,
  deviceOptions,
  recordStates,
  waitForState,
} from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };
// Long enough for open() on a loaded CI machine, far below the hub's held-back answer.
const SHORT_TIMEOUT_IN_MS = 1_500;
const LONG_DELAY_IN_MS = 10_000;

async function connectedDevice(testHub: TestHub, operationTimeoutInMs = DEADLINE_IN_MS) {
  const { connectionString } = await testHub.createDevice('myDeviceId');
  const device = createDeviceClient(testHub, connectionString, { operationTimeoutInMs });
  await device.open();
  return device;
}

function gatedDevice(testHub: TestHub, primaryKey: string, operationTimeoutInMs = DEADLINE_IN_MS) {
  const gate = new TokenGate(primaryKey);
  const device = DeviceClient.fromTokenProvider(
    { hostName: `localhost:${String(testHub.mqttPort)}`, deviceId: 'myDeviceId' },
    gate.provider,
    { ...deviceOptions(testHub), operationTimeoutInMs },
  );
  return { device, gate };
}

describe('DeviceClient deadlines', () => {
  it('rejects getTwin with OperationTimeoutError when the response comes later than operationTimeoutInMs, and keeps working', async () => {
    await using testHub = await startTestHub();
    await using device = await connectedDevice(testHub, SHORT_TIMEOUT_IN_MS);

    testHub.hub.faults.mqtt.delayNextTwinResponses({
      deviceId: 'myDeviceId',
      operation: 'getTwin',
      delayInMs: LONG_DELAY_IN_MS,
    });
    const started = performance.now();
    const late = device.getTwin();
    await expect(late).rejects.toBeInstanceOf(OperationTimeoutError);
    expect(performance.now() - started).toBeLessThan(LONG_DELAY_IN_MS / 2);
    expect(isOperationTimeoutError(await late.catch((error: unknown) => error))).toBe(true);

    expect(device.isConnected).toBe(true);
    expect((await device.getTwin()).desired.$version).toBe(1);
  });

  it('rejects updateReportedProperties with OperationTimeoutError when the hub holds its answer back', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    await using device = await connectedDevice(testHub, SHORT_TIMEOUT_IN_MS);

    testHub.hub.faults.mqtt.delayNextTwinResponses({
      deviceId: 'myDeviceId',
      operation: 'updateReported',
      delayInMs: LONG_DELAY_IN_MS,
    });
    await expect(device.updateReportedProperties({ battery: 90 })).rejects.toBeInstanceOf(
      OperationTimeoutError,
    );
    // The hub did apply it; only the answer was late. The next update goes through normally.
    expect((await registry.getTwin('myDeviceId')).properties.reported).toMatchObject({
      battery: 90,
      $version: 2,
    });
    expect((await device.updateReportedProperties({ battery: 80 })).version).toBe(3);
  });

  it('rejects open with OperationTimeoutError when no connection succeeds in time', async () => {
    await using testHub = await startTestHub();
    const { primaryKey } = await testHub.createDevice('myDeviceId');
    const { device, gate } = gatedDevice(testHub, primaryKey, SHORT_TIMEOUT_IN_MS);
    await using _device = device;
    gate.shut();

    await expect(device.open()).rejects.toBeInstanceOf(OperationTimeoutError);
    expect(device.connectionState).toBe('disconnected');
    expect(gate.waiting).toBe(0);
  });
});

describe('DeviceClient cancellation', () => {
  it('rejects getTwin with the abort reason, unchanged', async () => {
    await using testHub = await startTestHub();
    await using device = await connectedDevice(testHub);

    testHub.hub.faults.mqtt.delayNextTwinResponses({
      deviceId: 'myDeviceId',
      operation: 'getTwin',
      delayInMs: LONG_DELAY_IN_MS,
    });
    const controller = new AbortController();
    const reason = new Error('the user navigated away');
    const pending = device.getTwin({ abortSignal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);

    const alreadyAborted = AbortSignal.abort(reason);
    await expect(device.getTwin({ abortSignal: alreadyAborted })).rejects.toBe(reason);
    expect((await device.getTwin()).reported.$version).toBe(1);
  });

  it('withdraws a queued reported update whose signal aborts, so it is never sent', async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const { primaryKey } = await testHub.createDevice('myDeviceId');
    const { device, gate } = gatedDevice(testHub, primaryKey);
    await using _device = device;
    await device.open();

    gate.shut();
    testHub.hub.faults.mqtt.dropConnection({ deviceId: 'myDeviceId' });
    await waitForState(device, 'reconnecting');
    const controller = new AbortController();
    const withdrawn = device.updateReportedProperties(
      { withdrawn: true },
      { abortSignal: controller.signal },
    );
    controller.abort(new Error('changed my mind'));
    await expect(withdrawn).rejects.toThrow('changed my mind');
    const kept = device.updateReportedProperties({ kept: true });

    gate.open();
    expect((await kept).version).toBe(2);
    const reported = (await registry.getTwin('myDeviceId')).properties.reported;
    expect(reported).toMatchObject({ kept: true });
    expect(reported).not.toHaveProperty('withdrawn');
  });

  it('rejects open with the abort reason and ends disconnected', async () => {
    await using testHub = await startTestHub();
    const { primaryKey } = await testHub.createDevice('myDeviceId');
    const { device, gate } = gatedDevice(testHub, primaryKey);
    await using _device = device;
    gate.shut();

    const controller = new AbortController();
    const opening = device.open({ abortSignal: controller.signal });
    await vi.waitFor(() => {
      expect(gate.waiting).toBe(1);
    }, waitOptions);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(opening).rejects.toBe(reason);
    expect(device.connectionState).toBe('disconnected');
    expect(gate.waiting).toBe(0);
  });

  it('returns from close() called while open() is still connecting, and open() then rejects with TransportError', async () => {
    await using testHub = await startTestHub();
    const { primaryKey } = await testHub.createDevice('myDeviceId');
    const { device, gate } = gatedDevice(testHub, primaryKey);
    const states = recordStates(device);
    gate.shut();

    const opening = device.open();
    await vi.waitFor(() => {
      expect(gate.waiting).toBe(1);
    }, waitOptions);
    await device.close();
    await expect(opening).rejects.toBeInstanceOf(TransportError);
    expect(device.connectionState).toBe('disconnected');
    expect(gate.waiting).toBe(0);
    expect(states.map((change) => [change.state, change.reason])).toEqual([
      ['connecting', 'open-requested'],
      ['disconnected', 'close-requested'],
    ]);
    // Closed for good: opening again works from scratch.
    gate.open();
    await device.open();
    expect(device.isConnected).toBe(true);
    await device.close();
  });
});
