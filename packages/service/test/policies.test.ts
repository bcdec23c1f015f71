import { describe, expect, it } from 'vitest';
import type { AdditionalPolicy, FetchLike, PipelinePolicy } from '@twinkit/service';
import { registryFor, startHub } from './helpers.js';

function counting(name: string, log: string[]): PipelinePolicy {
  return {
    name,
    sendRequest(request, next) {
      log.push(`${name}:${request.headers.authorization === undefined ? 'unsigned' : 'signed'}`);
      return next(request);
    },
  };
}

describe('additionalPolicies', () => {
  it('runs perCall once per operation and perRetry on every attempt, before Authorization', async () => {
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const log: string[] = [];
    const registry = registryFor(hub, {
      additionalPolicies: [
        { position: 'perCall', policy: counting('call', log) },
        { position: 'perRetry', policy: counting('attempt', log) },
      ],
    });
    hub.faults.failNext({ operation: 'getTwin', statusCode: 503 });
    await registry.getTwin('dev-1');
    expect(log).toEqual(['call:unsigned', 'attempt:unsigned', 'attempt:signed']);
  });

  it('never sends the credential to another origin a policy points the request at', async () => {
    await using hub = await startHub();
    const calls: string[] = [];
    const fetch: FetchLike = (url, init) => {
      calls.push(url);
      return hub.fetch(url, init);
    };
    const redirect: AdditionalPolicy = {
      position: 'perRetry',
      policy: {
        name: 'elsewhere',
        sendRequest: (request, next) =>
          next({
            ...request,
            url: request.url.replace(/^https:\/\/[^/]+/, 'https://evil.example'),
          }),
      },
    };
    const registry = registryFor(hub, { fetch, additionalPolicies: [redirect] });
    await expect(registry.getTwin('dev-1')).rejects.toThrow(
      /refusing to send the registry's credential to https:\/\/evil\.example/,
    );
    expect(calls).toEqual([]);
  });

  it('rejects a malformed entry when the registry is built', async () => {
    await using hub = await startHub();
    expect(() =>
      registryFor(hub, {
        additionalPolicies: [{ position: 'sometimes', policy: counting('x', []) } as never],
      }),
    ).toThrow(/perCall' \| 'perRetry/);
  });
});
