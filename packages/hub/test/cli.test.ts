import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ANY_PORTS,
  CLI_NODE_ARGS,
  children,
  exited,
  killChildren,
  portOf,
  run,
  runToEnd,
} from './cli-process.js';
import { serviceToken } from './helpers.js';
import { httpsCall } from './https-client.js';

const dirs: string[] = [];
afterEach(() => {
  killChildren();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('twinkit-hub CLI', () => {
  it(
    'keeps an acknowledged twin write through kill -9 and a restart',
    { timeout: 30_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-cli-'));
      dirs.push(dataDir);
      const first = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      const ready = await first.ready;
      expect(ready.caFile).toBe(join(dataDir, 'ca.pem'));
      expect(ready.serviceConnectionString).toMatch(
        /^HostName=localhost:\d+;SharedAccessKeyName=iothubowner;/,
      );
      const ca = readFileSync(ready.caFile, 'utf8');
      const base = `https://127.0.0.1:${portOf(ready.endpoints.https)}`;
      const authorization = await serviceToken({
        serviceConnectionString: ready.serviceConnectionString,
      });
      const headers = { authorization, 'content-type': 'application/json; charset=utf-8' };
      expect(
        (
          await httpsCall(`${base}/devices/dev1?api-version=2021-04-12`, {
            method: 'PUT',
            headers,
            body: '{}',
            ca,
          })
        ).status,
      ).toBe(200);
      const patched = await httpsCall(`${base}/twins/dev1?api-version=2021-04-12`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({ tags: { survived: true }, properties: { desired: { x: 42 } } }),
        ca,
      });
      expect(patched.status).toBe(200);
      first.child.kill('SIGKILL');
      await exited(first.child);

      const second = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      const again = await second.ready;
      const base2 = `https://127.0.0.1:${portOf(again.endpoints.https)}`;
      const twin = await httpsCall(`${base2}/twins/dev1?api-version=2021-04-12`, {
        headers: { authorization },
        ca,
      });
      expect(twin.status).toBe(200);
      expect(twin.json().tags).toEqual({ survived: true });
      expect(twin.json().properties.desired.x).toBe(42);
      expect(twin.json().etag).toBe(patched.json().etag);
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toBe(0);
    },
  );

  it(
    'creates a device through the running hub of a data directory, never without one',
    { timeout: 30_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-cli-'));
      dirs.push(dataDir);
      const hub = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      const ready = await hub.ready;
      const created = await runToEnd(['device', 'create', 'cli-dev', '--data', dataDir, '--json']);
      expect(created.code).toBe(0);
      const device = JSON.parse(created.stdout) as {
        connectionString: string;
        connectionStrings: { mqtt: string; amqp: string; webSocket: string };
        primaryKey: string;
      };
      expect(device.connectionString).toContain(
        `HostName=localhost;DeviceId=cli-dev;SharedAccessKey=${device.primaryKey}`,
      );
      // The hub's ports are not IoT Hub's, so devices are pointed at them, one form per endpoint.
      expect(device.connectionString).toContain(
        `GatewayHostName=localhost:${portOf(ready.endpoints.mqtt ?? '')}`,
      );
      expect(device.connectionStrings.mqtt).toBe(device.connectionString);
      expect(device.connectionStrings.amqp).toContain(
        `GatewayHostName=localhost:${portOf(ready.endpoints.amqp ?? '')}`,
      );
      expect(device.connectionStrings.webSocket).toContain(
        `GatewayHostName=localhost:${portOf(ready.endpoints.https)}`,
      );
      const text = await runToEnd(['device', 'create', 'cli-dev-2', '--data', dataDir]);
      expect(text.stdout.trim().split('\n')).toHaveLength(1);
      expect(text.stderr).toContain(
        `Over WebSocket (mqtt({ webSocket: true }) or amqp({ webSocket: true })):\n  HostName=localhost;DeviceId=cli-dev-2;`,
      );
      const ca = readFileSync(ready.caFile, 'utf8');
      const authorization = await serviceToken({
        serviceConnectionString: ready.serviceConnectionString,
      });
      const url = `https://127.0.0.1:${portOf(ready.endpoints.https)}/devices/cli-dev?api-version=2021-04-12`;
      expect(
        (await httpsCall(url, { headers: { authorization }, ca })).json().authentication
          .symmetricKey.primaryKey,
      ).toBe(device.primaryKey);
      hub.child.kill('SIGINT');
      expect(await exited(hub.child)).toBe(0);

      // No hub running: a clear error, and nothing written to the store.
      const offline = await runToEnd(['device', 'create', 'offline-dev', '--data', dataDir]);
      expect(offline.code).toBe(1);
      expect(offline.stderr).toContain(`no hub is running on ${dataDir}`);
      expect(offline.stderr).not.toMatch(/\n\s+at /);
      const restarted = run(['start', '--data', dataDir, ...ANY_PORTS, '--json']);
      const again = await restarted.ready;
      const missing = await httpsCall(
        `https://127.0.0.1:${portOf(again.endpoints.https)}/devices/offline-dev?api-version=2021-04-12`,
        { headers: { authorization }, ca },
      );
      expect(missing.status).toBe(404);

      // A directory no hub ever used is not created.
      const nowhere = join(dataDir, 'never-started');
      const none = await runToEnd(['device', 'create', 'x', '--data', nowhere]);
      expect(none.code).toBe(1);
      expect(existsSync(nowhere)).toBe(false);
    },
  );

  it(
    'prints, for an in-memory hub, a device create command that works',
    { timeout: 30_000 },
    async () => {
      const child = spawn(
        process.execPath,
        [...CLI_NODE_ARGS, 'start', '--in-memory', ...ANY_PORTS],
        {
          cwd: resolve(import.meta.dirname, '..'),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      let text = '';
      await new Promise<void>((resolvePromise) => {
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('Stop: Ctrl-C')) resolvePromise();
        });
      });
      const line = /Create a device: (twinkit-hub device create <id> .*)$/m.exec(text)?.[1];
      expect(line).toContain('--hub ');
      const command = (line ?? '')
        .replace('twinkit-hub', [process.execPath, ...CLI_NODE_ARGS].join(' '))
        .replace('<id>', 'banner-dev');
      const created = spawn('sh', ['-c', command], {
        cwd: resolve(import.meta.dirname, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(created);
      let stdout = '';
      let stderr = '';
      created.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      created.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await exited(created)).toBe(0);
      expect(stderr).toMatch(/^Over WebSocket .*\n {2}HostName=localhost;DeviceId=banner-dev;/);
      expect(stdout).toMatch(
        /^HostName=localhost;DeviceId=banner-dev;SharedAccessKey=\S+;GatewayHostName=localhost:\d+\n$/,
      );
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    },
  );

  it('prints its version', async () => {
    const manifest = JSON.parse(
      readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8'),
    ) as { version: string };
    const result = await runToEnd(['--version']);
    expect(result).toEqual({ code: 0, stdout: `twinkit-hub ${manifest.version}\n`, stderr: '' });
  });

  it(
    'names the flag in every command-line error, without a stack trace',
    { timeout: 60_000 },
    async () => {
      const cases: [string[], string][] = [
        [['start', '--https-port', 'abc'], '--https-port'],
        [['start', '--mqtt-port', '70000'], '--mqtt-port'],
        [['start', '--data'], '--data'],
        [['start', '--nope'], '--nope'],
        [['start', '--data', '/tmp', '--in-memory'], '--in-memory'],
        [['device', 'create'], 'device create <id>'],
        [['device', 'create', 'x', '--hub', 'not a connection string'], '--hub'],
        [
          [
            'device',
            'create',
            'x',
            '--hub',
            'HostName=h;SharedAccessKeyName=k;SharedAccessKey=a2V5a2V5a2V5a2V5a2V5',
            '--data',
            '/tmp',
          ],
          '--data',
        ],
        [['frobnicate'], 'frobnicate'],
      ];
      // Concurrently: each run starts Node and tsx.
      const results = await Promise.all(cases.map(([args]) => runToEnd(args)));
      for (const [index, [args, named]] of cases.entries()) {
        const result = results[index] ?? { code: null, stderr: '' };
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr, args.join(' ')).toContain(named);
        expect(result.stderr, args.join(' ')).toMatch(/^twinkit-hub: [^\n]+\n$/);
      }
    },
  );

  it('explains every flag in --help and rejects unknown flags', { timeout: 20_000 }, async () => {
    const help = await runToEnd(['start', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--data',
      '--in-memory',
      '--host',
      '--https-port',
      '--mqtt-port',
      '--amqp-port',
      '--standard-ports',
      '--json',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    const bad = await runToEnd(['start', '--nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('twinkit-hub:');
  });

  it(
    'takes the hub limits from --limit and refuses bad ones as usage errors',
    { timeout: 20_000 },
    async () => {
      const help = await runToEnd(['start', '--help']);
      expect(help.stdout).toContain('--limit NAME=VALUE');
      for (const [flag, expected] of [
        ['nope=1', /unknown limit 'nope'.*maxConnections/],
        ['maxConnections=0', /positive whole number/],
        ['maxConnections', /positive whole number/],
        ['mqttMaxPacketBytesBeforeAuth=999999999', /must not exceed mqttMaxPacketBytes/],
      ] as const) {
        const refused = await runToEnd(['start', '--in-memory', ...ANY_PORTS, '--limit', flag]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(expected);
      }

      // One connection at most: while a raw socket holds it, an HTTPS call is dropped.
      const hub = run([
        'start',
        '--in-memory',
        ...ANY_PORTS,
        '--limit',
        'maxConnections=1',
        '--json',
      ]);
      const ready = await hub.ready;
      const ca = readFileSync(ready.caFile, 'utf8');
      const url = `${ready.endpoints.https}/devices?api-version=2021-04-12`;
      const holder = connect(Number(portOf(ready.endpoints.https)), '127.0.0.1');
      await new Promise((resolveConnect) => holder.once('connect', resolveConnect));
      await expect(httpsCall(url, { ca })).rejects.toThrow();
      holder.destroy();
      await vi.waitFor(async () => {
        expect((await httpsCall(url, { ca })).status).toBe(401);
      });
      hub.child.kill('SIGINT');
      expect(await exited(hub.child)).toBe(0);
    },
  );

  it(
    'prints endpoints, CA file and the connection string in text mode',
    { timeout: 20_000 },
    async () => {
      const child = spawn(
        process.execPath,
        [...CLI_NODE_ARGS, 'start', '--in-memory', ...ANY_PORTS],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let text = '';
      await new Promise<void>((resolvePromise) => {
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('Stop: Ctrl-C')) resolvePromise();
        });
      });
      expect(text).toContain('REST (HTTPS):   https://localhost:');
      expect(text).toMatch(/MQTT: +(mqtts:\/\/|not served yet)/);
      expect(text).toContain('NODE_EXTRA_CA_CERTS=');
      expect(text).toMatch(/Explorer: +https:\/\/localhost:\d+\/explorer {2}\(this machine only\)/);
      expect(text).toMatch(
        /HostName=localhost:\d+;SharedAccessKeyName=iothubowner;SharedAccessKey=/,
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.kill('SIGINT');
      const code = await exited(child);
      expect({ code, signal: child.signalCode, stderr }).toEqual({
        code: 0,
        signal: null,
        stderr: '',
      });
    },
  );

  it(
    'names the explorer in the readiness line, and serves it with a token from a file',
    { timeout: 20_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'twinkit-hub-cli-'));
      dirs.push(dir);
      const tokenFile = join(dir, 'explorer-token');
      const token = 'explorer-token-for-the-cli-test-0123456789';
      writeFileSync(tokenFile, `${token}\n`);
      const hub = run([
        'start',
        '--in-memory',
        ...ANY_PORTS,
        '--explorer-token-file',
        tokenFile,
        '--json',
      ]);
      const ready = await hub.ready;
      expect(ready.endpoints.explorer).toBe(`${ready.endpoints.https}/explorer`);
      const ca = readFileSync(ready.caFile, 'utf8');
      const url = `https://127.0.0.1:${portOf(ready.endpoints.https)}/explorer/api/devices`;
      const remote = { host: 'hub.example' };
      expect((await httpsCall(url, { ca, headers: remote })).status).toBe(401);
      const signed = { ...remote, authorization: `Bearer ${token}` };
      expect((await httpsCall(url, { ca, headers: signed })).status).toBe(200);
      hub.child.kill('SIGINT');
      expect(await exited(hub.child)).toBe(0);

      writeFileSync(tokenFile, 'short');
      const refused = await runToEnd(['start', '--in-memory', '--explorer-token-file', tokenFile]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('at least 32');
      const off = run(['start', '--in-memory', ...ANY_PORTS, '--no-explorer', '--json']);
      expect((await off.ready).endpoints.explorer).toBeNull();
      off.child.kill('SIGINT');
      expect(await exited(off.child)).toBe(0);
    },
  );
});
