import type { JsonObject } from '@twinkit/twin-model';
import { TransportError } from '@twinkit/twin-model/errors';
import { describe, expect, it, vi } from 'vitest';
import { SasTokenCredential } from '../auth/sas-token-credential.js';
import { DeviceClient } from '../device-client.js';
import type { DeviceClientOptions } from '../options.js';
import type { DesiredChange } from '../desired/desired-router.js';
import { createFakeTransport, type FakeTransport } from '../transport/fake/fake-transport.js';
import {
  DEVICE_STATE_FORMAT,
  type DeviceStateStore,
  type PersistedDeviceState,
} from './device-state.js';
import { StoreCorruptError, StoreForeignError } from './store-errors.js';

const IDENTITY = { hostName: 'hub.example', deviceId: 'dev-1' };

/** A store in memory: what the client saved, and a switch that makes saves fail. */
class MemoryStore implements DeviceStateStore {
  readonly location = 'memory';
  state: unknown;
  saves = 0;
  failSaves: Error | undefined;

  constructor(state?: Partial<PersistedDeviceState>) {
    this.state =
      state === undefined
        ? undefined
        : {
            format: DEVICE_STATE_FORMAT,
            identity: IDENTITY,
            outbox: [],
            acknowledged: {},
            ...state,
          };
  }

  load(): Promise<PersistedDeviceState | undefined> {
    return Promise.resolve(structuredClone(this.state) as PersistedDeviceState | undefined);
  }

  save(state: PersistedDeviceState): Promise<void> {
    if (this.failSaves !== undefined) return Promise.reject(this.failSaves);
    this.saves += 1;
    this.state = structuredClone(state);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  get saved(): PersistedDeviceState {
    return this.state as PersistedDeviceState;
  }
}

function token({ resourceUri }: { resourceUri: string }): Promise<string> {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  return Promise.resolve(
    `SharedAccessSignature sr=${encodeURIComponent(resourceUri)}&sig=t&se=${String(expiry)}`,
  );
}

function setup(
  store: DeviceStateStore,
  fake: FakeTransport = createFakeTransport(),
  options: DeviceClientOptions = {},
) {
  const client = new DeviceClient(new SasTokenCredential(IDENTITY, token), {
    transport: fake.factory,
    store,
    ...options,
  });
  return { client, fake };
}

function sentPatches(fake: FakeTransport): JsonObject[] {
  return fake.calls
    .filter((call) => call.operation === 'patchReported')
    .map((call) => call.argument as JsonObject);
}

describe('DeviceClient with a state store', () => {
  it('sends the stored patches first, in order, then new ones, and empties the stored outbox', async () => {
    const store = new MemoryStore({
      outbox: [
        { sequence: 4, patch: { mode: null } },
        { sequence: 7, patch: { mode: { level: 2 } } },
      ],
    });
    const { client, fake } = setup(store);
    const later = client.updateReportedProperties({ battery: 80 });
    await client.open();
    await later;
    expect(sentPatches(fake)).toEqual([{ mode: null }, { mode: { level: 2 } }, { battery: 80 }]);
    expect(fake.reported).toEqual({ mode: { level: 2 }, battery: 80 });
    await client.flushState();
    expect(store.saved.outbox).toEqual([]);
    await client.close();
  });

  it('saves a patch before sending it, with the next sequence number', async () => {
    const store = new MemoryStore({ outbox: [{ sequence: 9, patch: { a: 1 } }] });
    const fake = createFakeTransport();
    // One patch in flight: the fake applies a held patch late, which a window would repair.
    const { client } = setup(store, fake, { outbox: { maxPatchesInFlight: 1 } });
    const held = fake.holdNext('patchReported');
    await client.open();
    await held.started; // the stored patch is in flight
    const second = client.updateReportedProperties({ b: 2 });
    await client.flushState();
    expect(store.saved.outbox).toEqual([
      { sequence: 9, patch: { a: 1 } },
      { sequence: 10, patch: { b: 2 } },
    ]);
    held.release();
    await second;
    expect(sentPatches(fake)).toEqual([{ a: 1 }, { b: 2 }]);
    await client.close();
  });

  it('rejects a patch it could not save with the store error, and sends nothing', async () => {
    const store = new MemoryStore();
    const { client, fake } = setup(store);
    await client.open();
    const diskFull = new Error('ENOSPC: no space left on device');
    store.failSaves = diskFull;
    await expect(client.updateReportedProperties({ a: 1 })).rejects.toBe(diskFull);
    store.failSaves = undefined;
    await client.updateReportedProperties({ b: 2 });
    expect(sentPatches(fake)).toEqual([{ b: 2 }]);
    await client.close();
  });

  it("refuses another device's store with StoreForeignError before connecting", async () => {
    const store = new MemoryStore({ identity: { hostName: 'hub.example', deviceId: 'dev-2' } });
    const { client, fake } = setup(store);
    const error = await client.open().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreForeignError);
    expect((error as Error).message).toContain(
      'belongs to hub.example/dev-2, not to hub.example/dev-1',
    );
    await expect(client.updateReportedProperties({ a: 1 })).rejects.toBeInstanceOf(
      StoreForeignError,
    );
    expect(fake.calls).toEqual([]);
    expect(store.saves).toBe(0);
  });

  it('refuses a state of another format with StoreCorruptError', async () => {
    const store = new MemoryStore();
    store.state = { format: 'twinkit.device-state/0', identity: IDENTITY };
    const { client } = setup(store);
    await expect(client.open()).rejects.toThrow(StoreCorruptError);
    await expect(client.open()).rejects.toThrow(/format marker is "twinkit\.device-state\/0"/);
  });

  it('keeps unacknowledged patches on the store when the client closes, for the next client', async () => {
    const store = new MemoryStore();
    const first = setup(store);
    await first.client.open();
    first.fake.holdNext('patchReported');
    const pending = first.client.updateReportedProperties({ a: 1 });
    await first.client.flushState();
    await first.client.close();
    await expect(pending).rejects.toBeInstanceOf(TransportError);
    expect(store.saved.outbox).toEqual([{ sequence: 1, patch: { a: 1 } }]);

    const second = setup(store);
    await second.client.open();
    await vi.waitFor(() => {
      expect(second.fake.reported).toEqual({ a: 1 });
    });
    await second.client.close();
  });

  it('delivers what changed in the desired section since the stored state once, and only once', async () => {
    const fake = createFakeTransport({ desired: { interval: 10, mode: 'eco' } });
    fake.updateDesiredSilently({ interval: 30, mode: null }); // the hub is at version 2
    const store = new MemoryStore({
      desired: { version: 1, document: { interval: 10, mode: 'eco' } },
    });
    for (const expected of [[{ interval: 30, mode: null }], []]) {
      const { client } = setup(store, fake);
      const changes: DesiredChange[] = [];
      client.onDesired((change) => void changes.push(change));
      await client.open();
      await client.getTwin(); // the twin the background resync reads too; either delivers once
      await client.flushState();
      expect(changes.map((change) => change.patch)).toEqual(expected);
      expect(changes.every((change) => change.reason === 'resync' && change.version === 2)).toBe(
        true,
      );
      expect(store.saved.desired).toEqual({ version: 2, document: { interval: 30 } });
      await client.close();
    }
  });

  it('keeps a desired change handed to handlers just before close(), while an earlier save was still running', async () => {
    const store = new MemoryStore();
    const fake = createFakeTransport({ desired: { interval: 10 } });
    const { client } = setup(store, fake);
    const changes: DesiredChange[] = [];
    client.onDesired((change) => void changes.push(change));
    await client.open();
    await client.flushState();
    // Hold the next save on the store, so the one after it waits behind it.
    let releaseSave!: () => void;
    const save = store.save.bind(store);
    store.save = (state) => {
      store.save = save;
      return new Promise<void>((resolve) => (releaseSave = resolve)).then(() => save(state));
    };
    fake.updateDesired({ interval: 20 });
    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toEqual([2]);
    });
    fake.updateDesired({ interval: 30 });
    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toEqual([2, 3]);
    });
    const closing = client.close();
    releaseSave();
    await closing;
    expect(store.saved.desired).toEqual({ version: 3, document: { interval: 30 } });
  });

  it('does not answer a writable property again when its answer was still queued at the restart', async () => {
    const fake = createFakeTransport({ desired: { targetTemperature: 20 } });
    fake.updateDesiredSilently({ targetTemperature: 21 }); // desired $version 2, not answered on the hub
    const answer = { targetTemperature: { value: 21, ac: 200, av: 2, ad: null } };
    const store = new MemoryStore({
      outbox: [{ sequence: 1, patch: answer }],
      desired: { version: 2, document: { targetTemperature: 21 } },
      acknowledged: { targetTemperature: 2 },
    });
    const { client } = setup(store, fake);
    const calls: unknown[] = [];
    client.onWritableProperty('targetTemperature', (value) => {
      calls.push(value);
    });
    // The stored answer waits on the wire while the start-up pass reads the twin without it.
    const held = fake.holdNext('patchReported');
    await client.open();
    await held.started;
    await client.getTwin();
    held.release();
    await vi.waitFor(() => {
      expect(fake.reported).toEqual({ targetTemperature: { value: 21, ac: 200, av: 2 } });
    });
    await client.flushState();
    expect(calls).toEqual([]);
    expect(store.saved.acknowledged).toEqual({ targetTemperature: 2 });

    // A newer desired value is answered, and its version saved with the answer.
    fake.updateDesired({ targetTemperature: 22 });
    await vi.waitFor(() => {
      expect(fake.reported).toMatchObject({ targetTemperature: { value: 22, av: 3 } });
    });
    await client.flushState();
    expect(calls).toEqual([22]);
    expect(store.saved.acknowledged).toEqual({ targetTemperature: 3 });
    await client.close();
  });

  it('takes a twin older than the stored desired state as a new twin, and delivers the difference once', async () => {
    const fake = createFakeTransport({ desired: { interval: 10 } }); // a re-created twin: $version 1
    const store = new MemoryStore({
      desired: { version: 9, document: { interval: 60, mode: 'eco' } },
      acknowledged: { interval: 9 },
    });
    const { client } = setup(store, fake);
    const changes: DesiredChange[] = [];
    client.onDesired((change) => void changes.push(change));
    await client.open();
    await client.getTwin();
    await client.flushState();
    expect(changes.map(({ version, reason, patch }) => ({ version, reason, patch }))).toEqual([
      { version: 1, reason: 'resync', patch: { interval: 10, mode: null } },
    ]);
    expect(store.saved.desired).toEqual({ version: 1, document: { interval: 10 } });
    expect(store.saved.acknowledged).toEqual({}); // the old twin's answers do not count
    fake.updateDesired({ interval: 20 });
    await vi.waitFor(() => {
      expect(changes.map((change) => change.version)).toEqual([1, 2]);
    });
    await client.close();
  });

  it('sends acknowledged patches again, in order, when their removal never reached the store', async () => {
    const fake = createFakeTransport(); // one hub for both clients
    const store = new MemoryStore({
      outbox: [
        { sequence: 1, patch: { mode: 'eco', level: 1 } },
        { sequence: 2, patch: { level: 2 } },
      ],
    });
    const first = setup(store, fake);
    const errors: Error[] = [];
    first.client.on('error', (error) => void errors.push(error));
    store.failSaves = new Error('EIO: the disk went away'); // as if the process died before saving
    await first.client.open();
    await vi.waitFor(() => {
      expect(fake.reported).toEqual({ mode: 'eco', level: 2 });
    });
    await first.client.close();
    expect(errors.map((error) => error.message)).toContain('EIO: the disk went away');
    store.failSaves = undefined;

    const second = setup(store, fake);
    await second.client.open();
    await vi.waitFor(() => {
      expect(sentPatches(fake)).toHaveLength(4);
    });
    // At least once on the wire, in order: the same end state.
    expect(sentPatches(fake)).toEqual([
      { mode: 'eco', level: 1 },
      { level: 2 },
      { mode: 'eco', level: 1 },
      { level: 2 },
    ]);
    expect(fake.reported).toEqual({ mode: 'eco', level: 2 });
    await vi.waitFor(async () => {
      await second.client.flushState(); // after the second answer settled, the outbox is empty
      expect(store.saved.outbox).toEqual([]);
    });
    await second.client.close();
  });
});
