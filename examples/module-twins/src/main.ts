/**
 * @summary Module twins: a device can host modules (IoT Edge modules, or separate processes on one
 * device), and each module identity has its own twin, separate from the device's. The back end
 * creates a module identity, the module app connects with the module's connection string
 * (`ModuleId=` makes a DeviceClient a module client), reports and receives desired properties, and
 * the back end reads, updates and queries module twins with the `*ModuleTwin` calls and
 * `FROM devices.modules`.
 */
import { DeviceClient, mqtt, type DesiredChange } from '@twinkit/device';
import { check, deferred, openPlayground, within } from '@twinkit/example-shared';
import { createDeviceConnectionString } from '@twinkit/service';
import { parseDeviceConnectionString } from '@twinkit/twin-model/protocol';

await using playground = await openPlayground();
const { registry } = playground;
const device = await playground.addDevice('gateway-1');
const moduleId = 'scanner';

console.log(`1. The back end creates the module identity '${moduleId}' on '${device.deviceId}'.`);
await registry.deleteModule(device.deviceId, moduleId); // a no-op unless an earlier run left it behind
const identity = await registry.createModule(device.deviceId, moduleId);
// Same host (and, on the local hub, MQTT port) and gateway as the device's connection string.
const { hostName, gatewayHostName } = parseDeviceConnectionString(device.connectionString);
const moduleConnectionString = createDeviceConnectionString(
  identity,
  hostName,
  gatewayHostName === undefined ? {} : { gatewayHostName },
);
check(
  moduleConnectionString.includes(`ModuleId=${moduleId}`),
  'the module connection string names the module',
);

try {
  console.log('2. The module app connects, reports its status and listens for desired changes.');
  await using app = DeviceClient.fromConnectionString(moduleConnectionString, {
    ...playground.deviceOptions,
    transport: mqtt(),
  });
  const scanInterval = deferred<DesiredChange>();
  app.onDesired('scanIntervalInSeconds', scanInterval.resolve);
  await app.open();
  await app.getTwin();
  await app.updateReportedProperties({ status: 'scanning' });

  console.log(
    "3. The back end reads the module twin: it has the module's reported status; the device twin does not.",
  );
  const moduleTwin = await registry.getModuleTwin(device.deviceId, moduleId);
  check(
    moduleTwin.moduleId === moduleId && moduleTwin.properties.reported.status === 'scanning',
    `module twin reported status ${JSON.stringify(moduleTwin.properties.reported.status)}`,
  );
  const deviceTwin = await registry.getTwin(device.deviceId);
  check(!('status' in deviceTwin.properties.reported), 'the device twin has no such property');

  console.log(
    '4. The back end sets a desired property on the module twin; only the module is told.',
  );
  const updated = await registry.updateModuleTwin(device.deviceId, moduleId, {
    properties: { desired: { scanIntervalInSeconds: 15 } },
  });
  const change = await within(scanInterval.promise, 'the module to get scanIntervalInSeconds');
  check(
    change.value === 15 && change.version === updated.properties.desired.$version,
    `the module got 15 at version ${change.version}`,
  );

  console.log('5. Module twins are queried from devices.modules.');
  const found: string[] = [];
  for await (const twin of registry.queryTwins(
    `SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning' AND deviceId = '${device.deviceId}'`,
  )) {
    found.push(`${twin.deviceId}/${twin.moduleId ?? ''}`);
  }
  // IoT Hub indexes twins for queries within seconds, the local hub at once.
  check(
    playground.kind === 'azure' || found.join() === `${device.deviceId}/${moduleId}`,
    `query found ${found.join(', ') || 'nothing yet'}`,
  );
} finally {
  await registry.deleteModule(device.deviceId, moduleId);
}

console.log('\nThe module had its own twin, end to end.');
