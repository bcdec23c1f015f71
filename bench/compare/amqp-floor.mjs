// The AMQP floor: rhea by hand, the least an AMQP device can do for a twin. One TLS connection,
// a put-token on $cbs, the twin link pair on /devices/{id}/twin with the same channel
// correlation id, and each request matched to its answer by correlation id
// (docs/internals/wire-contract.md#amqp-twin-links). No retries, no validation, no deadlines.
import { randomUUID } from 'node:crypto';
import { fromHub, sasToken } from './shared.mjs';

const rhea = fromHub('rhea');

/** The text of an AMQP body: a data section (Buffer or `{ content }`) or a string. */
function bodyText(body) {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (Buffer.isBuffer(body.content)) return body.content.toString('utf8');
  return String(body.content ?? '');
}

function opened(link, event) {
  return new Promise((resolve, reject) => {
    link.once(event, () => resolve(link));
    link.once('error', (context) => reject(context.error ?? new Error('link error')));
  });
}

/**
 * Opens the floor for one device.
 *
 * @param {{ port: string, deviceId: string, key: string, onDesired?: (patch: object) => void }} options
 */
export async function openAmqpFloor({ port, deviceId, key, onDesired }) {
  const container = rhea.create_container({ id: randomUUID() });
  const connection = container.connect({
    host: 'localhost',
    hostname: 'localhost',
    servername: 'localhost',
    port: Number(port),
    transport: 'tls',
    reconnect: false,
    tcp_no_delay: true,
  });
  await new Promise((resolve, reject) => {
    connection.once('connection_open', resolve);
    connection.once('connection_error', (context) => reject(context.connection.error));
    connection.once('disconnected', (context) =>
      reject(context.error ?? new Error('disconnected')),
    );
  });

  // Authenticate the device on $cbs.
  const cbsSender = await opened(
    connection.open_sender({ target: { address: '$cbs' } }),
    'sendable',
  );
  const cbsReceiver = await opened(
    connection.open_receiver({ source: { address: '$cbs' } }),
    'receiver_open',
  );
  const audience = `localhost/devices/${deviceId}`;
  const answered = new Promise((resolve, reject) => {
    cbsReceiver.once('message', (context) => {
      const status = context.message.application_properties?.['status-code'];
      if (status === 200) resolve();
      else reject(new Error(`put-token answered ${status}`));
    });
  });
  cbsSender.send({
    message_id: randomUUID(),
    reply_to: 'cbs',
    to: '$cbs',
    application_properties: {
      operation: 'put-token',
      type: 'servicebus.windows.net:sastoken',
      name: encodeURIComponent(audience),
    },
    body: sasToken(audience, key),
  });
  await answered;

  // The twin link pair.
  const address = `/devices/${encodeURIComponent(deviceId)}/twin`;
  const properties = {
    'com.microsoft:channel-correlation-id': `twin:${randomUUID()}`,
    'com.microsoft:api-version': '2021-04-12',
  };
  const pending = new Map();
  const receiver = connection.open_receiver({
    source: { address },
    properties,
    snd_settle_mode: 1,
    rcv_settle_mode: 0,
  });
  receiver.on('message', (context) => {
    const { message } = context;
    if (message.correlation_id !== undefined) {
      const id = String(message.correlation_id);
      pending.get(id)?.(message);
      pending.delete(id);
    } else if (onDesired !== undefined) {
      onDesired(JSON.parse(bodyText(message.body)));
    }
  });
  await opened(receiver, 'receiver_open');
  const sender = await opened(
    connection.open_sender({
      target: { address },
      properties,
      snd_settle_mode: 1,
      rcv_settle_mode: 0,
    }),
    'sendable',
  );
  const request = (operation, resource, body) =>
    new Promise((resolve) => {
      const id = randomUUID();
      pending.set(id, (message) => {
        const text = bodyText(message.body);
        resolve(text.trim() === '' ? undefined : JSON.parse(text));
      });
      sender.send({
        correlation_id: id,
        message_annotations: resource === undefined ? { operation } : { operation, resource },
        body: rhea.message.data_section(Buffer.from(body, 'utf8')),
      });
    });
  if (onDesired !== undefined) await request('PUT', '/notifications/twin/properties/desired', ' ');
  return {
    get: () => request('GET', undefined, ' '),
    reportedVersion: async () => (await request('GET', undefined, ' ')).reported.$version,
    report: (patch) => request('PATCH', '/properties/reported', JSON.stringify(patch)),
    close: () =>
      new Promise((resolve) => {
        connection.once('connection_close', resolve);
        connection.once('disconnected', resolve);
        connection.close();
      }),
  };
}
