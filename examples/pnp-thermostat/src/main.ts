/**
 * @summary An IoT Plug and Play temperature controller: it announces its model id when it
 * connects, answers a root writable property (`targetTemperature`) and a component's
 * (`thermostat1.targetTemperature`) with `{ value, ac, av, ad }` acknowledgements, refuses an
 * out-of-range value with 400, and, started after the back end changed its settings, applies
 * those changes once at start-up. The back end finds it by model id and reads the answers.
 */
import {
  DeviceClient,
  WritablePropertyResponse,
  WritablePropertyValidationError,
  mqtt,
} from '@twinkit/device';
import { check, openPlayground } from '@twinkit/example-shared';

const MODEL_ID = 'dtmi:com:example:TemperatureController;2';

interface Desired {
  targetTemperature: number;
  thermostat1: { targetTemperature: number };
}
interface Ack {
  value: number;
  ac: number;
  av: number;
  ad?: string;
}
interface Reported {
  targetTemperature?: Ack;
  thermostat1?: { __t: 'c'; targetTemperature?: Ack };
}

await using playground = await openPlayground();
const { registry } = playground;
const { deviceId, connectionString } = await playground.addDevice('controller-1');

console.log('1. While the device is off, the back end sets both writable properties.');
const set = await registry.updateTwin(deviceId, {
  properties: { desired: { targetTemperature: 21, thermostat1: { targetTemperature: 19 } } },
});
const offlineVersion = set.properties.desired.$version;

console.log('2. The device starts, announces its model, and applies what changed meanwhile.');
await using device = DeviceClient.fromConnectionString<Desired>(connectionString, {
  ...playground.deviceOptions,
  transport: mqtt(),
  modelId: MODEL_ID,
});
const applied: string[] = [];
device.onWritableProperty('targetTemperature', (value) => {
  if (value > 40) throw new WritablePropertyValidationError(`${String(value)} °C is above 40 °C`);
  applied.push(`targetTemperature=${String(value)}`);
  return new WritablePropertyResponse(value, 'target set');
});
device.onWritableProperty({ component: 'thermostat1', name: 'targetTemperature' }, (value) => {
  applied.push(`thermostat1.targetTemperature=${String(value)}`);
  return value;
});
await device.open();

const acknowledged = await registry.waitForReported<Desired, Reported>(
  deviceId,
  (twin) =>
    (twin.properties.reported.targetTemperature?.av ?? 0) >= offlineVersion &&
    (twin.properties.reported.thermostat1?.targetTemperature?.av ?? 0) >= offlineVersion,
  { timeoutInMs: 10_000, pollIntervalInMs: 50 },
);
const { targetTemperature, thermostat1 } = acknowledged.properties.reported;
console.log(`   reported: ${JSON.stringify({ targetTemperature, thermostat1 })}`);
check(
  acknowledged.properties.reported.targetTemperature?.ac === 200 &&
    acknowledged.properties.reported.thermostat1?.targetTemperature?.ac === 200 &&
    acknowledged.properties.reported.thermostat1.__t === 'c',
  `both properties acknowledged with ac 200 and av ${String(offlineVersion)}, the component marked "__t": "c"`,
);
check(applied.length === 2, `each offline change applied once (${applied.join(', ')})`);

console.log('3. The back end finds the device by its model id.');
const found: string[] = [];
for await (const twin of registry.queryTwins(
  `SELECT * FROM devices WHERE modelId = '${MODEL_ID}'`,
)) {
  found.push(`${twin.deviceId} (${twin.modelId ?? ''})`);
}
check(found.length === 1, `query by model id found ${found.join(', ')}`);

console.log('4. An out-of-range value is refused with 400 and a reason.');
const refused = await registry.updateTwin(deviceId, {
  properties: { desired: { targetTemperature: 55 } },
});
const refusedVersion = refused.properties.desired.$version;
const answer = await registry.waitForReported<Desired, Reported>(
  deviceId,
  (twin) => (twin.properties.reported.targetTemperature?.av ?? 0) >= refusedVersion,
  { timeoutInMs: 10_000, pollIntervalInMs: 50 },
);
const ack = answer.properties.reported.targetTemperature;
check(ack?.ac === 400, `targetTemperature answered ${JSON.stringify(ack)}`);
