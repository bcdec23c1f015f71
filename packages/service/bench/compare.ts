/**
 * @summary Our Registry against the official azure-iothub Registry, in one run, against one local
 * hub listening on 127.0.0.1:443 (the official SDK takes no host:port).
 *
 * Run (as root, for port 443):
 *   node --conditions=@twinkit/source --import tsx packages/service/bench/compare.ts
 *
 * Both clients speak HTTPS with keep-alive to the same server and trust the hub's dev CA: ours
 * through undici's fetch bound to an Agent, the official one through its private
 * `_restApiClient.setOptions({ http: { agent } })` hook. Prints a table and the ratios ours/official
 * (below 1 means we are faster). The hub runs in a child process, so its CPU time is not shared
 * with the clients under test. Environment: BENCH_DEVICES (default 10000).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Agent, fetch as undiciFetch } from 'undici';
import { createHub, listen } from '@twinkit/hub';
import { Registry, type FetchLike } from '@twinkit/service';

// azure-iothub is a devDependency of packages/hub, not of this package; resolve it from there.
const hubDir = fileURLToPath(new URL('../../hub/', import.meta.url));
const serviceDir = fileURLToPath(new URL('../', import.meta.url));
const requireFromHub = createRequire(join(hubDir, 'package.json'));
const officialEntry = requireFromHub.resolve('azure-iothub');

interface OfficialTwinResult {
  responseBody: unknown;
}
interface OfficialQuery {
  hasMoreResults: boolean;
  nextAsTwin(): Promise<{ result: unknown[] }>;
}
interface OfficialRegistry {
  getTwin(deviceId: string): Promise<OfficialTwinResult>;
  updateTwin(deviceId: string, patch: object, etag: string): Promise<OfficialTwinResult>;
  createQuery(sql: string, pageSize: number): OfficialQuery;
  _restApiClient: { setOptions(options: object): void };
}
const { Registry: OfficialRegistryClass } = requireFromHub('azure-iothub') as {
  Registry: { fromConnectionString(cs: string): OfficialRegistry };
};

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const GET_SAMPLES = 1_000;
const UPDATES = 2_000;
const IN_FLIGHT = 16;
const PAGE_SIZE = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function getLatency(
  getTwin: (id: string) => Promise<unknown>,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 50; i++) await getTwin(`d-${i}`);
  const samples: number[] = [];
  for (let i = 0; i < GET_SAMPLES; i++) {
    const start = performance.now();
    await getTwin(`d-${i % DEVICES}`);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function updateThroughput(
  update: (id: string, n: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let n = next++; n < UPDATES; n = next++) await update(`d-${n % DEVICES}`, n);
    }),
  );
  return UPDATES / ((performance.now() - start) / 1000);
}

async function timeQuery(run: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const count = await run();
  if (count !== DEVICES) throw new Error(`query returned ${count} twins, expected ${DEVICES}`);
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Cold import time in a fresh node process, minus an empty node process, median of 9 runs. */
function importTime(args: string[]): number {
  const run = (argv: string[]) => {
    const start = performance.now();
    const result = spawnSync(process.execPath, argv, { stdio: 'pipe' });
    if (result.status !== 0) throw new Error(`import failed: ${result.stderr.toString()}`);
    return performance.now() - start;
  };
  const baseline = median(Array.from({ length: 9 }, () => run(['-e', ''])));
  return median(Array.from({ length: 9 }, () => run(args))) - baseline;
}

/** Child role: start the hub on 127.0.0.1:443, seed devices, report how to reach it, run until killed. */
async function serveHub(): Promise<void> {
  const hub = await createHub();
  await listen(hub, { host: '127.0.0.1', httpsPort: 443 });
  for (let i = 0; i < DEVICES; i++) await hub.createDevice(`d-${i}`);
  process.stdout.write(
    `${JSON.stringify({ cs: hub.serviceConnectionString, ca: hub.caCertificate })}\n`,
  );
}

async function startHubProcess(): Promise<{ cs: string; ca: string; stop: () => void }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_ROLE: 'hub' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  for await (const chunk of child.stdout) {
    buffered += String(chunk);
    if (buffered.includes('\n')) break;
  }
  const info = JSON.parse(buffered.slice(0, buffered.indexOf('\n'))) as { cs: string; ca: string };
  return { ...info, stop: () => child.kill() };
}

async function main(): Promise<void> {
  console.log(`starting the hub on 127.0.0.1:443 and seeding ${DEVICES} devices…`);
  const hub = await startHubProcess();
  try {
    const agent = new Agent({
      connect: { ca: hub.ca },
      connections: IN_FLIGHT,
      keepAliveTimeout: 60_000,
    });
    // undici's Response is its own class, not Node's global one; the registry only relies on the
    // standard members both share (status, headers, text(), body).
    const fetchWithAgent: FetchLike = (url, init) =>
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      undiciFetch(url, { ...init, dispatcher: agent });
    const ours = Registry.fromConnectionString(hub.cs, { fetch: fetchWithAgent });
    const official = OfficialRegistryClass.fromConnectionString(hub.cs);
    official._restApiClient.setOptions({
      http: { agent: new https.Agent({ keepAlive: true, ca: hub.ca, maxSockets: IN_FLIGHT }) },
    });

    const results: [string, number, number, string][] = [];
    const record = (name: string, a: number, b: number, unit: string) =>
      results.push([name, a, b, unit]);

    // Each scenario runs ours, then official, twice; the second (warm) round is reported.
    let oursGet = { p50: 0, p99: 0 };
    let officialGet = { p50: 0, p99: 0 };
    for (let round = 0; round < 2; round++) {
      oursGet = await getLatency((id) => ours.getTwin(id));
      officialGet = await getLatency((id) => official.getTwin(id));
    }
    record('getTwin p50 (sequential)', oursGet.p50, officialGet.p50, 'ms');
    record('getTwin p99 (sequential)', oursGet.p99, officialGet.p99, 'ms');

    let oursUpdates = 0;
    let officialUpdates = 0;
    for (let round = 0; round < 2; round++) {
      oursUpdates = await updateThroughput((id, n) =>
        ours.updateTwin(id, { properties: { desired: { n } } }),
      );
      officialUpdates = await updateThroughput((id, n) =>
        official.updateTwin(id, { properties: { desired: { n } } }, '*'),
      );
    }
    record(`updateTwin throughput (${IN_FLIGHT} in flight)`, oursUpdates, officialUpdates, 'ops/s');

    const sql = 'SELECT * FROM devices';
    let oursQuery = 0;
    let officialQuery = 0;
    for (let round = 0; round < 2; round++) {
      oursQuery = await timeQuery(async () => {
        let count = 0;
        for await (const page of ours.queryTwins(sql).byPage({ maxPageSize: PAGE_SIZE }))
          count += page.items.length;
        return count;
      });
      officialQuery = await timeQuery(async () => {
        const query = official.createQuery(sql, PAGE_SIZE);
        let count = 0;
        while (query.hasMoreResults) count += (await query.nextAsTwin()).result.length;
        return count;
      });
    }
    record(`query ${DEVICES} twins, page ${PAGE_SIZE}`, oursQuery, officialQuery, 'ms');

    // What an app loads: our entry bundled with twin-model (as a published install would resolve
    // it) versus the official package as installed.
    const scratch = mkdtempSync(join(tmpdir(), 'twinkit-bench-'));
    try {
      const oursFile = join(scratch, 'service.mjs');
      await build({
        entryPoints: [join(serviceDir, 'src/index.ts')],
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'es2022',
        conditions: ['@twinkit/source'],
        outfile: oursFile,
        logLevel: 'silent',
      });
      writeFileSync(join(scratch, 'package.json'), '{"type":"module"}');
      const oursImport = importTime([
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(oursFile)})`,
      ]);
      const officialImport = importTime(['-e', `require(${JSON.stringify(officialEntry)})`]);
      record('package import (cold node)', oursImport, officialImport, 'ms');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    await agent.close();

    console.log('\n| scenario | ours | official | ours/official |\n|---|---|---|---|');
    for (const [name, a, b, unit] of results) {
      console.log(
        `| ${name} | ${a.toFixed(unit === 'ops/s' ? 0 : 2)} ${unit} | ${b.toFixed(unit === 'ops/s' ? 0 : 2)} ${unit} | ${(a / b).toFixed(2)} |`,
      );
    }
  } finally {
    hub.stop();
  }
}

if (process.env.BENCH_ROLE === 'hub') await serveHub();
else await main();
