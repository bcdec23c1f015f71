// Runs the OFFICIAL Node device SDK (azure-iot-device + azure-iot-device-amqp), unmodified,
// against the local hub: open, getTwin, reported update, desired subscription. Prints "READY"
// once subscribed, waits for the desired change the parent makes through the REST API, then
// prints a JSON report. PROTOCOL=amqp → Amqp (TLS, HostName=localhost:<port>); PROTOCOL=ws →
// AmqpWs (always wss://<host>:443/$iothub/websocket).
'use strict';
const { Client } = require('azure-iot-device');
const { Amqp, AmqpWs } = require('azure-iot-device-amqp');

const promisify = (fn) =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

async function main() {
  const Transport = process.env.PROTOCOL === 'ws' ? AmqpWs : Amqp;
  const client = Client.fromConnectionString(process.env.DEVICE_CONNECTION_STRING, Transport);
  const report = {};
  await client.open();
  const twin = await client.getTwin();
  report.initial = {
    desired: twin.properties.desired.$version,
    reported: twin.properties.reported.$version,
  };
  await promisify((done) =>
    twin.properties.reported.update({ interop: 'amqp', transport: process.env.PROTOCOL }, done),
  );
  const desired = new Promise((resolve) => {
    twin.on('properties.desired', (delta) => {
      if (delta.color !== undefined) resolve({ color: delta.color, version: delta.$version });
    });
  });
  // Adding the listener already sends PUT; this second one completes after it, so the
  // subscription is in place once it returns.
  await promisify((done) => twin.enableTwinDesiredPropertiesUpdates(done));
  process.stdout.write('READY\n');
  report.desired = await desired;
  const again = await client.getTwin();
  report.after = {
    reported: again.properties.reported.$version,
    interop: again.properties.reported.interop,
  };
  await client.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
