import type { JsonObject } from '@twinkit/twin-model';
import {
  OperationTimeoutError,
  TransportError,
  TwinValidationError,
  UnauthorizedError,
  createHubError,
} from '@twinkit/twin-model/errors';
import { parseSasToken } from '@twinkit/twin-model/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SasTokenCredential } from './auth/sas-token-credential.js';
import type { ConnectionStateChange } from './connection-state.js';
import { DeviceClient } from './device-client.js';
import type { DesiredChange } from './desired/desired-router.js';
import type { DeviceClientOptions } from './options.js';
import { createFakeTransport, type FakeTransportOptions } from './transport/fake/fake-transport.js';

const KEY = btoa('0123456789abcdef0123456789abcdef');
const CS = `HostName=hub.example;DeviceId=dev-1;SharedAccessKey=${KEY}`;

function issueToken({ resourceUri }: { resourceUri: string }): Promise<string> {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  return Promise.resolve(
    `SharedAccessSignature sr=${encodeURIComponent(resourceUri)}&sig=test&se=${String(expiry)}`,
  );
}

function setup(options: DeviceClientOptions & { fake?: FakeTransportOptions } = {}) {
  const { fake: fakeOptions, ...clientOptions } = options;
  const fake = createFakeTransport(fakeOptions);
  // Tokens come from a provider, not from WebCrypto: HMAC signing completes on a worker thread
  // that fake timers cannot advance, and these tests step through reconnects with fake timers.
  const client = new DeviceClient(
    new SasTokenCredential({ hostName: 'hub.example', deviceId: 'dev-1' }, issueToken),
    {
      transport: fake.factory,
      ...clientOptions,
    },
  );
  const states: ConnectionStateChange[] = [];
  client.on('connectionStateChange', (change) => {
    states.push(change);
  });
  return { fake, client, states };
}

function collect(client: DeviceClient, path?: string): DesiredChange[] {
  const changes: DesiredChange[] = [];
  if (path === undefined) client.onDesired((change) => void changes.push(change));
  else client.onDesired(path, (change) => void changes.push(change));
  return changes;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('DeviceClient', () => {
  describe('construction', () => {
    it('signs the SAS token for HostName and connects to GatewayHostName for a module identity', async () => {
      const fake = createFakeTransport();
      const client = DeviceClient.fromConnectionString(
        `HostName=hub.example;DeviceId=dev-1;ModuleId=mod-a;SharedAccessKey=${KEY};GatewayHostName=edge.local:8884`,
        { transport: fake.factory },
      );
      await using _client = client;
      await client.open();
      const params = fake.connectParams[0];
      expect(params).toMatchObject({
        hostName: 'hub.example',
        endpointHost: 'edge.local',
        endpointPort: 8884,
        deviceId: 'dev-1',
        moduleId: 'mod-a',
        keepAliveInSeconds: 180,
      });
      expect(parseSasToken(params?.sasToken ?? '').resourceUri).toBe(
        'hub.example/devices/dev-1/modules/mod-a',
      );
    });

    it('connects to the port of HostName=host:port while the token names the bare host', async () => {
      const fake = createFakeTransport();
      await using client = DeviceClient.fromConnectionString(
        `HostName=localhost:4443;DeviceId=dev-1;SharedAccessKey=${KEY}`,
        { transport: fake.factory },
      );
      await client.open();
      expect(fake.connectParams[0]).toMatchObject({
        hostName: 'localhost',
        endpointHost: 'localhost',
        endpointPort: 4443,
      });
      expect(parseSasToken(fake.connectParams[0]?.sasToken ?? '').resourceUri).toBe(
        'localhost/devices/dev-1',
      );
    });

    it('takes the identity of fromSasToken from the token sr', async () => {
      const fake = createFakeTransport();
      const token =
        'SharedAccessSignature sr=hub.example%2Fdevices%2Fdev-9&sig=abc%3D&se=4102444800';
      await using client = DeviceClient.fromSasToken(token, { transport: fake.factory });
      expect(client.identity).toEqual({ hostName: 'hub.example', deviceId: 'dev-9' });
      await client.open();
      expect(fake.connectParams[0]?.sasToken).toBe(token);
    });

    it('needs a client certificate for an x509=true connection string and passes it to the transport', async () => {
      expect(() =>
        DeviceClient.fromConnectionString('HostName=hub.example;DeviceId=dev-1;x509=true'),
      ).toThrow(TypeError);
      const fake = createFakeTransport();
      await using client = DeviceClient.fromConnectionString(
        'HostName=hub.example;DeviceId=dev-1;x509=true',
        {
          transport: fake.factory,
          clientCertificate: { certificate: 'CERT', key: 'KEY' },
        },
      );
      await client.open();
      expect(fake.connectParams[0]?.clientCertificate).toEqual({ certificate: 'CERT', key: 'KEY' });
      expect(fake.connectParams[0]?.sasToken).toBeUndefined();
    });

    it('rejects out-of-range options synchronously and never logs the key in errors', () => {
      expect(() => DeviceClient.fromConnectionString(CS, { operationTimeoutInMs: 0 })).toThrow(
        RangeError,
      );
      expect(() =>
        DeviceClient.fromConnectionString(CS, {
          retryOptions: { maxRetryDelayInMs: 1, retryDelayInMs: 5 },
        }),
      ).toThrow(RangeError);
      try {
        DeviceClient.fromConnectionString(`HostName=hub.example;SharedAccessKey=${KEY}`);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).not.toContain(KEY);
      }
    });
  });

  describe('open and close', () => {
    it('reports connecting then connected with typed reasons', async () => {
      const { client, states } = setup();
      await client.open();
      expect(client.connectionState).toBe('connected');
      expect(states.map((change) => [change.state, change.reason])).toEqual([
        ['connecting', 'open-requested'],
        ['connected', 'connected'],
      ]);
      await client.close();
      expect(states.at(-1)).toMatchObject({ state: 'disconnected', reason: 'close-requested' });
    });

    it('shares one attempt between concurrent open() calls and returns at once when already open', async () => {
      const { client, fake } = setup();
      await Promise.all([client.open(), client.open()]);
      await client.open();
      expect(fake.count('connect')).toBe(1);
      await client.close();
    });

    it('rejects a pending open() with TransportError when close() is called during it', async () => {
      const { client, fake, states } = setup();
      const held = fake.holdNext('connect');
      const opening = client.open();
      await held.started;
      await client.close();
      await expect(opening).rejects.toBeInstanceOf(TransportError);
      expect(client.connectionState).toBe('disconnected');
      expect(fake.isConnected).toBe(false);
      expect(states.at(-1)?.state).toBe('disconnected');
    });

    it('closes idempotently and through await using', async () => {
      const { client, fake } = setup();
      {
        await using device = client;
        await device.open();
      }
      expect(fake.isConnected).toBe(false);
      await client.close();
      expect(fake.count('disconnect')).toBe(1);
    });

    it('fails the updates queued by a client that was never opened when it closes', async () => {
      const { client, fake } = setup();
      const queued = client.updateReportedProperties({ a: 1 });
      await client.close();
      await expect(queued).rejects.toBeInstanceOf(TransportError);
      await expect(queued).rejects.toThrow('closed before the reported patch was sent');
      expect(fake.count('connect')).toBe(0);
    });

    it('fails open() at once with UnauthorizedError and reports credential-rejected', async () => {
      const { client, fake, states } = setup({
        fake: { authorize: () => createHubError({ statusCode: 401, operation: 'Connect' }) },
      });
      await expect(client.open()).rejects.toBeInstanceOf(UnauthorizedError);
      expect(fake.count('connect')).toBe(1);
      expect(states.at(-1)).toMatchObject({ state: 'disconnected', reason: 'credential-rejected' });
    });

    it('reports device-disabled for a disabled device', async () => {
      const { client, states } = setup({
        fake: { authorize: () => createHubError({ statusCode: 401, code: 'DeviceDisabled' }) },
      });
      await expect(client.open()).rejects.toBeInstanceOf(UnauthorizedError);
      expect(states.at(-1)?.reason).toBe('device-disabled');
    });

    it('retries transient connect failures with backoff during open()', async () => {
      vi.useFakeTimers();
      const { client, fake, states } = setup();
      fake.failNext('connect', new TransportError('refused'), 2);
      const opening = client.open();
      await vi.advanceTimersByTimeAsync(5_000);
      await opening;
      expect(fake.count('connect')).toBe(3);
      expect(
        states
          .filter((change) => change.reason === 'retry-scheduled')
          .map((change) => change.attempt),
      ).toEqual([1, 2]);
      await client.close();
    });

    it('rejects open() with OperationTimeoutError carrying the last failure when the deadline passes', async () => {
      vi.useFakeTimers();
      const { client, fake, states } = setup({ operationTimeoutInMs: 5_000 });
      const refused = new TransportError('refused');
      fake.failNext('connect', refused, 100);
      const opening = client.open();
      const assertion = expect(opening).rejects.toSatisfy(
        (error) => error instanceof OperationTimeoutError && error.cause === refused,
      );
      await vi.advanceTimersByTimeAsync(5_000);
      await assertion;
      expect(states.at(-1)).toMatchObject({ state: 'disconnected', reason: 'open-failed' });
    });

    it('rejects open() with the abort reason unchanged', async () => {
      const { client, fake } = setup();
      const held = fake.holdNext('connect');
      const controller = new AbortController();
      const opening = client.open({ abortSignal: controller.signal });
      await held.started;
      const reason = new Error('user gave up');
      controller.abort(reason);
      await expect(opening).rejects.toBe(reason);
      expect(client.connectionState).toBe('disconnected');
    });
  });

  describe('getTwin', () => {
    it('returns the desired and reported sections with their versions', async () => {
      const { client } = setup({ fake: { desired: { rate: 5 }, reported: { fw: '1' } } });
      await client.open();
      await expect(client.getTwin()).resolves.toEqual({
        desired: { rate: 5, $version: 1 },
        reported: { fw: '1', $version: 1 },
      });
      await client.close();
    });

    it('fails fast with TransportError when the client is not open', async () => {
      const { client } = setup();
      await expect(client.getTwin()).rejects.toBeInstanceOf(TransportError);
    });

    it('rejects with OperationTimeoutError when the hub never answers', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup({ operationTimeoutInMs: 2_000 });
      await client.open();
      fake.holdNext('getTwin');
      const reading = client.getTwin();
      const assertion = expect(reading).rejects.toBeInstanceOf(OperationTimeoutError);
      await vi.advanceTimersByTimeAsync(2_000);
      await assertion;
      await client.close();
    });

    it('rejects with the abort reason unchanged', async () => {
      const { client, fake } = setup();
      await client.open();
      const held = fake.holdNext('getTwin');
      const controller = new AbortController();
      const reading = client.getTwin({ abortSignal: controller.signal });
      await held.started;
      const reason = new DOMException('stop', 'AbortError');
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
      await client.close();
    });

    it('fails a pending read with TransportError when the connection drops', async () => {
      const { client, fake } = setup();
      await client.open();
      const held = fake.holdNext('getTwin');
      const reading = client.getTwin();
      await held.started;
      fake.dropConnection();
      await expect(reading).rejects.toBeInstanceOf(TransportError);
      await client.close();
    });

    it('waits for a reconnect within its deadline', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup();
      await client.open();
      fake.dropConnection();
      const reading = client.getTwin();
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(reading).resolves.toMatchObject({ desired: { $version: 1 } });
      await client.close();
    });
  });

  describe('updateReportedProperties', () => {
    it('validates the patch with twin-model and sends nothing when it is invalid', async () => {
      const { client, fake } = setup();
      await client.open();
      await expect(client.updateReportedProperties({ 'bad.key': 1 })).rejects.toBeInstanceOf(
        TwinValidationError,
      );
      expect(fake.count('patchReported')).toBe(0);
      await client.close();
    });

    it('returns the new reported version', async () => {
      const { client, fake } = setup();
      await client.open();
      await expect(client.updateReportedProperties({ fw: '1.2.0' })).resolves.toEqual({
        version: 2,
      });
      expect(fake.reported).toEqual({ fw: '1.2.0' });
      await client.close();
    });

    it('keeps up to maxPatchesInFlight patches in flight and coalesces the calls beyond them', async () => {
      const { client, fake } = setup({ outbox: { maxPatchesInFlight: 3 } });
      await client.open();
      const holds = [1, 2, 3].map(() => fake.holdNext('patchReported'));
      const calls: Promise<{ version: number }>[] = [];
      // Calls made in turns of their own go out one by one while the window has room…
      for (const [index, patch] of [{ a: 1 }, { b: 1 }, { c: 1 }].entries()) {
        calls.push(client.updateReportedProperties(patch));
        await holds[index]?.started;
      }
      // …and the calls beyond it merge into the one patch queued behind the window.
      calls.push(client.updateReportedProperties({ d: 1 }));
      await new Promise((resolve) => setImmediate(resolve));
      calls.push(client.updateReportedProperties({ e: 1 }));
      expect(fake.count('patchReported')).toBe(3);
      for (const hold of holds) hold.release();
      const results = await Promise.all(calls);
      expect(results.map((result) => result.version)).toEqual([2, 3, 4, 5, 5]);
      expect(
        fake.calls
          .filter((call) => call.operation === 'patchReported')
          .map((call) => call.argument),
      ).toEqual([{ a: 1 }, { b: 1 }, { c: 1 }, { d: 1, e: 1 }]);
      await client.close();
    });

    it('sends the calls made in one turn as one patch, whatever the window', async () => {
      const { client, fake } = setup({ outbox: { maxPatchesInFlight: 3 } });
      await client.open();
      const results = await Promise.all([
        client.updateReportedProperties({ a: 1 }),
        client.updateReportedProperties({ b: 1 }),
        client.updateReportedProperties({ a: 2, c: 1 }),
      ]);
      expect(results.map((result) => result.version)).toEqual([2, 2, 2]);
      expect(
        fake.calls
          .filter((call) => call.operation === 'patchReported')
          .map((call) => call.argument),
      ).toEqual([{ a: 2, b: 1, c: 1 }]);
      expect(fake.reported).toEqual({ a: 2, b: 1, c: 1 });
      await client.close();
    });

    it('sends a patch again when the hub applied it before an earlier one, so call order wins', async () => {
      const { client, fake } = setup({ outbox: { maxPatchesInFlight: 2 } });
      await client.open();
      // The fake applies a held patch when it is released: the second overtakes the first.
      const held = fake.holdNext('patchReported');
      const first = client.updateReportedProperties({ mode: 'first', a: 1 });
      await held.started;
      const second = client.updateReportedProperties({ mode: 'second' });
      await vi.waitFor(() => {
        expect(fake.reported).toEqual({ mode: 'second' });
      });
      held.release();
      await expect(first).resolves.toEqual({ version: 3 });
      await expect(second).resolves.toEqual({ version: 4 });
      expect(fake.reported).toEqual({ mode: 'second', a: 1 });
      expect(
        fake.calls
          .filter((call) => call.operation === 'patchReported')
          .map((call) => call.argument),
      ).toEqual([{ mode: 'first', a: 1 }, { mode: 'second' }, { mode: 'second' }]);
      // Having seen the hub reorder, the client sends one patch at a time from then on.
      const blocked = fake.holdNext('patchReported');
      const third = client.updateReportedProperties({ x: 1 });
      await blocked.started;
      const fourth = client.updateReportedProperties({ y: 1 });
      expect(fake.count('patchReported')).toBe(4);
      blocked.release();
      await expect(Promise.all([third, fourth])).resolves.toEqual([{ version: 5 }, { version: 6 }]);
      await client.close();
    });

    it('by default sends one patch at a time in call order, coalescing calls that wait', async () => {
      const { client, fake } = setup();
      await client.open();
      const held = fake.holdNext('patchReported');
      const first = client.updateReportedProperties({ a: 1 });
      await held.started;
      const second = client.updateReportedProperties({ b: 1, n: { x: 1 } });
      const third = client.updateReportedProperties({ c: 1, n: { y: 2 } });
      held.release();
      await expect(first).resolves.toEqual({ version: 2 });
      await expect(second).resolves.toEqual({ version: 3 });
      await expect(third).resolves.toEqual({ version: 3 });
      expect(
        fake.calls
          .filter((call) => call.operation === 'patchReported')
          .map((call) => call.argument),
      ).toEqual([{ a: 1 }, { b: 1, c: 1, n: { x: 1, y: 2 } }]);
      await client.close();
    });

    it('keeps patches made while offline, coalesced per key and in order, and sends them on reconnect', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup();
      await client.open();
      fake.failNext('connect', new TransportError('still down'));
      fake.dropConnection();
      const results = [
        client.updateReportedProperties({ a: 1, nested: { x: 1 } }),
        client.updateReportedProperties({ b: 2, nested: { y: 2 } }),
        client.updateReportedProperties({ a: null }),
        // null then an object cannot be one merge patch, so this starts a second entry.
        client.updateReportedProperties({ a: { deep: true } }),
      ];
      expect(fake.count('patchReported')).toBe(0);
      await vi.advanceTimersByTimeAsync(5_000);
      const settled = await Promise.all(results);
      expect(settled.map((result) => result.version)).toEqual([2, 2, 2, 3]);
      expect(
        fake.calls
          .filter((call) => call.operation === 'patchReported')
          .map((call) => call.argument),
      ).toEqual([{ a: null, nested: { x: 1, y: 2 }, b: 2 }, { a: { deep: true } }]);
      expect(fake.reported).toEqual({ a: { deep: true }, b: 2, nested: { x: 1, y: 2 } });
      await client.close();
    });

    it('resends a patch whose send was cut off by a dropped connection', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup();
      await client.open();
      const held = fake.holdNext('patchReported');
      const update = client.updateReportedProperties({ fw: '2' });
      await held.started;
      fake.dropConnection();
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(update).resolves.toEqual({ version: 2 });
      expect(fake.count('patchReported')).toBe(2);
      await client.close();
    });

    it('fails fast with TransportError while disconnected when the outbox is off', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup({ outbox: false });
      await client.open();
      fake.failNext('connect', new TransportError('down'), 100);
      fake.dropConnection();
      await expect(client.updateReportedProperties({ a: 1 })).rejects.toBeInstanceOf(
        TransportError,
      );
      expect(fake.count('patchReported')).toBe(0);
      await client.close();
    });

    it('rejects with a clear TransportError when the outbox is full, keeping what is queued', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup({ outbox: { maxPatches: 2 } });
      await client.open();
      fake.failNext('connect', new TransportError('down'));
      fake.dropConnection();
      const kept = [
        client.updateReportedProperties({ a: 1 }),
        client.updateReportedProperties({ b: 1 }),
      ];
      await expect(client.updateReportedProperties({ c: 1 })).rejects.toThrow(/outbox is full/);
      await vi.advanceTimersByTimeAsync(5_000);
      await Promise.all(kept);
      expect(fake.reported).toEqual({ a: 1, b: 1 });
      await client.close();
    });

    it('withdraws a queued patch whose caller aborts before it was merged', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup();
      await client.open();
      fake.failNext('connect', new TransportError('down'));
      fake.dropConnection();
      const controller = new AbortController();
      const update = client.updateReportedProperties({ a: 1 }, { abortSignal: controller.signal });
      controller.abort();
      await expect(update).rejects.toBe(controller.signal.reason);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(client.isConnected).toBe(true);
      expect(fake.count('patchReported')).toBe(0);
      await client.close();
    });

    it('rejects patches still queued when the client closes', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup();
      await client.open();
      fake.failNext('connect', new TransportError('down'), 100);
      fake.dropConnection();
      const update = expect(client.updateReportedProperties({ a: 1 })).rejects.toBeInstanceOf(
        TransportError,
      );
      await client.close();
      await update;
    });
  });

  describe('onDesired', () => {
    it('enables the transport subscription lazily and disables it with the last unsubscribe', async () => {
      const { client, fake } = setup();
      await client.open();
      expect(fake.isDesiredSubscribed).toBe(false);
      const offA = client.onDesired(() => undefined);
      const offB = client.onDesired('x', () => undefined);
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      offA();
      offA();
      expect(fake.count('setDesiredSubscription')).toBe(1);
      offB();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(false);
      });
      await client.close();
    });

    it('routes a patch to whole, grouping and property subscribers with path, value, version and patch', async () => {
      const { client, fake } = setup({
        fake: { desired: { climate: { hvac: { systemControl: { fanOn: false } } } } },
      });
      const all = collect(client);
      const grouping = collect(client, 'climate');
      const property = collect(client, 'climate.hvac.systemControl.fanOn');
      const other = collect(client, 'lights');
      await client.open();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      const patch = { climate: { hvac: { systemControl: { fanOn: true } } } };
      fake.updateDesired(patch);
      await vi.waitFor(() => {
        expect(property).toHaveLength(1);
      });
      expect(property[0]).toEqual({
        path: 'climate.hvac.systemControl.fanOn',
        value: true,
        version: 2,
        patch,
        reason: 'patch',
      });
      expect(grouping[0]?.value).toEqual({ hvac: { systemControl: { fanOn: true } } });
      expect(all[0]).toMatchObject({ path: '', version: 2, value: patch });
      expect(other).toEqual([]);
      await client.close();
    });

    it('delivers a write that races the subscription of a handler registered after open()', async () => {
      const { client, fake } = setup({ fake: { desired: { mode: 'eco' } } });
      await client.open();
      const changes = collect(client, 'mode');
      // Made before the subscription (and its resync read) reaches the hub.
      fake.updateDesired({ mode: 'boost' });
      await vi.waitFor(() => {
        expect(changes).toHaveLength(1);
      });
      expect(changes[0]).toMatchObject({
        path: 'mode',
        value: 'boost',
        version: 2,
        patch: { mode: 'boost' },
        reason: 'resync',
      });
      fake.updateDesired({ mode: 'eco' });
      await vi.waitFor(() => {
        expect(changes.map((change) => change.version)).toEqual([2, 3]);
      });
      await client.close();
    });

    it('gives null as the value of a removed property', async () => {
      const { client, fake } = setup({ fake: { desired: { mode: 'eco' } } });
      const changes = collect(client, 'mode');
      await client.open();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      fake.updateDesired({ mode: null });
      await vi.waitFor(() => {
        expect(changes).toHaveLength(1);
      });
      expect(changes[0]?.value).toBeNull();
      await client.close();
    });

    it('drops duplicate and stale notifications (version gate)', async () => {
      const { client, fake } = setup();
      const changes = collect(client);
      await client.open();
      // The baseline read while connecting, then the resync once subscribed.
      await vi.waitFor(() => {
        expect(fake.count('getTwin')).toBe(2);
      });
      await client.getTwin();
      fake.updateDesired({ a: 1 });
      fake.pushDesired({ a: 1 }, 2);
      fake.pushDesired({ a: 0 }, 1);
      fake.updateDesired({ a: 2 });
      await vi.waitFor(() => {
        expect(changes.map((change) => change.version)).toEqual([2, 3]);
      });
      expect(fake.count('getTwin')).toBe(3);
      await client.close();
    });

    it('re-reads the twin on a version gap and delivers the missed change once, then drops the late patch', async () => {
      const { client, fake } = setup({ fake: { desired: { keep: 1 } } });
      const changes = collect(client);
      await client.open();
      await client.getTwin();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      const reads = fake.count('getTwin');
      fake.updateDesiredSilently({ a: 1, keep: null });
      fake.updateDesired({ b: 2 });
      await vi.waitFor(() => {
        expect(changes).toHaveLength(1);
      });
      expect(fake.count('getTwin')).toBe(reads + 1);
      expect(changes[0]).toMatchObject({
        version: 3,
        reason: 'resync',
        patch: { a: 1, b: 2, keep: null },
      });
      fake.pushDesired({ a: 1, keep: null }, 2);
      fake.updateDesired({ c: 3 });
      await vi.waitFor(() => {
        expect(changes.map((change) => change.version)).toEqual([3, 4]);
      });
      await client.close();
    });

    it('delivers what changed while offline as ONE synthetic change after reconnect, removed keys as null', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup({ fake: { desired: { keep: 1, gone: 1 } } });
      const changes = collect(client);
      await client.open();
      await vi.advanceTimersByTimeAsync(0);
      expect(fake.count('getTwin')).toBe(2);
      fake.failNext('connect', new TransportError('down'));
      fake.dropConnection();
      fake.updateDesired({ gone: null, added: 2 });
      fake.updateDesired({ keep: 3 });
      await vi.advanceTimersByTimeAsync(5_000);
      expect(client.isConnected).toBe(true);
      expect(changes).toEqual([
        {
          path: '',
          value: { keep: 3, added: 2 },
          version: 3,
          patch: { gone: null, added: 2, keep: 3 },
          reason: 'resync',
        },
      ]);
      expect(fake.count('setDesiredSubscription')).toBe(2);
      await client.close();
    });

    it('buffers patches that arrive while the resync read is in flight and applies them after it', async () => {
      const { client, fake } = setup();
      const changes = collect(client);
      // The baseline read while connecting passes; the resync once subscribed is held.
      fake.holdNext('getTwin').release();
      const held = fake.holdNext('getTwin');
      await client.open();
      await held.started;
      fake.updateDesired({ raced: true });
      held.release();
      await vi.waitFor(() => {
        expect(changes).toHaveLength(1);
      });
      expect(changes[0]).toMatchObject({ version: 2, reason: 'patch', patch: { raced: true } });
      await client.close();
    });

    it('reports a throwing handler as an error event and keeps delivering to others', async () => {
      const { client, fake } = setup();
      const errors: Error[] = [];
      client.on('error', (error) => void errors.push(error));
      client.onDesired(() => {
        throw new Error('handler bug');
      });
      const changes = collect(client);
      await client.open();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      fake.updateDesired({ a: 1 });
      await vi.waitFor(() => {
        expect(changes).toHaveLength(1);
      });
      expect(errors.map((error) => error.message)).toEqual(['handler bug']);
      await client.close();
    });
  });

  describe('watchDesired', () => {
    it('yields changes in order and finishes when the client closes', async () => {
      const { client, fake } = setup();
      const iterator = client.watchDesired('rate');
      await client.open();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      fake.updateDesired({ rate: 1 });
      fake.updateDesired({ other: true });
      fake.updateDesired({ rate: 2 });
      await expect(iterator.next()).resolves.toMatchObject({
        done: false,
        value: { value: 1, version: 2 },
      });
      await expect(iterator.next()).resolves.toMatchObject({
        done: false,
        value: { value: 2, version: 4 },
      });
      const pending = iterator.next();
      await client.close();
      await expect(pending).resolves.toEqual({ done: true, value: undefined });
    });

    it('coalesces queued changes into one when the bounded queue overflows', async () => {
      const { client, fake } = setup();
      const iterator = client.watchDesired(undefined, { maxQueuedChanges: 2 });
      await client.open();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      await vi.waitFor(() => {
        expect(fake.count('getTwin')).toBe(2);
      });
      await client.getTwin();
      fake.updateDesired({ a: 1 });
      fake.updateDesired({ b: 1 });
      fake.updateDesired({ a: null, c: 1 });
      fake.updateDesired({ d: 1 });
      await expect(iterator.next()).resolves.toEqual({
        done: false,
        value: {
          path: '',
          value: { b: 1, c: 1 },
          version: 4,
          patch: { b: 1, c: 1 },
          reason: 'coalesced',
        },
      });
      await expect(iterator.next()).resolves.toMatchObject({
        value: { version: 5, reason: 'patch', patch: { d: 1 } },
      });
      await iterator.return?.();
      await client.close();
    });

    it('rejects with the abort reason when its signal aborts, and unsubscribes', async () => {
      const { client, fake } = setup();
      const controller = new AbortController();
      const iterator = client.watchDesired('x', { abortSignal: controller.signal });
      await client.open();
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(true);
      });
      const pending = iterator.next();
      controller.abort();
      await expect(pending).rejects.toBe(controller.signal.reason);
      await vi.waitFor(() => {
        expect(fake.isDesiredSubscribed).toBe(false);
      });
      await client.close();
    });
  });

  describe('reconnect', () => {
    it('reconnects forever by default with exponential, jittered delays', async () => {
      vi.useFakeTimers();
      const { client, fake, states } = setup({
        retryOptions: { retryDelayInMs: 100, maxRetryDelayInMs: 1_600 },
      });
      await client.open();
      fake.failNext('connect', new TransportError('down'), 12);
      fake.dropConnection();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(client.isConnected).toBe(true);
      const delays = states
        .filter((change) => change.reason === 'retry-scheduled')
        .map((change) => change.retryInMs ?? -1);
      expect(delays).toHaveLength(12);
      delays.forEach((delay, attempt) => {
        const ceiling = Math.min(1_600, 100 * 2 ** attempt);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      });
      expect(states.map((change) => change.reason)).toContain('connection-lost');
      expect(states.at(-1)).toMatchObject({
        state: 'connected',
        previousState: 'reconnecting',
        reason: 'reconnected',
      });
      await client.close();
    });

    it('stops with retries-exhausted after maxRetries failed attempts', async () => {
      vi.useFakeTimers();
      const { client, fake, states } = setup({
        retryOptions: { maxRetries: 2, retryDelayInMs: 10 },
      });
      const errors: Error[] = [];
      client.on('error', (error) => void errors.push(error));
      await client.open();
      fake.failNext('connect', new TransportError('down'), 10);
      fake.dropConnection();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(fake.count('connect')).toBe(4);
      expect(states.at(-1)).toMatchObject({ state: 'disconnected', reason: 'retries-exhausted' });
      expect(errors).toHaveLength(1);
    });

    it('stops with credential-rejected when the hub refuses the credential on reconnect', async () => {
      vi.useFakeTimers();
      const { client, fake, states } = setup();
      await client.open();
      fake.failNext('connect', createHubError({ statusCode: 401 }));
      fake.dropConnection();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(states.at(-1)).toMatchObject({ state: 'disconnected', reason: 'credential-rejected' });
      expect(fake.count('connect')).toBe(2);
    });
  });

  describe('token renewal', () => {
    it('renews the SAS token before expiry without losing the desired subscription', async () => {
      vi.useFakeTimers();
      const { client, fake } = setup();
      const changes = collect(client);
      await client.open();
      await vi.advanceTimersByTimeAsync(0);
      expect(fake.isDesiredSubscribed).toBe(true);
      const first = parseSasToken(fake.connectParams[0]?.sasToken ?? '').expiresOnInSeconds;
      await vi.advanceTimersByTimeAsync(2_700_000);
      expect(fake.count('updateCredentials')).toBe(1);
      const renewed = parseSasToken(fake.connectParams[1]?.sasToken ?? '').expiresOnInSeconds;
      expect(renewed - first).toBe(2_700);
      expect(fake.count('setDesiredSubscription')).toBe(1);
      fake.updateDesired({ after: 'renewal' });
      await vi.advanceTimersByTimeAsync(0);
      expect(changes.map((change) => change.patch)).toEqual([{ after: 'renewal' }]);
      await vi.advanceTimersByTimeAsync(2_700_000);
      expect(fake.count('updateCredentials')).toBe(2);
      await client.close();
    });

    it('asks a token provider again before the token expires', async () => {
      vi.useFakeTimers();
      const fake = createFakeTransport();
      const resources: string[] = [];
      const client = DeviceClient.fromTokenProvider(
        { hostName: 'hub.example', deviceId: 'dev-1' },
        ({ resourceUri }) => {
          resources.push(resourceUri);
          const expiry = Math.floor(Date.now() / 1000) + 600;
          return Promise.resolve(
            `SharedAccessSignature sr=${encodeURIComponent(resourceUri)}&sig=x&se=${String(expiry)}`,
          );
        },
        { transport: fake.factory },
      );
      await client.open();
      await vi.advanceTimersByTimeAsync(300_000);
      expect(resources).toEqual(['hub.example/devices/dev-1', 'hub.example/devices/dev-1']);
      expect(fake.count('updateCredentials')).toBe(1);
      await client.close();
    });

    it('reconnects with reason token-renewal-failed when the renewal fails', async () => {
      vi.useFakeTimers();
      const { client, fake, states } = setup();
      await client.open();
      fake.failNext('updateCredentials', new TransportError('renewal refused'));
      await vi.advanceTimersByTimeAsync(2_700_000 + 5_000);
      expect(states.map((change) => change.reason)).toContain('token-renewal-failed');
      expect(client.isConnected).toBe(true);
      expect(fake.count('connect')).toBe(2);
      await client.close();
    });
  });
});

describe('DeviceClient types', () => {
  it('types onDesired paths and values from the desired shape', async () => {
    interface Desired {
      climate: { hvac: { systemControl: { fanOn: boolean } } };
    }
    const fake = createFakeTransport();
    const client = DeviceClient.fromConnectionString<Desired>(CS, { transport: fake.factory });
    const values: (boolean | null)[] = [];
    client.onDesired('climate.hvac.systemControl.fanOn', (change) => {
      const value: boolean | null = change.value;
      values.push(value);
    });
    await client.open();
    await vi.waitFor(() => {
      expect(fake.isDesiredSubscribed).toBe(true);
    });
    fake.updateDesired({
      climate: { hvac: { systemControl: { fanOn: true } } },
    } satisfies JsonObject);
    await vi.waitFor(() => {
      expect(values).toEqual([true]);
    });
    await client.close();
  });
});
