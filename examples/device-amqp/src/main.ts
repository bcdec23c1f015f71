/**
 * @summary The same device app over AMQP instead of MQTT: `amqp()` from `@twinkit/device/amqp`
 * (AMQP 1.0 over TLS, port 5671 on IoT Hub), then `amqp({ webSocket: true })` (AMQP over
 * WebSocket on the HTTPS port, subprotocol `AMQPWSB10`, for networks that only let 443 out). Over
 * each, the device reads its twin, reports its connectivity, and receives a desired property the
 * back end sets. Only the transport changes; versions, handlers and reported writes behave as over
 * MQTT. Node only: outside Node `amqp()` throws `UnsupportedRuntimeError`. Runs on an in-process
 * hub, or on the IoT Hub named by IOTHUB_CONNECTION_STRING and IOTHUB_DEVICE_CONNECTION_STRING.
 */
import { DeviceClient, type DesiredChange, type TransportFactory } from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { check, deferred, openPlayground, within } from '@twinkit/example-shared';

interface Desired {
  telemetryIntervalInSeconds: number;
}
interface Reported {
  connectivity: { type: string; transport: string };
}

await using playground = await openPlayground();
const { deviceId, connectionString } = await playground.addDevice('thermostat-amqp');

// The in-process hub listens on ports the OS picked, and its device connection strings name the
// MQTT port; tell the transport where the hub's AMQP endpoints are. On IoT Hub the defaults
// (5671, and 443 for WebSocket) are right, so no port is passed.
const testHub = playground.testHub;
const portOf = (port: number | undefined) => (port === undefined ? {} : { port });
if (testHub !== undefined) {
  console.log(
    `The hub serves AMQP over TLS on 127.0.0.1:${String(testHub.amqpPort)} and AMQP over WebSocket on 127.0.0.1:${String(testHub.httpsPort)}/$iothub/websocket.`,
  );
}
const transports: {
  name: string;
  connectivity: string;
  transport: TransportFactory;
  intervalInSeconds: number;
}[] = [
  {
    name: 'AMQP over TLS',
    connectivity: 'amqp',
    transport: amqp(portOf(testHub?.amqpPort)),
    intervalInSeconds: 15,
  },
  {
    name: 'AMQP over WebSocket',
    connectivity: 'amqp-ws',
    transport: amqp({ webSocket: true, ...portOf(testHub?.httpsPort) }),
    intervalInSeconds: 45,
  },
];

let step = 1;
for (const { name, connectivity, transport, intervalInSeconds } of transports) {
  console.log(
    `\n${String(step++)}. The device '${deviceId}' connects over ${name} and reads its twin.`,
  );
  await using device = DeviceClient.fromConnectionString<Desired, Reported>(connectionString, {
    ...playground.deviceOptions,
    transport,
  });
  const states: string[] = [];
  device.on('connectionStateChange', ({ state }) => states.push(state));
  let nextChange = deferred<DesiredChange<number>>();
  device.onDesired('telemetryIntervalInSeconds', (change) => {
    nextChange.resolve(change);
  });
  await device.open();
  check(device.connectionState === 'connected', `connected (${states.join(' → ')})`);
  const before = await playground.registry.getTwin(deviceId);
  const twin = await device.getTwin();
  check(
    twin.desired.$version === before.properties.desired.$version &&
      twin.reported.$version === before.properties.reported.$version,
    `the device sees desired $version ${twin.desired.$version} and reported $version ${twin.reported.$version}, as the back end does`,
  );

  console.log(`${String(step++)}. Over ${name}, the device reports how it is connected.`);
  const { version } = await device.updateReportedProperties({
    connectivity: { type: connectivity, transport: name },
  });
  const seen = await playground.registry.getTwin<Desired, Reported>(deviceId);
  check(
    seen.properties.reported.$version === version &&
      seen.properties.reported.connectivity?.type === connectivity,
    `the back end reads reported connectivity.type '${seen.properties.reported.connectivity?.type}' at $version ${seen.properties.reported.$version}`,
  );

  console.log(`${String(step++)}. The back end sets a desired property; it arrives over ${name}.`);
  nextChange = deferred();
  const written = await playground.registry.updateTwin(deviceId, {
    properties: { desired: { telemetryIntervalInSeconds: intervalInSeconds } },
  });
  const change = await within(nextChange.promise, `the desired change over ${name}`);
  check(
    change.value === intervalInSeconds && change.version === written.properties.desired.$version,
    `the device got telemetryIntervalInSeconds = ${String(change.value)} at $version ${change.version} (${change.reason})`,
  );

  await device.close();
  check(device.connectionState === 'disconnected', `closed (${states.join(' → ')})`);
}

console.log('\nThe device app worked the same over AMQP and over AMQP on WebSocket.');
