/**
 * @summary A device whose process dies while it is offline loses nothing. With
 * `DeviceClientOptions.store` (here `createFileStore` from `@twinkit/device/file-store`), the
 * client keeps its outbox of reported patches and the last desired state it handed to the app in
 * a file. The device process is killed (SIGKILL) while the network is down and three readings
 * wait in its outbox; the back end changes the desired interval meanwhile. A new process with
 * the same state file sends the three readings once, in order, and its handler gets the new
 * interval once, as a `resync` change.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { check, deferred, openPlayground, within } from '@twinkit/example-shared';
import { parseDeviceConnectionString } from '@twinkit/twin-model/protocol';

await using playground = await openPlayground();
const testHub = playground.testHub;
if (testHub === undefined) {
  throw new Error(
    "This example drops the device's connection with the in-process hub's fault injection; run it without IOTHUB_CONNECTION_STRING and IOTHUB_DEVICE_CONNECTION_STRING.",
  );
}
const { registry } = playground;
const { deviceId, connectionString } = await playground.addDevice('sensor-1');
const { hostName, sharedAccessKey } = parseDeviceConnectionString(connectionString);
if (sharedAccessKey === undefined)
  throw new Error('The device connection string has no SharedAccessKey');

const folder = await mkdtemp(join(tmpdir(), 'twinkit-durable-outbox-'));
await using _folder = { [Symbol.asyncDispose]: () => rm(folder, { recursive: true, force: true }) };
const storeFile = join(folder, 'device-state.json');
const outageFile = join(folder, 'network-down');

type DeviceEvent = { event: string; [key: string]: unknown };

/** Starts src/device-process.ts; resolves `wait(predicate)` when the device says something. */
function startDevice(name: string) {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@twinkit/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('device-process.ts', import.meta.url)),
    ],
    {
      env: {
        ...process.env,
        HUB_HOST: hostName,
        DEVICE_ID: deviceId,
        DEVICE_KEY: sharedAccessKey,
        HUB_CA: testHub?.caCertificate ?? '',
        STORE_FILE: storeFile,
        OUTAGE_FILE: outageFile,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const events: DeviceEvent[] = [];
  const waiters: {
    predicate: (event: DeviceEvent) => boolean;
    resolve: (event: DeviceEvent) => void;
  }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as DeviceEvent;
    console.log(`   [${name}] ${line}`);
    events.push(event);
    for (const waiter of waiters.filter((candidate) => candidate.predicate(event)))
      waiter.resolve(event);
  });
  const exited = deferred<NodeJS.Signals | number | null>();
  child.once('exit', (code, signal) => exited.resolve(signal ?? code));
  return {
    events,
    exited: exited.promise,
    // If the example fails half-way, no device process outlives it.
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited.promise;
    },
    kill: () => child.kill('SIGKILL'),
    send: (command: object) => child.stdin.write(`${JSON.stringify(command)}\n`),
    wait: (what: string, predicate: (event: DeviceEvent) => boolean) => {
      const found = events.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      const next = deferred<DeviceEvent>();
      waiters.push({ predicate, resolve: next.resolve });
      return within(next.promise, what);
    },
  };
}

console.log('1. The device process starts with an empty state file and connects.');
await using first = startDevice('device, process 1');
await first.wait('process 1 to open', (event) => event.event === 'open');
await registry.updateTwin(deviceId, { properties: { desired: { interval: 10 } } });
await first.wait('the interval', (event) => event.event === 'desired' && event.value === 10);

console.log(
  '2. The network goes down; the device takes three readings, each saved to its state file.',
);
await writeFile(outageFile, '');
check(testHub.hub.faults.mqtt.dropConnection({ deviceId }), 'the hub dropped the connection');
await first.wait(
  'process 1 to notice',
  (event) => event.event === 'state' && event.state === 'reconnecting',
);
for (const reading of [21, 22, 23]) {
  first.send({ measure: reading });
  await first.wait(
    `reading ${String(reading)} saved`,
    (event) => event.event === 'saved' && event.reading === reading,
  );
}

console.log(
  '3. The process is killed before the network comes back; the back end changes the interval.',
);
first.kill();
check((await first.exited) === 'SIGKILL', 'process 1 was killed');
check(
  first.events.every((event) => event.event !== 'acknowledged'),
  'none of the readings reached the hub',
);
const changed = await registry.updateTwin(deviceId, { properties: { desired: { interval: 30 } } });

console.log('4. The network is back; a new process starts with the same state file.');
await rm(outageFile);
await using second = startDevice('device, process 2');
await second.wait('process 2 to open', (event) => event.event === 'open');
const resync = await second.wait('the interval change', (event) => event.event === 'desired');
check(
  resync.value === 30 &&
    resync.reason === 'resync' &&
    resync.version === changed.properties.desired.$version,
  `the handler got interval ${String(resync.value)} once, as a ${String(resync.reason)} change`,
);
const twin = await within(
  (async () => {
    for (;;) {
      const current = await registry.getTwin(deviceId);
      if (current.properties.reported.lastReading === 23) return current;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })(),
  'the readings on the hub',
);
check(
  JSON.stringify(twin.properties.reported.readings) === '{"r21":21,"r22":22,"r23":23}',
  `the hub has the three readings: ${JSON.stringify(twin.properties.reported.readings)}`,
);
check(
  twin.properties.reported.$version === 4,
  `reported $version ${String(twin.properties.reported.$version)}: three writes, each applied once, the last one last`,
);

second.send({ close: true });
check(
  (await within(second.exited, 'process 2 to exit')) === 0,
  'process 2 closed its client and exited',
);
check(
  second.events.filter((event) => event.event === 'desired').length === 1,
  'process 2 got exactly one desired change',
);
console.log('\nNothing queued before the crash was lost, and nothing was delivered twice.');
