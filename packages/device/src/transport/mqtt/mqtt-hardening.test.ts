/**
 * A hub that misbehaves on purpose, over real MQTT on TLS: a scripted broker (a fault injection,
 * not a hub) answers the device's twin requests with malformed `$version`s, oversized twins, or a
 * packet announcing 256 MB. The device must raise a typed error at once and never buffer the
 * flood. The normal path against the real hub is covered by mqtt-transport.test.ts and test/e2e.
 */
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createTestCertificates, type TestCertificates } from '@twinkit/hub/testing';
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import { formatDeviceConnectionString } from '@twinkit/twin-model/protocol';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DeviceClient, mqtt, type ConnectionStateChange } from '../../index.js';
import { MAX_TWIN_MESSAGE_BYTES } from '../twin-response.js';

const KEY = btoa('0123456789abcdef0123456789abcdef');

function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return bytes;
}

/** A QoS 0 PUBLISH from the broker. */
function publishPacket(topic: string, payload: string | Buffer): Buffer {
  const topicBytes = Buffer.from(topic);
  const body = Buffer.concat([
    Buffer.from([topicBytes.length >> 8, topicBytes.length & 0xff]),
    topicBytes,
    typeof payload === 'string' ? Buffer.from(payload) : payload,
  ]);
  return Buffer.concat([Buffer.from([0x30, ...remainingLength(body.length)]), body]);
}

/** What the scripted broker does with one client PUBLISH. */
type OnPublish = (topic: string, payload: Buffer, socket: TLSSocket) => void;

interface ScriptedBroker extends AsyncDisposable {
  port: number;
  /** Topics the device published, in order. */
  readonly topics: string[];
}

/**
 * Speaks just enough MQTT 3.1.1 for a device: CONNACK, SUBACK, UNSUBACK, PINGRESP, and hands
 * every PUBLISH to the script.
 */
async function startScriptedBroker(
  certificates: TestCertificates,
  onPublish: OnPublish,
): Promise<ScriptedBroker> {
  const topics: string[] = [];
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer(
    { cert: certificates.serverCertificate, key: certificates.serverKey },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (;;) {
          let length = 0;
          let multiplier = 1;
          let offset = 1;
          let complete = false;
          while (offset < pending.length && offset <= 4) {
            const byte = pending[offset] ?? 0;
            length += (byte & 0x7f) * multiplier;
            multiplier *= 128;
            offset += 1;
            if ((byte & 0x80) === 0) {
              complete = true;
              break;
            }
          }
          if (!complete || pending.length < offset + length) return;
          const type = (pending[0] ?? 0) >> 4;
          const body = pending.subarray(offset, offset + length);
          pending = pending.subarray(offset + length);
          if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
          if (type === 8) socket.write(Buffer.from([0x90, 0x03, body[0] ?? 0, body[1] ?? 0, 0x00]));
          if (type === 10) socket.write(Buffer.from([0xb0, 0x02, body[0] ?? 0, body[1] ?? 0]));
          if (type === 12) socket.write(Buffer.from([0xd0, 0x00]));
          if (type === 3) {
            const topicLength = ((body[0] ?? 0) << 8) + (body[1] ?? 0);
            const topic = body.subarray(2, 2 + topicLength).toString();
            topics.push(topic);
            onPublish(topic, body.subarray(2 + topicLength), socket);
          }
        }
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    topics,
    [Symbol.asyncDispose]: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function ridOf(topic: string): string {
  return /\$rid=([^&]+)/.exec(topic)?.[1] ?? '';
}

const TWIN = JSON.stringify({ desired: { $version: 1 }, reported: { $version: 1 } });

/** Answers twin GETs and reported PATCHes the way IoT Hub does, unless `script` takes over. */
function hubLike(script: OnPublish = () => undefined): OnPublish {
  let reported = 1;
  return (topic, payload, socket) => {
    const rid = ridOf(topic);
    if (topic.startsWith('$iothub/twin/GET/')) {
      socket.write(publishPacket(`$iothub/twin/res/200/?$rid=${rid}`, TWIN));
    } else if (topic.startsWith('$iothub/twin/PATCH/properties/reported/')) {
      reported += 1;
      socket.write(
        publishPacket(`$iothub/twin/res/204/?$rid=${rid}&$version=${String(reported)}`, ''),
      );
    }
    script(topic, payload, socket);
  };
}

let certificates: TestCertificates;

beforeAll(async () => {
  certificates = await createTestCertificates();
});

/** A device on the scripted broker, with the default 30 s deadline: a timeout fails the test. */
function deviceOn(broker: ScriptedBroker): DeviceClient {
  return DeviceClient.fromConnectionString(
    formatDeviceConnectionString({
      hostName: `localhost:${String(broker.port)}`,
      deviceId: 'dev-1',
      sharedAccessKey: KEY,
    }),
    { transport: mqtt(), ca: certificates.caCertificate, retryOptions: { retryDelayInMs: 50 } },
  );
}

async function rejection(promise: Promise<unknown>): Promise<UnexpectedResponseError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(UnexpectedResponseError);
  return error as UnexpectedResponseError;
}

describe('MQTT transport against a misbehaving hub', () => {
  it.each(['-1', 'abc', '1.5'])(
    'rejects getTwin at once when the response topic carries $version=%s',
    async (version) => {
      await using broker = await startScriptedBroker(certificates, (topic, _, socket) => {
        socket.write(
          publishPacket(`$iothub/twin/res/200/?$rid=${ridOf(topic)}&$version=${version}`, TWIN),
        );
      });
      await using device = deviceOn(broker);
      await device.open();
      const error = await rejection(device.getTwin());
      expect(error).toMatchObject({
        statusCode: 200,
        expected: expect.stringContaining('$version'),
      });
      expect(error.message).toContain(`$version '${version}'`);
    },
  );

  it('rejects a reported update at once when the 204 carries a negative $version', async () => {
    await using broker = await startScriptedBroker(certificates, (topic, _, socket) => {
      socket.write(publishPacket(`$iothub/twin/res/204/?$rid=${ridOf(topic)}&$version=-7`, ''));
    });
    await using device = deviceOn(broker);
    await device.open();
    const error = await rejection(device.updateReportedProperties({ fw: '1' }));
    expect(error.statusCode).toBe(204);
  });

  it('rejects getTwin when the twin body has a negative $version', async () => {
    await using broker = await startScriptedBroker(certificates, (topic, _, socket) => {
      const body = JSON.stringify({ desired: { $version: -2 }, reported: { $version: 1 } });
      socket.write(publishPacket(`$iothub/twin/res/200/?$rid=${ridOf(topic)}`, body));
    });
    await using device = deviceOn(broker);
    await device.open();
    expect((await rejection(device.getTwin())).message).toContain('$version -2');
  });

  it("rejects getTwin when a section is larger than IoT Hub's limit", async () => {
    await using broker = await startScriptedBroker(certificates, (topic, _, socket) => {
      const big = { $version: 3, blob: 'x'.repeat(4000), more: { a: 'y'.repeat(30_000) } };
      const body = JSON.stringify({ desired: big, reported: { $version: 1 } });
      socket.write(publishPacket(`$iothub/twin/res/200/?$rid=${ridOf(topic)}`, body));
    });
    await using device = deviceOn(broker);
    await device.open();
    expect((await rejection(device.getTwin())).message).toMatch(
      /desired section has size \d+, more than IoT Hub's limit of 32768/,
    );
  });

  it.each([
    ['a malformed topic $version', '$iothub/twin/PATCH/properties/desired/?$version=-4', '{"a":1}'],
    [
      'a malformed body $version',
      '$iothub/twin/PATCH/properties/desired/?$version=2',
      '{"a":1,"$version":"2"}',
    ],
    ['a body that is not JSON', '$iothub/twin/PATCH/properties/desired/?$version=2', 'not json'],
  ])(
    'reports a desired notification with %s as an error event and re-reads the twin',
    async (_, topic, body) => {
      let sent = false;
      await using broker = await startScriptedBroker(
        certificates,
        hubLike((published, _payload, socket) => {
          if (!published.startsWith('$iothub/twin/GET/') || sent) return;
          sent = true;
          socket.write(publishPacket(topic, body));
        }),
      );
      await using device = deviceOn(broker);
      const errors: Error[] = [];
      device.on('error', (error) => errors.push(error));
      const changes: unknown[] = [];
      device.onDesired((change) => {
        changes.push(change);
      });
      await device.open();
      await vi.waitFor(() => {
        expect(errors).toHaveLength(1);
      });
      expect(errors[0]).toBeInstanceOf(UnexpectedResponseError);
      await vi.waitFor(() => {
        expect(broker.topics.filter((sent) => sent.startsWith('$iothub/twin/GET/'))).toHaveLength(
          2,
        );
      });
      expect(changes).toEqual([]);
    },
  );

  it('closes the connection as soon as the broker announces a 256 MB packet, without reading it', async () => {
    let flooded = 0;
    let stopped = false;
    let reads = 0;
    await using broker = await startScriptedBroker(certificates, (topic, _, socket) => {
      if (!topic.startsWith('$iothub/twin/GET/') || flooded > 0) return;
      reads += 1;
      // The first read is the desired baseline taken while connecting; answer it as IoT Hub does.
      if (reads === 1) {
        socket.write(publishPacket(`$iothub/twin/res/200/?$rid=${ridOf(topic)}`, TWIN));
        return;
      }
      // A PUBLISH announcing 268 435 455 bytes, then a stream of junk as fast as the socket takes it.
      socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
      const junk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (!stopped && !socket.destroyed && flooded < 64 * 1024 * 1024) {
          flooded += junk.length;
          if (!socket.write(junk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      socket.on('close', () => {
        stopped = true;
      });
      pump();
    });
    await using device = deviceOn(broker);
    const states: ConnectionStateChange[] = [];
    device.on('connectionStateChange', (change) => states.push(change));
    await device.open();
    const error = await rejection(device.getTwin());
    expect(error.message).toMatch(/MQTT packet of 268435460 bytes, more than any twin message/);
    await vi.waitFor(() => {
      expect(stopped).toBe(true);
    });
    // The device hung up after a few reads, far from the 64 MiB the broker was ready to send.
    expect(flooded).toBeLessThan(8 * 1024 * 1024);
    expect(MAX_TWIN_MESSAGE_BYTES).toBeLessThan(1024 * 1024);
    expect(states.map((change) => change.reason)).toContain('connection-lost');
  });
});
