/**
 * @summary What the guide leaves out: desired changes made while a device is offline. The hub
 * cannot notify a disconnected device, and the official Node SDK does not re-read the twin after
 * reconnecting, so such changes used to be lost until a restart. DeviceClient re-reads the twin
 * after every reconnect and delivers what changed as ONE change with `reason: 'resync'`, never
 * twice. Here the local hub drops the device's connection (`hub.faults.mqtt.dropConnection`), a
 * token provider holds the reconnect back so the device certainly stays offline, and the back end
 * changes the desired temperature twice meanwhile.
 */
import { DeviceClient, mqtt, type DesiredChange } from '@twinkit/device';
import { check, deferred, openPlayground, within } from '@twinkit/example-shared';
import { createSasToken, parseDeviceConnectionString } from '@twinkit/twin-model/protocol';

await using playground = await openPlayground();
const testHub = playground.testHub;
if (testHub === undefined) {
  throw new Error(
    "This example drops the connection with the in-process hub's fault injection; run it without IOTHUB_CONNECTION_STRING and IOTHUB_DEVICE_CONNECTION_STRING.",
  );
}
const { registry } = playground;
const { deviceId, connectionString } = await playground.addDevice('thermostat-1');
const { hostName, sharedAccessKey } = parseDeviceConnectionString(connectionString);
if (sharedAccessKey === undefined)
  throw new Error('The device connection string has no SharedAccessKey');

// The client asks for a token before every connection attempt: while `outage` is pending, it
// cannot reconnect, so the back end's writes below certainly happen while it is offline.
let outage = Promise.resolve();
await using device = DeviceClient.fromTokenProvider(
  { hostName, deviceId },
  async ({ resourceUri }) => {
    await outage;
    return createSasToken({
      resourceUri,
      key: sharedAccessKey,
      expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
    });
  },
  { ...playground.deviceOptions, transport: mqtt() },
);
device.on('connectionStateChange', ({ state, reason }) => {
  console.log(`   [device] ${state} (${reason})`);
});
const changes: DesiredChange[] = [];
let nextChange = deferred<DesiredChange>();
device.onDesired('targetTemperature', (change) => {
  console.log(
    `   [device] targetTemperature = ${JSON.stringify(change.value)} at version ${change.version} (${change.reason})`,
  );
  changes.push(change);
  nextChange.resolve(change);
});

console.log('1. Online, a desired change arrives as a patch.');
await device.open();
await device.getTwin();
await registry.updateTwin(deviceId, { properties: { desired: { targetTemperature: 70 } } });
const online = await within(nextChange.promise, 'the online change');
check(online.value === 70 && online.reason === 'patch', `got 70 as a ${online.reason}`);

console.log('2. The connection drops, and the device cannot reconnect yet.');
let endOutage = () => {};
outage = new Promise((resolve) => (endOutage = resolve));
const offline = deferred<undefined>();
device.on('connectionStateChange', ({ state }) => {
  if (state === 'reconnecting') offline.resolve(undefined);
});
check(testHub.hub.faults.mqtt.dropConnection({ deviceId }), 'the hub dropped the connection');
await within(offline.promise, 'the device to notice the drop');

console.log(
  '3. Meanwhile the back end changes the temperature twice; the hub cannot tell the device.',
);
nextChange = deferred();
await registry.updateTwin(deviceId, { properties: { desired: { targetTemperature: 72 } } });
const last = await registry.updateTwin(deviceId, {
  properties: { desired: { targetTemperature: 74 } },
});
check(
  device.connectionState === 'reconnecting' && changes.length === 1,
  `device still ${device.connectionState}, nothing delivered`,
);

console.log(
  '4. The outage ends: the device reconnects, re-reads its twin and gets the net change once.',
);
endOutage();
const resynced = await within(nextChange.promise, 'the change after the reconnect');
check(resynced.reason === 'resync', `reason '${resynced.reason}'`);
check(
  resynced.value === 74 && resynced.version === last.properties.desired.$version,
  `value ${JSON.stringify(resynced.value)} at version ${resynced.version}`,
);
check(changes.length === 2, `${changes.length} changes in all: the online patch and one resync`);

console.log('\nNo desired change was lost across the outage.');
