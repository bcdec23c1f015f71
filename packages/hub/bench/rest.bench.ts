/**
 * REST benchmarks: twin GET and PATCH through `hub.fetch` (no sockets) and over HTTPS with
 * keep-alive, and queries over 100,000 stored twins.
 *
 * Run: `cd /work/main && pnpm vitest bench --run --project hub`
 */
import { Agent, request } from 'node:https';
import { afterAll, bench, describe } from 'vitest';
import { createSasToken, parseServiceConnectionString } from '@twinkit/twin-model/protocol';
import { createHub, listen } from '../src/index.js';
import { hubInternals } from '../src/hub.js';

const hub = await createHub();
const server = await listen(hub);
const parts = parseServiceConnectionString(hub.serviceConnectionString);
const authorization = await createSasToken({
  resourceUri: parts.hostName,
  key: parts.sharedAccessKey,
  keyName: parts.sharedAccessKeyName,
  expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
});
for (let i = 0; i < 100; i += 1) await hub.createDevice(`bench-${String(i)}`);
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

const queryHub = await createHub();
{
  // 100,000 identities and twins, queued together: one group-commit transaction.
  const core = hubInternals(queryHub).core;
  const commits: Promise<unknown>[] = [];
  for (let i = 0; i < 100_000; i += 1) {
    const ids = { deviceId: `q-${String(i)}` };
    commits.push(core.createIdentity(ids, { keysOmitted: true }).committed);
    commits.push(
      core.writeTwin(
        ids,
        'update',
        { tags: { bucket: i % 1000, env: i % 10 === 0 ? 'prod' : 'dev' } },
        {},
      ).committed,
    );
  }
  await Promise.all(commits);
}

afterAll(async () => {
  agent.destroy();
  await server.close();
  await hub.close();
  await queryHub.close();
});

const headers = { authorization, 'content-type': 'application/json; charset=utf-8' };
let counter = 0;

function viaFetch(
  target: typeof hub,
  method: string,
  path: string,
  body?: string,
  extra: Record<string, string> = {},
) {
  return target.fetch(
    new Request(`https://localhost${path}?api-version=2021-04-12`, {
      method,
      headers: { ...headers, ...extra },
      ...(body === undefined ? {} : { body }),
    }),
  );
}

function viaHttps(method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.urls.https}${path}?api-version=2021-04-12`,
      { method, headers, agent, ca: hub.caCertificate, servername: 'localhost' },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('twin GET and PATCH', () => {
  bench('GET /twins/{id} via hub.fetch', async () => {
    counter += 1;
    const response = await viaFetch(hub, 'GET', `/twins/bench-${String(counter % 100)}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET failed: ${String(response.status)}`);
  });

  bench('PATCH /twins/{id} via hub.fetch', async () => {
    counter += 1;
    const response = await viaFetch(
      hub,
      'PATCH',
      `/twins/bench-${String(counter % 100)}`,
      `{"properties":{"desired":{"n":${String(counter)}}}}`,
    );
    await response.arrayBuffer();
  });

  bench('GET /twins/{id} over HTTPS keep-alive', async () => {
    counter += 1;
    await viaHttps('GET', `/twins/bench-${String(counter % 100)}`);
  });

  bench('PATCH /twins/{id} over HTTPS keep-alive', async () => {
    counter += 1;
    await viaHttps(
      'PATCH',
      `/twins/bench-${String(counter % 100)}`,
      `{"tags":{"n":${String(counter)}}}`,
    );
  });

  bench('16 concurrent PATCHes over HTTPS keep-alive (group commit)', async () => {
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        viaHttps('PATCH', `/twins/bench-${String(i)}`, `{"tags":{"c":${String(counter++)}}}`),
      ),
    );
  });
});

describe('query over 100,000 twins', () => {
  bench(
    'SELECT * WHERE tags.bucket = <n> (first page, uncached)',
    async () => {
      counter += 1;
      const body = JSON.stringify({
        query: `SELECT * FROM devices WHERE tags.bucket = ${String(counter % 1000)}`,
      });
      const response = await viaFetch(queryHub, 'POST', '/devices/query', body);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`query failed: ${String(response.status)}`);
    },
    { time: 3000 },
  );

  bench(
    'SELECT COUNT() AS n WHERE tags.env = <v> (uncached)',
    async () => {
      counter += 1;
      const body = JSON.stringify({
        query: `SELECT COUNT() AS n FROM devices WHERE tags.env = 'prod' AND tags.bucket != ${String(counter)}`,
      });
      const response = await viaFetch(queryHub, 'POST', '/devices/query', body);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`query failed: ${String(response.status)}`);
    },
    { time: 3000 },
  );

  bench('next page of a cached query (x-ms-continuation)', async () => {
    const body = JSON.stringify({ query: "SELECT * FROM devices WHERE tags.env = 'prod'" });
    const first = await viaFetch(queryHub, 'POST', '/devices/query', body);
    const token = first.headers.get('x-ms-continuation') ?? '';
    await first.arrayBuffer();
    const second = await viaFetch(queryHub, 'POST', '/devices/query', body, {
      'x-ms-continuation': token,
    });
    await second.arrayBuffer();
  });
});
