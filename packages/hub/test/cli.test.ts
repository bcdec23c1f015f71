import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceToken } from './helpers.js';
import { httpsCall } from './https-client.js';

const CLI = resolve(import.meta.dirname, '../src/cli.ts');
const NODE_ARGS = ['--conditions=@twinkit/source', '--import', 'tsx', CLI];

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Ready {
  serviceConnectionString: string;
  caFile: string;
  endpoints: { https: string; mqtt: string | null; amqp: string | null };
}

function run(args: string[]): { child: ChildProcess; ready: Promise<Ready> } {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<Ready>((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolvePromise(JSON.parse(line) as Ready));
    child.once('exit', (code) =>
      reject(new Error(`CLI exited (${String(code)}) before it was ready: ${stderr}`)),
    );
  });
  return { child, ready };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) resolvePromise(child.exitCode);
    else child.once('exit', (code) => resolvePromise(code));
  });
}

async function runToEnd(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await exited(child);
  return { code, stdout, stderr };
}

function portOf(url: string): string {
  return new URL(url).port;
}

describe('twinkit-hub CLI', () => {
  it(
    'keeps an acknowledged twin write through kill -9 and a restart',
    { timeout: 30_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-cli-'));
      dirs.push(dataDir);
      const first = run(['start', '--data', dataDir, '--https-port', '0', '--json']);
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

      const second = run(['start', '--data', dataDir, '--https-port', '0', '--json']);
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
    'creates a device through the running hub and prints its connection string',
    { timeout: 30_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-cli-'));
      dirs.push(dataDir);
      const hub = run(['start', '--data', dataDir, '--https-port', '0', '--json']);
      const ready = await hub.ready;
      const created = await runToEnd(['device', 'create', 'cli-dev', '--data', dataDir, '--json']);
      expect(created.code).toBe(0);
      const device = JSON.parse(created.stdout) as { connectionString: string; primaryKey: string };
      expect(device.connectionString).toBe(
        `HostName=localhost;DeviceId=cli-dev;SharedAccessKey=${device.primaryKey}`,
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
      const offline = await runToEnd(['device', 'create', 'offline-dev', '--data', dataDir]);
      expect(offline.code).toBe(0);
      expect(offline.stdout).toMatch(
        /^HostName=localhost;DeviceId=offline-dev;SharedAccessKey=\S+\n$/,
      );
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
    'prints endpoints, CA file and the connection string in text mode',
    { timeout: 20_000 },
    async () => {
      const child = spawn(
        process.execPath,
        [...NODE_ARGS, 'start', '--in-memory', '--https-port', '0'],
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
});
