/**
 * The Registry against servers that misbehave, over real sockets on 127.0.0.1: a tiny node:http
 * server answers what an attacker or a broken proxy might (a redirect elsewhere, bodies of the
 * wrong shape, a continuation token that never ends, a connection cut mid-body). The registry's
 * `fetch` is the platform's, pointed at `http://` so the test needs no certificate; everything
 * else is the shipped pipeline.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ConnectionRefusedError,
  NotFoundError,
  Registry,
  SasKeyCredential,
  TransportError,
  UnexpectedResponseError,
  type FetchLike,
  type RegistryOptions,
} from '@twinkit/service';
import { registryFor, startHub } from './helpers.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface LocalServer extends AsyncDisposable {
  port: number;
  /** Every request seen: method, path and whether it carried credentials. */
  requests: { method: string; path: string; authorization: string | undefined }[];
}

async function serve(handler: Handler): Promise<LocalServer> {
  const requests: LocalServer['requests'] = [];
  const server: Server = createServer((request, response) => {
    requests.push({
      method: request.method ?? '',
      path: request.url ?? '',
      authorization: request.headers.authorization,
    });
    request.resume();
    request.on('end', () => {
      handler(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The platform fetch, sent to `http://` (the servers here speak plain HTTP). */
const plainFetch: FetchLike = (url, init) => fetch(url.replace(/^https:/, 'http:'), init);

const KEY = Buffer.from('k'.repeat(32)).toString('base64');

function registryAt(port: number, options: RegistryOptions = {}): Registry {
  return new Registry(`127.0.0.1:${port}`, new SasKeyCredential('iothubowner', KEY), {
    fetch: plainFetch,
    retryOptions: { maxRetries: 2, retryDelayInMs: 1, maxRetryDelayInMs: 2 },
    ...options,
  });
}

function json(response: ServerResponse, status: number, body: unknown, headers = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

describe('Registry against a misbehaving server', () => {
  it('never follows a redirect to another origin and never sends it the credential', async () => {
    await using elsewhere = await serve((_request, response) => {
      json(response, 200, { deviceId: 'dev-1', etag: 'x', version: 1, properties: {} });
    });
    await using server = await serve((_request, response) => {
      response.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/twins/dev-1` });
      response.end();
    });
    const error = await registryAt(server.port)
      .getTwin('dev-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error).toMatchObject({ statusCode: 302 });
    expect((error as Error).message).toContain(`to http://127.0.0.1:${elsewhere.port}/twins/dev-1`);
    expect(elsewhere.requests).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['an empty array', []],
    ['null', null],
    ['a string', 'twin'],
    ['an object without deviceId', { etag: 'x' }],
  ])(
    'refuses %s where a twin is expected, with the status and what was expected',
    async (_what, body) => {
      await using server = await serve((_request, response) => {
        json(response, 200, body);
      });
      const error = await registryAt(server.port)
        .getTwin('dev-1')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error).toMatchObject({ statusCode: 200, expected: 'a twin' });
    },
  );

  it('refuses an identity and a query page of the wrong shape', async () => {
    await using server = await serve((request, response) => {
      json(response, 200, request.url?.startsWith('/devices/query') === true ? { items: [] } : []);
    });
    const registry = registryAt(server.port);
    await expect(registry.getDevice('dev-1')).rejects.toBeInstanceOf(UnexpectedResponseError);
    await expect(registry.queryTwins('SELECT * FROM devices').next()).rejects.toMatchObject({
      name: 'UnexpectedResponseError',
      expected: 'a JSON array of query results',
    });
  });

  it('stops paging with a typed error when the server repeats a continuation token', async () => {
    await using server = await serve((_request, response) => {
      json(response, 200, [{ deviceId: 'dev-1', etag: 'x', version: 1, properties: {} }], {
        'x-ms-continuation': 'again',
      });
    });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const twin of registryAt(server.port).queryTwins('SELECT * FROM devices'))
        seen.push(twin.deviceId);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    // The second page repeats the token it was asked with: its items are not served.
    expect(seen).toEqual(['dev-1']);
    expect(server.requests).toHaveLength(2);
  });

  it('answers a body that is not JSON with UnexpectedResponseError', async () => {
    await using server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>captive portal</html>');
    });
    await expect(registryAt(server.port).getTwin('dev-1')).rejects.toMatchObject({
      name: 'UnexpectedResponseError',
      expected: 'a JSON body',
    });
  });
});

/** A server that cuts the connection mid-body on the first request, and answers the rest. */
async function cutsFirstBody(): Promise<LocalServer> {
  let first = true;
  return serve((request, response) => {
    if (first) {
      first = false;
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      response.write('{"deviceId":"dev-');
      setImmediate(() => response.socket?.destroy());
      return;
    }
    json(response, 200, {
      deviceId: 'dev-1',
      moduleId: request.url?.includes('/modules/') === true ? 'm1' : undefined,
      etag: 'AAAAAAAAAAE=',
      version: 2,
      properties: { desired: {}, reported: {} },
    });
  });
}

describe('socket errors', () => {
  it('retries an idempotent GET after undici reports the body cut (TypeError: terminated)', async () => {
    await using server = await cutsFirstBody();
    const twin = await registryAt(server.port).getTwin('dev-1');
    expect(twin.deviceId).toBe('dev-1');
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('does not silently repeat a PATCH without an ETag or a create whose answer was lost', async () => {
    await using server = await cutsFirstBody();
    const registry = registryAt(server.port);
    const error = await registry.updateTwin('dev-1', { tags: { a: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/Not retried: a PATCH updateTwin/);
    expect(server.requests).toHaveLength(1);

    await using again = await cutsFirstBody();
    await expect(registryAt(again.port).createDevice('dev-1')).rejects.toThrow(/Not retried/);
    expect(again.requests).toHaveLength(1);
  });

  it('repeats a PATCH that carries an If-Match ETag', async () => {
    await using server = await cutsFirstBody();
    const twin = await registryAt(server.port).updateTwin(
      'dev-1',
      { tags: { a: 1 } },
      { etag: 'AAAAAAAAAAE=' },
    );
    expect(twin.deviceId).toBe('dev-1');
    expect(server.requests.map((r) => r.method)).toEqual(['PATCH', 'PATCH']);
  });

  it('fails at once on a refused connection to an explicit port, saying to check it', async () => {
    const closed = await serve(() => undefined);
    const port = closed.port;
    await closed[Symbol.asyncDispose]();
    // With these retries and no time limit, a retried refusal would never settle.
    const registry = registryAt(port, {
      retryOptions: { maxRetries: 5, retryDelayInMs: 3_600_000, maxRetryDelayInMs: 3_600_000 },
      operationTimeoutInMs: 0,
    });
    const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error).toMatchObject({
      retryable: false,
      address: `127.0.0.1:${port}`,
      code: 'ECONNREFUSED',
    });
    expect((error as Error).message).toMatch(/Check the host and port/);
  });
});

describe('not-found errors from the hub', () => {
  it('tells an unknown route from a missing device', async () => {
    await using hub = await startHub();
    const registry = registryFor(hub, {
      additionalPolicies: [
        {
          position: 'perCall',
          policy: {
            name: 'wrongPath',
            sendRequest: (request, next) =>
              next({ ...request, url: request.url.replace('/twins/', '/no-such-route/') }),
          },
        },
      ],
    });
    const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ statusCode: 404, code: 'NotFound' });
  });
});
