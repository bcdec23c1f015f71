import { describe, expect, it } from 'vitest';
import {
  closedAfter,
  openTls,
  openWebSocket,
  writeUntilClosed,
} from '../device-endpoint/raw-peer.js';
import { closed, MessageLog, startMqttTestHub } from './mqtt-test-hub.js';

/** A CONNECT fixed header announcing the largest remaining length MQTT allows (256 MB). */
const CONNECT_OF_256_MB = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]);

describe('MQTT endpoint security', () => {
  describe('reach of each credential', () => {
    it('refuses a device token for another device whose id differs only in case', async () => {
      await using hub = await startMqttTestHub();
      const mallory = await hub.createDevice('mallory');
      await hub.createDevice('MALLORY');
      await expect(
        hub.connect(
          { deviceId: 'MALLORY', key: mallory.key },
          { password: await hub.deviceToken(mallory) },
        ),
      ).rejects.toMatchObject({ code: 5 });
    });

    it("refuses a device token for one of the device's modules", async () => {
      await using hub = await startMqttTestHub();
      const device = await hub.createDevice('dev-1');
      await hub.createModule('dev-1', 'm1');
      await expect(
        hub.connect(
          { deviceId: 'dev-1', moduleId: 'm1', key: device.key },
          { password: await hub.deviceToken(device) },
        ),
      ).rejects.toMatchObject({ code: 5 });
    });
  });

  describe('bounded before trusted', () => {
    it('closes a connection announcing a 256 MB packet before CONNECT, without reading it', async () => {
      await using hub = await startMqttTestHub();
      const socket = await openTls(hub.mqttPort, hub.hub.caCertificate);
      const closing = closedAfter(socket);
      const written = await writeUntilClosed(socket, CONNECT_OF_256_MB, 64 * 1024 * 1024);
      expect(await closing).toBeLessThan(5_000);
      // The hub closed on the header: far less than the announced 256 MB went out.
      expect(written).toBeLessThan(8 * 1024 * 1024);
    });

    it('closes a connection whose first packet is not CONNECT', async () => {
      await using hub = await startMqttTestHub();
      const socket = await openTls(hub.mqttPort, hub.hub.caCertificate);
      const closing = closedAfter(socket);
      socket.write(Buffer.from([0x30, 0x03, 0x00, 0x01, 0x61])); // PUBLISH to "a"
      expect(await closing).toBeLessThan(5_000);
    });

    it("closes an authenticated connection that sends a packet over IoT Hub's message limit", async () => {
      await using hub = await startMqttTestHub({}, { limits: { mqttMaxPacketBytes: 64 * 1024 } });
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const gone = closed(client);
      client.publish('devices/dev-1/messages/events/', Buffer.alloc(100 * 1024, 0x61), { qos: 0 });
      await gone;
      expect(hub.endpoint.isConnected(device)).toBe(false);
    });

    it('closes a TLS connection that sends no CONNECT within the deadline', async () => {
      await using hub = await startMqttTestHub({}, { limits: { authTimeoutInMs: 300 } });
      const socket = await openTls(hub.mqttPort, hub.hub.caCertificate);
      const lived = await closedAfter(socket);
      expect(lived).toBeGreaterThanOrEqual(250);
      expect(lived).toBeLessThan(5_000);
    });

    it('closes a WebSocket that sends no CONNECT within the deadline', async () => {
      await using hub = await startMqttTestHub({}, { limits: { authTimeoutInMs: 300 } });
      const webSocket = await openWebSocket(hub.httpsPort, 'mqtt', hub.hub.caCertificate);
      const lived = await closedAfter(webSocket);
      expect(lived).toBeGreaterThanOrEqual(250);
      expect(lived).toBeLessThan(5_000);
    });
  });

  describe('in-flight twin requests', () => {
    it('answers 429 past the in-flight cap of a connection, and the rest normally', async () => {
      await using hub = await startMqttTestHub({}, { limits: { maxInFlightTwinRequests: 2 } });
      const device = await hub.createDevice('dev-1');
      const { client } = await hub.connect(device);
      const log = new MessageLog(client);
      await client.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
      // Each GET waits 300 ms inside the hub, so the first two are still in flight.
      hub.hub.faults.delayNext({ operation: 'deviceGetTwin', delayInMs: 300, times: 2 });
      for (let rid = 1; rid <= 4; rid += 1)
        client.publish(`$iothub/twin/GET/?$rid=${String(rid)}`, '');
      const statusOf = new Map<string, string>();
      for (let count = 0; count < 4; count += 1) {
        const { topic, payload } = await log.next('$iothub/twin/res/');
        const [, status, rid] = /^\$iothub\/twin\/res\/(\d{3})\/\?\$rid=(\d+)/.exec(topic) ?? [];
        statusOf.set(String(rid), String(status));
        if (status === '429') expect(JSON.parse(payload)).toMatchObject({ errorCode: 429001 });
      }
      expect(Object.fromEntries(statusOf)).toEqual({
        '1': '200',
        '2': '200',
        '3': '429',
        '4': '429',
      });
    });
  });
});
