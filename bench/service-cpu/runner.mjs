// node runner.mjs <client> <scenario> <n>  ; prints CPU us per call
import { Agent as HttpsAgent } from 'node:https';
const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const { fromHub, fromService, ours, parseConnectionString, sasToken } = await import(
  `${root}/bench/compare/shared.mjs`
);
const [client, scenario, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 20000);
const cs = process.env.BENCH_SERVICE_CS;
const parts = parseConnectionString(cs);
const [host, port] = parts.HostName.split(':');
const API = 'api-version=2021-04-12';
const QUERY = 'SELECT * FROM devices';
let api;
if (client === 'ours') {
  const { Registry } = await import(process.env.OURS ?? ours.service);
  const registry = Registry.fromConnectionString(cs, {
    ...(process.env.OURS_TIMEOUT === undefined
      ? {}
      : { operationTimeoutInMs: Number(process.env.OURS_TIMEOUT) }),
    ...(process.env.OURS_FETCH === undefined ? {} : { fetch: globalThis.fetch }),
  });
  api = {
    get: (id) => registry.getTwin(id),
    update: (id, patch) => registry.updateTwin(id, patch),
    pages: async function* () {
      yield* registry.queryTwins(QUERY).byPage({ maxPageSize: 100 });
    },
  };
} else if (client === 'official') {
  const { Registry } = fromHub('azure-iothub');
  const agent = new HttpsAgent({ keepAlive: true });
  agent.defaultPort = Number(port);
  const registry = Registry.fromConnectionString(cs.replace(parts.HostName, host));
  registry._restApiClient.setOptions({ http: { agent } });
  api = {
    get: (id) => registry.getTwin(id),
    update: (id, patch) => registry.updateTwin(id, patch, '*'),
    pages: async function* () {
      const query = registry.createQuery(QUERY, 100);
      while (query.hasMoreResults) yield (await query.next(query.continuationToken)).result;
    },
  };
} else {
  const { Agent } = fromService('undici');
  const agent = new Agent();
  const origin = `https://${parts.HostName}`;
  const authorization = sasToken(host, parts.SharedAccessKey, parts.SharedAccessKeyName);
  const variant = process.env.FLOOR_VARIANT ?? '';
  const send = async (method, path, body, extra = {}) => {
    const headers = { authorization, 'content-type': 'application/json', ...extra };
    if (variant.includes('h')) {
      headers['user-agent'] = 'twinkit-service/0.1.0';
      headers['request-id'] = crypto.randomUUID();
      headers.accept = 'application/json';
    }
    let signal = null,
      timer;
    if (variant.includes('s')) {
      const c = new AbortController();
      signal = c.signal;
      timer = setTimeout(() => c.abort(), 30000);
    }
    const response = await agent.request({
      origin,
      method,
      path: `${path}?${API}`,
      headers,
      body,
      signal,
    });
    clearTimeout(timer);
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`${response.statusCode} ${text}`);
    return { json: JSON.parse(text), headers: response.headers };
  };
  api = {
    get: (id) => send('GET', `/twins/${id}`),
    update: (id, patch) => send('PATCH', `/twins/${id}`, JSON.stringify(patch)),
    pages: async function* () {
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
        yield json;
        continuation = headers['x-ms-continuation'] || undefined;
      } while (continuation !== undefined);
    },
  };
}
async function runGet(n) {
  for (let i = 0; i < n; i++) await api.get('q-0');
  return n;
}
async function runUpdate(n) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      while (next < n) {
        const i = next++;
        await api.update(`q-${w}`, { properties: { desired: { n: i } } });
      }
    }),
  );
  return n;
}
async function runQuery(n) {
  let pages = 0;
  while (pages < n)
    for await (const p of api.pages()) {
      pages++;
      if (pages >= n) break;
    }
  return pages;
}
const run = { get: runGet, update: runUpdate, query: runQuery }[scenario];
await run(Math.max(200, Math.round(N / 10)));
const cpu = process.cpuUsage();
const t = performance.now();
const done = await run(N);
const used = process.cpuUsage(cpu);
const wall = performance.now() - t;
console.log(
  JSON.stringify({
    client,
    scenario,
    n: done,
    cpuUs: +((used.user + used.system) / done).toFixed(1),
    userUs: +(used.user / done).toFixed(1),
    sysUs: +(used.system / done).toFixed(1),
    wallUs: +((wall * 1000) / done).toFixed(1),
  }),
);
process.exit(0);
