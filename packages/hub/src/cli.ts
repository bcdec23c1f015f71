#!/usr/bin/env node
/**
 * `twinkit-hub`: run the local IoT Hub from a terminal or a CI script.
 *
 *   twinkit-hub start [--data DIR | --in-memory] [--host ADDR] [--host-name NAME] [--https-port N]
 *                     [--mqtt-port N] [--amqp-port N] [--standard-ports] [--plain-http]
 *                     [--cors ORIGIN]... [--json]
 *   twinkit-hub device create <id> [--data DIR] [--host-name NAME] [--json]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSasToken, formatDeviceConnectionString } from '@twinkit/twin-model/protocol';
import { WELL_KNOWN_POLICIES } from './auth/policies.js';
import { createHub } from './hub.js';
import { assertValidCorsOrigins } from './rest/cors.js';
import { listen, type HubServer } from './node/listen.js';

const DEFAULT_DATA_DIR = '.twinkit-hub';
const ENDPOINT_FILE = 'endpoint.json';

const HELP = `twinkit-hub: a local Azure IoT Hub for development and tests.

Usage:
  twinkit-hub start [options]            Start the hub and print its endpoints and credentials.
  twinkit-hub device create <id> [opts]  Register a device and print its connection string.
  twinkit-hub help                       Show this help.

Options of "start":
  --data DIR          Keep the SQLite database and the development CA in DIR
                      (default ./${DEFAULT_DATA_DIR}). Data survives restarts.
  --in-memory         Keep everything in memory (nothing is written except a temporary ca.pem).
  --host ADDR         Address to bind (default 127.0.0.1). Use 0.0.0.0 to accept other machines.
  --host-name NAME    Host name clients use in connection strings and SAS tokens; it is put on
                      the TLS certificate (default localhost).
  --https-port N      HTTPS port for the REST API and WebSocket upgrades (default 8443; 0 = any free port).
  --mqtt-port N       MQTT over TLS port (default 8883; 0 = any free port).
  --amqp-port N       AMQP over TLS port (default 5671; 0 = any free port).
  --standard-ports    Use IoT Hub's ports 443, 8883 and 5671, so unmodified Azure SDKs connect with
                      HostName=localhost (443 needs root or CAP_NET_BIND_SERVICE).
  --plain-http        Serve plain HTTP instead of HTTPS (only on loopback addresses).
  --cors ORIGIN       Let web pages from ORIGIN (e.g. http://localhost:5173, or * for any) call the
                      REST API (CORS); repeat for several. Off by default, as on Azure IoT Hub.
  --json              Print one JSON line when ready instead of the text summary:
                      {"serviceConnectionString":…,"caFile":…,"endpoints":{…}}

Options of "device create":
  --data DIR          The hub's data directory (default ./${DEFAULT_DATA_DIR}). When a hub is running
                      on it, the device is created through that hub; otherwise in the stored data.
  --host-name NAME    Host name for the connection string (default: the running hub's, or localhost).
  --json              Print {"deviceId":…,"connectionString":…,"primaryKey":…} instead.

TLS: the hub creates a development CA on first start (DIR/ca.pem). Trust it in Node with
NODE_EXTRA_CA_CERTS=DIR/ca.pem, or pass it as the "ca" option of your client.
Credentials: the well-known development policies (iothubowner, service, device, registryRead,
registryReadWrite) have fixed keys documented in the README. Never expose this hub publicly.
Stop with Ctrl-C (SIGINT) or SIGTERM.
`;

interface EndpointInfo {
  pid: number;
  hostName: string;
  https: string;
  httpsPort: number;
  plainHttp: boolean;
  mqttPort?: number;
  caFile?: string;
}

function fail(message: string): never {
  process.stderr.write(`twinkit-hub: ${message}\n`);
  process.exit(2);
}

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535)
    fail(`${name} must be a port number (0-65535), got '${value}'.`);
  return parsed;
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      host: { type: 'string', default: '127.0.0.1' },
      'host-name': { type: 'string', default: 'localhost' },
      'https-port': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'amqp-port': { type: 'string' },
      'standard-ports': { type: 'boolean', default: false },
      'plain-http': { type: 'boolean', default: false },
      cors: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values['in-memory'] && values.data !== undefined)
    fail('use either --data or --in-memory, not both.');
  const dataDir = values['in-memory'] ? undefined : resolve(values.data ?? DEFAULT_DATA_DIR);
  const standard = values['standard-ports'];
  const httpsPort = port(values['https-port'], '--https-port') ?? (standard ? 443 : 8443);
  const mqttPort = port(values['mqtt-port'], '--mqtt-port') ?? 8883;
  const amqpPort = port(values['amqp-port'], '--amqp-port') ?? 5671;

  try {
    assertValidCorsOrigins(values.cors);
  } catch (error) {
    fail(`--cors: ${error instanceof Error ? error.message : String(error)}`);
  }
  const hub = await createHub({
    hostName: values['host-name'],
    corsOrigins: values.cors,
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  let server: HubServer;
  try {
    server = await listen(hub, {
      host: values.host,
      httpsPort,
      mqttPort,
      amqpPort,
      plainHttp: values['plain-http'],
    });
  } catch (error) {
    await hub.close();
    fail(error instanceof Error ? error.message : String(error));
  }

  let caFile = hub.caFile;
  let tempDir: string | undefined;
  if (caFile === undefined) {
    tempDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-'));
    caFile = join(tempDir, 'ca.pem');
    writeFileSync(caFile, hub.caCertificate);
  }
  const serviceConnectionString = hub.serviceConnectionString;
  const scheme = values['plain-http'] ? 'http' : 'https';
  const endpoints: Record<string, string | null> = {
    https: `${scheme}://${hub.hostName}:${String(server.ports.https)}`,
    mqtt:
      server.ports.mqtt === undefined
        ? null
        : `mqtts://${hub.hostName}:${String(server.ports.mqtt)}`,
    amqp:
      server.ports.amqp === undefined
        ? null
        : `amqps://${hub.hostName}:${String(server.ports.amqp)}`,
  };
  const endpointFile = dataDir === undefined ? undefined : join(dataDir, ENDPOINT_FILE);
  if (endpointFile !== undefined) {
    const info: EndpointInfo = {
      pid: process.pid,
      hostName: hub.hostName,
      https: server.urls.https,
      httpsPort: server.ports.https,
      plainHttp: values['plain-http'],
      caFile,
    };
    if (server.ports.mqtt !== undefined) info.mqttPort = server.ports.mqtt;
    writeFileSync(endpointFile, `${JSON.stringify(info)}\n`);
  }

  // Handlers go in before the ready line, so a signal sent right after it still stops cleanly.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      try {
        await server.close();
        await hub.close();
      } finally {
        if (endpointFile !== undefined) rmSync(endpointFile, { force: true });
        if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
        if (!values.json) process.stdout.write(`twinkit-hub stopped (${signal}).\n`);
        process.exit(0);
      }
    })();
  };
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        serviceConnectionString,
        caFile,
        endpoints,
        dataDir: dataDir ?? null,
        notServed: server.notServed,
      })}\n`,
    );
  } else {
    const lines = [
      'twinkit-hub is ready (development only: well-known keys, development CA).',
      `  REST (HTTPS):   ${endpoints.https ?? ''}  (bound to ${server.host})`,
    ];
    for (const protocol of ['mqtt', 'amqp'] as const) {
      const url = endpoints[protocol];
      const missing = server.notServed.find((entry) => entry.protocol === protocol);
      lines.push(
        `  ${`${protocol.toUpperCase()}:`.padEnd(16)}${
          url ?? `not served (port ${String(missing?.requestedPort ?? '')} requested)`
        }`,
      );
    }
    lines.push(
      `  Data:           ${dataDir ?? 'in memory (lost on exit)'}`,
      `  CA file:        ${caFile}`,
      `                  trust it with NODE_EXTRA_CA_CERTS=${caFile}`,
      '  Service connection string (iothubowner):',
      `    ${serviceConnectionString}`,
      '  Create a device: twinkit-hub device create <id>' +
        (dataDir === undefined ? '' : ` --data ${dataDir}`),
      '  Stop: Ctrl-C',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

function runningHub(dataDir: string): EndpointInfo | undefined {
  const file = join(dataDir, ENDPOINT_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as EndpointInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

async function createThroughRunningHub(
  info: EndpointInfo,
  deviceId: string,
): Promise<{ primaryKey: string }> {
  const owner = WELL_KNOWN_POLICIES.find((policy) => policy.keyName === 'iothubowner');
  if (owner === undefined) throw new Error('The iothubowner policy is missing.');
  const authorization = await createSasToken({
    resourceUri: info.hostName,
    key: owner.primaryKey,
    keyName: owner.keyName,
    expiresOnInSeconds: Math.floor(Date.now() / 1000) + 300,
  });
  const body = JSON.stringify({ deviceId });
  const url = new URL(
    `/devices/${encodeURIComponent(deviceId)}?api-version=2021-04-12`,
    info.https,
  );
  const options = {
    method: 'PUT',
    headers: {
      authorization,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    },
    servername: info.hostName,
    ...(info.caFile !== undefined && existsSync(info.caFile)
      ? { ca: readFileSync(info.caFile, 'utf8') }
      : {}),
  };
  const text = await new Promise<{ status: number; text: string }>((resolvePromise, reject) => {
    const request = (info.plainHttp ? httpRequest : httpsRequest)(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolvePromise({
          status: response.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
  if (text.status !== 200) {
    const message = (JSON.parse(text.text) as { Message?: string }).Message ?? text.text;
    throw new Error(
      `The running hub refused to create '${deviceId}' (${String(text.status)}): ${message}`,
    );
  }
  const device = JSON.parse(text.text) as {
    authentication: { symmetricKey: { primaryKey: string } };
  };
  return { primaryKey: device.authentication.symmetricKey.primaryKey };
}

async function device(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      'host-name': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const [action, deviceId, ...rest] = positionals;
  if (action !== 'create' || deviceId === undefined || rest.length > 0) {
    fail('usage: twinkit-hub device create <id> [--data DIR] [--host-name NAME] [--json]');
  }
  const dataDir = resolve(values.data ?? DEFAULT_DATA_DIR);
  const info = runningHub(dataDir);
  let primaryKey: string;
  let hostName = values['host-name'] ?? info?.hostName ?? 'localhost';
  let gateway: string | undefined;
  if (info !== undefined) {
    primaryKey = (await createThroughRunningHub(info, deviceId)).primaryKey;
    if (info.mqttPort !== undefined && info.mqttPort !== 8883)
      gateway = `${info.hostName}:${String(info.mqttPort)}`;
  } else {
    mkdirSync(dataDir, { recursive: true });
    const hub = await createHub({ dataDir, hostName });
    try {
      primaryKey = (await hub.createDevice(deviceId)).primaryKey;
    } finally {
      await hub.close();
    }
    hostName = hub.hostName;
  }
  const connectionString = formatDeviceConnectionString({
    hostName,
    deviceId,
    sharedAccessKey: primaryKey,
    ...(gateway === undefined ? {} : { gatewayHostName: gateway }),
  });
  if (values.json)
    process.stdout.write(`${JSON.stringify({ deviceId, connectionString, primaryKey })}\n`);
  else process.stdout.write(`${connectionString}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'device':
      return device(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return;
    default:
      fail(`unknown command '${command}'. Run "twinkit-hub --help".`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  fail(error instanceof Error ? error.message : String(error));
});
