/**
 * The suite every `DeviceTransport` must pass (docs/internals/architecture.md#transport-boundary, after MQTT.js's
 * `abstract_client.ts`): the fake runs it in memory, and the MQTT transport runs it against the
 * local hub. Not a `*.test.ts` itself; test files call {@link describeTransportContract}.
 */
import type { JsonObject } from '@twinkit/twin-model';
import {
  PreconditionFailedError,
  ServiceUnavailableError,
  TransportError,
  UnauthorizedError,
} from '@twinkit/twin-model/errors';
import { describe, expect, it, vi } from 'vitest';
import type {
  ConnectParams,
  DeviceTransport,
  TransportFactory,
  TransportHandlers,
} from './transport.js';

/** What a transport's test provides to the contract suite; one fixture per test. */
export interface TransportContractFixture extends AsyncDisposable {
  /** The transport under test. */
  factory: TransportFactory;
  /** Parameters of a connection the hub accepts. */
  connectParams(): Promise<ConnectParams>;
  /** Parameters of a connection the hub refuses for a bad credential. */
  badConnectParams(): Promise<ConnectParams>;
  /** As the service: merges a desired patch (the hub then notifies subscribed devices). */
  updateDesired(patch: JsonObject): Promise<void>;
  /** Makes the hub answer the next request of this kind with this status. */
  failNext(operation: 'getTwin' | 'patchReported', statusCode: number): Promise<void>;
  /** Drops the device's connection from the hub side. */
  dropConnection(): Promise<void>;
}

interface Recorder {
  handlers: TransportHandlers;
  patches: { patch: JsonObject; version: number }[];
  disconnects: unknown[];
}

function record(): Recorder {
  const recorder: Recorder = {
    patches: [],
    disconnects: [],
    handlers: {
      desiredPatch: (patch, version) => {
        recorder.patches.push({ patch, version });
      },
      disconnected: (error) => {
        recorder.disconnects.push(error);
      },
    },
  };
  return recorder;
}

/**
 * Declares the transport contract suite.
 *
 * @param name - the transport's name in the report
 * @param setup - creates a fresh fixture per test (disposed after it)
 * @example
 * ```ts
 * describeTransportContract('fake', async () => fakeFixture());
 * ```
 */
export function describeTransportContract(
  name: string,
  setup: () => Promise<TransportContractFixture>,
): void {
  describe(`DeviceTransport contract: ${name}`, () => {
    async function connected(): Promise<{
      fixture: TransportContractFixture;
      transport: DeviceTransport;
      recorder: Recorder;
    }> {
      const fixture = await setup();
      const recorder = record();
      const transport = fixture.factory(recorder.handlers, { operationTimeoutInMs: 4_000 });
      await transport.connect(await fixture.connectParams());
      return { fixture, transport, recorder };
    }

    it('connects and reads the twin with both $versions', async () => {
      const { fixture, transport } = await connected();
      await using _fixture = fixture;
      const twin = await transport.getTwin();
      expect(typeof twin.desired.$version).toBe('number');
      expect(typeof twin.reported.$version).toBe('number');
      await transport.disconnect();
    });

    it('returns the new reported version and the twin shows the patch', async () => {
      const { fixture, transport } = await connected();
      await using _fixture = fixture;
      const before = await transport.getTwin();
      const { version } = await transport.patchReported({ firmware: '1.2.0', nested: { a: 1 } });
      expect(version).toBe(before.reported.$version + 1);
      const after = await transport.getTwin();
      expect(after.reported).toMatchObject({
        firmware: '1.2.0',
        nested: { a: 1 },
        $version: version,
      });
      await transport.disconnect();
    });

    it('delivers desired patches with their version once subscribed, and not before', async () => {
      const { fixture, transport, recorder } = await connected();
      await using _fixture = fixture;
      const start = (await transport.getTwin()).desired.$version;
      await fixture.updateDesired({ ignored: true });
      await transport.setDesiredSubscription(true);
      await fixture.updateDesired({ fanOn: true, mode: null });
      await vi.waitFor(() => {
        expect(recorder.patches).toHaveLength(1);
      });
      expect(recorder.patches[0]).toEqual({
        patch: { fanOn: true, mode: null },
        version: start + 2,
      });
      await transport.disconnect();
    });

    it('delivers desired patches again after a reconnect and a new subscription', async () => {
      const { fixture, transport, recorder } = await connected();
      await using _fixture = fixture;
      await transport.setDesiredSubscription(true);
      await transport.disconnect();
      await transport.connect(await fixture.connectParams());
      await transport.setDesiredSubscription(true);
      await fixture.updateDesired({ rate: 5 });
      await vi.waitFor(() => {
        expect(recorder.patches.map((entry) => entry.patch)).toContainEqual({ rate: 5 });
      });
      await transport.disconnect();
    });

    it('keeps the desired subscription across a credential update', async () => {
      const { fixture, transport, recorder } = await connected();
      await using _fixture = fixture;
      await transport.setDesiredSubscription(true);
      await transport.updateCredentials(await fixture.connectParams());
      await fixture.updateDesired({ renewed: true });
      await vi.waitFor(() => {
        expect(recorder.patches.map((entry) => entry.patch)).toContainEqual({ renewed: true });
      });
      expect(recorder.disconnects).toEqual([]);
      await transport.disconnect();
    });

    it("reads and reports twins at IoT Hub's size limits", async () => {
      const { fixture, transport } = await connected();
      await using _fixture = fixture;
      // Eight properties of 4 + 4092 characters: 32 768 by IoT Hub's size formula, the limit.
      const atLimit = Object.fromEntries(
        Array.from({ length: 8 }, (_, index) => [
          `p${String(index).padStart(3, '0')}`,
          'x'.repeat(4092),
        ]),
      );
      await fixture.updateDesired(atLimit);
      await transport.patchReported(atLimit);
      const twin = await transport.getTwin();
      expect(twin.desired).toMatchObject(atLimit);
      expect(twin.reported).toMatchObject(atLimit);
      await transport.disconnect();
    });

    it('maps a failed twin response to the HubError subclass of its status', async () => {
      const { fixture, transport } = await connected();
      await using _fixture = fixture;
      await fixture.failNext('getTwin', 503);
      await expect(transport.getTwin()).rejects.toBeInstanceOf(ServiceUnavailableError);
      await fixture.failNext('patchReported', 412);
      await expect(transport.patchReported({ a: 1 })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      await transport.disconnect();
    });

    it('refuses a bad credential with UnauthorizedError', async () => {
      const fixture = await setup();
      await using _fixture = fixture;
      const transport = fixture.factory(record().handlers, { operationTimeoutInMs: 4_000 });
      await expect(transport.connect(await fixture.badConnectParams())).rejects.toBeInstanceOf(
        UnauthorizedError,
      );
    });

    it('fails requests with TransportError when not connected', async () => {
      const fixture = await setup();
      await using _fixture = fixture;
      const transport = fixture.factory(record().handlers, { operationTimeoutInMs: 4_000 });
      await expect(transport.getTwin()).rejects.toBeInstanceOf(TransportError);
      await expect(transport.patchReported({ a: 1 })).rejects.toBeInstanceOf(TransportError);
    });

    it('reports a dropped connection through disconnected, and then fails requests', async () => {
      const { fixture, transport, recorder } = await connected();
      await using _fixture = fixture;
      await fixture.dropConnection();
      await vi.waitFor(() => {
        expect(recorder.disconnects).toHaveLength(1);
      });
      await expect(transport.getTwin()).rejects.toBeInstanceOf(TransportError);
    });

    it('does not report disconnected for its own disconnect()', async () => {
      const { fixture, transport, recorder } = await connected();
      await using _fixture = fixture;
      await transport.disconnect();
      await transport.disconnect();
      expect(recorder.disconnects).toEqual([]);
    });

    it('rejects with the abort reason, unchanged, when the signal is already aborted', async () => {
      const { fixture, transport } = await connected();
      await using _fixture = fixture;
      const reason = new Error('stop');
      await expect(transport.getTwin({ abortSignal: AbortSignal.abort(reason) })).rejects.toBe(
        reason,
      );
      await transport.disconnect();
    });
  });
}
