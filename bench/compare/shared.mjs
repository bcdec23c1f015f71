// Shared by the orchestrator (run.mjs) and the runners: where each client is loaded from, the SAS
// signing of the raw floors, and the statistics. Runners are separate processes so every client
// starts from the same cold Node and none shares a socket pool or JIT state with another.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The official SDKs, mqtt.js and rhea are devDependencies of the hub (its interop tests use them). */
export const fromHub = createRequire(join(root, 'packages/hub/package.json'));
/** undici is a dependency of the service package. */
export const fromService = createRequire(join(root, 'packages/service/package.json'));
/** mqtt.js and rhea-promise as the device package loads them. */
export const fromDevice = createRequire(join(root, 'packages/device/package.json'));

/** Our built packages, as an installed app on Node loads them. */
export const ours = {
  service: pathToFileURL(join(root, 'packages/service/dist/node/index.js')).href,
  device: pathToFileURL(join(root, 'packages/device/dist/node/index.js')).href,
  deviceAmqp: pathToFileURL(join(root, 'packages/device/dist/node/amqp.js')).href,
};

/**
 * A SAS token by hand, as every raw floor signs one (HMAC-SHA256 of `uri\nexpiry`).
 *
 * @param {string} resourceUri
 * @param {string} key base64
 * @param {string | undefined} keyName
 */
export function sasToken(resourceUri, key, keyName) {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const sr = encodeURIComponent(resourceUri);
  const sig = createHmac('sha256', Buffer.from(key, 'base64'))
    .update(`${sr}\n${expiry}`)
    .digest('base64');
  const token = `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiry}`;
  return keyName === undefined ? token : `${token}&skn=${keyName}`;
}

/** @param {string} cs */
export function parseConnectionString(cs) {
  return Object.fromEntries(
    cs.split(';').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at), part.slice(at + 1)];
    }),
  );
}

/** @param {number[]} values @param {number} q */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** @param {number[]} values */
export function median(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Latencies of `count` sequential calls after `warmup` unmeasured ones, in milliseconds.
 *
 * @param {() => Promise<unknown>} call
 * @param {number} warmup
 * @param {number} count
 */
export async function sequential(call, warmup, count) {
  for (let i = 0; i < warmup; i += 1) await call(i);
  const times = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    const start = process.hrtime.bigint();
    await call(i);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), cpuUs: cpuPerOp(cpu, count) };
}

/**
 * Operations per second with `inFlight` workers, each calling `call(worker, i)` in a loop for
 * `durationMs` (after a warm-up of the same shape).
 *
 * @param {(worker: number, i: number) => Promise<unknown>} call
 * @param {number} inFlight
 * @param {number} durationMs
 */
export async function throughput(call, inFlight, durationMs) {
  const run = async (ms) => {
    const cpu = process.cpuUsage();
    let done = 0;
    const end = performance.now() + ms;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, worker) => {
        for (let i = 0; performance.now() < end; i += 1) {
          await call(worker, i);
          done += 1;
        }
      }),
    );
    return {
      opsPerSecond: (done * 1000) / (performance.now() - start),
      cpuUs: cpuPerOp(cpu, done),
    };
  };
  await run(Math.min(1500, durationMs / 2));
  return run(durationMs);
}

/** This process's CPU time (user + system) per operation since `since`, in microseconds. */
function cpuPerOp(since, operations) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / Math.max(1, operations);
}

/** Prints the result line the orchestrator reads. */
export function report(result) {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}
