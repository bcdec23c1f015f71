#!/usr/bin/env node
/**
 * `twinkit-hub`: run the local IoT Hub from a terminal or a CI script.
 *
 *   twinkit-hub start [--data DIR | --in-memory] [--host ADDR] [--host-name NAME] [--https-port N]
 *                     [--mqtt-port N] [--amqp-port N] [--standard-ports] [--plain-http]
 *                     [--cors ORIGIN]... [--explorer-token-file FILE | --no-explorer] [--json]
 *   twinkit-hub device create <id> [--data DIR | --hub CS [--ca FILE]] [--json]
 *   twinkit-hub --version
 *
 * Errors are one line on stderr naming the flag or path, exit code 1 (could not do it) or 2
 * (wrong command line); see cli/cli-failure.ts.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceCommand } from './cli/device-command.js';
import { CliFailure, EXIT_FAILURE, exitWithError, usageError } from './cli/cli-failure.js';
import { parseLimitFlags, type LimitFlags } from './cli/limit-flags.js';
import { removeEndpointFile, writeEndpointFile, type EndpointInfo } from './cli/endpoint-file.js';
import type { Hub } from './hub.js';
import type { HubServer } from './node/listen.js';
import { assertValidCorsOrigins } from './rest/cors.js';
import { isHubStorageError } from './state/storage-error.js';

const DEFAULT_DATA_DIR = '.twinkit-hub';

const HELP = `twinkit-hub: a local Azure IoT Hub for development and tests.

Usage:
  twinkit-hub start [options]            Start the hub and print its endpoints and credentials.
  twinkit-hub device create <id> [opts]  Register a device on a running hub; print its connection string.
  twinkit-hub --version                  Print the version.
  twinkit-hub help                       Show this help.

Options of "start":
  --data DIR          Keep the SQLite database and the development CA in DIR
                      (default ./${DEFAULT_DATA_DIR}). Data survives restarts. One hub per DIR.
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
  --explorer-token-file FILE
                      The web explorer (https://localhost:<port>/explorer) answers only this
                      machine by default; with a token (FILE holds at least 32 characters) it
                      answers any address that signs in with it. See docs/security.md.
  --no-explorer       Do not serve the explorer.
  --limit NAME=VALUE  Change one of the hub's limits (repeat for several), e.g. maxConnections=500
                      or authTimeoutInMs=5000: any field of HubOptions.limits or
                      ListenOptions.limits; docs/security.md lists them with their defaults.
  --json              Print one JSON line when ready instead of the text summary:
                      {"serviceConnectionString":…,"caFile":…,"endpoints":{…,"explorer":…}}

Options of "device create" (it needs a running hub; it never creates a store):
  --data DIR          Reach the hub running on DIR (default ./${DEFAULT_DATA_DIR}), through the
                      DIR/endpoint.json it writes while it runs.
  --hub CS            Reach the hub with this service connection string instead
                      ("HostName=localhost:8443;SharedAccessKeyName=iothubowner;SharedAccessKey=…").
  --ca FILE           With --hub: the hub's CA certificate to trust (its ca.pem).
  --plain-http        With --hub: the hub serves plain HTTP.
  --gateway-host-name HOST:PORT
                      Put GatewayHostName=HOST:PORT in the connection string, for a hub whose MQTT
                      and AMQP ports are not 8883 and 5671 (set from DIR/endpoint.json with --data).
  --host-name NAME    Host name for the connection string (default: the hub's).
  --json              Print {"deviceId":…,"connectionString":…,"primaryKey":…} instead.

TLS: the hub creates a development CA on first start (DIR/ca.pem). Trust it in Node with
NODE_EXTRA_CA_CERTS=DIR/ca.pem, or pass it as the "ca" option of your client.
Credentials: the well-known development policies (iothubowner, service, device, registryRead,
registryReadWrite) have fixed keys documented in the README. Never expose this hub publicly.
Stop with Ctrl-C (SIGINT) or SIGTERM.
Exit codes: 0 done, 1 could not do it (data directory refused, port taken, hub unreachable),
2 wrong command line.
`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(parsed) || parsed > 65_535)
    throw usageError(`${flag} must be a port number (0-65535), got '${value}'.`);
  return parsed;
}

/** `name@version` of this package (src/cli.ts and dist/cli.js both sit one level below it). */
function version(): string {
  const script = realpathSync(process.argv[1] ?? '.');
  const manifest = JSON.parse(
    readFileSync(join(dirname(script), '..', 'package.json'), 'utf8'),
  ) as { version?: string };
  return manifest.version ?? 'unknown';
}

async function openHub(
  hostName: string,
  dataDir: string | undefined,
  corsOrigins: string[],
  limits: LimitFlags['hub'],
): Promise<Hub> {
  try {
    // Loaded here, not at the top: `device create`, `--version` and errors start faster without
    // the hub and its protocol stacks.
    const { createHub } = await import('./hub.js');
    return await createHub({
      hostName,
      corsOrigins,
      limits,
      ...(dataDir === undefined ? {} : { dataDir }),
    });
  } catch (error) {
    if (isHubStorageError(error)) throw new CliFailure(`--data: ${error.message}`);
    if (error instanceof TypeError && /host name/i.test(error.message))
      throw usageError(`--host-name: ${error.message}`);
    throw error;
  }
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
      'explorer-token-file': { type: 'string' },
      'no-explorer': { type: 'boolean', default: false },
      limit: { type: 'string', multiple: true, default: [] },
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
    throw usageError('use either --data or --in-memory, not both.');
  const dataDir = values['in-memory'] ? undefined : resolve(values.data ?? DEFAULT_DATA_DIR);
  const standard = values['standard-ports'];
  const httpsPort = port(values['https-port'], '--https-port') ?? (standard ? 443 : 8443);
  const mqttPort = port(values['mqtt-port'], '--mqtt-port') ?? 8883;
  const amqpPort = port(values['amqp-port'], '--amqp-port') ?? 5671;

  try {
    assertValidCorsOrigins(values.cors);
  } catch (error) {
    throw usageError(`--cors: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (values['no-explorer'] && values['explorer-token-file'] !== undefined)
    throw usageError('use either --explorer-token-file or --no-explorer, not both.');
  const explorer = values['no-explorer']
    ? { enabled: false }
    : values['explorer-token-file'] === undefined
      ? {}
      : { token: readExplorerToken(values['explorer-token-file']) };
  const limits = parseLimitFlags(values.limit);
  const hub = await openHub(values['host-name'], dataDir, values.cors, limits.hub);
  let server: HubServer;
  try {
    const { listen } = await import('./node/listen.js');
    server = await listen(hub, {
      host: values.host,
      httpsPort,
      mqttPort,
      amqpPort,
      plainHttp: values['plain-http'],
      explorer,
      limits: limits.listener,
    });
  } catch (error) {
    await hub.close();
    const message = error instanceof Error ? error.message : String(error);
    throw new CliFailure(
      `${message} Choose other ports with --https-port, --mqtt-port and --amqp-port (0 = any free port), or the address with --host.`,
    );
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
    explorer:
      server.urls.explorer === undefined
        ? null
        : `${scheme}://${hub.hostName}:${String(server.ports.https)}/explorer`,
  };
  if (dataDir !== undefined) {
    const info: EndpointInfo = {
      pid: process.pid,
      hostName: hub.hostName,
      https: server.urls.https,
      plainHttp: values['plain-http'],
      serviceConnectionString,
      caFile,
    };
    if (server.ports.mqtt !== undefined) info.mqttPort = server.ports.mqtt;
    if (server.ports.amqp !== undefined) info.amqpPort = server.ports.amqp;
    writeEndpointFile(dataDir, info);
  }

  // Handlers go in before the ready line, so a signal sent right after it still stops cleanly.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      let code = 0;
      try {
        await server.close();
        await hub.close();
      } catch (error) {
        // A clean stop reports what went wrong and still exits; it never throws.
        process.stderr.write(
          `twinkit-hub: stopping: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        code = EXIT_FAILURE;
      }
      try {
        if (dataDir !== undefined) removeEndpointFile(dataDir);
        if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
      } catch {
        // Leftover files are harmless: the next start rewrites endpoint.json.
      }
      if (!values.json) process.stdout.write(`twinkit-hub stopped (${signal}).\n`);
      process.exit(code);
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
    return;
  }
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
    `  Explorer:       ${endpoints.explorer ?? 'off (--no-explorer)'}${
      endpoints.explorer === null
        ? ''
        : explorer.token === undefined
          ? '  (this machine only)'
          : '  (sign in with the token)'
    }`,
    `  Data:           ${dataDir ?? 'in memory (lost on exit)'}`,
    `  CA file:        ${caFile}`,
    `                  trust it with NODE_EXTRA_CA_CERTS=${caFile}`,
    '  Service connection string (iothubowner):',
    `    ${serviceConnectionString}`,
    `  Create a device: ${createDeviceCommand(dataDir, serviceConnectionString, caFile, server, hub.hostName, values['plain-http'])}`,
    '  Stop: Ctrl-C',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A `device create` command line that reaches this hub (quoted for POSIX shells). */
function createDeviceCommand(
  dataDir: string | undefined,
  serviceConnectionString: string,
  caFile: string,
  server: HubServer,
  hostName: string,
  plainHttp: boolean,
): string {
  const base = 'twinkit-hub device create <id>';
  if (dataDir !== undefined) return `${base} --data ${shellQuote(dataDir)}`;
  const flags = [`--hub ${shellQuote(serviceConnectionString)}`];
  flags.push(plainHttp ? '--plain-http' : `--ca ${shellQuote(caFile)}`);
  if (server.ports.mqtt !== undefined && server.ports.mqtt !== 8883)
    flags.push(`--gateway-host-name ${hostName}:${String(server.ports.mqtt)}`);
  return `${base} ${flags.join(' ')}`;
}

/** The explorer token from a file (trimmed: editors and `echo` add a newline). */
function readExplorerToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw usageError(
      `--explorer-token-file: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (token.length < 32)
    throw usageError(
      `--explorer-token-file: ${file} holds ${String(token.length)} characters; the token needs at least 32 (openssl rand -base64 33 > ${file}).`,
    );
  return token;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'device':
      return deviceCommand(rest, DEFAULT_DATA_DIR, HELP);
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`twinkit-hub ${version()}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return;
    default:
      throw usageError(`unknown command '${command}'. Run "twinkit-hub --help".`);
  }
}

main(process.argv.slice(2)).catch(exitWithError);
