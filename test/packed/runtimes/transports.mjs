/**
 * The device flow over one named transport (`mqtt`, `mqtt-ws`, `amqp`, `amqp-ws`) with the
 * installed packages: the Node packed suite runs it once per transport against the installed CLI
 * hub, with a connection string printed by `twinkit-hub device create`. The device trusts the
 * hub's CA through the `ca` option (read from `caFile`), the service through
 * `NODE_EXTRA_CA_CERTS`. Config comes as JSON in TWINKIT_FLOW:
 * `{ serviceConnectionString, deviceId, connectionString, transport, caFile, label }`.
 */
import { readFileSync } from 'node:fs';
import { mqtt } from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { Registry } from '@twinkit/service';
import { RESULT_PREFIX, describeError, deviceFlow } from './flows.mjs';

const transports = {
  mqtt: () => mqtt(),
  'mqtt-ws': () => mqtt({ webSocket: true }),
  amqp: () => amqp(),
  'amqp-ws': () => amqp({ webSocket: true }),
};

const config = JSON.parse(process.env.TWINKIT_FLOW);
try {
  const makeTransport = transports[config.transport];
  if (makeTransport === undefined) throw new Error(`unknown transport ${config.transport}`);
  const registry = Registry.fromConnectionString(config.serviceConnectionString);
  const device = await deviceFlow(registry, {
    deviceId: config.deviceId,
    connectionString: config.connectionString,
    label: config.label,
    transport: makeTransport(),
    deviceOptions: config.caFile === undefined ? {} : { ca: readFileSync(config.caFile, 'utf8') },
  });
  console.log(RESULT_PREFIX + JSON.stringify({ ok: true, device }));
} catch (error) {
  console.log(RESULT_PREFIX + JSON.stringify({ ok: false, error: describeError(error) }));
  process.exitCode = 1;
}
