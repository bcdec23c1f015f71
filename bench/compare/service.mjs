// One service REST client in one process: `node service.mjs <client> <scenario>`, where client is
// ours | ours-fetch | official | floor | floor-https and scenario is get | update | query. The hub's connection
// string comes in BENCH_SERVICE_CS; NODE_EXTRA_CA_CERTS trusts its CA for every client alike.
import { Agent as HttpsAgent, request } from 'node:https';
import {
  fromHub,
  fromService,
  ours,
  parseConnectionString,
  report,
  sasToken,
  sequential,
  throughput,
} from './shared.mjs';

const [client, scenario] = process.argv.slice(2);
const cs = process.env.BENCH_SERVICE_CS;
const scale = Number(process.env.BENCH_SCALE ?? '1');
const parts = parseConnectionString(cs);
const [host, port = '443'] = parts.HostName.split(':');
const API = 'api-version=2021-04-12';
const QUERY = 'SELECT * FROM devices';
const deviceId = (worker) => `q-${worker}`;

/** Each client reduced to the three calls measured, all with the same semantics. */
async function makeClient() {
  if (client === 'ours' || client === 'ours-fetch') {
    const { Registry } = await import(ours.service);
    const registry = Registry.fromConnectionString(
      cs,
      client === 'ours-fetch' ? { fetch: globalThis.fetch } : {},
    );
    return {
      get: (id) => registry.getTwin(id),
      update: (id, patch) => registry.updateTwin(id, patch),
      async query() {
        let count = 0;
        for await (const page of registry.queryTwins(QUERY).byPage({ maxPageSize: 100 }))
          count += page.items.length;
        return count;
      },
    };
  }
  if (client === 'official') {
    const { Registry } = fromHub('azure-iothub');
    // azure-iothub dials port 443 only; an agent whose default port is the hub's reaches it with
    // the same code path (https.request with keep-alive) it uses against Azure.
    const agent = new HttpsAgent({ keepAlive: true });
    agent.defaultPort = Number(port);
    const registry = Registry.fromConnectionString(cs.replace(parts.HostName, host));
    registry._restApiClient.setOptions({ http: { agent } });
    return {
      get: (id) => registry.getTwin(id),
      update: (id, patch) => registry.updateTwin(id, patch, '*'),
      async query() {
        const query = registry.createQuery(QUERY, 100);
        let count = 0;
        // next() with no argument starts over; the token must be handed back.
        while (query.hasMoreResults && count <= 10_000)
          count += (await query.next(query.continuationToken)).result.length;
        return count;
      },
    };
  }
  if (client === 'floor' || client === 'floor-https') {
    // undici's request (or, for floor-https, node:https with keep-alive) with a hand-made SAS
    // header: the least a Node client can do per call.
    const authorization = sasToken(host, parts.SharedAccessKey, parts.SharedAccessKeyName);
    const send = client === 'floor' ? undiciSender(authorization) : httpsSender(authorization);
    return {
      get: (id) => send('GET', `/twins/${id}`),
      update: (id, patch) => send('PATCH', `/twins/${id}`, JSON.stringify(patch)),
      async query() {
        let count = 0;
        let continuation;
        do {
          const extra = { 'x-ms-max-item-count': '100' };
          if (continuation !== undefined) extra['x-ms-continuation'] = continuation;
          const { json, headers } = await send(
            'POST',
            '/devices/query',
            JSON.stringify({ query: QUERY }),
            extra,
          );
          count += json.length;
          continuation = headers['x-ms-continuation'] || undefined;
        } while (continuation !== undefined);
        return count;
      },
    };
  }
  throw new Error(`unknown client ${client}`);
}

function undiciSender(authorization) {
  const { Agent } = fromService('undici');
  const agent = new Agent();
  const origin = `https://${parts.HostName}`;
  return async (method, path, body, extra = {}) => {
    const response = await agent.request({
      origin,
      method,
      path: `${path}?${API}`,
      headers: { authorization, 'content-type': 'application/json', ...extra },
      body,
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`${response.statusCode} ${text}`);
    return { json: JSON.parse(text), headers: response.headers };
  };
}

function httpsSender(authorization) {
  const agent = new HttpsAgent({ keepAlive: true });
  return (method, path, body, extra = {}) =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        {
          agent,
          host,
          port,
          method,
          path: `${path}?${API}`,
          headers: { authorization, 'content-type': 'application/json', ...extra },
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (response.statusCode >= 300) reject(new Error(`${response.statusCode} ${text}`));
            else
              resolve({
                json: text === '' ? undefined : JSON.parse(text),
                headers: response.headers,
              });
          });
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
}

const api = await makeClient();
if (scenario === 'get') {
  // Every client gets faster for its first few thousand calls, as V8 compiles its hot paths;
  // 5,000 unmeasured calls first, so the figures are the steady state of a long-running service.
  report(
    await sequential(
      () => api.get(deviceId(0)),
      Math.round(5000 * scale),
      Math.round(3000 * scale),
    ),
  );
} else if (scenario === 'update') {
  report(
    await throughput(
      (worker, i) => api.update(deviceId(worker), { properties: { desired: { n: i } } }),
      16,
      Math.round(3000 * scale),
    ),
  );
} else if (scenario === 'query') {
  const times = [];
  const runs = Math.max(2, Math.round(5 * scale));
  let cpu;
  for (let i = 0; i <= runs; i += 1) {
    // The first run warms up; the client's CPU time is counted over the others.
    if (i === 1) cpu = process.cpuUsage();
    const start = performance.now();
    const count = await api.query();
    if (count < 10_000) throw new Error(`query returned ${count} twins`);
    if (i > 0) times.push(performance.now() - start);
  }
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  // cpuUsPerPage: the client's CPU time (user + system) per page of 100 twins.
  report({
    ms: times[Math.floor(times.length / 2)],
    cpuUsPerPage: (used.user + used.system) / (runs * 100),
  });
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
process.exit(0);
