/**
 * @summary A device reads its own twin over MQTT (the first step of the "get started with device
 * twins" guide): the desired properties the back end set and the reported properties the device
 * sent, each section with its `$version`. The device's view has no tags and no `$metadata`; those
 * are for the back end. Runs on an in-process hub, or on the IoT Hub named by
 * IOTHUB_CONNECTION_STRING and IOTHUB_DEVICE_CONNECTION_STRING.
 */
import { DeviceClient, mqtt } from '@twinkit/device';
import { check, openPlayground } from '@twinkit/example-shared';

await using playground = await openPlayground();
const { deviceId, connectionString } = await playground.addDevice('thermostat-1');

console.log('1. The back end sets a desired property, so the twin has something to read.');
const written = await playground.registry.updateTwin(deviceId, {
  properties: { desired: { telemetryIntervalInSeconds: 30 } },
});
console.log(`   desired $version is now ${written.properties.desired.$version}`);

console.log(`2. The device '${deviceId}' connects over MQTT and reads its twin.`);
await using device = DeviceClient.fromConnectionString(connectionString, {
  ...playground.deviceOptions,
  transport: mqtt(),
});
await device.open();
const twin = await device.getTwin();
console.log(`   desired: ${JSON.stringify(twin.desired)}`);
console.log(`   reported: ${JSON.stringify(twin.reported)}`);
check(
  twin.desired.telemetryIntervalInSeconds === 30,
  'the device sees telemetryIntervalInSeconds = 30',
);
check(
  twin.desired.$version === written.properties.desired.$version,
  `the device sees the same desired $version as the back end (${twin.desired.$version})`,
);
check(
  !('tags' in twin) && !('$metadata' in twin.desired),
  'the device view has no tags and no $metadata',
);

console.log('3. After a reported write, a second read shows the new reported $version.');
const { version } = await device.updateReportedProperties({ firmware: { version: '1.4.2' } });
const again = await device.getTwin();
check(again.reported.$version === version, `reported $version ${version} in the twin read back`);
check(
  JSON.stringify(again.reported.firmware) === '{"version":"1.4.2"}',
  `reported firmware ${JSON.stringify(again.reported.firmware)}`,
);

console.log('\nThe device read its twin.');
