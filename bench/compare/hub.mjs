// The hub for a comparison: `twinkit-hub start --in-memory` in its own process on free ports,
// seeded with 10,000 devices (q-0 … q-9999), so the clients never share a CPU slice with it
// more than the machine forces.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fromService, parseConnectionString, root, sasToken } from './shared.mjs';

export const DEVICES = 10_000;

/**
 * Starts the hub; resolves with its ready line, the child and the device keys of q-0 … q-79.
 * The official MQTT-over-WebSocket client dials port 443 only, so the hub takes 443 for its
 * HTTPS port when this process may bind it and it is free (BENCH_NO_443=1 skips that); else a
 * free port, and that column stays empty.
 */
export async function startHub() {
  if (process.env.BENCH_NO_443 !== '1') {
    try {
      return await startHubOn('443');
    } catch {
      // 443 is taken or needs privileges: fall through to a free port.
    }
  }
  return startHubOn('0');
}

async function startHubOn(httpsPort) {
  // BENCH_HUB_NODE_OPTIONS passes options to the hub's node (e.g. `--cpu-prof --cpu-prof-dir profiles`
  // to see where the hub spends its time under one runner: stop it with SIGTERM to write the profile).
  const nodeOptions = (process.env.BENCH_HUB_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeOptions,
      join(root, 'packages/hub/dist/cli.js'),
      'start',
      '--in-memory',
      '--https-port',
      httpsPort,
      '--mqtt-port',
      '0',
      '--amqp-port',
      '0',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', httpsPort === '0' ? 'inherit' : 'ignore'] },
  );
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`hub exited (${code}) before it was ready`)));
  });
  const keys = await seed(ready);
  return { ready, child, keys };
}

async function seed(ready) {
  const { Agent } = fromService('undici');
  const parts = parseConnectionString(ready.serviceConnectionString);
  const host = parts.HostName.split(':')[0];
  const authorization = sasToken(host, parts.SharedAccessKey, parts.SharedAccessKeyName);
  const { readFileSync } = await import('node:fs');
  const agent = new Agent({ connect: { ca: readFileSync(ready.caFile, 'utf8') } });
  const keys = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < DEVICES) {
        const i = next++;
        const deviceId = `q-${i}`;
        const response = await agent.request({
          origin: `https://${parts.HostName}`,
          method: 'PUT',
          path: `/devices/${deviceId}?api-version=2021-04-12`,
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ deviceId }),
        });
        const body = JSON.parse(await response.body.text());
        if (response.statusCode !== 200)
          throw new Error(`seeding ${deviceId}: ${JSON.stringify(body)}`);
        if (i < 80) keys[deviceId] = body.authentication.symmetricKey.primaryKey;
      }
    }),
  );
  await agent.close();
  return keys;
}
