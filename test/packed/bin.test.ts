/**
 * The bins as npm installed them: `twinkit-hub` (`--help` through npx, `start --json` with the
 * readiness line, every port 0 and a temporary `--data`, then `device create` against that
 * running hub) and `twinkit`, the command line for any hub, against the installed CLI hub.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { get } from 'node:https';
import { connect } from 'node:tls';
import { expect, inject, it } from 'vitest';
import { hubBin, startCliHub } from './helpers/cli-hub.ts';
import { runProgram } from './helpers/run-program.ts';

const { appDir } = inject('packedApp');

it('prints its help through npx', async () => {
  const output = await runProgram('npx', ['--no', '--', 'twinkit-hub', '--help'], { cwd: appDir });
  expect(output.stderr).toBe('');
  expect(output.exitCode).toBe(0);
  expect(output.stdout).toContain('twinkit-hub start [options]');
  expect(output.stdout).toContain('--cors ORIGIN');
});

it('refuses an unknown command with its usage and a non-zero exit', async () => {
  const output = await runProgram(hubBin(appDir), ['launch'], { cwd: appDir });
  expect(output.exitCode).not.toBe(0);
  expect(output.stderr + output.stdout).toContain('twinkit-hub');
});

it('starts with --json, serves TLS with its CA, and creates a device through the running hub', async () => {
  await using hub = await startCliHub(appDir);
  const { readiness } = hub;
  expect(readiness.serviceConnectionString).toMatch(
    /^HostName=localhost:\d+;SharedAccessKeyName=iothubowner;SharedAccessKey=/,
  );
  expect(readiness.dataDir).toBe(hub.dataDir);
  expect(hub.ports.https).toBeGreaterThan(0);
  expect(hub.ports.mqtt).toBeGreaterThan(0);
  expect(hub.ports.amqp).toBeGreaterThan(0);

  // The MQTT port presents a certificate for localhost that the printed CA verifies.
  const ca = await readFile(readiness.caFile, 'utf8');
  const authorized = await new Promise<boolean>((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: hub.ports.mqtt, servername: 'localhost', ca },
      () => {
        resolve(socket.authorized);
        socket.end();
      },
    );
    socket.once('error', reject);
  });
  expect(authorized).toBe(true);

  const device = await hub.createDevice('bin-device-1');
  expect(device.deviceId).toBe('bin-device-1');
  expect(device.primaryKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  expect(device.connectionString).toContain('DeviceId=bin-device-1;');
  expect(device.connectionString).toContain(`SharedAccessKey=${device.primaryKey}`);
  // The device's connection string dials the port the hub serves MQTT on.
  expect(device.connectionString).toContain(`localhost:${String(hub.ports.mqtt)}`);

  // The explorer ships in the tarball: its page and scripts come from the installed package.
  expect(readiness.endpoints.explorer).toBe(`${readiness.endpoints.https}/explorer`);
  for (const [path, type] of [
    ['', 'text/html'],
    ['/explorer.js', 'text/javascript'],
    ['/twin-panel.js', 'text/javascript'],
    ['/explorer.css', 'text/css'],
  ] as const) {
    const served = await httpsGet(`${readiness.endpoints.explorer}${path}`, ca);
    expect({ path, status: served.status, type: served.type }).toEqual({
      path,
      status: 200,
      type: `${type}; charset=utf-8`,
    });
  }

  // The running hub knows the device: creating it again is a conflict.
  await expect(hub.createDevice('bin-device-1')).rejects.toThrow(
    /device create bin-device-1 failed/,
  );
});

it('runs the twinkit command line against the installed hub, trusting its CA with --ca', async () => {
  await using hub = await startCliHub(appDir);
  await hub.createDevice('cli-device-1');
  const twinkit = (...args: string[]) =>
    runProgram(
      join(appDir, 'node_modules/.bin/twinkit'),
      [
        ...args,
        '--hub',
        hub.readiness.serviceConnectionString,
        '--ca',
        hub.readiness.caFile,
        '-o',
        'json',
      ],
      { cwd: appDir },
    );
  const shown = await twinkit('twin', 'show', 'cli-device-1');
  expect(shown.stderr).toBe('');
  expect(shown.exitCode).toBe(0);
  const twin = JSON.parse(shown.stdout) as { deviceId: string; etag: string };
  expect(twin.deviceId).toBe('cli-device-1');

  const updated = await twinkit(
    'twin',
    'update',
    'cli-device-1',
    '--desired',
    '{"mode":"eco"}',
    '--etag',
    twin.etag,
  );
  expect(updated.exitCode).toBe(0);
  // The ETag read before the update is stale now: refused with the documented exit code 4.
  const stale = await twinkit(
    'twin',
    'update',
    'cli-device-1',
    '--desired',
    '{"mode":"turbo"}',
    '--etag',
    twin.etag,
  );
  expect(stale.exitCode).toBe(4);
});

/** A GET over HTTPS trusting `ca`: the status and content type. */
function httpsGet(url: string, ca: string): Promise<{ status: number; type: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      response.resume();
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'] ?? '' });
      });
    }).on('error', reject);
  });
}
