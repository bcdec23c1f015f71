import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { createTestClientCertificate } from '../testing.js';
import { closed, MessageLog, startMqttTestHub } from './mqtt-test-hub.js';

const GET = (rid: string) => `$iothub/twin/GET/?$rid=${rid}`;
const PATCH = (rid: string, version?: number) =>
  `$iothub/twin/PATCH/properties/reported/?$rid=${rid}${version === undefined ? '' : `&$version=${String(version)}`}`;
const RES = '$iothub/twin/res/';
const DESIRED = '$iothub/twin/PATCH/properties/desired/';

/** A self-signed client certificate, its PKCS#8 key and its SHA-1 thumbprint. */
function createClientCertificate(commonName: string): { cert: string; key: string; sha1: string } {
  const { cert, key, sha1Thumbprint } = createTestClientCertificate(commonName);
  return { cert, key, sha1: sha1Thumbprint };
}

/** A QoS 0 PUBLISH packet, built by hand so a test can put several in one TLS write. */
function publishPacket(topic: string, payload: string): Buffer {
  const topicBytes = Buffer.from(topic, 'utf8');
  const body = Buffer.concat([
    Buffer.from([topicBytes.length >> 8, topicBytes.length & 0xff]),
    topicBytes,
    Buffer.from(payload, 'utf8'),
  ]);
  const length: number[] = [];
  let rest = body.length;
  do {
    length.push((rest % 128) | (rest >= 128 ? 0x80 : 0));
    rest = Math.floor(rest / 128);
  } while (rest > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), body]);
}

/**
 * Sends a burst of twin requests in one write on a connected client's socket, so the hub reads
 * them together, as it does when a client keeps many requests in flight.
 */
function sendBurst(client: MqttClient, requests: readonly [topic: string, body: string][]): void {
  client.stream.write(Buffer.concat(requests.map(([topic, body]) => publishPacket(topic, body))));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('MqttEndpoint', () => {
  describe('CONNECT', () => {
    it('accepts a device SAS token and tracks the connection state of the device', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const before = await hub.serviceTwin('dev-1');
      expect(before.connectionState).toBe('Disconnected');

      const { client, connack } = await hub.connect(device);
      expect(connack.returnCode).toBe(0);
      expect(connack.sessionPresent).toBe(false);
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(true);
      });
      const connected = await hub.serviceTwin('dev-1');
      expect(connected.connectionState).toBe('Connected');
      expect(connected.lastActivityTime).not.toBe(before.lastActivityTime);
      expect(hub.core.getEntry('dev-1')?.identity.connectionStateUpdatedTime).not.toBe(
        '0001-01-01T00:00:00Z',
      );

      await client.endAsync();
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
      expect((await hub.serviceTwin('dev-1')).connectionState).toBe('Disconnected');
    });

    it('refuses a token signed with the wrong key with CONNACK 5', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await expect(
        hub.connect({ ...device, key: Buffer.alloc(32, 7).toString('base64') }),
      ).rejects.toMatchObject({
        code: 5,
      });
      expect(hub.endpoint.connectionCount).toBe(0);
    });

    it('refuses an unknown device with CONNACK 5 and a disabled device with CONNACK 3', async () => {
      await using hub = await startMqttTestHub();
      await expect(
        hub.connect({ deviceId: 'ghost', key: Buffer.alloc(32, 1).toString('base64') }),
      ).rejects.toMatchObject({
        code: 5,
      });
      const disabled = await hub.createDevice('off', { status: 'disabled' });
      await expect(hub.connect(disabled)).rejects.toMatchObject({ code: 3 });
    });

    it('refuses an expired token with CONNACK 5', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await expect(
        hub.connect(device, { expiresOnInSeconds: Math.floor(Date.now() / 1000) - 10 }),
      ).rejects.toMatchObject({ code: 5 });
    });

    it('refuses a username that names another identity than the client id with CONNACK 4', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createDevice('dev-2');
      await expect(
        hub.connect(device, { username: 'localhost/dev-2/?api-version=2021-04-12' }),
      ).rejects.toMatchObject({
        code: 4,
      });
    });

    it('refuses a client id that is not <deviceId>[/<moduleId>] with CONNACK 2', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await expect(hub.connect(device, { clientId: 'dev-1/a/b' })).rejects.toMatchObject({
        code: 2,
      });
    });

    it('accepts a module with its own key and refuses the device key for the module', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const module = await hub.createModule('dev-1', 'mod-1');
      const { client } = await hub.connect(module);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await client.publishAsync(GET('1'), ' ');
      const response = await log.next(RES);
      expect(response.topic).toBe('$iothub/twin/res/200/?$rid=1');
      expect(JSON.parse(response.payload)).toEqual({
        desired: { $version: 1 },
        reported: { $version: 1 },
      });
      await expect(hub.connect({ ...module, key: device.key })).rejects.toMatchObject({ code: 5 });
    });

    it('authenticates a self-signed X.509 device by the thumbprint of its TLS client certificate', async () => {
      await using hub = await startMqttTestHub();
      const good = createClientCertificate('x509-dev');
      const wrong = createClientCertificate('someone-else');
      const created = await hub.serviceRequest('PUT', '/devices/x509-dev', {
        deviceId: 'x509-dev',
        authentication: {
          type: 'selfSigned',
          x509Thumbprint: { primaryThumbprint: good.sha1, secondaryThumbprint: null },
        },
      });
      expect(created.status).toBe(200);
      const identity = { deviceId: 'x509-dev', key: '' };

      const { client, connack } = await hub.connect(identity, {
        password: undefined,
        cert: good.cert,
        key: good.key,
      });
      expect(connack.returnCode).toBe(0);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await client.publishAsync(GET('x'), ' ');
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/200/?$rid=x');
      await client.endAsync();

      await expect(
        hub.connect(identity, { password: undefined, cert: wrong.cert, key: wrong.key }),
      ).rejects.toMatchObject({
        code: 5,
      });
      await expect(hub.connect(identity, { password: undefined })).rejects.toMatchObject({
        code: 5,
      });
    });

    it('closes the older connection when the same identity connects again', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const first = await hub.connect(device);
      const firstClosed = closed(first.client);
      const second = await hub.connect(device);
      await firstClosed;
      expect(second.client.connected).toBe(true);
      await vi.waitFor(() => {
        expect(hub.endpoint.connectionCount).toBe(1);
      });
      expect((await hub.serviceTwin('dev-1')).connectionState).toBe('Connected');
    });

    it('closes the connection of a device that gets disabled, and refuses it afterwards with CONNACK 3', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const ended = closed(client);
      const disabled = await hub.serviceRequest(
        'PUT',
        '/devices/dev-1',
        { deviceId: 'dev-1', status: 'disabled' },
        {
          'if-match': '*',
        },
      );
      expect(disabled.status).toBe(200);
      await ended;
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
      await expect(hub.connect(device)).rejects.toMatchObject({ code: 3 });
    });

    it('closes the connection when the SAS token expires', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], shouldAdvanceTime: true });
      const { client } = await hub.connect(device, {
        expiresOnInSeconds: Math.floor(Date.now() / 1000) + 600,
      });
      const ended = closed(client);
      expect(client.connected).toBe(true);
      await vi.advanceTimersByTimeAsync(601_000);
      await ended;
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
    });
  });

  describe('twin', () => {
    it('answers GET with the device view and 200', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const patch = await hub.serviceRequest('PATCH', '/twins/dev-1', {
        tags: { city: 'Paris' },
        properties: { desired: { rate: 5 } },
      });
      expect(patch.status).toBe(200);
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await client.publishAsync(GET('a-1'), ' ');
      const response = await log.next(RES);
      expect(response.topic).toBe('$iothub/twin/res/200/?$rid=a-1');
      expect(JSON.parse(response.payload)).toEqual({
        desired: { rate: 5, $version: 2 },
        reported: { $version: 1 },
      });
    });

    it('applies a reported PATCH and answers 204 with the new $version in the topic and an empty body', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await client.publishAsync(PATCH('p1'), JSON.stringify({ temp: 21.5, nested: { a: 1 } }));
      const first = await log.next(RES);
      expect(first.topic).toBe('$iothub/twin/res/204/?$rid=p1&$version=2');
      expect(first.payload).toBe('');
      await client.publishAsync(PATCH('p2'), JSON.stringify({ nested: { a: null, b: 2 } }));
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=p2&$version=3');

      await client.publishAsync(GET('g'), ' ');
      const twin = JSON.parse((await log.next(RES)).payload) as { reported: unknown };
      expect(twin.reported).toEqual({ temp: 21.5, nested: { b: 2 }, $version: 3 });
      const service = await hub.serviceTwin('dev-1');
      expect(service.properties).toMatchObject({ reported: { temp: 21.5, $version: 3 } });
    });

    it('applies a burst of reported PATCHes in one group commit, in the order sent, and answers them in order', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      const commitsBefore = hub.core.storage.flushCount;
      const patches = Array.from({ length: 8 }, (_, i) => i + 1);
      sendBurst(client, [
        ...patches.map((i): [string, string] => [
          PATCH(`p${String(i)}`),
          JSON.stringify({ last: i, [`k${String(i)}`]: i }),
        ]),
        [GET('g'), ' '],
      ]);
      for (const i of patches)
        expect((await log.next(RES)).topic).toBe(
          `$iothub/twin/res/204/?$rid=p${String(i)}&$version=${String(i + 1)}`,
        );
      // The GET behind the patches waited for their commit.
      const twin = JSON.parse((await log.next(RES)).payload) as { reported: unknown };
      expect(twin.reported).toMatchObject({ last: 8, k1: 1, k8: 8, $version: 9 });
      // Each patch was staged on the one before; one transaction wrote them all.
      expect(hub.core.storage.flushCount - commitsBefore).toBe(1);
    });

    it('fails every patch of a burst whose group commit failed, and the GET behind them sees none', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      hub.core.storage.failNextCommits(
        Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
      );
      sendBurst(client, [
        [PATCH('p1'), JSON.stringify({ a: 1 })],
        [PATCH('p2'), JSON.stringify({ b: 2 })],
        [GET('g'), ' '],
      ]);
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/503/?$rid=p1');
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/503/?$rid=p2');
      const twin = JSON.parse((await log.next(RES)).payload) as { reported: unknown };
      expect(twin.reported).toEqual({ $version: 1 });
      // The connection works on: the next patch gets the version the failed ones never took.
      await client.publishAsync(PATCH('p3'), JSON.stringify({ c: 3 }));
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=p3&$version=2');
    });

    it('checks the optional base $version of a reported PATCH and answers 412 with errorCode 412001', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await client.publishAsync(PATCH('ok', 1), JSON.stringify({ a: 1 }));
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=ok&$version=2');
      await client.publishAsync(PATCH('stale', 1), JSON.stringify({ a: 2 }));
      const stale = await log.next(RES);
      expect(stale.topic).toBe('$iothub/twin/res/412/?$rid=stale');
      expect(JSON.parse(stale.payload)).toMatchObject({
        errorCode: 412001,
        message: expect.any(String),
      });
      expect((await hub.serviceTwin('dev-1')).properties).toMatchObject({
        reported: { a: 1, $version: 2 },
      });
    });

    it('answers 400 with errorCode 400004 for a patch that is not JSON or breaks the twin rules', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await client.publishAsync(PATCH('bad-json'), '{not json');
      const badJson = await log.next(RES);
      expect(badJson.topic).toBe('$iothub/twin/res/400/?$rid=bad-json');
      expect(JSON.parse(badJson.payload)).toMatchObject({ errorCode: 400004 });
      await client.publishAsync(PATCH('bad-key'), JSON.stringify({ 'a b': 1 }));
      const badKey = await log.next(RES);
      expect(badKey.topic).toBe('$iothub/twin/res/400/?$rid=bad-key');
      const body = JSON.parse(badKey.payload) as {
        errorCode: number;
        trackingId: string;
        timestampUtc: string;
      };
      expect(body.errorCode).toBe(400004);
      expect(body.trackingId).toMatch(/^[0-9a-f]{32}$/);
      expect(Number.isNaN(Date.parse(body.timestampUtc))).toBe(false);
    });

    it('acknowledges QoS 1 twin requests and grants subscriptions at QoS 1 at most', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      const granted = await client.subscribeAsync({
        '$iothub/twin/res/#': { qos: 2 },
        [`${DESIRED}#`]: { qos: 0 },
      });
      expect(granted.map((grant) => [grant.topic, grant.qos])).toEqual([
        ['$iothub/twin/res/#', 1],
        [`${DESIRED}#`, 0],
      ]);
      // MQTT.js resolves a QoS 1 publish only once the PUBACK arrived.
      await client.publishAsync(GET('q1'), '', { qos: 1 });
      expect(client.getLastMessageId()).toBeGreaterThan(0);
      const response = await log.next(RES);
      expect(response.topic).toBe('$iothub/twin/res/200/?$rid=q1');
    });

    it('pushes desired PATCH and PUT changes, with $version in topic and body, only to the subscribed twin', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const other = await hub.createDevice('dev-2');
      const { client } = await hub.connect(device);
      const { client: otherClient } = await hub.connect(other);
      const log = new MessageLog(client);
      const otherLog = new MessageLog(otherClient);
      await client.subscribeAsync(`${DESIRED}#`);
      await otherClient.subscribeAsync([`${DESIRED}#`, '$iothub/twin/res/#']);

      await hub.serviceRequest('PATCH', '/twins/dev-1', {
        properties: { desired: { rate: 5, mode: 'eco' } },
      });
      const first = await log.next(DESIRED);
      expect(first.topic).toBe('$iothub/twin/PATCH/properties/desired/?$version=2');
      expect(JSON.parse(first.payload)).toEqual({ rate: 5, mode: 'eco', $version: 2 });

      await hub.serviceRequest('PATCH', '/twins/dev-1', {
        properties: { desired: { mode: null } },
      });
      const deletion = await log.next(DESIRED);
      expect(JSON.parse(deletion.payload)).toEqual({ mode: null, $version: 3 });

      await hub.serviceRequest('PUT', '/twins/dev-1', { properties: { desired: { fresh: true } } });
      const replaced = await log.next(DESIRED);
      expect(replaced.topic).toBe('$iothub/twin/PATCH/properties/desired/?$version=4');
      expect(JSON.parse(replaced.payload)).toMatchObject({ fresh: true, $version: 4 });

      // A round trip on the other device proves nothing was queued for it before its own response.
      await otherClient.publishAsync(GET('barrier'), ' ');
      await otherLog.next(RES);
      expect(otherLog.pending).toEqual([]);
    });

    it('sends no desired notification to a device that did not subscribe to them', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { rate: 5 } } });
      await client.publishAsync(GET('barrier'), ' ');
      const response = await log.next(RES);
      expect(JSON.parse(response.payload)).toMatchObject({ desired: { rate: 5, $version: 2 } });
      expect(log.pending).toEqual([]);
    });

    it('sends no desired notification for a tags-only change', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync([`${DESIRED}#`, '$iothub/twin/res/#']);
      await hub.serviceRequest('PATCH', '/twins/dev-1', { tags: { city: 'Oslo' } });
      await client.publishAsync(GET('barrier'), ' ');
      await log.next(RES);
      expect(log.pending).toEqual([]);
    });
  });

  describe('topic isolation', () => {
    it("refuses subscriptions to another device's topics and to broad wildcards", async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createDevice('dev-2');
      const { client } = await hub.connect(device);
      const refusal = (await client
        .subscribeAsync(
          [
            'devices/dev-2/messages/devicebound/#',
            '#',
            '$iothub/#',
            'devices/dev-1/messages/devicebound/#',
          ],
          {
            qos: 1,
          },
        )
        .catch((error: unknown) => error)) as { packet?: { granted: number[] } };
      expect(refusal.packet?.granted).toEqual([128, 128, 128, 1]);
      expect(client.connected).toBe(true);
    });

    it("closes the connection of a device that publishes to another device's topic", async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createDevice('dev-2');
      const { client } = await hub.connect(device);
      const ended = closed(client);
      client.publish('devices/dev-2/messages/events/', 'spoof');
      await ended;
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
    });

    it('never delivers one twin response to another device subscribed to the same filter', async () => {
      await using hub = await startMqttTestHub();
      const a = await hub.createDevice('dev-a');
      const b = await hub.createDevice('dev-b');
      const { client: clientA } = await hub.connect(a);
      const { client: clientB } = await hub.connect(b);
      const logA = new MessageLog(clientA);
      const logB = new MessageLog(clientB);
      await clientA.subscribeAsync('$iothub/twin/res/#');
      await clientB.subscribeAsync('$iothub/twin/res/#');
      await clientA.publishAsync(PATCH('from-a'), JSON.stringify({ secret: 1 }));
      expect((await logA.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=from-a&$version=2');
      await clientB.publishAsync(GET('from-b'), ' ');
      const responseB = await logB.next(RES);
      expect(responseB.topic).toBe('$iothub/twin/res/200/?$rid=from-b');
      expect(JSON.parse(responseB.payload)).toEqual({
        desired: { $version: 1 },
        reported: { $version: 1 },
      });
      expect(logB.pending).toEqual([]);
    });
  });

  describe('sessions', () => {
    it('restores clean-session=0 subscriptions on reconnect, so desired notifications flow without SUBSCRIBE', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const first = await hub.connect(device);
      await first.client.subscribeAsync([`${DESIRED}#`, '$iothub/twin/res/#']);
      await first.client.endAsync();
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });

      const second = await hub.connect(device);
      expect(second.connack.sessionPresent).toBe(true);
      const log = new MessageLog(second.client);
      await hub.serviceRequest('PATCH', '/twins/dev-1', {
        properties: { desired: { after: 'reconnect' } },
      });
      expect(JSON.parse((await log.next(DESIRED)).payload)).toEqual({
        after: 'reconnect',
        $version: 2,
      });
      await second.client.publishAsync(GET('r'), ' ');
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/200/?$rid=r');
    });

    it('forgets the session of a clean-session=1 connection', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const first = await hub.connect(device);
      await first.client.subscribeAsync(`${DESIRED}#`);
      await first.client.endAsync();
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
      const second = await hub.connect(device, { clean: true });
      expect(second.connack.sessionPresent).toBe(false);
    });

    it('accepts telemetry, method responses and C2D/method subscriptions without disturbing twins', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      const granted = await client.subscribeAsync({
        '$iothub/methods/POST/#': { qos: 0 },
        'devices/dev-1/messages/devicebound/#': { qos: 1 },
        '$iothub/twin/res/#': { qos: 0 },
      });
      expect(granted.map((grant) => grant.qos)).toEqual([0, 1, 0]);
      await client.publishAsync(
        'devices/dev-1/messages/events/%24.ct=application%2Fjson&a=b',
        '{"t":1}',
        { qos: 1 },
      );
      await client.publishAsync('$iothub/methods/res/200/?$rid=1', '{}');
      await client.publishAsync(GET('after'), ' ');
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/200/?$rid=after');
      expect(client.connected).toBe(true);
    });
  });

  describe('WebSocket', () => {
    it('serves MQTT over WSS at /$iothub/websocket', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device, { transport: 'wss' });
      const log = new MessageLog(client);
      await client.subscribeAsync([`${DESIRED}#`, '$iothub/twin/res/#']);
      await client.publishAsync(PATCH('w'), JSON.stringify({ over: 'wss' }));
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=w&$version=2');
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { x: 1 } } });
      expect(JSON.parse((await log.next(DESIRED)).payload)).toEqual({ x: 1, $version: 2 });
      expect((await hub.serviceTwin('dev-1')).connectionState).toBe('Connected');
    });

    it('echoes the subprotocol spelling the client offered', async () => {
      await using hub = await startMqttTestHub();
      for (const offered of ['MQTT', 'mqtt']) {
        const socket = new WebSocket(
          `wss://127.0.0.1:${String(hub.httpsPort)}/$iothub/websocket`,
          [offered],
          {
            ca: hub.hub.caCertificate,
          },
        );
        const protocol = await new Promise<string>((resolve, reject) => {
          socket.once('open', () => {
            resolve(socket.protocol);
          });
          socket.once('error', reject);
        });
        expect(protocol).toBe(offered);
        socket.terminate();
      }
    });
  });
  describe('faults', () => {
    it('fails the next matching twin responses with the given status and a device error body', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      hub.endpoint.faults.failNextTwinResponses({
        deviceId: 'dev-1',
        operation: 'getTwin',
        statusCode: 429,
        times: 2,
      });
      hub.endpoint.faults.failNextTwinResponses({
        operation: 'updateReported',
        statusCode: 503,
        message: 'try later',
      });

      await client.publishAsync(GET('g1'), ' ');
      const first = await log.next(RES);
      expect(first.topic).toBe('$iothub/twin/res/429/?$rid=g1');
      expect(JSON.parse(first.payload)).toMatchObject({ errorCode: 429001 });
      await client.publishAsync(PATCH('p1'), JSON.stringify({ a: 1 }));
      const patch = await log.next(RES);
      expect(patch.topic).toBe('$iothub/twin/res/503/?$rid=p1');
      expect(JSON.parse(patch.payload)).toMatchObject({ errorCode: 503001, message: 'try later' });
      await client.publishAsync(GET('g2'), ' ');
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/429/?$rid=g2');
      await client.publishAsync(GET('g3'), ' ');
      const recovered = await log.next(RES);
      expect(recovered.topic).toBe('$iothub/twin/res/200/?$rid=g3');
      // The failed PATCH was not applied.
      expect(JSON.parse(recovered.payload)).toEqual({
        desired: { $version: 1 },
        reported: { $version: 1 },
      });
    });

    it('honours hub-wide faults armed with hub.faults for the device twin operations', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      hub.hub.faults.failNext({ operation: 'deviceUpdateReported', statusCode: 500 });
      await client.publishAsync(PATCH('p'), JSON.stringify({ a: 1 }));
      const failed = await log.next(RES);
      expect(failed.topic).toBe('$iothub/twin/res/500/?$rid=p');
      expect(JSON.parse(failed.payload)).toMatchObject({ errorCode: 500001 });
      await client.publishAsync(PATCH('p2'), JSON.stringify({ a: 1 }));
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=p2&$version=2');
    });

    it('holds delayed twin responses back while later ones go out', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#');
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      hub.endpoint.faults.delayNextTwinResponses({ operation: 'updateReported', delayInMs: 5000 });
      await client.publishAsync(PATCH('slow'), JSON.stringify({ a: 1 }));
      await client.publishAsync(GET('fast'), ' ');
      const fast = await log.next(RES);
      expect(fast.topic).toBe('$iothub/twin/res/200/?$rid=fast');
      // The delayed operation was performed; only its response waits.
      expect(JSON.parse(fast.payload)).toMatchObject({ reported: { a: 1, $version: 2 } });
      expect(log.pending).toEqual([]);
      await vi.advanceTimersByTimeAsync(5000);
      expect((await log.next(RES)).topic).toBe('$iothub/twin/res/204/?$rid=slow&$version=2');
    });

    it('duplicates and reorders desired notifications on request', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync(`${DESIRED}#`);
      const versions = async (count: number) => {
        const seen: number[] = [];
        for (let index = 0; index < count; index++) {
          seen.push(
            (JSON.parse((await log.next(DESIRED)).payload) as { $version: number }).$version,
          );
        }
        return seen;
      };

      hub.endpoint.faults.duplicateNextDesired({ deviceId: 'dev-1' });
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { a: 1 } } });
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { a: 2 } } });
      expect(await versions(3)).toEqual([2, 2, 3]);

      hub.endpoint.faults.reorderNextDesired();
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { a: 3 } } });
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { a: 4 } } });
      expect(await versions(2)).toEqual([5, 4]);

      hub.endpoint.faults.reorderNextDesired();
      await hub.serviceRequest('PATCH', '/twins/dev-1', { properties: { desired: { a: 5 } } });
      hub.endpoint.faults.clear();
      expect(await versions(1)).toEqual([6]);
    });

    it('drops a connection and keeps its clean-session=0 session', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      await client.subscribeAsync(`${DESIRED}#`);
      const ended = closed(client);
      expect(hub.endpoint.faults.dropConnection(device)).toBe(true);
      await ended;
      await vi.waitFor(() => {
        expect(hub.endpoint.isConnected(device)).toBe(false);
      });
      expect((await hub.serviceTwin('dev-1')).connectionState).toBe('Disconnected');
      expect(hub.endpoint.faults.dropConnection(device)).toBe(false);

      const again = await hub.connect(device);
      expect(again.connack.sessionPresent).toBe(true);
    });

    it('expires a token early: the connection closes and that token is refused afterwards', async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      const expiry = Math.floor(Date.now() / 1000) + 3600;
      const token = await hub.deviceToken(device, expiry);
      const { client } = await hub.connect(device, { password: token });
      const ended = closed(client);
      expect(hub.endpoint.faults.expireToken(device)).toBe(true);
      await ended;
      await expect(hub.connect(device, { password: token })).rejects.toMatchObject({ code: 5 });
      const renewed = await hub.connect(device, { expiresOnInSeconds: expiry + 1 });
      expect(renewed.connack.returnCode).toBe(0);
    });

    it('rejects fault options that cannot be honoured', async () => {
      await using hub = await startMqttTestHub();
      expect(() => {
        hub.endpoint.faults.failNextTwinResponses({ statusCode: 200 });
      }).toThrow(RangeError);
      expect(() => {
        hub.endpoint.faults.delayNextTwinResponses({ delayInMs: -1 });
      }).toThrow(RangeError);
      expect(() => {
        hub.endpoint.faults.duplicateNextDesired({ times: 0 });
      }).toThrow(RangeError);
    });
  });
});
