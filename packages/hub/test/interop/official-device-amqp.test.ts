/**
 * Interop: the official Azure IoT Node device SDK (azure-iot-device-amqp, `Amqp` and `AmqpWs`),
 * unmodified, in a child process against the hub's AMQP endpoint. AmqpWs
 * always dials `wss://<host>:443`, so that test needs 127.0.0.1:443 and waits for other interop
 * suites to release it; these files must not run concurrently with them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  createSasToken,
  formatDeviceConnectionString,
  parseServiceConnectionString,
} from '@twinkit/twin-model/protocol';
import { describe, expect, it, vi } from 'vitest';
import { attachAmqpEndpoint, findAmqpEndpoint } from '../../src/amqp/amqp-endpoint.js';
import { createHub, hubInternals, type Hub } from '../../src/hub.js';
import { listen, type HubServer } from '../../src/node/listen.js';

const PEER = fileURLToPath(new URL('./official-device-amqp.cjs', import.meta.url));

interface PeerReport {
  initial: { desired: number; reported: number };
  desired: { color: string; version: number };
  after: { reported: number; interop: string };
}

async function updateDesired(
  hub: Hub,
  deviceId: string,
  desired: Record<string, unknown>,
): Promise<void> {
  const service = parseServiceConnectionString(hub.serviceConnectionString);
  const token = await createSasToken({
    resourceUri: hub.hostName,
    key: service.sharedAccessKey,
    keyName: service.sharedAccessKeyName,
    expiresOnInSeconds: Math.floor(Date.now() / 1000) + 600,
  });
  const response = await hub.fetch(
    new Request(`https://${hub.hostName}/twins/${deviceId}?api-version=2021-04-12`, {
      method: 'PATCH',
      headers: { authorization: token, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { desired } }),
    }),
  );
  if (!response.ok) throw new Error(`desired update failed: ${String(response.status)}`);
}

/** Runs the SDK peer; once it is subscribed, sets a desired property through the REST API. */
async function runPeer(
  hub: Hub,
  protocol: 'amqp' | 'ws',
  connectionString: string,
  caFile: string,
): Promise<PeerReport> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: caFile,
    DEVICE_CONNECTION_STRING: connectionString,
    PROTOCOL: protocol,
  };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [PEER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let report: PeerReport | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (line === 'READY') {
      void updateDesired(hub, 'interop-amqp', { color: 'blue' });
      return;
    }
    try {
      report = JSON.parse(line) as PeerReport;
    } catch {
      stderr += `${line}\n`;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || report === undefined)
    throw new Error(`SDK peer exited with ${String(code)}: ${stderr}`);
  return report;
}

async function withHub(
  test: (hub: Hub, server: HubServer, caFile: string) => Promise<void>,
  listenOn: (hub: Hub) => Promise<HubServer>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinkit-amqp-interop-'));
  try {
    await using hub = await createHub();
    const { core } = hubInternals(hub);
    const endpoint = findAmqpEndpoint(core) ?? attachAmqpEndpoint(core);
    await using _endpoint = endpoint;
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, hub.caCertificate);
    await using server = await listenOn(hub);
    await test(hub, server, caFile);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('official azure-iot-device-amqp against the hub', () => {
  it(
    'Amqp (TLS, HostName=localhost:<port>) reads the twin, reports, and receives a desired change',
    { timeout: 60_000 },
    async () => {
      await withHub(
        async (hub, server, caFile) => {
          const device = await hub.createDevice('interop-amqp');
          const connectionString = formatDeviceConnectionString({
            hostName: `localhost:${String(server.ports.amqp)}`,
            deviceId: 'interop-amqp',
            sharedAccessKey: device.primaryKey,
          });
          const report = await runPeer(hub, 'amqp', connectionString, caFile);
          expect(report.initial).toEqual({ desired: 1, reported: 1 });
          expect(report.desired).toEqual({ color: 'blue', version: 2 });
          expect(report.after).toEqual({ reported: 2, interop: 'amqp' });
          expect(hubInternals(hub).core.getTwin('interop-amqp')?.reported).toEqual({
            interop: 'amqp',
            transport: 'amqp',
          });
        },
        (hub) => listen(hub, { host: '127.0.0.1', httpsPort: 0, mqttPort: 0, amqpPort: 0 }),
      );
    },
  );

  it(
    'AmqpWs (wss://localhost:443/$iothub/websocket) reads the twin, reports, and receives a desired change',
    { timeout: 90_000 },
    async () => {
      await withHub(
        async (hub, _server, caFile) => {
          const device = await hub.createDevice('interop-amqp');
          const connectionString = formatDeviceConnectionString({
            hostName: 'localhost',
            deviceId: 'interop-amqp',
            sharedAccessKey: device.primaryKey,
          });
          const report = await runPeer(hub, 'ws', connectionString, caFile);
          expect(report.initial).toEqual({ desired: 1, reported: 1 });
          expect(report.desired).toEqual({ color: 'blue', version: 2 });
          expect(report.after).toEqual({ reported: 2, interop: 'amqp' });
          expect(hubInternals(hub).core.getTwin('interop-amqp')?.reported).toEqual({
            interop: 'amqp',
            transport: 'ws',
          });
        },
        async (hub) => {
          try {
            // Other interop suites also bind 443; wait for them to release it.
            return await vi.waitFor(
              () => listen(hub, { host: '127.0.0.1', httpsPort: 443, mqttPort: 0, amqpPort: 0 }),
              {
                timeout: 40_000,
                interval: 200,
              },
            );
          } catch (error) {
            throw new Error(
              `AmqpWs always dials port 443, so this test needs 127.0.0.1:443: ${error instanceof Error ? error.message : String(error)}`,
              { cause: error },
            );
          }
        },
      );
    },
  );
});
