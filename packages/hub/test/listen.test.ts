import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, isLoopback, listen } from '../src/index.js';
import { startTestHub } from '../src/testing.js';
import { serviceToken } from './helpers.js';
import { httpsCall } from './https-client.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-hub-test-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('listen', () => {
  it('serves the REST API over HTTPS with a certificate the development CA signed', async () => {
    await using hub = await createHub();
    await using server = await listen(hub, { host: '127.0.0.1', httpsPort: 0 });
    expect(server.ports.https).toBeGreaterThan(0);
    expect(server.urls.https).toBe(`https://127.0.0.1:${String(server.ports.https)}`);
    await hub.createDevice('dev1');
    const authorization = await serviceToken(hub);
    const response = await httpsCall(`${server.urls.https}/twins/dev1?api-version=2021-04-12`, {
      ca: hub.caCertificate,
      headers: { authorization },
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json().etag).toBe('AAAAAAAAAAE=');
    const byIp = await httpsCall(`${server.urls.https}/health`, {
      ca: hub.caCertificate,
      servername: '',
    });
    expect(byIp.status).toBe(200);
  });

  it('is refused by clients that do not trust the development CA', async () => {
    await using hub = await createHub();
    await using server = await listen(hub);
    const other = await createHub();
    await expect(
      httpsCall(`${server.urls.https}/health`, { ca: other.caCertificate }),
    ).rejects.toThrow();
    await other.close();
  });

  it('keeps connections alive across requests', async () => {
    const { Agent } = await import('node:https');
    await using hub = await createHub();
    await using server = await listen(hub);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i += 1) {
      const response = await httpsCall(`${server.urls.https}/health`, {
        ca: hub.caCertificate,
        agent,
      });
      expect(response.status).toBe(200);
      for (const list of Object.values(agent.freeSockets))
        for (const socket of list ?? []) sockets.add(socket);
    }
    expect(sockets.size).toBe(1);
    agent.destroy();
  });

  it('puts localhost, 127.0.0.1, ::1 and the hub host name on the server certificate', async () => {
    const dataDir = tempDir();
    await using hub = await createHub({ dataDir, hostName: 'hub.example.test' });
    const server = new X509Certificate(readFileSync(join(dataDir, 'server.pem')));
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('hub.example.test')).toBe('hub.example.test');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.verify(new X509Certificate(hub.caCertificate).publicKey)).toBe(true);
    expect(hub.caFile).toBe(join(dataDir, 'ca.pem'));
    expect(readFileSync(join(dataDir, 'ca.pem'), 'utf8')).toBe(hub.caCertificate);
  });

  it('keeps the CA across restarts and reissues the server certificate for a new host name', async () => {
    const dataDir = tempDir();
    const first = await createHub({ dataDir });
    const ca = first.caCertificate;
    const serverPem = readFileSync(join(dataDir, 'server.pem'), 'utf8');
    await first.close();
    const second = await createHub({ dataDir });
    expect(second.caCertificate).toBe(ca);
    expect(readFileSync(join(dataDir, 'server.pem'), 'utf8')).toBe(serverPem);
    await second.close();
    const renamed = await createHub({ dataDir, hostName: 'other.test' });
    expect(renamed.caCertificate).toBe(ca);
    const reissued = new X509Certificate(readFileSync(join(dataDir, 'server.pem')));
    expect(reissued.checkHost('other.test')).toBe('other.test');
    await renamed.close();
  });

  it('serves plain HTTP only on loopback and only when asked', async () => {
    await using hub = await createHub();
    await expect(listen(hub, { host: '0.0.0.0', plainHttp: true })).rejects.toThrow(RangeError);
    await using server = await listen(hub, { plainHttp: true });
    expect(server.urls.https).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.urls.https}/health`);
    expect(response.status).toBe(200);
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });

  it('reports a busy port clearly', async () => {
    await using hub = await createHub();
    await using server = await listen(hub);
    await expect(listen(hub, { httpsPort: server.ports.https })).rejects.toThrow(/already in use/);
  });

  it('accepts MQTT and AMQP ports and reports protocols the hub does not serve', async () => {
    await using hub = await createHub();
    await using server = await listen(hub, { mqttPort: 0, amqpPort: 0 });
    const served = new Set(Object.keys(server.ports));
    for (const entry of server.notServed) expect(served.has(entry.protocol)).toBe(false);
    expect(server.notServed.length + (served.size - 1)).toBe(2);
  });

  it('answers WebSocket upgrades it has no endpoint for with 404', async () => {
    await using hub = await createHub();
    await using server = await listen(hub);
    const { connect } = await import('node:tls');
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port: server.ports.https,
          ca: hub.caCertificate,
          servername: 'localhost',
        },
        () => {
          socket.write(
            'GET /other HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: nothing\r\n\r\n',
          );
        },
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 404/);
  });
});

describe('startTestHub', () => {
  it('listens on 127.0.0.1 and hands out connection strings with the port', async () => {
    await using testHub = await startTestHub();
    expect(testHub.httpsPort).toBeGreaterThan(0);
    expect(testHub.serviceConnectionString).toMatch(
      new RegExp(
        `^HostName=localhost:${String(testHub.httpsPort)};SharedAccessKeyName=iothubowner;SharedAccessKey=`,
      ),
    );
    const device = await testHub.createDevice('dev1');
    expect(device.connectionString).toMatch(
      /^HostName=localhost:\d+;DeviceId=dev1;SharedAccessKey=/,
    );
    const authorization = await serviceToken(testHub);
    const response = await httpsCall(
      `https://127.0.0.1:${String(testHub.httpsPort)}/twins/dev1?api-version=2021-04-12`,
      {
        ca: testHub.caCertificate,
        headers: { authorization },
      },
    );
    expect(response.status).toBe(200);
  });

  it('gives a socket-free hub with listen: false', async () => {
    await using testHub = await startTestHub({ listen: false });
    expect(testHub.server).toBeUndefined();
    expect(testHub.serviceConnectionString).toMatch(/^HostName=localhost;/);
    const response = await testHub.fetch(new Request('https://localhost/health'));
    expect(response.status).toBe(200);
  });
});

describe('connection strings of a served hub', () => {
  it('name the port of each endpoint the hub listens on, and drop them when it stops', async () => {
    await using hub = await createHub();
    const server = await listen(hub, { httpsPort: 0, mqttPort: 0, amqpPort: 0 });
    const { https, mqtt, amqp } = server.ports;
    const served = await hub.createDevice('dev-1');
    expect(served.connectionString).toContain(`HostName=localhost:${String(mqtt)};`);
    expect(served.connectionStrings).toEqual({
      mqtt: served.connectionString,
      amqp: expect.stringContaining(`HostName=localhost:${String(amqp)};DeviceId=dev-1;`),
      webSocket: expect.stringContaining(`HostName=localhost:${String(https)};DeviceId=dev-1;`),
    });
    expect(hub.serviceConnectionString).toContain(`HostName=localhost:${String(https)};`);
    await server.close();
    const unserved = await hub.createDevice('dev-2');
    expect(unserved.connectionString).toMatch(/^HostName=localhost;DeviceId=dev-2;/);
    expect(hub.serviceConnectionString).toMatch(/^HostName=localhost;/);
  });
});
