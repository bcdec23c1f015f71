/**
 * @summary Our DeviceClient against the official Azure IoT device SDK (azure-iot-device 1.18.4 +
 * azure-iot-device-mqtt 1.16.4, `Mqtt` transport), in one run, against the same local hub
 * (issue #6 item 14). A benchmark, not a test: it is never part of vitest.
 *
 * Run:
 *   cd /work/main && node --conditions=@twinkit/source --import tsx packages/device/bench/compare-mqtt.ts
 * Flags (all optional):
 *   --samples=500          sequential samples per latency scenario (after 100 warm-up calls)
 *   --updates=4000         reported updates in the 16-in-flight throughput scenario
 *   --memory-clients=1000  clients per SDK in the memory-per-client scenario
 *   --hub-devices=10000    connected devices in the hub scenario (capped by the fd hard limit)
 *   --skip-hub-official    run the hub scenario with our clients only
 *   --scenarios=latency,memory,hub  which scenario groups to run (1-4, 5, 6)
 *   --get-twin-after-open  in scenarios 5 and 6, each client also reads its twin once after open
 *                          (our open() already subscribes to twin responses; the official SDK
 *                          does so at its first getTwin(), so this makes the two twin-ready alike)
 *
 * What it measures, all over MQTT on TLS (`GatewayHostName=localhost:<port>`,
 * the hub's dev CA trusted in-process through `DeviceClientOptions.ca` and the official
 * `client.setOptions({ ca })`):
 *   1. getTwin latency p50/p99, sequential, one device per SDK.
 *   2. reported-update latency p50/p99, sequential.
 *   3. reported updates per second with 16 calls in flight. Our client sends one patch at a time
 *      and coalesces calls made meanwhile (DeviceClient.updateReportedProperties), the official
 *      SDK publishes every call; so both "calls acknowledged" and "hub writes" (distinct reported
 *      versions) are printed.
 *   4. desired propagation p50/p99: a service PATCH through `hub.fetch` (iothubowner SAS) until
 *      the device's desired handler runs.
 *   5. memory per connected client: RSS (and heap) delta over 1,000 open clients divided by
 *      1,000, in a child process per SDK so the two do not pollute each other.
 *   6. the hub with 10,000 connected devices: the hub runs alone in a child process, the clients
 *      in another; hub RSS (after GC) with every device connected and the total connect time
 *      (64 opens in flight), plus each process's CPU time, once with our clients and once with
 *      the official SDK's. Our open() also subscribes to twin responses (one more round trip);
 *      the official SDK defers that to its first getTwin() (see --get-twin-after-open).
 * Scenarios 1-4 share one in-process hub (`startTestHub`), one device per SDK; 1-3 run in two
 * rounds (each SDK in turn) and report the second. The last column is ours/official (below 1 =
 * ours is faster or smaller; for the ops/s rows, above 1 = ours is faster). Scenario 6 needs
 * about 2 × (connect time + 20 s); lower --hub-devices for a quicker run.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHub, listen } from '@twinkit/hub';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import {
  createSasToken,
  parseServiceConnectionString,
  twinPath,
  withApiVersion,
} from '@twinkit/twin-model/protocol';
import { DeviceClient, type DesiredChange } from '../src/index.js';

// ---------------------------------------------------------------------------------------------
// The official SDK: devDependencies of packages/hub, resolved from there (no package.json change).

const hubPackageJson = fileURLToPath(new URL('../../hub/package.json', import.meta.url));
const requireFromHub = createRequire(hubPackageJson);

type Callback = (error?: Error | null) => void;

interface OfficialTwin {
  properties: {
    desired: { $version?: number; [key: string]: unknown };
    reported: { update(patch: object, done: Callback): void };
  };
  on(event: 'properties.desired', listener: (delta: { $version?: unknown }) => void): unknown;
  enableTwinDesiredPropertiesUpdates(done: Callback): void;
}

interface OfficialClient {
  setOptions(options: { ca: string }): Promise<unknown>;
  open(): Promise<unknown>;
  close(): Promise<unknown>;
  getTwin(): Promise<OfficialTwin>;
  on(event: 'error' | 'disconnect', listener: (error?: Error) => void): unknown;
}

interface OfficialSdk {
  Client: { fromConnectionString(connectionString: string, transport: unknown): OfficialClient };
  Mqtt: unknown;
}

function loadOfficialSdk(): OfficialSdk {
  try {
    const { Client } = requireFromHub('azure-iot-device') as Pick<OfficialSdk, 'Client'>;
    const { Mqtt } = requireFromHub('azure-iot-device-mqtt') as Pick<OfficialSdk, 'Mqtt'>;
    return { Client, Mqtt };
  } catch (error) {
    throw new Error(
      `Cannot load the official device SDK from ${hubPackageJson} (azure-iot-device, azure-iot-device-mqtt are devDependencies of @twinkit/hub): ${message(error)}`,
      { cause: error },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

const WARM_UP = 100;
const IN_FLIGHT = 16;
const OPERATION_TIMEOUT_MS = 15_000;
const CONNECT_CONCURRENCY = 64;
const MEMORY_CONCURRENCY = 50;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects with a message naming the step when `promise` takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${label} did not finish within ${String(ms)} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Latency {
  p50: number;
  p99: number;
}

async function sequentialLatency(
  label: string,
  samples: number,
  operation: (index: number) => Promise<unknown>,
): Promise<Latency> {
  for (let i = 0; i < WARM_UP; i++)
    await withTimeout(operation(i), OPERATION_TIMEOUT_MS, `${label} (warm-up ${String(i)})`);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await withTimeout(
      operation(WARM_UP + i),
      OPERATION_TIMEOUT_MS,
      `${label} (sample ${String(i)})`,
    );
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Runs `count` tasks with at most `concurrency` at a time; resolves with the wall time in ms. */
async function runPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let index = next++; index < count; index = next++) await task(index);
    }),
  );
  return performance.now() - start;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('child roles need --expose-gc');
  collect();
  collect();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One JSON object on its own stdout line: the child-to-parent protocol. */
function emit(record: object): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Both SDKs behind one shape, so every scenario runs the same code for each.

interface BenchDevice {
  getTwin(): Promise<unknown>;
  /** Resolves with the reported `$version` when the SDK reports it (ours), else undefined. */
  updateReported(patch: Record<string, number>): Promise<number | undefined>;
  /** Subscribes to desired changes; resolves once the hub will push them. */
  onDesired(listener: (version: number) => void): Promise<void>;
  close(): Promise<void>;
}

type Impl = 'ours' | 'official';

async function openOurs(connectionString: string, ca: string): Promise<BenchDevice> {
  const client = DeviceClient.fromConnectionString(connectionString, {
    ca,
    operationTimeoutInMs: OPERATION_TIMEOUT_MS,
  });
  await client.open();
  return {
    getTwin: () => client.getTwin(),
    updateReported: async (patch) => (await client.updateReportedProperties(patch)).version,
    onDesired: async (listener) => {
      client.onDesired((change: DesiredChange) => {
        listener(change.version);
      });
      // Handlers receive changes after the first twin read (DeviceClient.onDesired); the read
      // also lets the subscription settle before the first PATCH.
      await client.getTwin();
    },
    close: () => client.close(),
  };
}

async function openOfficial(
  sdk: OfficialSdk,
  connectionString: string,
  ca: string,
): Promise<BenchDevice> {
  const client = sdk.Client.fromConnectionString(connectionString, sdk.Mqtt);
  // An unhandled 'error' event would crash the process; the operations report failures themselves.
  client.on('error', () => undefined);
  await client.setOptions({ ca });
  await client.open();
  let twin: OfficialTwin | undefined;
  const getTwin = async () => {
    twin = await client.getTwin();
    return twin;
  };
  return {
    getTwin,
    updateReported: async (patch) => {
      // getTwin() replaces `properties` on every read, so take the current one each call.
      const current = twin ?? (await getTwin());
      await new Promise<void>((resolve, reject) => {
        current.properties.reported.update(patch, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      return undefined;
    },
    onDesired: async (listener) => {
      const current = twin ?? (await getTwin());
      // Wait for the SUBACK: the hub pushes only to subscribed sessions (docs/internals/wire-contract.md#mqtt-desired).
      await new Promise<void>((resolve, reject) => {
        current.enableTwinDesiredPropertiesUpdates((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      current.on('properties.desired', (delta) => {
        if (typeof delta.$version === 'number') listener(delta.$version);
      });
    },
    close: async () => {
      await client.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios 1-4: in-process hub, one device per SDK.

interface Row {
  scenario: string;
  ours: number | undefined;
  official: number | undefined;
  unit: string;
  digits: number;
}

interface Settings {
  samples: number;
  updates: number;
  memoryClients: number;
  hubDevices: number;
  skipHubOfficial: boolean;
  getTwinAfterOpen: boolean;
  scenarios: ReadonlySet<string>;
}

class ServiceClient {
  readonly #hub: TestHub;
  readonly #hostName: string;
  readonly #keyName: string;
  readonly #key: string;
  #token: { value: string; expiresOnInSeconds: number } | undefined;

  constructor(hub: TestHub) {
    const parts = parseServiceConnectionString(hub.hub.serviceConnectionString);
    this.#hub = hub;
    this.#hostName = parts.hostName;
    this.#keyName = parts.sharedAccessKeyName;
    this.#key = parts.sharedAccessKey;
  }

  /** PATCHes the desired section; resolves with the new desired `$version`. */
  async patchDesired(deviceId: string, desired: Record<string, number>): Promise<number> {
    const now = Math.floor(Date.now() / 1000);
    if (this.#token === undefined || this.#token.expiresOnInSeconds - now < 300) {
      const expiresOnInSeconds = now + 3600;
      const value = await createSasToken({
        resourceUri: this.#hostName,
        key: this.#key,
        keyName: this.#keyName,
        expiresOnInSeconds,
      });
      this.#token = { value, expiresOnInSeconds };
    }
    const response = await this.#hub.fetch(
      new Request(`https://${this.#hostName}${withApiVersion(twinPath(deviceId))}`, {
        method: 'PATCH',
        headers: { authorization: this.#token.value, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { desired } }),
      }),
    );
    const text = await response.text();
    if (!response.ok)
      throw new Error(
        `service PATCH of ${deviceId} failed with ${String(response.status)}: ${text.slice(0, 200)}`,
      );
    const twin = JSON.parse(text) as { properties?: { desired?: { $version?: unknown } } };
    const version = twin.properties?.desired?.$version;
    if (typeof version !== 'number')
      throw new Error(`service PATCH of ${deviceId} returned no desired $version`);
    return version;
  }
}

async function reportedThroughput(
  device: BenchDevice,
  updates: number,
): Promise<{ calls: number; writes: number }> {
  const versions = new Set<number>();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let n = next++; n < updates; n = next++) {
        const version = await withTimeout(
          device.updateReported({ t: n }),
          OPERATION_TIMEOUT_MS,
          `reported update ${String(n)} (16 in flight)`,
        );
        if (version !== undefined) versions.add(version);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  // The official SDK does not surface the version; each of its calls is one PUBLISH and one write.
  const writes = versions.size === 0 ? updates : versions.size;
  return { calls: updates / seconds, writes: writes / seconds };
}

async function desiredLatency(
  service: ServiceClient,
  deviceId: string,
  device: BenchDevice,
  samples: number,
): Promise<Latency> {
  // A notification can arrive before hub.fetch resolves, so arrivals are recorded by version
  // and matched with the version the PATCH returns.
  const arrivals = new Map<number, number>();
  let waiter: { version: number; resolve: () => void } | undefined;
  await device.onDesired((version) => {
    arrivals.set(version, performance.now());
    if (waiter !== undefined && version >= waiter.version) waiter.resolve();
  });
  const once = async (n: number): Promise<number> => {
    const start = performance.now();
    const version = await service.patchDesired(deviceId, { n });
    if (!arrivals.has(version)) {
      await withTimeout(
        new Promise<void>((resolve) => {
          waiter = { version, resolve };
        }),
        OPERATION_TIMEOUT_MS,
        `desired notification $version ${String(version)} on ${deviceId}`,
      );
      waiter = undefined;
    }
    const arrived = arrivals.get(version) ?? performance.now();
    arrivals.clear();
    return arrived - start;
  };
  for (let i = 0; i < WARM_UP; i++) await once(i);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push(await once(WARM_UP + i));
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function latencyScenarios(
  hub: TestHub,
  sdk: OfficialSdk,
  settings: Settings,
  rows: Row[],
): Promise<void> {
  const service = new ServiceClient(hub);
  const impls = ['ours', 'official'] as const;
  const devices = new Map<Impl, { deviceId: string; device: BenchDevice }>();
  try {
    for (const impl of impls) {
      const deviceId = `latency-${impl}`;
      const created = await hub.hub.createDevice(deviceId);
      const connectionString = `${created.connectionString};GatewayHostName=localhost:${String(hub.mqttPort)}`;
      const device = await withTimeout(
        impl === 'ours'
          ? openOurs(connectionString, hub.caCertificate)
          : openOfficial(sdk, connectionString, hub.caCertificate),
        OPERATION_TIMEOUT_MS,
        `${impl} open`,
      );
      devices.set(impl, { deviceId, device });
    }
    const get = new Map<Impl, Latency>();
    const reported = new Map<Impl, Latency>();
    const throughput = new Map<Impl, { calls: number; writes: number }>();
    const desired = new Map<Impl, Latency>();
    // Two rounds, each SDK in turn per scenario; the second (warm) round is reported, so a
    // one-off hiccup of the shared in-process hub is less likely to land on one side only.
    for (let round = 1; round <= 2; round++) {
      console.error(`  round ${String(round)}/2: getTwin, reported latency, reported throughput…`);
      for (const [impl, { device }] of devices)
        get.set(
          impl,
          await sequentialLatency(`${impl} getTwin`, settings.samples, () => device.getTwin()),
        );
      for (const [impl, { device }] of devices)
        reported.set(
          impl,
          await sequentialLatency(`${impl} reported update`, settings.samples, (i) =>
            device.updateReported({ seq: i }),
          ),
        );
      for (const [impl, { device }] of devices)
        throughput.set(impl, await reportedThroughput(device, settings.updates));
    }
    // Desired last and once: a listener on the official Twin also fires on every getTwin(),
    // which would tax its getTwin figures in a later round.
    console.error('  desired propagation…');
    for (const [impl, { deviceId, device }] of devices)
      desired.set(impl, await desiredLatency(service, deviceId, device, settings.samples));

    const add = <T>(
      scenario: string,
      from: Map<Impl, T>,
      pick: (value: T) => number,
      unit: string,
      digits: number,
    ) => {
      const ours = from.get('ours');
      const official = from.get('official');
      rows.push({
        scenario,
        ours: ours === undefined ? undefined : pick(ours),
        official: official === undefined ? undefined : pick(official),
        unit,
        digits,
      });
    };
    const n = settings.samples;
    add(`getTwin p50 (sequential, ${String(n)})`, get, (l) => l.p50, 'ms', 3);
    add(`getTwin p99 (sequential, ${String(n)})`, get, (l) => l.p99, 'ms', 3);
    add(`reported update p50 (sequential, ${String(n)})`, reported, (l) => l.p50, 'ms', 3);
    add(`reported update p99 (sequential, ${String(n)})`, reported, (l) => l.p99, 'ms', 3);
    add(
      `reported updates/s, ${String(IN_FLIGHT)} in flight: calls acknowledged (${String(settings.updates)})`,
      throughput,
      (t) => t.calls,
      'ops/s',
      0,
    );
    add(
      `reported updates/s, ${String(IN_FLIGHT)} in flight: hub writes`,
      throughput,
      (t) => t.writes,
      'ops/s',
      0,
    );
    add(
      `desired propagation p50 (service PATCH → handler, ${String(n)})`,
      desired,
      (l) => l.p50,
      'ms',
      3,
    );
    add(
      `desired propagation p99 (service PATCH → handler, ${String(n)})`,
      desired,
      (l) => l.p99,
      'ms',
      3,
    );
  } finally {
    for (const [impl, { device }] of devices) {
      await withTimeout(device.close(), OPERATION_TIMEOUT_MS, `${impl} close`).catch(
        (error: unknown) => {
          console.error(`  warning: ${message(error)}`);
        },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes: line-delimited JSON on stdout, commands on stdin.

const children = new Set<ChildProcessByStdio<Writable, Readable, null>>();
const scriptPath = fileURLToPath(import.meta.url);

let hardFdLimit: number | undefined;
/** The hard RLIMIT_NOFILE, read through the shell since Node does not expose getrlimit. */
function fdHardLimit(): number {
  if (hardFdLimit === undefined) {
    const result = spawnSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
    const text = result.stdout.trim();
    hardFdLimit = text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text);
    if (!Number.isFinite(hardFdLimit) || hardFdLimit <= 0) hardFdLimit = 1024;
  }
  return hardFdLimit;
}

class Child {
  readonly #process: ChildProcessByStdio<Writable, Readable, null>;
  readonly #label: string;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #exit: string | undefined;

  constructor(label: string, role: string, env: Record<string, string>, fdLimit: number) {
    this.#label = label;
    // `ulimit -n` in a spawned shell raises the soft fd limit (up to the hard one) for this
    // child only; `exec` keeps the pid, so the child's RSS is the node process's.
    this.#process = spawn(
      '/bin/sh',
      [
        '-c',
        'ulimit -n "$1" || exit 90; shift; exec "$@"',
        'sh',
        String(fdLimit),
        process.execPath,
        '--expose-gc',
        ...process.execArgv,
        scriptPath,
      ],
      { env: { ...process.env, ...env, BENCH_ROLE: role }, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.add(this.#process);
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      this.#lines.push(line);
      this.#wake?.();
    });
    this.#process.on('exit', (code, signal) => {
      children.delete(this.#process);
      this.#exit =
        signal === null
          ? `exit code ${String(code)}${code === 90 ? ' (could not raise the fd limit)' : ''}`
          : `signal ${signal}`;
      this.#wake?.();
    });
    this.#process.stdin.on('error', () => undefined);
  }

  get pid(): number {
    return this.#process.pid ?? -1;
  }

  /** The next JSON record; a `{ error }` record or an early exit becomes a thrown Error. */
  async next<T>(timeoutMs: number, waitingFor: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          console.error(`  [${this.#label}] ${line}`);
          continue;
        }
        if (typeof record === 'object' && record !== null && 'error' in record) {
          throw new Error(`${this.#label}: ${String(record.error)}`);
        }
        return record as T;
      }
      if (this.#exit !== undefined)
        throw new Error(`${this.#label} ended (${this.#exit}) while ${waitingFor}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${this.#label} did not answer within ${String(timeoutMs)} ms while ${waitingFor}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  send(command: string): void {
    if (this.#exit === undefined) this.#process.stdin.write(`${command}\n`);
  }

  /** Asks the child to exit; kills it when it does not within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.#exit !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#process.once('exit', () => resolve()));
    this.send('exit');
    this.#process.stdin.end();
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

async function readCommands(onCommand: (command: string) => Promise<void>): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    const command = line.trim();
    if (command === 'exit') return;
    await onCommand(command);
  }
}

interface DeviceList {
  ca: string;
  connectionStrings: string[];
}

/** Child role `clients`: opens every device of the list, reports, closes on `exit`. */
async function clientsRole(): Promise<void> {
  const impl = process.env.BENCH_IMPL as Impl;
  const list = JSON.parse(readFileSync(process.env.BENCH_INPUT ?? '', 'utf8')) as DeviceList;
  const sdk = impl === 'official' ? loadOfficialSdk() : undefined;
  const getTwinAfterOpen = process.env.BENCH_GET_TWIN === '1';
  const open = (connectionString: string) =>
    withTimeout(
      (async () => {
        const device = await (sdk === undefined
          ? openOurs(connectionString, list.ca)
          : openOfficial(sdk, connectionString, list.ca));
        if (getTwinAfterOpen) await device.getTwin();
        return device;
      })(),
      60_000,
      `${impl} open`,
    );
  const [warmUp, ...rest] = list.connectionStrings;
  if (warmUp === undefined) throw new Error('no devices to open');
  // One client opened and closed first, so lazily loaded modules and TLS state land in the
  // baseline rather than in the per-client figure.
  await (await open(warmUp)).close();
  await sleep(500);
  gc();
  const before = process.memoryUsage();
  const cpuBefore = process.cpuUsage();
  const devices: BenchDevice[] = [];
  const openTimes: number[] = [];
  let firstError: unknown;
  let failures = 0;
  const connectMs = await runPool(
    rest.length,
    Number(process.env.BENCH_CONCURRENCY ?? CONNECT_CONCURRENCY),
    async (index) => {
      try {
        const start = performance.now();
        devices.push(await open(rest[index] ?? ''));
        openTimes.push(performance.now() - start);
      } catch (error) {
        failures++;
        firstError ??= error;
      }
    },
  );
  if (failures > 0) {
    emit({
      error: `${String(failures)} of ${String(rest.length)} ${impl} clients failed to open; first: ${message(firstError)}`,
    });
  } else {
    await sleep(2000);
    gc();
    const after = process.memoryUsage();
    const cpu = process.cpuUsage(cpuBefore);
    emit({
      connected: devices.length,
      connectMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      openP50: percentile(
        openTimes.sort((a, b) => a - b),
        50,
      ),
      openP99: percentile(openTimes, 99),
      openMax: openTimes.at(-1) ?? Number.NaN,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
    });
    await readCommands(async () => undefined);
  }
  await runPool(devices.length, CONNECT_CONCURRENCY, async (index) => {
    await withTimeout(devices[index]?.close() ?? Promise.resolve(), 30_000, 'close').catch(
      () => undefined,
    );
  });
}

/** Child role `hub`: a hub alone in its process with `BENCH_DEVICES` devices; reports its RSS on `measure`. */
async function hubRole(): Promise<void> {
  const count = Number(process.env.BENCH_DEVICES);
  const output = process.env.BENCH_OUTPUT ?? '';
  const hub = await createHub();
  const server = await listen(hub, { host: '127.0.0.1', httpsPort: 0, mqttPort: 0 });
  try {
    const mqttPort = server.ports.mqtt;
    if (mqttPort === undefined) throw new Error('the hub serves no MQTT endpoint');
    const start = performance.now();
    const connectionStrings: string[] = [];
    for (let i = 0; i < count; i++) {
      const created = await hub.createDevice(`load-${String(i)}`);
      connectionStrings.push(
        `${created.connectionString};GatewayHostName=localhost:${String(mqttPort)}`,
      );
    }
    const createMs = performance.now() - start;
    writeFileSync(
      output,
      JSON.stringify({ ca: hub.caCertificate, connectionStrings } satisfies DeviceList),
    );
    await sleep(500);
    gc();
    const cpuReady = process.cpuUsage();
    emit({ ready: true, createMs, rss: process.memoryUsage().rss });
    await readCommands(async (command) => {
      if (command !== 'measure') return;
      const cpu = process.cpuUsage(cpuReady);
      await sleep(1000);
      gc();
      emit({
        rss: process.memoryUsage().rss,
        heapUsed: process.memoryUsage().heapUsed,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
    });
  } finally {
    await server.close();
    await hub.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios 5 and 6.

async function memoryScenario(
  hub: TestHub,
  settings: Settings,
  scratch: string,
  rows: Row[],
): Promise<void> {
  const results = new Map<Impl, { rss: number; heap: number }>();
  for (const impl of ['ours', 'official'] as const) {
    const connectionStrings: string[] = [];
    for (let i = 0; i <= settings.memoryClients; i++) {
      const created = await hub.hub.createDevice(`memory-${impl}-${String(i)}`);
      connectionStrings.push(
        `${created.connectionString};GatewayHostName=localhost:${String(hub.mqttPort)}`,
      );
    }
    const input = join(scratch, `memory-${impl}.json`);
    writeFileSync(
      input,
      JSON.stringify({ ca: hub.caCertificate, connectionStrings } satisfies DeviceList),
    );
    console.error(
      `  ${impl}: opening ${String(settings.memoryClients)} clients in a child process…`,
    );
    const child = new Child(
      `memory child (${impl})`,
      'clients',
      {
        BENCH_IMPL: impl,
        BENCH_INPUT: input,
        BENCH_CONCURRENCY: String(MEMORY_CONCURRENCY),
        BENCH_GET_TWIN: settings.getTwinAfterOpen ? '1' : '0',
      },
      Math.min(fdHardLimit(), settings.memoryClients + 1000),
    );
    try {
      const report = await child.next<{
        connected: number;
        rssBefore: number;
        rssAfter: number;
        heapBefore: number;
        heapAfter: number;
      }>(300_000, `opening ${String(settings.memoryClients)} clients`);
      results.set(impl, {
        rss: (report.rssAfter - report.rssBefore) / report.connected / 1024,
        heap: (report.heapAfter - report.heapBefore) / report.connected / 1024,
      });
    } finally {
      await child.stop();
    }
  }
  const n = settings.memoryClients.toLocaleString('en-US');
  rows.push({
    scenario: `memory per connected client, RSS (${n} clients)`,
    ours: results.get('ours')?.rss,
    official: results.get('official')?.rss,
    unit: 'KB',
    digits: 1,
  });
  rows.push({
    scenario: `memory per connected client, JS heap (${n} clients)`,
    ours: results.get('ours')?.heap,
    official: results.get('official')?.heap,
    unit: 'KB',
    digits: 1,
  });
}

interface HubLoadResult {
  hubRssIdle: number;
  hubRss: number;
  hubCpuMs: number;
  connectMs: number;
  open: { p50: number; p99: number; max: number };
  clientCpuMs: number;
  clientRss: number;
}

async function hubLoad(
  impl: Impl,
  count: number,
  scratch: string,
  getTwinAfterOpen: boolean,
): Promise<HubLoadResult> {
  const devicesFile = join(scratch, `hub-${impl}.json`);
  const fdLimit = Math.min(fdHardLimit(), count + 1000);
  const hubChild = new Child(
    `hub child (${impl} clients)`,
    'hub',
    { BENCH_DEVICES: String(count), BENCH_OUTPUT: devicesFile },
    fdLimit,
  );
  try {
    const ready = await hubChild.next<{ createMs: number; rss: number }>(
      600_000,
      `registering ${String(count)} devices`,
    );
    console.error(
      `  ${impl}: hub child pid ${String(hubChild.pid)} registered ${String(count)} devices in ${(ready.createMs / 1000).toFixed(1)} s; connecting…`,
    );
    const clients = new Child(
      `client child (${impl})`,
      'clients',
      { BENCH_IMPL: impl, BENCH_INPUT: devicesFile, BENCH_GET_TWIN: getTwinAfterOpen ? '1' : '0' },
      fdLimit,
    );
    try {
      // The list has `count` entries; the first is the warm-up client, so count - 1 stay connected.
      const report = await clients.next<{
        connected: number;
        connectMs: number;
        cpuMs: number;
        openP50: number;
        openP99: number;
        openMax: number;
        rssAfter: number;
      }>(900_000, `connecting ${String(count)} clients`);
      hubChild.send('measure');
      const measured = await hubChild.next<{ rss: number; cpuMs: number }>(
        60_000,
        'measuring the hub',
      );
      return {
        hubRssIdle: ready.rss,
        hubRss: measured.rss,
        hubCpuMs: measured.cpuMs,
        connectMs: report.connectMs,
        open: { p50: report.openP50, p99: report.openP99, max: report.openMax },
        clientCpuMs: report.cpuMs,
        clientRss: report.rssAfter,
      };
    } finally {
      await clients.stop(60_000);
    }
  } finally {
    await hubChild.stop(60_000);
  }
}

async function hubScenario(settings: Settings, scratch: string, rows: Row[]): Promise<void> {
  const limit = fdHardLimit();
  // +1: the first device is the clients' warm-up; +200 fds for the process's own files and listeners.
  let total = settings.hubDevices + 1;
  if (total + 200 > limit) {
    total = limit - 200;
    console.error(
      `  note: the fd hard limit is ${String(limit)} and cannot be raised here; using ${String(total - 1)} devices instead of ${String(settings.hubDevices)}`,
    );
  }
  const connected = total - 1;
  const results = new Map<Impl, HubLoadResult>();
  const impls: Impl[] = settings.skipHubOfficial ? ['ours'] : ['ours', 'official'];
  for (const impl of impls) {
    const start = performance.now();
    results.set(impl, await hubLoad(impl, total, scratch, settings.getTwinAfterOpen));
    console.error(`  ${impl}: done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
  const n = connected.toLocaleString('en-US');
  const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / 1024 / 1024);
  const ours = results.get('ours');
  const official = results.get('official');
  rows.push({
    scenario: `hub RSS, ${n} devices registered, none connected`,
    ours: mb(ours?.hubRssIdle),
    official: mb(official?.hubRssIdle),
    unit: 'MB',
    digits: 1,
  });
  rows.push({
    scenario: `hub RSS, ${n} devices connected`,
    ours: mb(ours?.hubRss),
    official: mb(official?.hubRss),
    unit: 'MB',
    digits: 1,
  });
  const perConnection = (r: HubLoadResult | undefined) =>
    r === undefined ? undefined : (r.hubRss - r.hubRssIdle) / connected / 1024;
  rows.push({
    scenario: `hub RSS per connection (${n})`,
    ours: perConnection(ours),
    official: perConnection(official),
    unit: 'KB',
    digits: 1,
  });
  rows.push({
    scenario: `connect ${n} devices, total (${String(CONNECT_CONCURRENCY)} opens in flight)`,
    ours: ours === undefined ? undefined : ours.connectMs / 1000,
    official: official === undefined ? undefined : official.connectMs / 1000,
    unit: 's',
    digits: 2,
  });
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  for (const key of ['p50', 'p99', 'max'] as const) {
    rows.push({
      scenario: `one open() under that load, ${key}`,
      ours: seconds(ours?.open[key]),
      official: seconds(official?.open[key]),
      unit: 's',
      digits: 2,
    });
  }
  rows.push({
    scenario: `hub CPU time while they connect`,
    ours: seconds(ours?.hubCpuMs),
    official: seconds(official?.hubCpuMs),
    unit: 's',
    digits: 1,
  });
  rows.push({
    scenario: `client process CPU time while connecting`,
    ours: seconds(ours?.clientCpuMs),
    official: seconds(official?.clientCpuMs),
    unit: 's',
    digits: 1,
  });
  rows.push({
    scenario: `client process RSS with ${n} clients`,
    ours: mb(ours?.clientRss),
    official: mb(official?.clientRss),
    unit: 'MB',
    digits: 1,
  });
}

// ---------------------------------------------------------------------------------------------
// Main.

function parseSettings(): Settings {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '500' },
      updates: { type: 'string', default: '4000' },
      'memory-clients': { type: 'string', default: '1000' },
      'hub-devices': { type: 'string', default: '10000' },
      'skip-hub-official': { type: 'boolean', default: false },
      'get-twin-after-open': { type: 'boolean', default: false },
      scenarios: { type: 'string', default: 'latency,memory,hub' },
    },
    strict: true,
  });
  const positive = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`--${name} must be a positive integer, got '${text}'`);
    return value;
  };
  const scenarios = new Set(values.scenarios.split(',').map((name) => name.trim()));
  for (const name of scenarios) {
    if (!['latency', 'memory', 'hub'].includes(name)) {
      throw new RangeError(
        `--scenarios takes a comma-separated subset of latency,memory,hub; got '${name}'`,
      );
    }
  }
  return {
    samples: positive('samples', values.samples),
    updates: positive('updates', values.updates),
    memoryClients: positive('memory-clients', values['memory-clients']),
    hubDevices: positive('hub-devices', values['hub-devices']),
    skipHubOfficial: values['skip-hub-official'],
    getTwinAfterOpen: values['get-twin-after-open'],
    scenarios,
  };
}

function printTable(rows: readonly Row[]): void {
  const format = (value: number | undefined, row: Row) =>
    value === undefined || Number.isNaN(value)
      ? 'n/a'
      : `${value.toLocaleString('en-US', { minimumFractionDigits: row.digits, maximumFractionDigits: row.digits })} ${row.unit}`;
  console.log(
    '\n| scenario | ours (twinkit DeviceClient) | official (azure-iot-device Mqtt) | ours/official |\n|---|---|---|---|',
  );
  for (const row of rows) {
    const ratio =
      row.ours !== undefined && row.official !== undefined && row.official !== 0
        ? (row.ours / row.official).toFixed(2)
        : 'n/a';
    console.log(
      `| ${row.scenario} | ${format(row.ours, row)} | ${format(row.official, row)} | ${ratio} |`,
    );
  }
}

async function section(name: string, failures: string[], run: () => Promise<void>): Promise<void> {
  const start = performance.now();
  console.error(`${name}…`);
  try {
    await run();
    console.error(`  ${name}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  } catch (error) {
    failures.push(`${name}: ${message(error)}`);
    console.error(`  ${name} FAILED: ${message(error)}`);
  }
}

async function main(): Promise<void> {
  const settings = parseSettings();
  const sdk = loadOfficialSdk();
  const rows: Row[] = [];
  const failures: string[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'twinkit-device-bench-'));
  const stopChildren = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    stopChildren();
    rmSync(scratch, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    const hub = await startTestHub();
    try {
      if (hub.mqttPort === undefined) throw new Error('startTestHub() serves no MQTT endpoint');
      if (settings.scenarios.has('latency')) {
        await section('latency and throughput (in-process hub)', failures, () =>
          latencyScenarios(hub, sdk, settings, rows),
        );
      }
      if (settings.scenarios.has('memory')) {
        await section('memory per client (child process per SDK)', failures, () =>
          memoryScenario(hub, settings, scratch, rows),
        );
      }
    } finally {
      await hub.close();
    }
    if (settings.scenarios.has('hub'))
      await section(
        `hub with ${String(settings.hubDevices)} connected devices (hub and clients in child processes)`,
        failures,
        () => hubScenario(settings, scratch, rows),
      );
  } finally {
    stopChildren();
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(
    `\nNode ${process.version}, ${String(settings.samples)} samples after ${String(WARM_UP)} warm-up calls; MQTT over TLS on 127.0.0.1.`,
  );
  printTable(rows);
  if (failures.length > 0) {
    console.error(
      `\n${String(failures.length)} scenario(s) failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    );
    process.exitCode = 1;
  }
}

async function child(run: () => Promise<void>): Promise<void> {
  try {
    await run();
    process.exit(0);
  } catch (error) {
    emit({ error: message(error) });
    process.exit(1);
  }
}

const role = process.env.BENCH_ROLE;
if (role === 'clients') await child(clientsRole);
else if (role === 'hub') await child(hubRole);
else {
  await main();
  // The official SDK can leave timers behind after close(); the table is printed, so end here.
  process.exit();
}
