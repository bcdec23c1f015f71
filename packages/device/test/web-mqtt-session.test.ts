/**
 * The web build's own MQTT session (src/platform/web/mqtt-session.ts), run from Node with `ws`
 * standing in for the runtime's global WebSocket: the transport contract suite against the local
 * hub, unchanged, then what only a misbehaving broker shows (refusals, malformed and oversized
 * packets, a missing keep-alive answer), from a scripted WebSocket broker on loopback.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCertificates, type TestCertificates } from '@twinkit/hub/testing';
import {
  TransportError,
  UnauthorizedError,
  UnexpectedResponseError,
} from '@twinkit/twin-model/errors';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { openMqttOverWebSocket } from '../src/platform/web/mqtt-connection.js';
import type { OpenMqttConnection } from '../src/platform/types.js';
import { MqttTransport } from '../src/transport/mqtt/mqtt-transport.js';
import { describeTransportContract } from '../src/transport/transport.contract.js';
import type {
  ConnectParams,
  TransportFactory,
  TransportHandlers,
} from '../src/transport/transport.js';
import { MAX_TWIN_MESSAGE_BYTES } from '../src/transport/twin-response.js';
import { mqttHubFixture } from './fixtures/mqtt-hub-fixture.js';

/**
 * The web platform refuses a `ca` (a browser trusts through its own store), so the test moves it
 * from the connect options into the WebSocket, as a trust store would.
 */
const openTrustingCa: OpenMqttConnection = ({ ca, ...options }) => {
  class TrustingWebSocket extends WebSocket {
    constructor(url: string, protocol: string) {
      super(url, protocol, ca === undefined ? {} : { ca });
    }
  }
  return openMqttOverWebSocket(options, TrustingWebSocket);
};

const webSessionTransport: TransportFactory = (handlers, context) =>
  new MqttTransport({ webSocket: true }, handlers, context, openTrustingCa);

describeTransportContract('web MQTT session over WebSocket (local hub)', () =>
  mqttHubFixture(true, webSessionTransport),
);

/** The broker's side of one connection: the packets it got, and a way to answer. */
interface BrokerConnection {
  socket: WebSocket;
  /** Each packet received, in order. */
  readonly packets: Buffer[];
  /** The first byte (type and flags) of each packet received, in order. */
  readonly received: number[];
}

interface ScriptedBroker extends AsyncDisposable {
  port: number;
  /** The next connection once its CONNECT has arrived. */
  nextConnection(): Promise<BrokerConnection>;
}

/**
 * A WebSocket endpoint on loopback that records each packet's type byte and lets the test
 * answer by hand. Every WebSocket message from the device carries whole packets (the session
 * sends each packet in one message).
 */
async function startScriptedBroker(certificates: TestCertificates): Promise<ScriptedBroker> {
  const server: Server = createHttpsServer({
    cert: certificates.serverCertificate,
    key: certificates.serverKey,
  });
  const webSockets = new WebSocketServer({ server, handleProtocols: () => 'mqtt' });
  const waiting: ((connection: BrokerConnection) => void)[] = [];
  webSockets.on('connection', (socket) => {
    const connection: BrokerConnection = { socket, packets: [], received: [] };
    socket.on('message', (data: Buffer) => {
      const first = data[0] ?? 0;
      connection.packets.push(data);
      connection.received.push(first);
      if (first >> 4 === 1) waiting.shift()?.(connection);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    [Symbol.asyncDispose]: async () => {
      for (const client of webSockets.clients) client.terminate();
      await new Promise<void>((resolve) => {
        webSockets.close(() => {
          server.close(() => {
            resolve();
          });
        });
      });
    },
  };
}

function connectParams(broker: ScriptedBroker, ca: string): ConnectParams {
  return {
    hostName: 'scripted.azure-devices.net',
    endpointHost: '127.0.0.1',
    endpointPort: broker.port,
    deviceId: 'dev-1',
    sasToken: 'SharedAccessSignature sr=x&sig=y&se=1',
    ca,
    keepAliveInSeconds: 30,
  };
}

function recordingHandlers(): TransportHandlers & { disconnects: unknown[] } {
  const disconnects: unknown[] = [];
  return {
    disconnects,
    desiredPatch: () => undefined,
    disconnected: (error) => {
      disconnects.push(error);
    },
  };
}

const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const SUBACK_FIRST = Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]);

describe('the web MQTT session against a scripted broker', () => {
  let certificates: TestCertificates;
  beforeAll(async () => {
    certificates = await createTestCertificates();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function connectTo(broker: ScriptedBroker, handlers = recordingHandlers()) {
    const transport = new MqttTransport(
      { webSocket: true },
      handlers,
      { operationTimeoutInMs: 5_000 },
      openTrustingCa,
    );
    const connecting = transport.connect(connectParams(broker, certificates.caCertificate));
    const connection = await broker.nextConnection();
    return { transport, connecting, connection, handlers };
  }

  it.each([
    [2, 'IotHubUnauthorizedAccess'],
    [4, 'IotHubUnauthorizedAccess'],
    [5, 'IotHubUnauthorizedAccess'],
    [3, 'DeviceDisabled'],
  ])('maps CONNACK return code %i to UnauthorizedError %s', async (returnCode, code) => {
    await using broker = await startScriptedBroker(certificates);
    const { connecting, connection } = await connectTo(broker);
    connection.socket.send(Buffer.from([0x20, 0x02, 0x00, returnCode]));
    const error = await connecting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toMatchObject({ code });
  });

  it('sends CONNECT with MQTT 3.1.1, clean session off, user name, password and keep-alive', async () => {
    await using broker = await startScriptedBroker(certificates);
    const { connecting, connection } = await connectTo(broker);
    const connect = connection.packets[0]!;
    expect(connect[0]).toBe(0x10);
    // After the fixed header: "MQTT", level 4, flags user name + password (clean session 0), 30 s.
    const variableHeader = connect.indexOf(Buffer.from('\0\x04MQTT', 'latin1'));
    expect([...connect.subarray(variableHeader + 6, variableHeader + 10)]).toEqual([
      4, 0xc0, 0, 30,
    ]);
    const text = connect.toString('latin1');
    expect(text).toContain('dev-1');
    expect(text).toContain('scripted.azure-devices.net/dev-1/?api-version=');
    expect(text).toContain('SharedAccessSignature sr=x&sig=y&se=1');
    connection.socket.send(CONNACK_ACCEPTED);
    await vi.waitFor(() => {
      expect(connection.received).toContain(0x82);
    });
    connection.socket.send(SUBACK_FIRST);
    await connecting;
  });

  it('closes with UnexpectedResponseError on a packet that announces 256 MB', async () => {
    await using broker = await startScriptedBroker(certificates);
    const { transport, connecting, connection, handlers } = await connectTo(broker);
    connection.socket.send(CONNACK_ACCEPTED);
    await vi.waitFor(() => {
      expect(connection.received).toContain(0x82);
    });
    connection.socket.send(SUBACK_FIRST);
    await connecting;
    const read = transport.getTwin();
    connection.socket.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00]));
    await expect(read).rejects.toBeInstanceOf(UnexpectedResponseError);
    await vi.waitFor(() => {
      expect(handlers.disconnects).toHaveLength(1);
    });
    expect(MAX_TWIN_MESSAGE_BYTES).toBeLessThan(256 * 1024 * 1024);
  });

  it('fails the connection with TransportError on a packet a broker may not send', async () => {
    await using broker = await startScriptedBroker(certificates);
    const { connecting, connection, handlers } = await connectTo(broker);
    connection.socket.send(CONNACK_ACCEPTED);
    await vi.waitFor(() => {
      expect(connection.received).toContain(0x82);
    });
    connection.socket.send(SUBACK_FIRST);
    await connecting;
    // A SUBSCRIBE, which only clients send.
    connection.socket.send(Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]));
    await vi.waitFor(() => {
      expect(handlers.disconnects).toHaveLength(1);
    });
    expect(handlers.disconnects[0]).toBeInstanceOf(TransportError);
    expect((handlers.disconnects[0] as Error).message).toMatch(/type 8/);
  });

  it('pings every keep-alive period and drops a connection whose broker stops answering', async () => {
    await using broker = await startScriptedBroker(certificates);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { connecting, connection, handlers } = await connectTo(broker);
    connection.socket.send(CONNACK_ACCEPTED);
    await vi.waitFor(() => {
      expect(connection.received).toContain(0x82);
    });
    connection.socket.send(SUBACK_FIRST);
    await connecting;
    vi.advanceTimersByTime(30_000);
    await vi.waitFor(() => {
      expect(connection.received).toContain(0xc0);
    });
    connection.socket.send(Buffer.from([0xd0, 0x00]));
    await vi.waitFor(() => {
      expect(connection.received.filter((type) => type === 0xc0)).toHaveLength(1);
    });
    // The PINGRESP has to arrive before the next period ends for this to count as answered.
    await new Promise((resolve) => setImmediate(resolve));
    vi.advanceTimersByTime(30_000);
    await vi.waitFor(() => {
      expect(connection.received.filter((type) => type === 0xc0)).toHaveLength(2);
    });
    expect(handlers.disconnects).toEqual([]);
    vi.advanceTimersByTime(30_000);
    await vi.waitFor(() => {
      expect(handlers.disconnects).toHaveLength(1);
    });
    expect((handlers.disconnects[0] as Error).message).toMatch(/keep-alive/);
  });
});
