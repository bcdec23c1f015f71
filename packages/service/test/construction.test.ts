import { describe, expect, it } from 'vitest';
import { AzureNamedKeyCredential } from '@azure/core-auth';
import { ClientSecretCredential } from '@azure/identity';
import { createHub } from '@twinkit/hub';
import { createTestAccessToken } from '@twinkit/hub/testing';
import {
  OperationTimeoutError,
  Registry,
  SasKeyCredential,
  UnauthorizedError,
  type AccessToken,
  type FetchInit,
  type FetchLike,
  type TokenCredential,
} from '@twinkit/service';
import { recordingFetch, startHub } from './helpers.js';

const KEY = 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';
const noFetch = (): Promise<Response> => Promise.reject(new Error('constructors must not do I/O'));

describe('Registry', () => {
  describe('fromConnectionString', () => {
    it('throws TypeError naming the missing field, never the key', () => {
      const attempts = [
        'HostName=hub.example;SharedAccessKeyName=iothubowner',
        `SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`,
        `HostName=hub.example;SharedAccessKey=${KEY}`,
        'not a connection string',
        '',
      ];
      for (const cs of attempts) {
        let error: unknown;
        try {
          Registry.fromConnectionString(cs, { fetch: noFetch });
        } catch (e) {
          error = e;
        }
        expect(error, cs).toBeInstanceOf(TypeError);
        expect((error as Error).message).not.toContain(KEY);
      }
    });

    it('accepts a host with a port and keeps it in hostName and the request URL', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const { fetch, seen } = recordingFetch(hub);
      const registry = Registry.fromConnectionString(
        `HostName=localhost:8443;SharedAccessKeyName=iothubowner;SharedAccessKey=${hubKey(hub.serviceConnectionString)}`,
        { fetch },
      );
      expect(registry.hostName).toBe('localhost:8443');
      await registry.getTwin('dev-1');
      expect(seen[0]?.url.host).toBe('localhost:8443');
      expect(seen[0]?.url.search).toBe('?api-version=2021-04-12');
    });
  });

  describe('constructor', () => {
    it('validates synchronously and does no I/O', () => {
      const credential = new SasKeyCredential('iothubowner', KEY);
      expect(() => new Registry('hub.example', credential, { fetch: noFetch })).not.toThrow();
      expect(() => new Registry('https://hub.example', credential)).toThrow(TypeError);
      expect(() => new Registry('hub.example/devices', credential)).toThrow(TypeError);
      expect(() => new Registry('', credential)).toThrow(TypeError);
      expect(() => new Registry('hub.example:70000', credential)).toThrow(RangeError);
      expect(() => new Registry('hub.example:port', credential)).toThrow(TypeError);
      expect(() => new Registry('hub.example', {} as never)).toThrow(TypeError);
      expect(() => new Registry('hub.example', { name: 'x', key: '' })).toThrow(TypeError);
      expect(() => new Registry('hub.example', credential, { operationTimeoutInMs: -1 })).toThrow(
        RangeError,
      );
      expect(
        () => new Registry('hub.example', credential, { retryOptions: { maxRetries: 1.5 } }),
      ).toThrow(RangeError);
      expect(
        () => new Registry('hub.example', credential, { sasTokenLifetimeInSeconds: 10 }),
      ).toThrow(RangeError);
      expect(() => new Registry('hub.example', credential, { fetch: 'nope' as never })).toThrow(
        TypeError,
      );
    });

    it('accepts a plain { name, key } and @azure/core-auth AzureNamedKeyCredential', async () => {
      await using hub = await startHub();
      await hub.createDevice('dev-1');
      const key = hubKey(hub.serviceConnectionString);
      const fetch = hub.fetch;
      await expect(
        new Registry('localhost', { name: 'iothubowner', key }, { fetch }).getTwin('dev-1'),
      ).resolves.toBeTruthy();
      await expect(
        new Registry('localhost', new AzureNamedKeyCredential('iothubowner', key), {
          fetch,
        }).getTwin('dev-1'),
      ).resolves.toBeTruthy();
    });

    it('accepts an @azure/identity credential without any I/O at construction', () => {
      const credential: TokenCredential = new ClientSecretCredential('tenant', 'client', 'secret');
      expect(() => new Registry('hub.example', credential, { fetch: noFetch })).not.toThrow();
    });
  });
});

describe('Registry transport', () => {
  /** Forwards to the hub and keeps the exact arguments the registry passed. */
  function capturingFetch(hub: { fetch: FetchLike }): {
    fetch: FetchLike;
    calls: [unknown, FetchInit][];
  } {
    const calls: [unknown, FetchInit][] = [];
    return {
      calls,
      fetch: (url, init) => {
        calls.push([url, init]);
        return hub.fetch(url, init);
      },
    };
  }

  it('calls fetch(url, init) with a URL string and a plain init object, never a Request', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, calls } = capturingFetch(hub);
    const registry = Registry.fromConnectionString(hub.serviceConnectionString, { fetch });
    await registry.updateTwin('dev-1', { tags: { a: 1 } });
    const [url, init] = calls[0] ?? [];
    expect(url).toBe('https://localhost/twins/dev-1?api-version=2021-04-12');
    expect(Object.getPrototypeOf(init)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(init?.headers)).toBe(Object.prototype);
    expect(init).toMatchObject({ method: 'PATCH', body: '{"tags":{"a":1}}' });
    expect(init?.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
    });
    expect(init?.headers.authorization).toMatch(/^SharedAccessSignature /);
    // The default 30 s timeout needs a signal.
    expect(init?.signal).toBeInstanceOf(AbortSignal);
  });

  it("passes no signal when the call has neither a timeout nor an abort signal, and the caller's own signal when it has no timeout", async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, calls } = capturingFetch(hub);
    const registry = Registry.fromConnectionString(hub.serviceConnectionString, {
      fetch,
      operationTimeoutInMs: 0,
    });
    await registry.getTwin('dev-1');
    expect(calls[0]?.[1]).not.toHaveProperty('signal');
    const controller = new AbortController();
    await registry.getTwin('dev-1', { abortSignal: controller.signal });
    expect(calls[1]?.[1].signal).toBe(controller.signal);
  });

  it('aborts the signal it gave fetch with OperationTimeoutError when the call times out', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const { fetch, calls } = capturingFetch(hub);
    const registry = Registry.fromConnectionString(hub.serviceConnectionString, {
      fetch,
      operationTimeoutInMs: 20,
    });
    hub.faults.delayNext({ operation: 'getTwin', delayInMs: 300 });
    const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toMatchObject({ operation: 'getTwin', timeoutInMs: 20 });
    // Calls that start together share one signal, so its reason names no single operation.
    expect(calls[0]?.[1].signal?.aborted).toBe(true);
    expect(calls[0]?.[1].signal?.reason).toBeInstanceOf(OperationTimeoutError);
    expect(calls[0]?.[1].signal?.reason).toMatchObject({ timeoutInMs: 20 });
  });
});

describe('SasKeyCredential', () => {
  it('rotates the key in place and the next request signs with the new key', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const credential = new SasKeyCredential('iothubowner', KEY);
    const registry = new Registry('localhost', credential, {
      fetch: hub.fetch,
      retryOptions: { maxRetries: 0 },
    });
    const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as Error).message).not.toContain('SharedAccessSignature sr=');
    credential.update(hubKey(hub.serviceConnectionString));
    await expect(registry.getTwin('dev-1')).resolves.toMatchObject({ deviceId: 'dev-1' });
  });

  it('keeps the key out of JSON', () => {
    expect(JSON.stringify(new SasKeyCredential('service', KEY))).toBe('{"name":"service"}');
  });
});

describe('Registry with a TokenCredential', () => {
  it('sends Bearer tokens for scope https://iothubs.azure.net/.default and reuses them until near expiry', async () => {
    const issuerKey = 'a-test-signing-key-of-at-least-32-bytes!';
    await using hub = await createHub({ tokenIssuer: { key: issuerKey } });
    await hub.createDevice('dev-1');
    const scopes: (string | string[])[] = [];
    const credential: TokenCredential = {
      async getToken(scope): Promise<AccessToken> {
        scopes.push(scope);
        return createTestAccessToken({ key: issuerKey, roles: ['IoT Hub Data Contributor'] });
      },
    };
    const { fetch, seen } = recordingFetch(hub);
    const registry = new Registry(hub.hostName, credential, { fetch });
    await registry.getTwin('dev-1');
    await registry.updateTwin('dev-1', { tags: { via: 'entra' } });
    await registry.getDevice('dev-1');
    expect(scopes).toEqual(['https://iothubs.azure.net/.default']);
    expect(seen.every((r) => r.headers.get('authorization')?.startsWith('Bearer ey'))).toBe(true);
  });

  it('asks again when the token is within 9 minutes of expiry', async () => {
    const issuerKey = 'a-test-signing-key-of-at-least-32-bytes!';
    await using hub = await createHub({ tokenIssuer: { key: issuerKey } });
    await hub.createDevice('dev-1');
    let calls = 0;
    const credential: TokenCredential = {
      async getToken() {
        calls++;
        return createTestAccessToken({
          key: issuerKey,
          roles: ['IoT Hub Data Contributor'],
          expiresInSeconds: 300,
        });
      },
    };
    const registry = new Registry(hub.hostName, credential, { fetch: hub.fetch });
    await registry.getTwin('dev-1');
    await registry.getTwin('dev-1');
    expect(calls).toBe(2);
  });

  it('rejects clearly when the credential returns no token', async () => {
    await using hub = await startHub();
    const { fetch, seen } = recordingFetch(hub);
    const empty = new Registry('localhost', { getToken: async () => null }, { fetch });
    await expect(empty.getTwin('dev-1')).rejects.toThrow(/returned no token/);
    expect(seen).toHaveLength(0);
  });
});

function hubKey(cs: string): string {
  const match = /SharedAccessKey=([^;]+)/.exec(cs);
  if (!match?.[1]) throw new Error('no key in connection string');
  return match[1];
}
