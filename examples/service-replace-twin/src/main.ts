/**
 * @summary The back end replaces a twin's tags and desired properties wholesale (`PUT`), which the
 * official Node SDK has no public call for. Unlike an update, keys missing from the replacement
 * are gone afterwards; a section left out becomes `{}`; reported properties are never touched.
 * Passing the twin with `onlyIfUnchanged` makes the replacement conditional on its ETag.
 */
import { DeviceClient, mqtt } from '@twinkit/device';
import { check, openPlayground } from '@twinkit/example-shared';

await using playground = await openPlayground();
const { registry } = playground;
const { deviceId, connectionString } = await playground.addDevice('thermostat-1');

console.log('1. The twin has tags, desired properties, and a reported property from the device.');
await using device = DeviceClient.fromConnectionString(connectionString, {
  ...playground.deviceOptions,
  transport: mqtt(),
});
await device.open();
await device.updateReportedProperties({ firmware: '1.4.2' });
await registry.updateTwin(deviceId, {
  tags: { location: { plant: 'Redmond43' }, owner: 'facilities' },
  properties: { desired: { telemetryIntervalInSeconds: 30, legacyMode: true } },
});
const before = await registry.getTwin(deviceId);
console.log(
  `   tags ${JSON.stringify(before.tags)}, desired keys ${Object.keys(before.properties.desired).join(', ')}`,
);

console.log(
  '2. Replace tags and desired properties with new documents, only if the twin is unchanged.',
);
const after = await registry.replaceTwin(
  before,
  {
    tags: { location: { plant: 'Seattle1' } },
    properties: { desired: { telemetryIntervalInSeconds: 60 } },
  },
  { onlyIfUnchanged: true },
);
check(
  JSON.stringify(after.tags) === '{"location":{"plant":"Seattle1"}}',
  `tags are exactly ${JSON.stringify(after.tags)} (owner is gone)`,
);
check(
  after.properties.desired.telemetryIntervalInSeconds === 60 &&
    !('legacyMode' in after.properties.desired),
  'desired is exactly { telemetryIntervalInSeconds: 60 } (legacyMode is gone)',
);
check(
  after.properties.desired.$version === before.properties.desired.$version + 1,
  `desired $version moved to ${after.properties.desired.$version}`,
);
check(
  after.properties.reported.firmware === '1.4.2',
  `reported firmware still ${JSON.stringify(after.properties.reported.firmware)}`,
);

console.log('3. Replacing with only tags empties the desired section.');
const tagsOnly = await registry.replaceTwin(deviceId, {
  tags: { location: { plant: 'Seattle1' } },
});
const desiredKeys = Object.keys(tagsOnly.properties.desired).filter((key) => !key.startsWith('$'));
check(desiredKeys.length === 0, `desired has ${desiredKeys.length} properties left`);

console.log('4. The device reads the replaced desired section.');
const seen = await device.getTwin();
check(
  seen.desired.$version === tagsOnly.properties.desired.$version,
  `device sees desired $version ${seen.desired.$version}`,
);

console.log('\nThe twin was replaced; reported properties were left alone.');
