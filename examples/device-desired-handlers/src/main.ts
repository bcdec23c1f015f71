/**
 * @summary A device reacts to desired properties in the three ways the guide shows with
 * `twin.on('properties.desired…')`: a handler for every patch, one for a grouping (`climate`) and
 * one for a single property (`climate.hvac.systemControl.fanOn`). The back end sends three patches;
 * each handler runs only for the patches that touch its path, with the value at that path.
 * Handlers report changes after the twin was read; `getTwin()` gives the current state.
 */
import { DeviceClient, mqtt, type DesiredChange } from '@twinkit/device';
import { check, deferred, openPlayground, within } from '@twinkit/example-shared';

interface Desired {
  telemetryIntervalInSeconds: number;
  climate: {
    minTemperature: number;
    hvac: { systemControl: { fanOn: boolean } };
  };
}

await using playground = await openPlayground();
const { deviceId, connectionString } = await playground.addDevice('thermostat-1');
await using device = DeviceClient.fromConnectionString<Desired>(connectionString, {
  ...playground.deviceOptions,
  transport: mqtt(),
});

/** Which handler ran, for which version, with what. */
const calls: { handler: string; version: number; value: unknown }[] = [];
let nextChange = deferred<DesiredChange<Desired>>();

console.log(
  '1. The back end starts from a clean slate (null deletes); the device subscribes three handlers, then reads its twin.',
);
await playground.registry.updateTwin(deviceId, {
  properties: { desired: { telemetryIntervalInSeconds: null, climate: null } },
});
device.onDesired((change) => {
  calls.push({ handler: 'all', version: change.version, value: change.patch });
  nextChange.resolve(change);
});
device.onDesired('climate', (change) => {
  calls.push({ handler: 'climate', version: change.version, value: change.value });
});
let fanIsOn = false;
device.onDesired('climate.hvac.systemControl.fanOn', ({ value, version }) => {
  fanIsOn = value === true; // value is boolean | null (null when the property was removed)
  calls.push({ handler: 'fanOn', version, value });
});
await device.open();
const twin = await device.getTwin();
console.log(`   desired $version ${twin.desired.$version}`);

/** Sets desired properties as the back end, and waits until the device's every-patch handler saw them. */
async function sendDesired(patch: object): Promise<number> {
  nextChange = deferred();
  const written = await playground.registry.updateTwin(deviceId, {
    properties: { desired: patch },
  });
  const change = await within(nextChange.promise, `the device to see ${JSON.stringify(patch)}`);
  check(
    change.version === written.properties.desired.$version,
    `the device got ${JSON.stringify(change.patch)} at version ${change.version}`,
  );
  return change.version;
}
const handlersFor = (version: number) =>
  calls
    .filter((call) => call.version === version)
    .map((call) => call.handler)
    .join(', ');

console.log('2. A patch outside climate reaches only the every-patch handler.');
const v1 = await sendDesired({ telemetryIntervalInSeconds: 60 });
check(handlersFor(v1) === 'all', `handlers run: ${handlersFor(v1)}`);

console.log(
  '3. A patch inside climate reaches the grouping handler too, with the whole climate object.',
);
const v2 = await sendDesired({ climate: { minTemperature: 68 } });
check(handlersFor(v2) === 'all, climate', `handlers run: ${handlersFor(v2)}`);
const climate = calls.find((call) => call.handler === 'climate' && call.version === v2);
check(
  JSON.stringify(climate?.value) === '{"minTemperature":68}',
  `climate handler saw ${JSON.stringify(climate?.value)}`,
);

console.log(
  '4. Turning the fan on reaches all three, and the property handler gets just the boolean.',
);
const v3 = await sendDesired({ climate: { hvac: { systemControl: { fanOn: true } } } });
check(handlersFor(v3) === 'all, climate, fanOn', `handlers run: ${handlersFor(v3)}`);
check(fanIsOn, 'the fan handler saw fanOn = true and switched the fan on');

console.log('5. Removing the property (null) tells the property handler with value null.');
const v4 = await sendDesired({ climate: { hvac: { systemControl: { fanOn: null } } } });
check(
  !fanIsOn &&
    calls.some((call) => call.handler === 'fanOn' && call.version === v4 && call.value === null),
  'fanOn handler saw null',
);

console.log('\nEach handler ran exactly for the patches that touched its path.');
