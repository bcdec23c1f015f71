/**
 * AMQP twin benchmark: our `amqp()` transport against the official `azure-iot-device-amqp`
 * transport, in the same process and against the same local hub (AMQP over TLS on 127.0.0.1).
 *
 * Measures getTwin and reported-update latency (p50/p99, one request at a time) and reported
 * updates per second with 16 in flight.
 *
 * Run: `node --conditions=@twinkit/source --import tsx packages/device/bench/amqp-bench.ts [iterations]`
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { JsonObject } from '@twinkit/twin-model';
import { createSasToken, formatDeviceConnectionString } from '@twinkit/twin-model/protocol';
import { startAmqpTestHub } from '@twinkit/hub/testing';
import { amqp } from '../src/transport/amqp/index.js';

interface Contender {
  name: string;
  getTwin(): Promise<unknown>;
  updateReported(patch: JsonObject): Promise<unknown>;
  close(): Promise<void>;
}

/** The official SDK is a dev dependency of the hub package, so it is resolved from there. */
const requireFromHub = createRequire(new URL('../../hub/package.json', import.meta.url));

interface OfficialTwin {
  get(done: (error?: Error) => void): void;
  properties: { reported: { update(patch: unknown, done: (error?: Error) => void): void } };
}
interface OfficialClient {
  setOptions(options: { ca: string }): Promise<unknown>;
  open(): Promise<unknown>;
  getTwin(): Promise<OfficialTwin>;
  close(): Promise<unknown>;
}

const iterations = Number(process.argv[2] ?? 500);
const totalThroughput = iterations * 4;
const inFlight = 16;

function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

async function latency(run: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let index = 0; index < 50; index += 1) await run();
  const samples: number[] = [];
  for (let index = 0; index < iterations; index += 1) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

async function throughput(run: (index: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < totalThroughput) {
      const index = next;
      next += 1;
      await run(index);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return totalThroughput / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  await using hub = await startAmqpTestHub();
  const ours = await hub.createDevice('bench-ours');
  const theirs = await hub.hub.createDevice('bench-official');

  const transport = amqp()(
    { desiredPatch: () => undefined, disconnected: () => undefined },
    { operationTimeoutInMs: 30_000 },
  );
  await transport.connect({
    hostName: 'localhost',
    endpointHost: '127.0.0.1',
    endpointPort: hub.amqpPort,
    deviceId: ours.deviceId,
    sasToken: await createSasToken({
      resourceUri: 'localhost/devices/bench-ours',
      key: ours.key,
      expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
    }),
    ca: hub.hub.caCertificate,
    keepAliveInSeconds: 60,
  });
  const twinkit: Contender = {
    name: 'twinkit amqp()',
    getTwin: () => transport.getTwin(),
    updateReported: (patch) => transport.patchReported(patch),
    close: () => transport.disconnect(),
  };

  const { Client } = requireFromHub('azure-iot-device') as {
    Client: { fromConnectionString(cs: string, transport: unknown): OfficialClient };
  };
  const { Amqp } = requireFromHub('azure-iot-device-amqp') as { Amqp: unknown };
  const client = Client.fromConnectionString(
    formatDeviceConnectionString({
      hostName: `localhost:${String(hub.amqpPort)}`,
      deviceId: 'bench-official',
      sharedAccessKey: theirs.primaryKey,
    }),
    Amqp,
  );
  await client.setOptions({ ca: hub.hub.caCertificate });
  await client.open();
  const twin = await client.getTwin();
  const official: Contender = {
    name: 'azure-iot-device-amqp',
    getTwin: () =>
      new Promise<void>((resolve, reject) => {
        twin.get((error) => (error ? reject(error) : resolve()));
      }),
    updateReported: (patch) =>
      new Promise<void>((resolve, reject) => {
        twin.properties.reported.update(patch, (error) => (error ? reject(error) : resolve()));
      }),
    close: async () => {
      await client.close();
    },
  };

  const rows: string[] = [];
  for (const contender of [twinkit, official]) {
    process.stderr.write(`${contender.name}: get\n`);
    const get = await latency(() => contender.getTwin());
    process.stderr.write(`${contender.name}: update\n`);
    let counter = 0;
    const update = await latency(() => contender.updateReported({ counter: (counter += 1) }));
    process.stderr.write(`${contender.name}: throughput\n`);
    const rate = await throughput((index) => contender.updateReported({ parallel: index }));
    rows.push(
      `| ${contender.name} | ${get.p50.toFixed(2)} | ${get.p99.toFixed(2)} | ${update.p50.toFixed(2)} | ${update.p99.toFixed(2)} | ${rate.toFixed(0)} |`,
    );
    await contender.close();
  }
  process.stdout.write(
    [
      `AMQP over TLS, 127.0.0.1, ${String(iterations)} sequential requests per latency row, ${String(totalThroughput)} updates with ${String(inFlight)} in flight`,
      '| transport | getTwin p50 ms | getTwin p99 ms | update p50 ms | update p99 ms | updates/s (16 in flight) |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

await main();
