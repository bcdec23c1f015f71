/**
 * The explorer over real HTTPS sockets: its page and API on loopback, the DNS-rebinding and
 * cross-site refusals, token mode, the live stream and the timeline. The browser side is tested
 * with Chromium in test/e2e/explorer.test.ts.
 */
import { request } from 'node:https';
import { createSasToken } from '@twinkit/twin-model/protocol';
import { connectAsync } from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { createHub, listen } from '../src/index.js';
import { startTestHub } from '../src/testing.js';
import { isLoopbackAddress } from '../src/explorer/explorer-access.js';
import { hubInternals } from '../src/hub.js';
import { call } from './helpers.js';
import { httpsCall, type HttpsResult } from './https-client.js';

const WRITE = { 'x-twinkit-explorer': '1', 'content-type': 'application/json' };

async function explorerHub() {
  const testHub = await startTestHub();
  const base = testHub.server?.urls.explorer ?? '';
  const ca = testHub.caCertificate;
  const send = (
    path: string,
    options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<HttpsResult> =>
    httpsCall(`${base}${path}`, {
      ca,
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  return { testHub, base, send, [Symbol.asyncDispose]: () => testHub.close() };
}

/** Opens the live stream and collects its events until `until` returns true. */
function readEvents(
  url: string,
  ca: string,
  until: (events: { event: string; data: any }[]) => boolean,
): Promise<{ event: string; data: any }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: any }[] = [];
    let buffer = '';
    const req = request(url, { ca, servername: 'localhost' }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`events answered ${String(response.statusCode)}`));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined)
            events.push({ event, data: JSON.parse(data) });
        }
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('explorer', () => {
  it('serves its page, styles and scripts from the package, with nothing from elsewhere', async () => {
    await using hub = await explorerHub();
    expect(hub.base).toBe(`${hub.testHub.server?.urls.https ?? ''}/explorer`);
    const page = await hub.send('');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(assets).toEqual(['/explorer/explorer.css', '/explorer/explorer.js']);
    const script = await hub.send('/explorer.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // Each module the page loads is served too, and none reaches another origin.
    for (const name of ['explorer.js', 'twin-panel.js', 'http.js']) {
      const file = await hub.send(`/${name}`);
      expect(file.status, name).toBe(200);
      expect(file.text, name).not.toMatch(/https?:\/\//);
    }
    expect((await hub.send('/nothing.js')).status).toBe(404);
  });

  it('refuses a Host that is not a loopback name (DNS rebinding) and a peer off loopback', async () => {
    await using hub = await explorerHub();
    const rebound = await hub.send('/api/devices', { headers: { host: 'evil.example:8443' } });
    expect(rebound.status).toBe(403);
    expect(rebound.text).toContain('only on loopback');
    for (const host of ['localhost:1', '127.0.0.1:1', '[::1]:1'])
      expect((await hub.send('/api/devices', { headers: { host } })).status, host).toBe(200);
    // The peer check, on the addresses a socket reports.
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('192.168.1.20')).toBe(false);
    expect(isLoopbackAddress('::ffff:10.0.0.1')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });

  it('refuses writes without its header or from another origin (CSRF)', async () => {
    await using hub = await explorerHub();
    const bare = await hub.send('/api/devices', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: { deviceId: 'csrf-1' },
    });
    expect(bare.status).toBe(403);
    const foreign = await hub.send('/api/devices', {
      method: 'POST',
      headers: { ...WRITE, origin: 'https://evil.example' },
      body: { deviceId: 'csrf-1' },
    });
    expect(foreign.status).toBe(403);
    expect(hub.testHub.hub.fetch).toBeDefined();
    const list = (await hub.send('/api/devices')).json() as { identities: unknown[] };
    expect(list.identities).toEqual([]);
  });

  it("refuses reads another site asked for, and never passes on the REST API's CORS headers", async () => {
    await using testHub = await startTestHub({ corsOrigins: ['*'] });
    await testHub.createDevice('cors-1');
    const base = testHub.server?.urls.explorer ?? '';
    const ca = testHub.caCertificate;
    const twin = `${base}/api/twin?deviceId=cors-1`;
    const crossSite = await httpsCall(twin, { ca, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const foreign = await httpsCall(twin, { ca, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    const own = await httpsCall(twin, { ca, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    expect(Object.keys(own.headers).filter((name) => name.startsWith('access-control-'))).toEqual(
      [],
    );
  });

  it('creates, lists and deletes devices, and gives their connection strings', async () => {
    await using hub = await explorerHub();
    const created = await hub.send('/api/devices', {
      method: 'POST',
      headers: WRITE,
      body: { deviceId: 'ex-1' },
    });
    expect(created.status).toBe(201);
    const strings = created.json().connectionStrings as Record<string, string>;
    expect(strings.mqtt).toContain(`localhost:${String(hub.testHub.mqttPort)};DeviceId=ex-1;`);
    const moduleCreated = await hub.send('/api/devices', {
      method: 'POST',
      headers: WRITE,
      body: { deviceId: 'ex-1', moduleId: 'm1' },
    });
    expect(moduleCreated.status).toBe(201);
    const again = await hub.send('/api/connection-strings?deviceId=ex-1');
    expect(again.json().connectionStrings).toEqual(strings);
    const list = (await hub.send('/api/devices')).json() as {
      identities: { deviceId: string; moduleId: string | null; connectionState: string }[];
    };
    expect(list.identities.map((i) => [i.deviceId, i.moduleId, i.connectionState])).toEqual([
      ['ex-1', null, 'Disconnected'],
      ['ex-1', 'm1', 'Disconnected'],
    ]);
    expect(
      (await hub.send('/api/devices?deviceId=ex-1', { method: 'DELETE', headers: WRITE })).status,
    ).toBe(204);
    expect((await hub.send('/api/devices')).json().identities).toEqual([]);
    const missing = await hub.send('/api/twin?deviceId=ex-1');
    expect(missing.status).toBe(404);
    const invalid = await hub.send('/api/devices', { method: 'POST', headers: WRITE, body: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.json().message).toContain('deviceId');
  });

  it('writes twins with the ETag it read: a stale one meets 412', async () => {
    await using hub = await explorerHub();
    await hub.testHub.createDevice('etag-1');
    const read = await hub.send('/api/twin?deviceId=etag-1');
    expect(read.status).toBe(200);
    const etag = read.headers.etag as string;
    const patch = { properties: { desired: { mode: 'eco' } } };
    const first = await hub.send('/api/twin?deviceId=etag-1', {
      method: 'PATCH',
      headers: { ...WRITE, 'if-match': etag },
      body: patch,
    });
    expect(first.status).toBe(200);
    expect(first.json().properties.desired).toMatchObject({ mode: 'eco', $version: 2 });
    const stale = await hub.send('/api/twin?deviceId=etag-1', {
      method: 'PATCH',
      headers: { ...WRITE, 'if-match': etag },
      body: { tags: { late: true } },
    });
    expect(stale.status).toBe(412);
    expect(stale.json().Message).toContain('PreconditionFailed');
  });

  it('keeps a timeline per twin and streams each change as it commits', async () => {
    await using hub = await explorerHub();
    await hub.testHub.createDevice('live-1');
    let written: Promise<{ body: { version: number } }> | undefined;
    // The write goes out once the stream said hello, so the stream is subscribed before it.
    const events = await readEvents(`${hub.base}/api/events`, hub.testHub.caCertificate, (seen) => {
      if (seen.length === 1 && seen[0]?.event === 'hello') {
        written = call(hub.testHub.hub, 'PATCH', '/twins/live-1', { body: { tags: { floor: 3 } } });
      }
      return seen.some((e) => e.event === 'twin');
    });
    const version = (await written)?.body.version;
    expect(version).toBeGreaterThan(1);
    const twinEvent = events.find((e) => e.event === 'twin');
    expect(twinEvent?.data).toMatchObject({
      deviceId: 'live-1',
      entry: { who: 'service', operation: 'update', patch: { tags: { floor: 3 } }, version },
    });
    const timeline = (await hub.send('/api/timeline?deviceId=live-1')).json() as {
      entries: { who: string; version: number }[];
    };
    expect(timeline.entries.map((e) => [e.who, e.version])).toEqual([['service', version]]);
  });

  it('pages query results with the continuation token', async () => {
    await using hub = await explorerHub();
    for (const id of ['q-1', 'q-2', 'q-3']) await hub.testHub.createDevice(id);
    const query = (continuationToken?: string) =>
      hub.send('/api/query', {
        method: 'POST',
        headers: WRITE,
        body: { query: 'SELECT * FROM devices', pageSize: 2, continuationToken },
      });
    const first = (await query()).json() as {
      items: { deviceId: string }[];
      continuationToken: string;
    };
    expect(first.items.map((item) => item.deviceId)).toEqual(['q-1', 'q-2']);
    expect(first.continuationToken).toEqual(expect.any(String));
    const second = (await query(first.continuationToken)).json() as {
      items: { deviceId: string }[];
      continuationToken: string | null;
    };
    expect(second.items.map((item) => item.deviceId)).toEqual(['q-3']);
    expect(second.continuationToken).toBeNull();
    const bad = await hub.send('/api/query', {
      method: 'POST',
      headers: WRITE,
      body: { query: 'SELECT FROM' },
    });
    expect(bad.status).toBe(400);
  });

  it('arms and clears device faults, and says when there is no connection to drop', async () => {
    await using hub = await explorerHub();
    await hub.testHub.createDevice('f-1');
    const fault = (body: unknown) =>
      hub.send('/api/faults', { method: 'POST', headers: WRITE, body });
    expect((await fault({ deviceId: 'f-1', fault: 'drop' })).json()).toEqual({ dropped: false });
    expect((await fault({ deviceId: 'f-1', fault: 'throttle', times: 2 })).status).toBe(200);
    expect((await fault({ deviceId: 'f-1', fault: 'delay', delayInMs: 500 })).status).toBe(200);
    expect((await fault({ deviceId: 'f-1', fault: 'delay', delayInMs: -1 })).status).toBe(400);
    expect((await fault({ deviceId: 'f-1', fault: 'explode' })).status).toBe(400);
    const cleared = await hub.send('/api/faults/clear', { method: 'POST', headers: WRITE });
    expect(cleared.json()).toEqual({ cleared: true });
  });

  it('arms twin faults only on the endpoint the device is connected on', async () => {
    await using hub = await explorerHub();
    const { primaryKey } = await hub.testHub.createDevice('f-2');
    const fault = async (body: unknown) =>
      (await hub.send('/api/faults', { method: 'POST', headers: WRITE, body })).json();
    // Connected nowhere: both endpoints, for whichever the device uses next.
    expect(await fault({ deviceId: 'f-2', fault: 'throttle' })).toEqual({
      armed: true,
      on: ['mqtt', 'amqp'],
    });
    hub.testHub.hub.faults.clear();
    const password = await createSasToken({
      resourceUri: 'localhost/devices/f-2',
      key: primaryKey,
      expiresOnInSeconds: Math.floor(Date.now() / 1000) + 600,
    });
    const client = await connectAsync(`mqtts://127.0.0.1:${String(hub.testHub.mqttPort)}`, {
      clientId: 'f-2',
      username: 'localhost/f-2/?api-version=2021-04-12',
      password,
      ca: hub.testHub.caCertificate,
      servername: 'localhost',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    try {
      await vi.waitFor(() => {
        expect(hubInternals(hub.testHub.hub).mqtt.isConnected({ deviceId: 'f-2' })).toBe(true);
      });
      expect(await fault({ deviceId: 'f-2', fault: 'delay', delayInMs: 10 })).toEqual({
        armed: true,
        on: ['mqtt'],
      });
    } finally {
      await client.endAsync();
    }
  });

  it('with a token, lets any host in that presents it (login cookie or bearer)', async () => {
    await using hubObject = await createHub();
    const token = 'a-long-explorer-token-of-40-characters!!';
    await using server = await listen(hubObject, { explorer: { token } });
    const ca = hubObject.caCertificate;
    const url = `${server.urls.explorer ?? ''}/api/devices`;
    const remote = { host: 'hub.example:8443' };
    expect((await httpsCall(url, { ca, headers: remote })).status).toBe(401);
    const loginPage = await httpsCall(server.urls.explorer ?? '', { ca, headers: remote });
    expect(loginPage.status).toBe(401);
    expect(loginPage.text).toContain('name="token"');
    const login = (value: string) =>
      httpsCall(`${server.urls.explorer ?? ''}/login`, {
        ca,
        method: 'POST',
        headers: { ...remote, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: value }).toString(),
      });
    expect((await login('wrong')).status).toBe(401);
    const signedIn = await login(token);
    expect(signedIn.status).toBe(303);
    const cookie = String(signedIn.headers['set-cookie']).split(';')[0] ?? '';
    expect(String(signedIn.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict; Secure/);
    expect(cookie).not.toContain(token);
    expect((await httpsCall(url, { ca, headers: { ...remote, cookie } })).status).toBe(200);
    const bearer = { ...remote, authorization: `Bearer ${token}` };
    expect((await httpsCall(url, { ca, headers: bearer })).status).toBe(200);
    await expect(listen(hubObject, { explorer: { token: 'short' } })).rejects.toThrow(/32/);
  });

  it('is not served when turned off, and hub.fetch never serves it', async () => {
    await using hubObject = await createHub();
    await using server = await listen(hubObject, { explorer: { enabled: false } });
    expect(server.urls.explorer).toBeUndefined();
    const response = await httpsCall(`${server.urls.https}/explorer`, {
      ca: hubObject.caCertificate,
    });
    expect(response.status).toBe(404);
    expect((await hubObject.fetch('https://localhost/explorer')).status).toBe(404);
  });

  it('keeps no twin timeline when it is turned off', async () => {
    await using hubObject = await createHub();
    const { timeline } = hubInternals(hubObject);
    await hubObject.createDevice('before');
    await using _server = await listen(hubObject, { explorer: { enabled: false } });
    expect(timeline.recording).toBe(false);
    await hubObject.createDevice('after');
    expect(
      (await call(hubObject, 'PATCH', '/twins/after', { body: { tags: { site: 'a' } } })).status,
    ).toBe(200);
    expect(timeline.size).toBe(0);
    expect(timeline.entries('after')).toEqual([]);
  });
});
