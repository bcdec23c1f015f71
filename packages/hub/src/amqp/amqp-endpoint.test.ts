import rhea, { type EventContext, type Message } from 'rhea';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  GET,
  PATCH,
  SUBSCRIBE,
  UNSUBSCRIBE,
  attachTwin,
  authorize,
  nextMessage,
  openClient,
  putToken,
  sendWhenSendable,
} from './amqp-test-client.js';
import { startAmqpTestHub } from './amqp-test-hub.js';

/** AMQP type codes (AMQP 1.0 §1.6) the SDKs are strict about. */
const INT_CODES = [0x54, 0x71];
const LONG_CODES = [0x55, 0x81];
const ULONG_CODES = [0x44, 0x53, 0x80];
const STRING_CODES = [0xa1, 0xb1];
const SYMBOL_CODES = [0xa3, 0xb3];

// The raw bytes behind each decoded message, to check the AMQP types rhea's decoder erases.
// rhea decodes through its exported `message.decode`; the wrapper only records what it was given.
const rawBytes = new WeakMap<object, Buffer>();
const originalDecode = rhea.message.decode.bind(rhea.message);

beforeAll(() => {
  vi.spyOn(rhea.message, 'decode').mockImplementation((buffer: Buffer) => {
    const decoded = originalDecode(buffer);
    rawBytes.set(decoded, Buffer.from(buffer));
    return decoded;
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

interface TypedReader {
  remaining(): number;
  read(): unknown;
}

/** rhea's AMQP decoder (declared in its typings as a class of the types module, but not on `types`). */
function readerOf(bytes: Buffer): TypedReader {
  const Reader = (rhea.types as unknown as { Reader: new (buffer: Buffer) => TypedReader }).Reader;
  return new Reader(bytes);
}

interface TypedValue {
  type: { typecode: number };
  value: unknown;
  descriptor?: { value: unknown };
}

/** The typed entries of one map section (0x72 annotations, 0x74 application properties), key → value. */
function typedMap(
  message: Message,
  sectionCode: number,
): Map<string, TypedValue & { keyCode: number }> {
  const raw = rawBytes.get(message);
  if (raw === undefined) throw new Error('no raw bytes recorded for this message');
  const reader = readerOf(raw);
  const result = new Map<string, TypedValue & { keyCode: number }>();
  while (reader.remaining()) {
    const section = reader.read() as TypedValue;
    if (Number(section.descriptor?.value) !== sectionCode) continue;
    const entries = section.value as TypedValue[];
    for (let index = 0; index + 1 < entries.length; index += 2) {
      const key = entries[index];
      const value = entries[index + 1];
      if (key === undefined || value === undefined) continue;
      result.set(String(key.value), { ...value, keyCode: key.type.typecode });
    }
  }
  return result;
}

/** The type code of the correlation-id in a message's properties section. */
function correlationIdCode(message: Message): number | undefined {
  const raw = rawBytes.get(message);
  if (raw === undefined) return undefined;
  const reader = readerOf(raw);
  while (reader.remaining()) {
    const section = reader.read() as TypedValue;
    if (Number(section.descriptor?.value) !== 0x73) continue;
    const fields = section.value as TypedValue[];
    return fields[5]?.type.typecode;
  }
  return undefined;
}

/** Section type codes of a message, in order (0x75 data, 0x77 amqp-value …). */
function sectionCodes(message: Message): number[] {
  const raw = rawBytes.get(message);
  if (raw === undefined) return [];
  const reader = readerOf(raw);
  const codes: number[] = [];
  while (reader.remaining()) codes.push(Number((reader.read() as TypedValue).descriptor?.value));
  return codes;
}

describe('AmqpEndpoint', () => {
  describe('CBS put-token', () => {
    it('answers a put-token without SASL with an int status-code and the string message-id echoed', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      const answer = await putToken(client, {
        token: await hub.deviceToken(device),
        audience: 'localhost%2Fdevices%2Fdev-1',
        messageId: 'uuid-like-id',
      });
      expect(answer.correlation_id).toBe('uuid-like-id');
      expect(STRING_CODES).toContain(correlationIdCode(answer));
      const properties = typedMap(answer, 0x74);
      expect(properties.get('status-code')?.value).toBe(200);
      expect(INT_CODES).toContain(properties.get('status-code')?.type.typecode);
      expect(properties.get('status-description')?.value).toBe('OK');
    });

    it('echoes a ulong message-id as a ulong correlation-id, as the C SDK matches it', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub, { sasl: 'MSSBCBS' });
      const answer = await putToken(client, {
        token: await hub.deviceToken(device),
        audience: 'localhost/devices/dev-1',
        messageId: 7,
      });
      expect(answer.correlation_id).toBe(7);
      expect(ULONG_CODES).toContain(correlationIdCode(answer));
      expect(answer.application_properties?.['status-code']).toBe(200);
    });

    it('refuses a token signed with the wrong key with 401', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      const forged = await hub.deviceToken({
        ...device,
        key: Buffer.alloc(32, 7).toString('base64'),
      });
      const answer = await putToken(client, {
        token: forged,
        audience: 'localhost%2Fdevices%2Fdev-1',
      });
      expect(answer.application_properties?.['status-code']).toBe(401);
      expect(String(answer.application_properties?.['status-description'])).toMatch(
        /^Unauthorized/,
      );
      expect(String(answer.application_properties?.['status-description'])).not.toContain('sig=');
    });

    it('refuses a put-token whose audience names another device than the token', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createDevice('dev-2');
      await using client = await openClient(hub);
      const answer = await putToken(client, {
        token: await hub.deviceToken(device),
        audience: 'localhost%2Fdevices%2Fdev-2',
      });
      expect(answer.application_properties?.['status-code']).toBe(401);
    });

    it('answers a malformed put-token (no audience) with 400', async () => {
      await using hub = await startAmqpTestHub();
      await using client = await openClient(hub);
      const sender = client.connection.open_sender({ target: { address: '$cbs' } });
      const receiver = client.connection.open_receiver({ source: { address: '$cbs' } });
      const answer = nextMessage(receiver);
      sendWhenSendable(sender, {
        message_id: 'x',
        application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken' },
        body: 'SharedAccessSignature sr=a&sig=b&se=1',
      });
      expect((await answer).application_properties?.['status-code']).toBe(400);
    });

    it('accepts a SAS token as the SASL PLAIN password as a grant of the connection', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub, {
        sasl: { username: 'dev-1@sas.localhost', password: await hub.deviceToken(device) },
      });
      const twin = attachTwin(client, '/devices/dev-1/twin');
      const response = await twin.request(GET);
      expect(response.message_annotations?.status).toBe(200);
    });
  });

  describe('twin links', () => {
    it('refuses a twin link without a covering CBS grant with amqp:unauthorized-access', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createDevice('dev-2');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const other = attachTwin(client, '/devices/dev-2/twin');
      expect(await other.closed).toEqual({ condition: 'amqp:unauthorized-access' });
    });

    it('refuses an address that is not a twin address with amqp:not-found', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const wrong = attachTwin(client, '/devices/dev-1/nothing');
      expect(await wrong.closed).toEqual({ condition: 'amqp:not-found' });
    });

    it('answers GET with an int status and one data section holding the device view, echoing the correlation-id', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      const response = await twin.request(GET, ' ', 'get-42');
      expect(response.correlation_id).toBe('get-42');
      const annotations = typedMap(response, 0x72);
      expect(annotations.get('status')?.value).toBe(200);
      expect(INT_CODES).toContain(annotations.get('status')?.type.typecode);
      expect(SYMBOL_CODES).toContain(annotations.get('status')?.keyCode);
      expect(sectionCodes(response).filter((code) => code >= 0x75)).toEqual([0x75]);
      const body = JSON.parse(
        Buffer.from((response.body as { content: Buffer }).content).toString('utf8'),
      ) as unknown;
      expect(body).toEqual({ desired: { $version: 1 }, reported: { $version: 1 } });
    });

    it('answers a reported PATCH with status 204, the new version as a long and no body', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      const response = await twin.request(PATCH, JSON.stringify({ temp: 21 }));
      const annotations = typedMap(response, 0x72);
      expect(annotations.get('status')?.value).toBe(204);
      expect(INT_CODES).toContain(annotations.get('status')?.type.typecode);
      expect(Number(annotations.get('version')?.value)).toBe(2);
      expect(LONG_CODES).toContain(annotations.get('version')?.type.typecode);
      expect(sectionCodes(response).filter((code) => code >= 0x75)).toEqual([]);
      expect(hub.core.getTwin('dev-1')?.reported).toEqual({ temp: 21 });
    });

    it('answers an invalid reported patch with a 400 status and a JSON error body', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      const response = await twin.request(PATCH, 'not json');
      expect(response.message_annotations?.status).toBe(400);
      const body = JSON.parse(
        Buffer.from((response.body as { content: Buffer }).content).toString('utf8'),
      ) as { errorCode: number };
      expect(body.errorCode).toBe(400004);
    });

    it('accepts requests with no body section at all (C#) on an absolute amqps:// address', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, 'amqps://localhost:5671/devices/dev-1/twin');
      const got = await twin.request(GET, null, 'Get1');
      expect(got.message_annotations?.status).toBe(200);
      const subscribed = await twin.request({ ...SUBSCRIBE, version: null }, null, 'Put1');
      expect(subscribed.message_annotations?.status).toBe(200);
    });

    it('keeps answering past the 2048 deliveries of one session window', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      const statuses: unknown[] = [];
      // 21 pipelined batches of 100 (the client's own outgoing buffer also holds 2048).
      for (let batch = 0; batch < 21; batch += 1) {
        const answers = await Promise.all(Array.from({ length: 100 }, () => twin.request(GET)));
        statuses.push(...answers.map((answer) => answer.message_annotations?.status));
      }
      expect(statuses).toHaveLength(2100);
      expect(new Set(statuses)).toEqual(new Set([200]));
    }, 20_000);

    it('serves module twins on /devices/{id}/modules/{mid}/twin', async () => {
      await using hub = await startAmqpTestHub();
      await hub.createDevice('dev-1');
      const module = await hub.createModule('dev-1', 'mod-1');
      await using client = await openClient(hub);
      await authorize(hub, client, module);
      const twin = attachTwin(client, '/devices/dev-1/modules/mod-1/twin');
      const response = await twin.request(PATCH, JSON.stringify({ m: true }));
      expect(response.message_annotations?.status).toBe(204);
      expect(hub.core.getTwin('dev-1', 'mod-1')?.reported).toEqual({ m: true });
    });

    it('serves the twin over WebSocket with the AMQPWSB10 subprotocol', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub, { webSocket: true });
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      expect((await twin.request(GET)).message_annotations?.status).toBe(200);
    });

    it('tracks the connection state of the identity', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      const client = await openClient(hub);
      await authorize(hub, client, device);
      expect(hub.endpoint.isConnected(device)).toBe(true);
      expect(hub.core.getEntry('dev-1')?.identity.connectionState).toBe('Connected');
      await client[Symbol.asyncDispose]();
      await vi.waitFor(() => {
        expect(hub.core.getEntry('dev-1')?.identity.connectionState).toBe('Disconnected');
      });
      expect(hub.endpoint.isConnected(device)).toBe(false);
    });
  });

  describe('desired notifications', () => {
    it('pushes desired changes after a PUT with no correlation-id, a long version and $version in the body', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      await hub.updateDesired(device, { before: 1 });
      expect((await twin.request(SUBSCRIBE)).message_annotations?.status).toBe(200);
      const pushed = nextMessage(twin.receiver, (message) => message.correlation_id === undefined);
      await hub.updateDesired(device, { fanOn: true, mode: null });
      const notification = await pushed;
      expect(LONG_CODES).toContain(typedMap(notification, 0x72).get('version')?.type.typecode);
      expect(Number(notification.message_annotations?.version)).toBe(3);
      const body = JSON.parse(
        Buffer.from((notification.body as { content: Buffer }).content).toString('utf8'),
      ) as unknown;
      expect(body).toEqual({ fanOn: true, mode: null, $version: 3 });
    });

    it('stops pushing after a DELETE', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      await twin.request(SUBSCRIBE);
      expect((await twin.request(UNSUBSCRIBE)).message_annotations?.status).toBe(200);
      const received: Message[] = [];
      twin.receiver.on('message', (context: EventContext) => {
        if (context.message?.correlation_id === undefined && context.message !== undefined)
          received.push(context.message);
      });
      await hub.updateDesired(device, { ignored: true });
      // A GET answered after the change proves the notification would have arrived before it.
      await twin.request(GET);
      expect(received).toEqual([]);
    });
  });

  describe('expiry and faults', () => {
    it('detaches twin links with amqp:unauthorized-access when the token expires', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      // At least one whole second left, so the links attach before the expiry detaches them.
      const soon = Math.floor(Date.now() / 1000) + 2;
      const answer = await putToken(client, {
        token: await hub.deviceToken(device, soon),
        audience: 'localhost%2Fdevices%2Fdev-1',
      });
      expect(answer.application_properties?.['status-code']).toBe(200);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      expect((await twin.request(GET)).message_annotations?.status).toBe(200);
      expect(await twin.closed).toEqual({ condition: 'amqp:unauthorized-access' });
    });

    it('fails the next twin response with the armed status', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      hub.endpoint.faults.failNextTwinResponses({ operation: 'updateReported', statusCode: 429 });
      expect((await twin.request(PATCH, '{"a":1}')).message_annotations?.status).toBe(429);
      expect((await twin.request(PATCH, '{"a":1}')).message_annotations?.status).toBe(204);
      hub.hub.faults.failNext({ operation: 'deviceGetTwin', statusCode: 503 });
      expect((await twin.request(GET)).message_annotations?.status).toBe(503);
    });

    it('duplicates and reorders desired notifications on request', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      await twin.request(SUBSCRIBE);
      const versions: number[] = [];
      twin.receiver.on('message', (context: EventContext) => {
        if (context.message !== undefined && context.message.correlation_id === undefined)
          versions.push(Number(context.message.message_annotations?.version));
      });
      hub.endpoint.faults.duplicateNextDesired();
      await hub.updateDesired(device, { a: 1 });
      hub.endpoint.faults.reorderNextDesired();
      await hub.updateDesired(device, { b: 1 });
      await hub.updateDesired(device, { c: 1 });
      await vi.waitFor(() => {
        expect(versions).toEqual([2, 2, 4, 3]);
      });
    });

    it('drops the connection of an identity without an AMQP close', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      await using client = await openClient(hub);
      await authorize(hub, client, device);
      const disconnected = new Promise<void>((resolve) => {
        client.connection.once('disconnected', () => {
          resolve();
        });
      });
      expect(hub.endpoint.faults.dropConnection(device)).toBe(true);
      await disconnected;
      expect(hub.endpoint.isConnected(device)).toBe(false);
    });

    it('expires a token early and refuses it afterwards', async () => {
      await using hub = await startAmqpTestHub();
      const device = await hub.createDevice('dev-1');
      const token = await hub.deviceToken(device);
      await using client = await openClient(hub);
      const first = await putToken(client, { token, audience: 'localhost%2Fdevices%2Fdev-1' });
      expect(first.application_properties?.['status-code']).toBe(200);
      const twin = attachTwin(client, '/devices/dev-1/twin');
      await twin.request(GET);
      expect(hub.endpoint.faults.expireToken(device)).toBe(true);
      expect(await twin.closed).toEqual({ condition: 'amqp:unauthorized-access' });
      const again = await putToken(client, {
        token,
        audience: 'localhost%2Fdevices%2Fdev-1',
        messageId: 'again',
      });
      expect(again.application_properties?.['status-code']).toBe(401);
    });
  });
});
