/**
 * The registry over real sockets: the hub listens for HTTPS on 127.0.0.1 (port 0) with its
 * development CA, and Node's fetch is swapped for undici's fetch bound to an Agent that trusts
 * that CA, which is exactly how the README tells Node users to add a CA or a proxy.
 */
import { describe, expect, it } from 'vitest';
import { Agent, fetch as undiciFetch } from 'undici';
import { startTestHub } from '@twinkit/hub/testing';
import {
  PreconditionFailedError,
  Registry,
  TlsTrustError,
  TransportError,
  type FetchLike,
} from '@twinkit/service';

/** The README's adapter: undici's fetch with a dispatcher; the registry's (url, init) pass straight through. */
function fetchWithAgent(agent: Agent): FetchLike {
  // undici's Response is its own class, not Node's global one; the registry only relies on the
  // standard members both share (status, headers, text(), body).
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  return (url, init) => undiciFetch(url, { ...init, dispatcher: agent });
}

describe('Registry over HTTPS', () => {
  it(
    'gets, updates with an etag and queries twins through undici with the hub CA',
    { timeout: 20_000 },
    async () => {
      await using testHub = await startTestHub();
      await testHub.createDevice('dev-1');
      await testHub.createDevice('dev-2');
      const agent = new Agent({ connect: { ca: testHub.caCertificate } });
      try {
        const registry = Registry.fromConnectionString(testHub.serviceConnectionString, {
          fetch: fetchWithAgent(agent),
        });
        expect(registry.hostName).toBe(`localhost:${testHub.httpsPort}`);
        const twin = await registry.getTwin('dev-1');
        const updated = await registry.updateTwin(
          twin,
          { properties: { desired: { rate: 7 } } },
          { onlyIfUnchanged: true },
        );
        expect(updated.properties.desired.rate).toBe(7);
        await expect(
          registry.updateTwin(twin, { tags: { a: 1 } }, { onlyIfUnchanged: true }),
        ).rejects.toBeInstanceOf(PreconditionFailedError);
        const ids: string[] = [];
        for await (const page of registry
          .queryTwins('SELECT * FROM devices')
          .byPage({ maxPageSize: 1 }))
          ids.push(...page.items.map((t) => t.deviceId));
        expect(ids.sort()).toEqual(['dev-1', 'dev-2']);
        const created = await registry.createDevice('dev-3');
        expect(created.authentication.symmetricKey?.primaryKey).toBeTruthy();
      } finally {
        await agent.close();
      }
    },
  );

  it(
    'fails at once with a TlsTrustError saying how to trust the CA when it is not trusted',
    { timeout: 20_000 },
    async () => {
      await using testHub = await startTestHub();
      const agent = new Agent();
      try {
        const registry = Registry.fromConnectionString(testHub.serviceConnectionString, {
          fetch: fetchWithAgent(agent),
          // A retried trust failure would wait an hour and never settle within the test.
          retryOptions: { maxRetries: 3, retryDelayInMs: 3_600_000, maxRetryDelayInMs: 3_600_000 },
          operationTimeoutInMs: 0,
        });
        const error = await registry.getTwin('dev-1').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TlsTrustError);
        expect(error).toBeInstanceOf(TransportError);
        expect(error).toMatchObject({ retryable: false });
        expect((error as Error).message).toMatch(/certificate/);
        expect((error as Error).message).toMatch(/NODE_EXTRA_CA_CERTS/);
        expect((error as Error).message).toMatch(/connect\.ca/);
      } finally {
        await agent.close();
      }
    },
  );
});
