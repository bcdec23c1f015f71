/**
 * @summary The device side of the durable-outbox example, run as its own process so the example
 * can kill it: a DeviceClient whose state lives in a file (`createFileStore`). It reads one
 * command per line on stdin and tells the example what happens, one JSON object per line.
 *
 * While the file named by OUTAGE_FILE exists, its token provider holds every connection attempt
 * back, so the device stays offline as long as the example wants.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { DeviceClient } from '@twinkit/device';
import { createFileStore } from '@twinkit/device/file-store';
import { createSasToken } from '@twinkit/twin-model/protocol';

const { HUB_HOST, DEVICE_ID, DEVICE_KEY, HUB_CA, STORE_FILE, OUTAGE_FILE } = process.env;
if (!HUB_HOST || !DEVICE_ID || !DEVICE_KEY || !STORE_FILE || !OUTAGE_FILE)
  throw new Error(
    'Started by main.ts, which sets HUB_HOST, DEVICE_ID, DEVICE_KEY, STORE_FILE and OUTAGE_FILE',
  );
const key = DEVICE_KEY;
const outageFile = OUTAGE_FILE;

function tell(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const device = DeviceClient.fromTokenProvider(
  { hostName: HUB_HOST, deviceId: DEVICE_ID },
  async ({ resourceUri }) => {
    while (existsSync(outageFile)) await sleep(50); // the network is down
    const expiresOnInSeconds = Math.floor(Date.now() / 1000) + 3600;
    return createSasToken({ resourceUri, key, expiresOnInSeconds });
  },
  {
    ...(HUB_CA ? { ca: HUB_CA } : {}),
    store: createFileStore(STORE_FILE),
    retryOptions: { retryDelayInMs: 50, maxRetryDelayInMs: 500 },
  },
);
device.on('connectionStateChange', ({ state }) => {
  tell({ event: 'state', state });
});
device.onDesired('interval', ({ value, version, reason }) => {
  tell({ event: 'desired', value, version, reason });
});

await device.open();
tell({ event: 'open' });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { measure?: number; close?: true };
  if (command.measure !== undefined) {
    const reading = command.measure;
    // Offline, this resolves only once the hub acknowledged it, maybe in another process.
    device
      .updateReportedProperties({
        lastReading: reading,
        readings: { [`r${String(reading)}`]: reading },
      })
      .then(
        ({ version }) => tell({ event: 'acknowledged', reading, version }),
        (error: unknown) => tell({ event: 'failed', reading, message: String(error) }),
      );
    // Once this resolves the patch is in the state file: the process may die now.
    await device.flushState();
    tell({ event: 'saved', reading });
  }
  if (command.close) {
    await device.close();
    tell({ event: 'closed' });
    process.exit(0);
  }
}
