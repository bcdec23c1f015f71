/**
 * @summary `pnpm demo`: device twins end to end, narrated. It starts an IoT Hub inside this
 * process (on 127.0.0.1, ports picked by the OS), provisions six thermostats in three plants, runs
 * a device app for each (DeviceClient over MQTT/TLS) that reports its connectivity and applies
 * desired telemetry settings, and a back end (Registry) that tags the devices using ETags, runs
 * the guide's two Redmond43 queries and changes desired properties. It exits 0 only if every
 * expected effect was observed.
 *
 * `pnpm demo --hub "<service connection string>" --device "<device connection string>"` runs the
 * same against a real IoT Hub, with that one device playing the first thermostat.
 *
 * Locally it prints the link to the hub's explorer. Run from a terminal, it waits for Enter before
 * the fleet starts (open the link first to watch it change) and keeps the hub running after the
 * last check until Ctrl-C; run by a script (stdin not a terminal) it goes straight through.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { DeviceClient, mqtt } from '@twinkit/device';
import { check, deferred, openPlayground, within, type Playground } from '@twinkit/example-shared';
import { isPreconditionFailedError } from '@twinkit/service';

interface Desired {
  telemetryConfig: { sendFrequency: string };
}
interface Reported {
  connectivity: { type: string };
  telemetryConfig: { sendFrequency: string; status: 'Success' };
}
interface Tags {
  location?: { region: string; plant: string };
  lastAudit?: string;
}

const { values: args } = parseArgs({
  options: { hub: { type: 'string' }, device: { type: 'string' } },
});
if ((args.hub === undefined) !== (args.device === undefined)) {
  throw new Error(
    'Pass both --hub "<service connection string>" and --device "<device connection string>", or neither.',
  );
}

const fleet = [
  { name: 'thermostat-01', plant: 'Redmond43', connectivity: 'cellular' },
  { name: 'thermostat-02', plant: 'Redmond43', connectivity: 'wifi' },
  { name: 'thermostat-03', plant: 'Redmond43', connectivity: 'cellular' },
  { name: 'thermostat-04', plant: 'Seattle1', connectivity: 'cellular' },
  { name: 'thermostat-05', plant: 'Seattle1', connectivity: 'wired' },
  { name: 'thermostat-06', plant: 'Lyon7', connectivity: 'cellular' },
];
const inRedmond = "SELECT * FROM devices WHERE tags.location.plant = 'Redmond43'";
const cellularInRedmond = `${inRedmond} AND properties.reported.connectivity.type = 'cellular'`;

let step = 0;
const say = (text: string) => {
  step += 1;
  console.log(`\n${String(step)}. ${text}`);
};

console.log('twinkit demo: Azure IoT Hub device twins, end to end.');
say(
  args.hub === undefined
    ? 'Start an IoT Hub inside this process. No cloud, no ports to configure.'
    : 'Connect to the IoT Hub named by --hub.',
);
await using playground: Playground = await openPlayground({
  serviceConnectionString: args.hub,
  deviceConnectionString: args.device,
});
const { registry } = playground;
const interactive = process.stdin.isTTY && process.stdout.isTTY;
const explorer = playground.testHub?.server?.urls.explorer;
if (explorer !== undefined) {
  console.log(`   Watch the fleet in the hub's explorer: ${explorer}`);
  console.log(
    "   (your browser will warn about the hub's development certificate; it is this process's own CA: proceed.)",
  );
  if (interactive) await pressEnter('   Open it, then press Enter to start the fleet. ');
}
const members = playground.kind === 'local' ? fleet : fleet.slice(0, 1);

say(
  `Provision the fleet: ${String(members.length)} device identit${members.length === 1 ? 'y' : 'ies'}.`,
);
const devices = [];
for (const member of members) {
  const { deviceId, connectionString } = await playground.addDevice(member.name);
  devices.push({ ...member, deviceId, connectionString });
  console.log(`   ${deviceId}: plant ${member.plant}, ${member.connectivity}`);
}
const expectedRedmond = devices.filter((d) => d.plant === 'Redmond43').map((d) => d.deviceId);
const expectedCellular = devices
  .filter((d) => d.plant === 'Redmond43' && d.connectivity === 'cellular')
  .map((d) => d.deviceId);

say(
  'Start the device apps: each connects over MQTT, reads its twin, listens for telemetryConfig and reports its connectivity.',
);
const apps: {
  deviceId: string;
  client: DeviceClient<Desired, Reported>;
  applied: Promise<string>;
}[] = [];
try {
  for (const device of devices) {
    const client = DeviceClient.fromConnectionString<Desired, Reported>(device.connectionString, {
      ...playground.deviceOptions,
      transport: mqtt(),
    });
    const applied = deferred<string>();
    client.onDesired('telemetryConfig', async ({ value, version }) => {
      if (value === null) return;
      console.log(
        `   [${device.deviceId}] told to send every ${value.sendFrequency} (desired version ${String(version)}); applying and reporting back`,
      );
      await client.updateReportedProperties({
        telemetryConfig: { sendFrequency: value.sendFrequency, status: 'Success' },
      });
      applied.resolve(value.sendFrequency);
    });
    apps.push({ deviceId: device.deviceId, client, applied: applied.promise });
    await client.open();
    const twin = await client.getTwin();
    const { version } = await client.updateReportedProperties({
      connectivity: { type: device.connectivity },
    });
    console.log(
      `   [${device.deviceId}] connected; desired version ${String(twin.desired.$version)}; reported connectivity ${device.connectivity} (reported version ${String(version)})`,
    );
  }

  say(
    'The back end tags each device with its plant, writing with the ETag it read, so a concurrent change cannot be overwritten.',
  );
  for (const device of devices) {
    const twin = await registry.getTwin<Desired, Reported, Tags>(device.deviceId);
    const tagged = await registry.updateTwin(
      twin,
      { tags: { location: { region: 'US', plant: device.plant } } },
      { onlyIfUnchanged: true },
    );
    console.log(
      `   ${device.deviceId}: etag ${twin.etag} → ${tagged.etag}, tags.location ${JSON.stringify(tagged.tags?.location)}`,
    );
    check(
      tagged.tags?.location?.plant === device.plant,
      `${device.deviceId} is tagged ${device.plant}`,
    );
  }
  const first = devices[0];
  if (first === undefined) throw new Error('The fleet is empty');
  const stale = await registry.getTwin(first.deviceId);
  await registry.updateTwin(first.deviceId, { tags: { lastAudit: new Date().toISOString() } });
  try {
    await registry.updateTwin(
      stale,
      { tags: { location: { plant: 'Nowhere' } } },
      { onlyIfUnchanged: true },
    );
    check(false, 'a write with a stale ETag was accepted');
  } catch (error) {
    if (!isPreconditionFailedError(error)) throw error;
    check(
      true,
      `a write with the stale ETag ${stale.etag} was refused with 412; the twin was not touched`,
    );
  }

  /** Runs a query; IoT Hub indexes twins within seconds (the local hub at once), so retry until the fleet shows up. */
  const query = async (sql: string, expected: string[]): Promise<string[]> => {
    for (const deadline = Date.now() + 60_000; ;) {
      const found: string[] = [];
      for await (const page of registry.queryTwins(sql).byPage({ maxPageSize: 2 })) {
        console.log(
          `   page of ${String(page.items.length)}: ${page.items.map((twin) => twin.deviceId).join(', ')}`,
        );
        found.push(...page.items.map((twin) => twin.deviceId));
      }
      if (expected.every((id) => found.includes(id)) || Date.now() > deadline) return found;
      console.log('   (not indexed yet; asking again)');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  };
  const sameSet = (found: string[], expected: string[]) =>
    playground.kind === 'local'
      ? found.length === expected.length && expected.every((id) => found.includes(id))
      : expected.every((id) => found.includes(id));

  say(`Query the devices in plant Redmond43, two per page:\n   ${inRedmond}`);
  const redmond = await query(inRedmond, expectedRedmond);
  check(sameSet(redmond, expectedRedmond), `Redmond43 devices: ${redmond.join(', ')}`);

  say(`Query the ones among them that use a cellular network:\n   ${cellularInRedmond}`);
  const cellular = await query(cellularInRedmond, expectedCellular);
  check(sameSet(cellular, expectedCellular), `cellular Redmond43 devices: ${cellular.join(', ')}`);

  say(
    'Cellular data costs money: the back end asks those devices, in one bulk call, to send telemetry every 5 minutes instead.',
  );
  const bulk = await registry.updateTwins(
    cellular
      .filter((id) => expectedCellular.includes(id))
      .map((deviceId) => ({
        deviceId,
        properties: { desired: { telemetryConfig: { sendFrequency: '5m' } } },
      })),
  );
  check(
    bulk.isSuccessful,
    `${String(bulk.results.filter((r) => r.succeeded).length)} twin(s) updated`,
  );

  say('Each device is told, applies the setting and reports it; the back end reads the reports.');
  for (const app of apps.filter((a) => expectedCellular.includes(a.deviceId))) {
    const frequency = await within(
      app.applied,
      `${app.deviceId} to apply the new telemetry setting`,
    );
    const reported = (await registry.getTwin<Desired, Reported>(app.deviceId)).properties.reported;
    check(
      frequency === '5m' &&
        reported.telemetryConfig.sendFrequency === '5m' &&
        reported.telemetryConfig.status === 'Success',
      `${app.deviceId} reports telemetryConfig ${JSON.stringify(reported.telemetryConfig)}`,
    );
  }
  const untouched =
    playground.kind === 'local' ? apps.filter((a) => !expectedCellular.includes(a.deviceId)) : [];
  for (const app of untouched) {
    const twin = await registry.getTwin(app.deviceId);
    check(twin.properties.desired.telemetryConfig === undefined, `${app.deviceId} was left alone`);
  }
} finally {
  for (const app of apps) await app.client.close();
}

console.log(
  '\nEvery expected effect was observed. Next: the examples in examples/ and the guides in docs/.',
);
if (explorer !== undefined && interactive) {
  console.log(`The hub keeps running for the explorer (${explorer}): press Ctrl-C to stop.`);
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
}

/** Waits for Enter on the terminal. */
async function pressEnter(prompt: string): Promise<void> {
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  await terminal.question(prompt);
  terminal.close();
}
