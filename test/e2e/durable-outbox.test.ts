/**
 * Durable device state, end to end (DeviceClientOptions.store with the file store): a device
 * PROCESS queues reported patches while the hub is unreachable and is killed (SIGKILL); the back
 * end changes desired properties meanwhile; a new process with the same store file sends the
 * queued patches once, in order, and hands the offline desired changes to its handler once.
 *
 * The hub runs here; the device reaches it through a TCP proxy this test cuts and restores, so
 * "unreachable" is a real network failure. Order and count on the hub come from its per-twin
 * timeline (the explorer's change feed), which records every reported write as it was applied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import { createRegistry, httpsFetch, patchDesired } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const waitOptions = { timeout: 15_000, interval: 20 };

/** A TCP proxy to the hub's MQTT port that the test can cut (every socket reset) and restore. */
async function startProxy(targetPort: number): Promise<
  AsyncDisposable & {
    port: number;
    cut: () => void;
    restore: () => void;
  }
> {
  const sockets = new Set<Socket>();
  let reachable = true;
  const server: Server = createServer((client) => {
    if (!reachable) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    cut: () => {
      reachable = false;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      reachable = true;
    },
    [Symbol.asyncDispose]: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface DeviceEvent {
  event: string;
  [key: string]: unknown;
}

/** A device process (fixtures/durable-device.ts) and what it said so far. */
function startDevice(environment: Record<string, string>): AsyncDisposable & {
  child: ChildProcess;
  events: DeviceEvent[];
  send: (command: object) => void;
  next: (predicate: (event: DeviceEvent) => boolean) => Promise<DeviceEvent>;
  exited: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    ['--conditions=@twinkit/source', '--import', 'tsx', join(here, 'fixtures/durable-device.ts')],
    { cwd: here, env: { ...process.env, ...environment }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const events: DeviceEvent[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as DeviceEvent);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    events,
    send: (command) => child.stdin?.write(`${JSON.stringify(command)}\n`),
    next: (predicate) =>
      vi.waitFor(() => {
        const found = events.find(predicate);
        if (found === undefined) throw new Error(`not yet: ${JSON.stringify(events.slice(-5))}`);
        return found;
      }, waitOptions),
    exited,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

interface TimelineEntry {
  who: 'service' | 'device';
  operation: string;
  patch: Record<string, unknown>;
  reportedVersion: number;
}

async function reportedWrites(testHub: TestHub, deviceId: string): Promise<TimelineEntry[]> {
  const response = await httpsFetch(testHub.caCertificate)(
    `https://localhost:${String(testHub.httpsPort)}/explorer/api/timeline?deviceId=${deviceId}`,
    { method: 'GET', headers: {}, redirect: 'manual' },
  );
  const { entries } = (await response.json()) as { entries: TimelineEntry[] };
  return entries.filter((entry) => entry.who === 'device' && entry.operation === 'reported');
}

describe('durable device state (file store) across a killed device process', () => {
  it('sends the patches queued before the kill once, in order, and delivers the offline desired changes once', async () => {
    await using testHub = await startTestHub();
    const directory = await mkdtemp(join(tmpdir(), 'twinkit-e2e-durable-'));
    await using _directory = {
      [Symbol.asyncDispose]: () => rm(directory, { recursive: true, force: true }),
    };
    await using proxy = await startProxy(testHub.mqttPort!);
    const registry = createRegistry(testHub);
    const deviceId = 'durable-1';
    const { connectionString } = await testHub.createDevice(deviceId);
    const environment = {
      DEVICE_CONNECTION_STRING: connectionString.replace(
        /HostName=localhost:\d+/,
        `HostName=localhost:${String(proxy.port)}`,
      ),
      DEVICE_CA: testHub.caCertificate,
      STORE_PATH: join(directory, 'device-state.json'),
    };

    // 1. The first process connects and gets a desired change online.
    await using first = startDevice(environment);
    await first.next((event) => event.event === 'open');
    await patchDesired(registry, deviceId, { interval: 10, mode: 'eco' });
    await first.next((event) => event.event === 'desired' && event.version === 2);

    // 2. The hub becomes unreachable; the device queues five patches, each saved to the store.
    proxy.cut();
    await first.next((event) => event.event === 'state' && event.state === 'reconnecting');
    const patches = [1, 2, 3, 4, 5].map((seq) => ({ seq, trail: { [`p${String(seq)}`]: seq } }));
    for (const patch of patches) {
      first.send({ report: patch });
      await first.next(
        (event) => event.event === 'saved' && (event.patch as { seq: number }).seq === patch.seq,
      );
    }

    // 3. The process is killed; the back end changes desired properties twice meanwhile.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.events.filter((event) => event.event === 'reported')).toEqual([]);
    expect(await reportedWrites(testHub, deviceId)).toEqual([]);
    await patchDesired(registry, deviceId, { interval: 30 });
    await patchDesired(registry, deviceId, { mode: null, level: 4 });

    // 4. The hub is reachable again; a new process starts with the same store file (taking over
    // the dead process's lock).
    proxy.restore();
    await using second = startDevice(environment);
    await second.next((event) => event.event === 'open');
    await vi.waitFor(async () => {
      expect((await reportedWrites(testHub, deviceId)).length).toBe(5);
    }, waitOptions);
    const writes = await reportedWrites(testHub, deviceId);
    expect(writes.map((entry) => entry.patch)).toEqual(patches);
    expect(writes.map((entry) => entry.reportedVersion)).toEqual([2, 3, 4, 5, 6]);
    const twin = await registry.getTwin(deviceId);
    expect(twin.properties.reported).toMatchObject({
      seq: 5,
      trail: { p1: 1, p2: 2, p3: 3, p4: 4, p5: 5 },
      $version: 6,
    });

    // 5. One more online change is a sync point: before it, exactly one resync with both
    // offline changes, and nothing the first process had already applied.
    await patchDesired(registry, deviceId, { interval: 60 });
    await second.next((event) => event.event === 'desired' && event.version === 5);
    expect(second.events.filter((event) => event.event === 'desired')).toEqual([
      {
        event: 'desired',
        version: 4,
        reason: 'resync',
        patch: { interval: 30, mode: null, level: 4 },
      },
      { event: 'desired', version: 5, reason: 'patch', patch: { interval: 60 } },
    ]);
    expect(second.events.filter((event) => event.event === 'error')).toEqual([]);

    // 6. A clean close leaves the store with an empty outbox and the last desired version, and
    // releases the lock.
    second.send({ close: true });
    expect(await second.exited).toBe(0);
    const stored = JSON.parse(
      (await readFile(environment.STORE_PATH, 'utf8')).split('\n')[1] ?? '',
    ) as { outbox: unknown[]; desired: { version: number } };
    expect(stored.outbox).toEqual([]);
    expect(stored.desired.version).toBe(5);
    expect(await readdir(directory)).toEqual(['device-state.json']);
    expect(await reportedWrites(testHub, deviceId)).toHaveLength(5);
  }, 60_000);
});
