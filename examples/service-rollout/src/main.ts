/**
 * @summary A rollout watched from the back end: set `targetTemperature` on a fleet of five
 * thermostats in one bulk update while two of them are offline, read where the rollout stands
 * with `getRolloutStatus` (one query, whatever the fleet's size), then bring the offline devices
 * back and watch it converge: acknowledged, refused, pending.
 */
import { DeviceClient, WritablePropertyValidationError, mqtt } from '@twinkit/device';
import { check, openPlayground } from '@twinkit/example-shared';

interface Desired {
  targetTemperature: number;
}

await using playground = await openPlayground();
const { registry } = playground;
if (playground.kind !== 'local')
  throw new Error('This example needs a fleet: run it without connection strings.');

const fleet = ['therm-1', 'therm-2', 'therm-3', 'therm-4', 'therm-5'];
const connectionStrings = new Map<string, string>();
for (const id of fleet)
  connectionStrings.set(id, (await playground.addDevice(id)).connectionString);

/** A thermostat that accepts up to 22 °C (therm-3 is an older model that accepts up to 20 °C). */
async function startThermostat(id: string): Promise<DeviceClient<Desired>> {
  const device = DeviceClient.fromConnectionString<Desired>(connectionStrings.get(id)!, {
    ...playground.deviceOptions,
    transport: mqtt(),
  });
  const max = id === 'therm-3' ? 20 : 22;
  device.onWritableProperty('targetTemperature', (value) => {
    if (value > max)
      throw new WritablePropertyValidationError(`${String(value)} °C is above ${String(max)} °C`);
    return value;
  });
  await device.open();
  return device;
}

async function statusWhen(
  what: string,
  done: (counts: { acknowledged: number; failed: number; pending: number }) => boolean,
) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const status = await registry.getRolloutStatus('targetTemperature', {
      query: "tags.site = 'lyon'",
    });
    if (done(status.counts)) {
      console.log(`   ${what}: ${JSON.stringify(status.counts)}`);
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`The rollout never reached: ${what}`);
}

console.log('1. Three thermostats are online; therm-4 and therm-5 are off.');
const online = await Promise.all(['therm-1', 'therm-2', 'therm-3'].map(startThermostat));

console.log('2. The back end sets targetTemperature = 21 on the whole site in one bulk update.');
const { results } = await registry.updateTwins(
  fleet.map((deviceId) => ({
    deviceId,
    tags: { site: 'lyon' },
    properties: { desired: { targetTemperature: 21 } },
  })),
);
check(
  results.every((result) => result.succeeded),
  `${String(results.length)} twins updated`,
);

console.log('3. The rollout while two devices are offline:');
const partial = await statusWhen('online devices answered', (c) => c.acknowledged + c.failed === 3);
check(
  partial.counts.pending === 2 &&
    partial.pending.every((d) => ['therm-4', 'therm-5'].includes(d.deviceId)),
  `pending: ${partial.pending.map((d) => d.deviceId).join(', ')} (offline)`,
);
check(
  partial.failed.length === 1 && partial.failed[0]?.deviceId === 'therm-3',
  `failed: therm-3 (${String(partial.failed[0]?.ack?.ad)})`,
);

console.log('4. therm-4 and therm-5 come back and apply the change at start-up.');
const late = await Promise.all(['therm-4', 'therm-5'].map(startThermostat));
const final = await statusWhen('converged', (c) => c.pending === 0);
check(
  final.counts.acknowledged === 4 && final.counts.failed === 1 && final.counts.total === 5,
  `converged: ${String(final.counts.acknowledged)} acknowledged, ${String(final.counts.failed)} failed, 0 pending`,
);

for (const device of [...online, ...late]) await device.close();
