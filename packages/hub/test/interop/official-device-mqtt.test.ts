/**
 * Interop: the official Azure IoT Node device SDK (azure-iot-device-mqtt, `Mqtt` and `MqttWs`),
 * unmodified, in a child process against the hub's MQTT endpoint.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { startMqttTestHub, type MqttTestHub } from '../../src/mqtt/mqtt-test-hub.js';

const PEER = fileURLToPath(new URL('./official-device-mqtt.cjs', import.meta.url));

interface PeerEvent {
  event: string;
  [key: string]: unknown;
}

/** The SDK peer process and the events it printed. */
class Peer implements AsyncDisposable {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #events: PeerEvent[] = [];
  readonly #waiters: {
    event: string;
    resolve: (value: PeerEvent) => void;
    reject: (error: Error) => void;
  }[] = [];
  #stderr = '';
  #exit: Promise<number | null>;

  constructor(
    transport: 'mqtt' | 'ws',
    expectedDesired: number,
    connectionString: string,
    caFile: string,
    modelId?: string,
  ) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_EXTRA_CA_CERTS: caFile,
      DEVICE_CONNECTION_STRING: connectionString,
    };
    if (modelId !== undefined) env.MODEL_ID = modelId;
    delete env.NODE_OPTIONS;
    this.#child = spawn(process.execPath, [PEER, transport, String(expectedDesired)], { env });
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8');
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      let parsed: PeerEvent;
      try {
        parsed = JSON.parse(line) as PeerEvent;
      } catch {
        this.#stderr += `${line}\n`;
        return;
      }
      if (parsed.event === 'failed') {
        for (const waiter of this.#waiters.splice(0))
          waiter.reject(new Error(`SDK peer failed: ${JSON.stringify(parsed)}`));
      }
      const index = this.#waiters.findIndex((waiter) => waiter.event === parsed.event);
      const waiter = this.#waiters[index];
      if (waiter === undefined) {
        this.#events.push(parsed);
        return;
      }
      this.#waiters.splice(index, 1);
      waiter.resolve(parsed);
    });
    this.#exit = new Promise((resolve) => {
      this.#child.once('exit', (code) => {
        for (const pending of this.#waiters.splice(0)) {
          pending.reject(
            new Error(
              `SDK peer exited (${String(code)}) before '${pending.event}': ${this.#stderr}`,
            ),
          );
        }
        resolve(code);
      });
    });
  }

  next(event: string): Promise<PeerEvent> {
    const index = this.#events.findIndex((candidate) => candidate.event === event);
    const found = this.#events[index];
    if (found !== undefined) {
      this.#events.splice(index, 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ event, resolve, reject });
    });
  }

  exited(): Promise<number | null> {
    return this.#exit;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#child.exitCode === null) this.#child.kill();
    await this.#exit;
  }
}

async function writeCaFile(hub: MqttTestHub): Promise<{ path: string } & AsyncDisposable> {
  const directory = await mkdtemp(join(tmpdir(), 'twinkit-mqtt-interop-'));
  const path = join(directory, 'ca.pem');
  await writeFile(path, hub.hub.caCertificate);
  return { path, [Symbol.asyncDispose]: () => rm(directory, { recursive: true, force: true }) };
}

async function patchDesired(
  hub: MqttTestHub,
  deviceId: string,
  desired: Record<string, unknown>,
): Promise<void> {
  const response = await hub.serviceRequest('PATCH', `/twins/${deviceId}`, {
    properties: { desired },
  });
  expect(response.status).toBe(200);
}

describe('official azure-iot-device-mqtt against the hub', () => {
  it(
    'Mqtt (TLS via GatewayHostName): getTwin, reported update, desired notifications across a dropped connection',
    { timeout: 30_000 },
    async () => {
      await using hub = await startMqttTestHub();
      await using ca = await writeCaFile(hub);
      const created = await hub.hub.createDevice('sdk-mqtt');
      const device = { deviceId: 'sdk-mqtt', key: created.primaryKey };
      await patchDesired(hub, 'sdk-mqtt', { preset: 'on' });

      const connectionString = `${created.connectionString};GatewayHostName=localhost:${String(hub.mqttPort)}`;
      await using peer = new Peer('mqtt', 2, connectionString, ca.path);

      const twin = await peer.next('twin');
      expect(twin.desired).toEqual({ preset: 'on', $version: 2 });
      expect(twin.reported).toEqual({ $version: 1 });
      await peer.next('reported');
      expect((await hub.serviceTwin('sdk-mqtt')).properties).toMatchObject({
        reported: { firmware: '1.2.0', nested: { a: 1 }, $version: 2 },
      });
      expect((await hub.serviceTwin('sdk-mqtt')).connectionState).toBe('Connected');

      await peer.next('subscribed');
      await patchDesired(hub, 'sdk-mqtt', { interval: 30 });
      expect((await peer.next('desired')).patch).toEqual({ interval: 30, $version: 3 });

      // The SDK reconnects on its own with clean-session=0 and relies on the hub having kept its
      // session (docs/internals/wire-contract.md#mqtt-sessions, docs/internals/wire-contract.md#reconnect); the next notification must reach it.
      expect(hub.endpoint.faults.dropConnection(device)).toBe(true);
      expect(hub.endpoint.isConnected(device)).toBe(false);
      await vi.waitFor(
        () => {
          expect(hub.endpoint.isConnected(device)).toBe(true);
        },
        { timeout: 15_000, interval: 50 },
      );
      await patchDesired(hub, 'sdk-mqtt', { interval: 60 });
      expect((await peer.next('desired')).patch).toEqual({ interval: 60, $version: 4 });

      await peer.next('closed');
      expect(await peer.exited()).toBe(0);
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
    },
  );

  it(
    'setOptions({ modelId }): the hub shows the model id in the twin and matches it in queries',
    { timeout: 30_000 },
    async () => {
      await using hub = await startMqttTestHub();
      await using ca = await writeCaFile(hub);
      const created = await hub.hub.createDevice('sdk-pnp');
      await hub.hub.createDevice('sdk-plain');
      const modelId = 'dtmi:com:example:Thermostat;1';
      const connectionString = `${created.connectionString};GatewayHostName=localhost:${String(hub.mqttPort)}`;
      await using peer = new Peer('mqtt', 1, connectionString, ca.path, modelId);
      await peer.next('subscribed');

      expect((await hub.serviceTwin('sdk-pnp')).modelId).toBe(modelId);
      expect((await hub.serviceTwin('sdk-plain')).modelId).toBe('');
      const response = await hub.serviceRequest('POST', '/devices/query', {
        query: `SELECT deviceId, modelId FROM devices WHERE modelId = '${modelId}'`,
      });
      expect(await response.json()).toEqual([{ deviceId: 'sdk-pnp', modelId }]);

      await patchDesired(hub, 'sdk-pnp', { targetTemperature: 21 });
      await peer.next('desired');
      await peer.next('closed');
      expect(await peer.exited()).toBe(0);
      // Like IoT Hub, the model id stays on the twin after the device disconnects.
      expect((await hub.serviceTwin('sdk-pnp')).modelId).toBe(modelId);
    },
  );

  it(
    'MqttWs (WSS on 127.0.0.1:443): getTwin, reported update and a desired notification',
    { timeout: 30_000 },
    async () => {
      // MqttWs always dials wss://<host>:443/$iothub/websocket; another test may hold 443 briefly.
      let started: MqttTestHub | undefined;
      await vi.waitFor(
        async () => {
          started = await startMqttTestHub({ httpsPort: 443 });
        },
        { timeout: 15_000, interval: 250 },
      );
      if (started === undefined) throw new Error('could not serve HTTPS on 127.0.0.1:443');
      await using hub = started;
      await using ca = await writeCaFile(hub);
      const created = await hub.hub.createDevice('sdk-ws');
      // MqttWs dials the WebSocket port of the connection string's host name (443 here).
      await using peer = new Peer('ws', 1, created.connectionStrings.webSocket, ca.path);

      const twin = await peer.next('twin');
      expect(twin.desired).toEqual({ $version: 1 });
      await peer.next('reported');
      expect((await hub.serviceTwin('sdk-ws')).properties).toMatchObject({
        reported: { firmware: '1.2.0', $version: 2 },
      });
      await peer.next('subscribed');
      await patchDesired(hub, 'sdk-ws', { mode: 'eco' });
      expect((await peer.next('desired')).patch).toEqual({ mode: 'eco', $version: 2 });
      await peer.next('closed');
      expect(await peer.exited()).toBe(0);
    },
  );
});
