'use strict';
/**
 * Interop peer: the OFFICIAL Azure IoT device SDK (azure-iot-device + azure-iot-device-mqtt),
 * unmodified, against the local hub. Run in its own Node process (no vitest resolution
 * conditions) with NODE_EXTRA_CA_CERTS pointing at the hub's CA.
 *
 * Usage: node official-device-mqtt.cjs <mqtt|ws> <desired notifications to wait for>
 * Env:   DEVICE_CONNECTION_STRING, MODEL_ID (optional: announce this Plug and Play model id)
 * Output: one JSON object per line on stdout: {"event": ..., ...}. Exit code 0 on success.
 */
const { Client } = require('azure-iot-device');
const { Mqtt, MqttWs } = require('azure-iot-device-mqtt');

const [transportName = 'mqtt', expectedText = '1'] = process.argv.slice(2);
const expected = Number(expectedText);

function emit(event, data) {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

// The SDK's Twin sections carry methods (reported.update); keep only the JSON.
function plain(value) {
  return JSON.parse(JSON.stringify(value));
}

async function main() {
  const connectionString = process.env.DEVICE_CONNECTION_STRING;
  if (!connectionString) throw new Error('DEVICE_CONNECTION_STRING is not set');
  const client = Client.fromConnectionString(
    connectionString,
    transportName === 'ws' ? MqttWs : Mqtt,
  );
  // An IoT Plug and Play device announces its model id before it connects.
  if (process.env.MODEL_ID) await client.setOptions({ modelId: process.env.MODEL_ID });
  client.on('disconnect', () => emit('disconnect'));
  client.on('error', (error) => emit('client-error', { message: error.message }));
  await client.open();
  emit('open');

  const twin = await client.getTwin();
  emit('twin', {
    desired: plain(twin.properties.desired),
    reported: plain(twin.properties.reported),
  });

  await new Promise((resolve, reject) => {
    twin.properties.reported.update({ firmware: '1.2.0', nested: { a: 1 } }, (error) =>
      error ? reject(error) : resolve(),
    );
  });
  emit('reported', { version: twin.properties.reported.$version });

  // Wait for the SUBACK before telling the test to change desired properties: notifications are
  // only sent to subscribed sessions (protocol.md §4.7).
  await new Promise((resolve, reject) => {
    twin.enableTwinDesiredPropertiesUpdates((error) => (error ? reject(error) : resolve()));
  });
  const initialVersion = twin.properties.desired.$version;
  const received = [];
  await new Promise((resolve) => {
    twin.on('properties.desired', (delta) => {
      // The SDK replays the current desired section when the listener is added; skip it.
      if (typeof delta.$version !== 'number' || delta.$version <= initialVersion) return;
      received.push(plain(delta));
      emit('desired', { patch: plain(delta) });
      if (received.length >= expected) resolve();
    });
    emit('subscribed', { version: initialVersion });
  });
  await client.close();
  emit('closed');
}

main().then(
  () => process.exit(0),
  (error) => {
    emit('failed', { message: error && error.message ? error.message : String(error) });
    process.exit(1);
  },
);
