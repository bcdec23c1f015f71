/**
 * What `registry.getRolloutStatus` costs over a fleet of 10,000 devices on the local hub: one
 * projection query paged 100 rows at a time, over real HTTPS with keep-alive and in-process
 * (`hub.fetch`). One device in ten has acknowledged (a mix of 200, 202 and 400 answers, sent by
 * real device clients over MQTT); the rest are pending, as in a rollout under way.
 *
 * Run: `pnpm vitest bench --run --project e2e rollout-status`
 */
import { DeviceClient, mqtt } from '@twinkit/device';
import { startTestHub } from '@twinkit/hub/testing';
import { Registry, type FetchLike } from '@twinkit/service';
import { afterAll, bench, describe } from 'vitest';
import { httpsFetch } from '../helpers.js';

const DEVICES = 10_000;
const ACKNOWLEDGING = DEVICES / 10;

const testHub = await startTestHub();
const setup = Registry.fromConnectionString(testHub.serviceConnectionString, {
  fetch: testHub.fetch,
});
const ids = Array.from({ length: DEVICES }, (_, i) => `fleet-${String(i).padStart(5, '0')}`);
const connectionStrings: string[] = [];
for (const id of ids) connectionStrings.push((await testHub.createDevice(id)).connectionString);
await setup.updateTwins(
  ids.map((deviceId) => ({
    deviceId,
    tags: { site: 'lyon' },
    properties: { desired: { thermostat1: { targetTemperature: 21 } } },
  })),
);
const answers = [
  { value: 21, ac: 200, av: 2 },
  { value: 19, ac: 202, av: 2 },
  { value: 19, ac: 400, av: 2, ad: 'out of range' },
];
for (let start = 0; start < ACKNOWLEDGING; start += 25) {
  await Promise.all(
    connectionStrings.slice(start, Math.min(start + 25, ACKNOWLEDGING)).map(async (cs, i) => {
      await using device = DeviceClient.fromConnectionString(cs, {
        transport: mqtt(),
        ca: testHub.caCertificate,
      });
      await device.open();
      await device.updateReportedProperties({
        thermostat1: { __t: 'c', targetTemperature: answers[(start + i) % answers.length]! },
      });
    }),
  );
}

function counting(inner: FetchLike): { fetch: FetchLike; take: () => number } {
  let count = 0;
  return {
    fetch: (input, init) => {
      count += 1;
      return inner(input, init);
    },
    take: () => {
      const taken = count;
      count = 0;
      return taken;
    },
  };
}

const overHttps = counting(httpsFetch(testHub.caCertificate));
const inProcess = counting(testHub.fetch);
const registries = {
  https: Registry.fromConnectionString(testHub.serviceConnectionString, {
    fetch: overHttps.fetch,
  }),
  inProcess: Registry.fromConnectionString(testHub.serviceConnectionString, {
    fetch: inProcess.fetch,
  }),
};

afterAll(async () => {
  await testHub[Symbol.asyncDispose]();
});

async function measure(registry: Registry, counter: { take: () => number }, label: string) {
  const started = performance.now();
  const status = await registry.getRolloutStatus('thermostat1.targetTemperature', {
    query: "tags.site = 'lyon'",
  });
  const elapsed = performance.now() - started;
  console.log(
    `${label}: ${String(counter.take())} requests, ${elapsed.toFixed(0)} ms, counts ${JSON.stringify(status.counts)}`,
  );
}

describe(`getRolloutStatus over ${String(DEVICES)} devices`, () => {
  bench('over HTTPS (keep-alive)', () => measure(registries.https, overHttps, 'https'), {
    iterations: 5,
    warmupIterations: 1,
  });
  bench('in-process (hub.fetch)', () => measure(registries.inProcess, inProcess, 'in-process'), {
    iterations: 5,
    warmupIterations: 1,
  });
});
