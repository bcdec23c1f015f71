/**
 * @summary The guide's ReportConnectivity app: a device reports how it is connected
 * (`{ connectivity: { type: 'cellular' } }`) as a reported property. The call resolves with the
 * new reported `$version` once the hub has stored it, and the back end then sees the value, the
 * same version and a `$metadata.$lastUpdated` time for it. A second patch merges into the first.
 */
import { DeviceClient, mqtt } from '@twinkit/device';
import { check, openPlayground } from '@twinkit/example-shared';

interface Reported {
  connectivity: { type: 'cellular' | 'wifi' | 'wired'; signalStrength?: number };
}

await using playground = await openPlayground();
const { deviceId, connectionString } = await playground.addDevice('thermostat-1');

console.log(`1. The device '${deviceId}' connects over MQTT and reports its connectivity.`);
await using device = DeviceClient.fromConnectionString<object, Reported>(connectionString, {
  ...playground.deviceOptions,
  transport: mqtt(),
});
await device.open();
const first = await device.updateReportedProperties({ connectivity: { type: 'cellular' } });
console.log(`   the hub stored it as reported $version ${first.version}`);

console.log('2. The back end reads the twin and finds the value, its version and when it changed.');
const twin = await playground.registry.getTwin<object, Reported>(deviceId);
const reported = twin.properties.reported;
check(
  reported.connectivity.type === 'cellular',
  `reported connectivity.type is '${reported.connectivity.type}'`,
);
check(
  reported.$version === first.version,
  `reported $version ${reported.$version} matches what the device was told`,
);
const lastUpdated = reported.$metadata.connectivity;
check(
  typeof lastUpdated === 'object' && typeof lastUpdated.$lastUpdated === 'string',
  `$metadata.connectivity.$lastUpdated is ${typeof lastUpdated === 'object' ? lastUpdated.$lastUpdated : 'missing'}`,
);

console.log('3. A second patch merges into the first: objects merge, untouched keys stay.');
const second = await device.updateReportedProperties({ connectivity: { signalStrength: -71 } });
check(second.version === first.version + 1, `reported $version moved to ${second.version}`);
const after = await playground.registry.getTwin<object, Reported>(deviceId);
check(
  after.properties.reported.connectivity.type === 'cellular' &&
    after.properties.reported.connectivity.signalStrength === -71,
  `reported connectivity is now ${JSON.stringify(after.properties.reported.connectivity)}`,
);

console.log('\nThe device reported its connectivity and the back end saw it.');
