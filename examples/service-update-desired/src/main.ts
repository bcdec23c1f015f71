/**
 * @summary The back end sets desired properties and the connected device is told at once. Each
 * desired write moves `properties.desired.$version`, the twin `version` and the `etag`, and
 * `$metadata` records when (and at which version) each property changed. The device applies the
 * setting and reports back what it applied, which is how a back end learns the change took effect.
 */
import { DeviceClient, mqtt, type DesiredChange } from '@twinkit/device';
import { check, deferred, openPlayground, within } from '@twinkit/example-shared';

interface Desired {
  telemetryConfig: { sendFrequency: string };
}
interface Reported {
  telemetryConfig: { sendFrequency: string; status: 'Success' | 'Pending' };
}

await using playground = await openPlayground();
const { registry } = playground;
const { deviceId, connectionString } = await playground.addDevice('thermostat-1');

console.log('1. The device connects, applies telemetryConfig changes and reports what it applied.');
await using device = DeviceClient.fromConnectionString<Desired, Reported>(connectionString, {
  ...playground.deviceOptions,
  transport: mqtt(),
});
const applied = deferred<DesiredChange<Desired['telemetryConfig']>>();
device.onDesired('telemetryConfig', async (change) => {
  if (change.value === null) return;
  await device.updateReportedProperties({
    telemetryConfig: { sendFrequency: change.value.sendFrequency, status: 'Success' },
  });
  applied.resolve(change);
});
await device.open();
await device.getTwin();

console.log('2. The back end sets desired telemetryConfig.sendFrequency = 5m.');
const before = await registry.getTwin<Desired, Reported>(deviceId);
const after = await registry.updateTwin(before, {
  properties: { desired: { telemetryConfig: { sendFrequency: '5m' } } },
});
const desired = after.properties.desired;
check(
  desired.$version === before.properties.desired.$version + 1,
  `desired $version ${before.properties.desired.$version} → ${desired.$version}`,
);
check(after.version === before.version + 1, `twin version ${before.version} → ${after.version}`);
check(after.etag !== before.etag, `etag ${before.etag} → ${after.etag}`);
const stamp = desired.$metadata.telemetryConfig;
check(
  typeof stamp === 'object' && stamp.$lastUpdatedVersion === desired.$version,
  `$metadata.telemetryConfig: ${JSON.stringify(stamp)}`,
);

console.log('3. The device is told, applies it and reports back.');
const change = await within(applied.promise, 'the device to apply telemetryConfig');
check(
  change.value?.sendFrequency === '5m' && change.version === desired.$version,
  `device applied ${JSON.stringify(change.value)} at version ${change.version}`,
);
const reported = (await registry.getTwin<Desired, Reported>(deviceId)).properties.reported;
check(
  reported.telemetryConfig.sendFrequency === '5m' && reported.telemetryConfig.status === 'Success',
  `the back end reads reported telemetryConfig ${JSON.stringify(reported.telemetryConfig)}`,
);

console.log('\nThe desired change reached the device and its effect came back.');
