/**
 * `twinkit-hub device create <id>`: registers a device on a RUNNING hub, through its REST API,
 * and prints the device connection string. It finds the hub by its data directory's
 * `endpoint.json` (written by `twinkit-hub start`), or by `--hub <service connection string>`;
 * it never opens or creates a store itself, so a device can never land in a store no hub serves.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createSasToken,
  devicePath,
  formatDeviceConnectionString,
  HEADER,
  JSON_CONTENT_TYPE,
  parseServiceConnectionString,
  type ServiceConnectionString,
  withApiVersion,
} from '@twinkit/twin-model/protocol';
import { CliFailure, usageError } from './cli-failure.js';
import { ENDPOINT_FILE_NAME, isRunning, readEndpointFile } from './endpoint-file.js';

/** The usage line of `device create`. */
export const DEVICE_CREATE_USAGE =
  'twinkit-hub device create <id> [--data DIR | --hub "<service connection string>" [--ca FILE] [--plain-http]] [--gateway-host-name HOST:PORT] [--host-name NAME] [--json]';

/** Where and how to reach the hub. */
interface HubTarget {
  /** Base URL of the REST API. */
  url: string;
  /** TLS server name (the hub host name). */
  servername: string;
  service: ServiceConnectionString;
  /** PEM of the CA to trust, if one is known. */
  ca?: string;
  /** `host:port` devices dial for MQTT, when not IoT Hub's standard port. */
  gateway?: string;
  /** `host:port` devices dial for AMQP, when known and not IoT Hub's standard port. */
  amqpGateway?: string;
  /** `host:port` of MQTT and AMQP over WebSocket (the HTTPS port), when not 443. */
  webSocketGateway?: string;
  /** What the messages call the hub. */
  description: string;
}

/**
 * Runs `device create`.
 *
 * @param args - the arguments after `device`
 * @param defaultDataDir - the data directory when neither --data nor --hub is given
 * @param help - the help text for --help
 */
export async function deviceCommand(
  args: string[],
  defaultDataDir: string,
  help: string,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      hub: { type: 'string' },
      ca: { type: 'string' },
      'plain-http': { type: 'boolean', default: false },
      'gateway-host-name': { type: 'string' },
      'host-name': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  const [action, deviceId, ...rest] = positionals;
  if (action !== 'create' || deviceId === undefined || rest.length > 0)
    throw usageError(`usage: ${DEVICE_CREATE_USAGE}`);
  if (values.hub !== undefined && values.data !== undefined)
    throw usageError('use either --data or --hub, not both.');
  const target =
    values.hub === undefined
      ? targetFromDataDir(resolve(values.data ?? defaultDataDir))
      : targetFromConnectionString(values.hub, values.ca, values['plain-http']);
  const gateway = values['gateway-host-name'] ?? target.gateway;
  const primaryKey = await createDevice(target, deviceId);
  const hostName = values['host-name'] ?? target.servername;
  const format = (gatewayHostName: string | undefined) =>
    formatDeviceConnectionString({
      hostName,
      deviceId,
      sharedAccessKey: primaryKey,
      ...(gatewayHostName === undefined ? {} : { gatewayHostName }),
    });
  const connectionString = format(gateway);
  const connectionStrings = {
    mqtt: connectionString,
    amqp: format(target.amqpGateway),
    webSocket: format(target.webSocketGateway),
  };
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ deviceId, connectionString, connectionStrings, primaryKey })}\n`,
    );
    return;
  }
  // Standard output stays one line (scripts capture it); the other forms are for people.
  process.stdout.write(`${connectionString}\n`);
  process.stderr.write(
    `Over WebSocket (mqtt({ webSocket: true }) or amqp({ webSocket: true })):\n  ${connectionStrings.webSocket}\nOver AMQP (amqp()):\n  ${connectionStrings.amqp}\n`,
  );
}

function targetFromDataDir(dataDir: string): HubTarget {
  const file = join(dataDir, ENDPOINT_FILE_NAME);
  const info = readEndpointFile(dataDir);
  const start = `start one with "twinkit-hub start --data ${dataDir}", or pass --hub "<service connection string>" of a running hub`;
  if (info === 'missing')
    throw new CliFailure(`no hub is running on ${dataDir} (there is no ${file}): ${start}.`);
  if (info === 'unreadable')
    throw new CliFailure(`${file} is not an endpoint file of twinkit-hub: ${start}.`);
  if (!isRunning(info.pid)) {
    throw new CliFailure(
      `the hub that wrote ${file} (pid ${String(info.pid)}) is not running: ${start}.`,
    );
  }
  const standardMqtt = info.mqttPort === undefined || info.mqttPort === 8883;
  const target: HubTarget = {
    url: info.https,
    servername: info.hostName,
    service: parseServiceConnectionString(info.serviceConnectionString),
    ca: readCa(info.caFile, `the CA file ${info.caFile} named in ${file}`),
    description: `the hub running on ${dataDir} (${info.https})`,
  };
  if (!standardMqtt) target.gateway = `${info.hostName}:${String(info.mqttPort)}`;
  if (info.amqpPort !== undefined && info.amqpPort !== 5671)
    target.amqpGateway = `${info.hostName}:${String(info.amqpPort)}`;
  const httpsPort = Number(new URL(info.https).port || 443);
  if (httpsPort !== 443) target.webSocketGateway = `${info.hostName}:${String(httpsPort)}`;
  return target;
}

function targetFromConnectionString(
  connectionString: string,
  caFile: string | undefined,
  plainHttp: boolean,
): HubTarget {
  let service: ServiceConnectionString;
  try {
    service = parseServiceConnectionString(connectionString);
  } catch (error) {
    throw usageError(
      `--hub needs a service connection string (HostName=…;SharedAccessKeyName=…;SharedAccessKey=…): ${(error as Error).message}`,
    );
  }
  const url = `${plainHttp ? 'http' : 'https'}://${service.hostName}`;
  const target: HubTarget = {
    url,
    servername: service.hostName.replace(/:\d+$/, ''),
    service,
    description: `the hub at ${url} (--hub)`,
  };
  const httpsPort = /:(\d+)$/.exec(service.hostName)?.[1];
  if (httpsPort !== undefined && httpsPort !== '443') target.webSocketGateway = service.hostName;
  if (caFile !== undefined) target.ca = readCa(resolve(caFile), `--ca ${caFile}`);
  return target;
}

function readCa(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${what}: ${(error as Error).message}.`);
  }
}

async function createDevice(target: HubTarget, deviceId: string): Promise<string> {
  const authorization = await createSasToken({
    resourceUri: target.servername,
    key: target.service.sharedAccessKey,
    keyName: target.service.sharedAccessKeyName,
    expiresOnInSeconds: Math.floor(Date.now() / 1000) + 300,
  });
  const body = JSON.stringify({ deviceId });
  const url = new URL(withApiVersion(devicePath(deviceId)), target.url);
  const options = {
    method: 'PUT',
    headers: {
      authorization,
      [HEADER.contentType]: JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
    },
    servername: target.servername,
    timeout: 30_000,
    ...(target.ca === undefined ? {} : { ca: target.ca }),
  };
  let response: { status: number; text: string };
  try {
    response = await new Promise((resolvePromise, reject) => {
      const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
      const request = send(url, options, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          resolvePromise({
            status: incoming.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        incoming.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error('no answer within 30 s')));
      request.on('error', reject);
      request.end(body);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const tls = typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO/.test(code);
    throw new CliFailure(
      `cannot reach ${target.description}: ${(error as Error).message}.` +
        (tls ? " Trust the hub's CA with --ca <its ca.pem>." : ' Is the hub running?'),
    );
  }
  if (response.status !== 200) {
    let message = response.text;
    try {
      message = (JSON.parse(response.text) as { Message?: string }).Message ?? response.text;
    } catch {
      // Not a hub error body: show it as it came.
    }
    throw new CliFailure(
      `${target.description} refused to create '${deviceId}' (${String(response.status)}): ${message}`,
    );
  }
  const device = JSON.parse(response.text) as {
    authentication?: { symmetricKey?: { primaryKey?: string } };
  };
  const primaryKey = device.authentication?.symmetricKey?.primaryKey;
  if (typeof primaryKey !== 'string')
    throw new CliFailure(`${target.description} answered without the device's keys.`);
  return primaryKey;
}
