/**
 * A hub that misbehaves on purpose, over real AMQP on TLS: a raw rhea peer (a fault injection,
 * not a hub) accepts the device's CBS token and twin links, then answers twin requests with
 * malformed versions, an oversized message or an oversized frame. The device must raise a typed
 * error at once and never buffer the flood. The normal path against the real hub is covered by
 * amqp-transport.test.ts.
 */
import type { Socket } from 'node:net';
import { createTestCertificates, type TestCertificates } from '@twinkit/hub/testing';
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import { CBS_NODE, CBS_PROPERTY, TWIN_ANNOTATION } from '@twinkit/twin-model/protocol';
import * as rhea from 'rhea';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DeviceClient } from '../../index.js';
import { MAX_TWIN_MESSAGE_BYTES } from '../twin-response.js';
import { AMQP_MAX_FRAME_BYTES } from './amqp-connection-options.js';
import { amqp } from './index.js';

const KEY = btoa('0123456789abcdef0123456789abcdef');

/** How the peer answers one twin request; `undefined` leaves it unanswered. */
type TwinScript = (
  request: { operation: unknown; correlationId: unknown },
  peer: {
    reply: (message: Partial<rhea.Message>) => void;
    notify: (message: Partial<rhea.Message>) => void;
    socket: Socket;
  },
) => void;

interface LinkInternals {
  remote: { attach?: { source?: { address?: string }; target?: { address?: string } } };
  set_source(source: unknown): void;
  set_target(target: unknown): void;
}

interface ScriptedPeer extends AsyncDisposable {
  port: number;
}

/**
 * A rhea container listening on TLS: CBS put-token always succeeds, twin requests go to the
 * script, and the device's receiver links get their messages from `reply`/`notify`.
 */
async function startScriptedPeer(
  certificates: TestCertificates,
  script: TwinScript,
): Promise<ScriptedPeer> {
  const container = rhea.create_container();
  const senders = new Map<string, rhea.Sender>();
  // Handled, so rhea does not print them: the device hangs up on purpose in these tests.
  container.on('error', () => undefined);
  container.on('disconnected', () => undefined);
  container.on('sender_open', (context: rhea.EventContext) => {
    const link = context.sender as unknown as LinkInternals;
    const source = link.remote.attach?.source;
    if (source !== undefined) link.set_source(source);
    if (context.sender !== undefined) senders.set(source?.address ?? '', context.sender);
  });
  container.on('receiver_open', (context: rhea.EventContext) => {
    const link = context.receiver as unknown as LinkInternals;
    const target = link.remote.attach?.target;
    if (target !== undefined) link.set_target(target);
  });
  container.on('message', (context: rhea.EventContext) => {
    const message = context.message;
    const address = (context.receiver as unknown as LinkInternals).remote.attach?.target?.address;
    if (message === undefined || address === undefined) return;
    if (address === CBS_NODE) {
      senders.get(CBS_NODE)?.send({
        correlation_id: message.message_id,
        application_properties: { [CBS_PROPERTY.statusCode]: 200 },
      } as unknown as rhea.Message);
      return;
    }
    const twinSender = senders.get(address);
    const socket = (context.connection as unknown as { socket: Socket }).socket;
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    script(
      { operation: annotations[TWIN_ANNOTATION.operation], correlationId: message.correlation_id },
      {
        reply: (reply) =>
          twinSender?.send({ correlation_id: message.correlation_id, ...reply } as rhea.Message),
        notify: (notification) => twinSender?.send(notification as rhea.Message),
        socket,
      },
    );
  });
  const server = container.listen({
    transport: 'tls',
    host: '127.0.0.1',
    port: 0,
    key: certificates.serverKey,
    cert: certificates.serverCertificate,
  });
  server.on('tlsClientError', () => undefined);
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

const OK_TWIN = JSON.stringify({ desired: { $version: 1 }, reported: { $version: 1 } });

function body(text: string): rhea.Message['body'] {
  return rhea.message.data_section(Buffer.from(text));
}

let certificates: TestCertificates;

beforeAll(async () => {
  certificates = await createTestCertificates();
});

/** A device on the scripted peer, with the default 30 s deadline: a timeout fails the test. */
function deviceOn(peer: ScriptedPeer): DeviceClient {
  return DeviceClient.fromConnectionString(
    `HostName=localhost:${String(peer.port)};DeviceId=dev-1;SharedAccessKey=${KEY}`,
    { transport: amqp(), ca: certificates.caCertificate, retryOptions: { retryDelayInMs: 50 } },
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

/**
 * Answers the first twin read as IoT Hub does: it is the desired baseline the client takes while
 * connecting, and the tests below misbehave on the app's own read.
 */
function answeredBaseline(
  request: { operation: unknown },
  reads: number,
  reply: (message: Partial<rhea.Message>) => void,
): boolean {
  if (request.operation !== 'GET' || reads !== 1) return false;
  reply({ message_annotations: { [TWIN_ANNOTATION.status]: 200 }, body: body(OK_TWIN) });
  return true;
}

describe('AMQP transport against a misbehaving hub', () => {
  it.each([-1, 2.5, '3'])(
    'rejects a reported update at once when the version annotation is %s',
    async (version) => {
      await using peer = await startScriptedPeer(certificates, (_, { reply }) => {
        reply({
          message_annotations: {
            [TWIN_ANNOTATION.status]: 204,
            [TWIN_ANNOTATION.version]: version,
          },
        });
      });
      await using device = deviceOn(peer);
      await device.open();
      const error = await rejection(device.updateReportedProperties({ fw: '1' }));
      expect(error).toMatchObject({ statusCode: 204 });
      expect(error.message).toContain('version annotation');
    },
  );

  it('rejects getTwin when the twin body has a fractional $version', async () => {
    await using peer = await startScriptedPeer(certificates, (_, { reply }) => {
      reply({
        message_annotations: { [TWIN_ANNOTATION.status]: 200 },
        body: body(JSON.stringify({ desired: { $version: 1 }, reported: { $version: 2.5 } })),
      });
    });
    await using device = deviceOn(peer);
    await device.open();
    expect((await rejection(device.getTwin())).message).toContain('$version 2.5');
  });

  it('reports a desired notification with a malformed $version as an error event and re-reads the twin', async () => {
    let reads = 0;
    await using peer = await startScriptedPeer(certificates, (request, { reply, notify }) => {
      if (request.operation === 'GET') {
        reads += 1;
        reply({ message_annotations: { [TWIN_ANNOTATION.status]: 200 }, body: body(OK_TWIN) });
        if (reads === 1) notify({ body: body('{"a":1,"$version":"7"}') });
        return;
      }
      reply({ message_annotations: { [TWIN_ANNOTATION.status]: 200 } });
    });
    await using device = deviceOn(peer);
    const errors: Error[] = [];
    device.on('error', (error) => errors.push(error));
    device.onDesired(() => undefined);
    await device.open();
    await vi.waitFor(() => {
      expect(errors).toHaveLength(1);
    });
    expect(errors[0]).toBeInstanceOf(UnexpectedResponseError);
    await vi.waitFor(() => {
      expect(reads).toBe(2);
    });
  });

  it('closes the connection when a message outgrows the largest twin message', async () => {
    let reads = 0;
    await using peer = await startScriptedPeer(certificates, (request, { reply }) => {
      reads += 1;
      if (answeredBaseline(request, reads, reply)) return;
      // rhea splits it into frames of the 64 KiB the device announced.
      reply({
        message_annotations: { [TWIN_ANNOTATION.status]: 200 },
        body: body(`{"desired":{"$version":1,"x":"${'x'.repeat(MAX_TWIN_MESSAGE_BYTES)}"}}`),
      });
    });
    await using device = deviceOn(peer);
    await device.open();
    const error = await rejection(device.getTwin());
    expect(error.message).toMatch(/AMQP message of more than \d+ bytes.*connection was closed/);
  });

  it('closes the connection as soon as a frame announces more than the agreed max-frame-size', async () => {
    let stopped = false;
    let flooded = 0;
    let reads = 0;
    await using peer = await startScriptedPeer(certificates, (request, { reply, socket }) => {
      reads += 1;
      if (answeredBaseline(request, reads, reply)) return;
      // A frame header announcing 1 GiB, then junk as fast as the socket takes it.
      socket.write(Buffer.from([0x40, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]));
      const junk = Buffer.alloc(64 * 1024, 0x61);
      socket.on('close', () => {
        stopped = true;
      });
      const pump = (): void => {
        while (!stopped && !socket.destroyed && flooded < 64 * 1024 * 1024) {
          flooded += junk.length;
          if (!socket.write(junk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    await using device = deviceOn(peer);
    await device.open();
    const error = await rejection(device.getTwin());
    expect(error.message).toContain(
      `an AMQP frame of 1073741824 bytes, more than the ${String(AMQP_MAX_FRAME_BYTES)} it agreed to`,
    );
    await vi.waitFor(() => {
      expect(stopped).toBe(true);
    });
    expect(flooded).toBeLessThan(8 * 1024 * 1024);
  });
});
