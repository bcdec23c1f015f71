/**
 * Bounded before trusted: the REST API authenticates from headers before it reads a body, reads
 * bodies only up to the operation's cap (413 beyond), and the HTTPS server cuts off peers that
 * trickle their headers.
 */
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createHub, listen, type Hub } from '../src/index.js';
import { REST_BODY_LIMITS } from '../src/rest/read-json.js';
import { startTestHub } from '../src/testing.js';
import { serviceToken } from './helpers.js';

/** A request body that counts the bytes the hub pulled from it. */
function countedBody(totalBytes: number, chunkBytes = 64 * 1024) {
  const counter = { pulled: 0 };
  const chunk = new Uint8Array(chunkBytes).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= totalBytes) {
        controller.close();
        return;
      }
      counter.pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, counter };
}

async function post(
  hub: Hub,
  path: string,
  body: ReadableStream<Uint8Array>,
  headers: Record<string, string>,
): Promise<Response> {
  return hub.fetch(`https://localhost${path}?api-version=2021-04-12`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    duplex: 'half',
  });
}

describe('REST body limits', () => {
  it('refuses an unauthenticated bulk POST without reading its body', async () => {
    await using hub = await createHub();
    const { stream, counter } = countedBody(60 * 1024 * 1024);
    const response = await post(hub, '/devices', stream, {});
    expect(response.status).toBe(401);
    expect(response.headers.get('connection')).toBe('close');
    expect(counter.pulled).toBeLessThanOrEqual(64 * 1024);
  });

  it('refuses a body without reading it for a policy that may not write at all', async () => {
    await using hub = await createHub();
    const { stream, counter } = countedBody(8 * 1024 * 1024);
    const token = await serviceToken(hub, {
      keyName: 'registryRead',
      key: 'RdJia9VSAryEO1eGD240I1SzlQ0QLb6HmBftjHh7H3g=',
    });
    const response = await post(hub, '/devices', stream, { authorization: token });
    expect(response.status).toBe(401);
    expect(counter.pulled).toBeLessThanOrEqual(64 * 1024);
  });

  it('answers 413 to a declared Content-Length over the cap without reading', async () => {
    await using hub = await createHub();
    const { stream, counter } = countedBody(REST_BODY_LIMITS.query + 1);
    const response = await post(hub, '/devices/query', stream, {
      authorization: await serviceToken(hub),
      'content-length': String(REST_BODY_LIMITS.query + 1),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('iothub-errorcode')).toBe('MessageTooLarge');
    expect(counter.pulled).toBeLessThanOrEqual(64 * 1024);
  });

  it('stops reading a streamed body once it passes the cap', async () => {
    await using hub = await createHub();
    const { stream, counter } = countedBody(50 * 1024 * 1024);
    const response = await post(hub, '/devices', stream, {
      authorization: await serviceToken(hub),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      Message: expect.stringContaining(String(REST_BODY_LIMITS.bulk)) as unknown,
    });
    expect(counter.pulled).toBeLessThanOrEqual(REST_BODY_LIMITS.bulk + 2 * 64 * 1024);
  });

  it('accepts bodies up to IoT Hub-sized content', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev1');
    // 32 KB of desired properties (the section limit), as JSON.
    const desired: Record<string, string> = {};
    for (let i = 0; i < 8; i += 1) desired[`p${String(i)}`] = 'x'.repeat(4000);
    const response = await hub.fetch('https://localhost/twins/dev1?api-version=2021-04-12', {
      method: 'PATCH',
      headers: { authorization: await serviceToken(hub), 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { desired } }),
    });
    expect(response.status).toBe(200);
  });
});

describe('request bodies over HTTPS', () => {
  /**
   * Streams `chunks` (no Content-Length) and reads the answer; with `end: false` the request
   * body never ends, so only a server that answers before the end can answer at all.
   */
  function post(
    testHub: { httpsPort?: number | undefined; caCertificate: string },
    authorization: string,
    target: { method: string; path: string },
    chunks: readonly Buffer[],
    end: boolean,
  ): Promise<{ status: number; connection: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        {
          host: '127.0.0.1',
          port: testHub.httpsPort,
          path: `${target.path}?api-version=2021-04-12`,
          method: target.method,
          ca: testHub.caCertificate,
          servername: 'localhost',
          headers: { authorization, 'content-type': 'application/json' },
        },
        (response) => {
          const received: Buffer[] = [];
          response.on('data', (chunk: Buffer) => received.push(chunk));
          response.on('end', () => {
            resolve({
              status: response.statusCode ?? 0,
              connection: response.headers.connection,
              body: Buffer.concat(received).toString('utf8'),
            });
            outgoing.destroy();
          });
        },
      );
      outgoing.on('error', reject);
      for (const chunk of chunks) outgoing.write(chunk);
      if (end) outgoing.end();
    });
  }

  it('reads a twin PATCH body streamed in pieces', async () => {
    await using testHub = await startTestHub();
    await testHub.createDevice('dev1');
    const patch = JSON.stringify({ properties: { desired: { mode: 'eco', level: 3 } } });
    const answer = await post(
      testHub,
      await serviceToken(testHub),
      { method: 'PATCH', path: '/twins/dev1' },
      [Buffer.from(patch.slice(0, 10)), Buffer.from(patch.slice(10))],
      true,
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({
      properties: { desired: { mode: 'eco', level: 3, $version: 2 } },
    });
  });

  it('answers 413 as soon as a streamed body passes the cap, and closes the connection', async () => {
    await using testHub = await startTestHub();
    // Twice the 64 KiB cap of a query, and a body that never ends.
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 0x20));
    const answer = await post(
      testHub,
      await serviceToken(testHub),
      { method: 'POST', path: '/devices/query' },
      chunks,
      false,
    );
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({
      Message: expect.stringContaining(String(REST_BODY_LIMITS.query)) as unknown,
    });
  });
});

describe('HTTPS server deadlines', () => {
  it('closes a connection that never finishes its headers', { timeout: 10_000 }, async () => {
    await using hub = await createHub();
    await using server = await listen(hub, {
      limits: { requestHeadersTimeoutInMs: 300, requestTimeoutInMs: 600 },
    });
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port: server.ports.https,
          ca: hub.caCertificate,
          servername: 'localhost',
        },
        () => {
          socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
        },
      );
      socket.on('error', () => undefined);
      // Read what the server sends (its 408), so the end of the stream and the close are seen.
      socket.resume();
      socket.on('close', () => {
        resolve(Date.now() - started);
      });
      setTimeout(() => {
        reject(new Error('the connection is still open'));
      }, 8_000).unref();
    });
    expect(closedAfter).toBeLessThan(5_000);
  });

  it('closes a connection whose body never finishes', { timeout: 10_000 }, async () => {
    await using hub = await createHub();
    await using server = await listen(hub, {
      limits: { requestHeadersTimeoutInMs: 300, requestTimeoutInMs: 600 },
    });
    // Authorised, so the hub does read the body (an unauthenticated one is answered at once).
    const authorization = await serviceToken(hub);
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port: server.ports.https,
          ca: hub.caCertificate,
          servername: 'localhost',
        },
        () => {
          // Complete headers, then a body that stops after 10 of its 1,000 bytes.
          socket.write(
            'PUT /devices/slow?api-version=2021-04-12 HTTP/1.1\r\nHost: localhost\r\n' +
              `Authorization: ${authorization}\r\n` +
              'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"deviceId"',
          );
        },
      );
      socket.on('error', () => undefined);
      socket.resume();
      socket.on('close', () => {
        resolve(Date.now() - started);
      });
      setTimeout(() => {
        reject(new Error('the connection is still open'));
      }, 8_000).unref();
    });
    expect(closedAfter).toBeLessThan(5_000);
  });

  it(
    'answers an unauthenticated 60 MB POST over HTTPS at once with 401',
    { timeout: 20_000 },
    async () => {
      await using hub = await createHub();
      await using server = await listen(hub);
      const { request } = await import('node:https');
      // A valid JSON array of bulk entries, as a real (if absurd) bulk body would be.
      const item = '{"id":"device-0000000","importMode":"create"},';
      const chunk = Buffer.from(item.repeat(Math.floor((1024 * 1024) / item.length)));
      const last = Buffer.from('{"id":"last"}]');
      const total = 1 + 60 * chunk.length + last.length;
      const result = await new Promise<{ status: number; elapsed: number }>((resolve, reject) => {
        const started = Date.now();
        const req = request(
          `${server.urls.https}/devices?api-version=2021-04-12`,
          {
            method: 'POST',
            ca: hub.caCertificate,
            servername: 'localhost',
            headers: { 'content-type': 'application/json', 'content-length': total },
          },
          (response) => {
            response.resume();
            resolve({ status: response.statusCode ?? 0, elapsed: Date.now() - started });
          },
        );
        req.on('error', reject);
        req.write('[');
        let sent = 0;
        const pump = () => {
          while (sent < 60 && req.write(chunk)) sent += 1;
          if (sent < 60) req.once('drain', pump);
          else req.end(last);
        };
        pump();
      });
      expect(result.status).toBe(401);
      expect(result.elapsed).toBeLessThan(5_000);
    },
  );
});
