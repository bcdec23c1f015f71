/**
 * Storage chaos: a CLI hub (`twinkit-hub start`, run from source) is killed with `kill -9`
 * under write load, made to fail commits with `prlimit --fsize`, and sent an unauthenticated
 * 60 MB POST. Each scenario prints its figures (docs/security-storage.md quotes them) and checks
 * the promise behind them: every acknowledged write is kept, no refused write appears, memory
 * stays bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { createSasToken, parseServiceConnectionString } from '@twinkit/twin-model/protocol';

const HUB_PACKAGE = resolve(import.meta.dirname, '../../packages/hub');
const CLI = ['--conditions=@twinkit/source', '--import', 'tsx', join(HUB_PACKAGE, 'src/cli.ts')];
const PORTS = ['--https-port', '0', '--mqtt-port', '0', '--amqp-port', '0'];

interface Started {
  child: ChildProcess;
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number; text: string }>;
  url: URL;
  ca: string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-chaos-'));
  dirs.push(dir);
  return dir;
}

async function startHub(dataDir: string, prefix: string[] = []): Promise<Started> {
  const [file, ...args] = [
    ...prefix,
    process.execPath,
    ...CLI,
    'start',
    '--data',
    dataDir,
    ...PORTS,
    '--json',
  ] as [string, ...string[]];
  const child = spawn(file, args, { cwd: HUB_PACKAGE, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{
    serviceConnectionString: string;
    caFile: string;
    endpoints: { https: string };
  }>((resolvePromise, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      resolvePromise(JSON.parse(line) as never);
    });
    child.once('exit', (code) => {
      reject(new Error(`hub exited (${String(code)}): ${stderr}`));
    });
  });
  const ca = readFileSync(ready.caFile, 'utf8');
  const parts = parseServiceConnectionString(ready.serviceConnectionString);
  const authorization = await createSasToken({
    resourceUri: parts.hostName.replace(/:\d+$/, ''),
    key: parts.sharedAccessKey,
    keyName: parts.sharedAccessKeyName,
    expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
  });
  const url = new URL(ready.endpoints.https.replace('localhost', '127.0.0.1'));
  const call = (method: string, path: string, body?: unknown) =>
    send(
      new URL(`${path}?api-version=2021-04-12`, url),
      {
        method,
        ca,
        servername: 'localhost',
        headers: { authorization, 'content-type': 'application/json' },
      },
      body === undefined ? undefined : JSON.stringify(body),
    );
  return { child, call, url, ca };
}

function send(
  url: URL,
  options: RequestOptions,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolvePromise({
          status: response.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) resolvePromise(child.exitCode);
    else child.once('exit', (code) => resolvePromise(code));
  });
}

/** Kilobytes of a /proc/<pid>/status field (VmRSS: now, VmHWM: peak). */
function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
}

/**
 * Creates devices from `writers` concurrent loops until `until(progress)` says stop, or the
 * connection dies with the hub.
 *
 * @returns the acknowledged (200) and refused (non-200) device ids
 */
async function writeLoad(
  hub: Started,
  writers: number,
  until: (progress: { acknowledged: number; refused: number }) => boolean,
) {
  const acknowledged: string[] = [];
  const refused: string[] = [];
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const progress = () => ({ acknowledged: acknowledged.length, refused: refused.length });
      for (let seq = 0; !until(progress()); seq += 1) {
        const id = `w${String(writer)}-${String(seq)}`;
        try {
          const response = await hub.call('PUT', `/devices/${id}`, {});
          if (response.status === 200) acknowledged.push(id);
          else refused.push(id);
        } catch (error) {
          // The connection died with the hub: not acknowledged, may or may not be kept.
          errors.push((error as Error).message);
          return;
        }
      }
    }),
  );
  return { acknowledged, refused, errors };
}

async function listDevices(hub: Started): Promise<Set<string>> {
  const response = await hub.call('GET', '/devices');
  return new Set(
    (JSON.parse(response.text) as { deviceId: string }[]).map((device) => device.deviceId),
  );
}

describe('storage chaos (CLI hub)', () => {
  it('keeps every acknowledged write across kill -9 under write load', async () => {
    const dataDir = tempDir();
    const hub = await startHub(dataDir);
    let killed = false;
    const load = writeLoad(hub, 16, () => killed);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 3_000));
    hub.child.kill('SIGKILL');
    killed = true;
    await exited(hub.child);
    const { acknowledged } = await load;
    const restarted = await startHub(dataDir);
    const present = await listDevices(restarted);
    const kept = acknowledged.filter((id) => present.has(id)).length;
    console.log(
      `[chaos] kill -9 under load (16 writers, 3 s): acknowledged ${String(acknowledged.length)}, present after restart ${String(kept)}, present in total ${String(present.size)}`,
    );
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(kept).toBe(acknowledged.length);
  });

  it('keeps acknowledged writes and none of the refused ones across failed commits (prlimit --fsize)', async () => {
    const dataDir = tempDir();
    const hub = await startHub(dataDir, ['prlimit', '--fsize=600000', '--']);
    const started = Date.now();
    // Writes until the "disk" has refused 200 of them (or 60 s passed).
    const result = await writeLoad(
      hub,
      8,
      ({ refused }) => refused >= 200 || Date.now() - started > 60_000,
    );
    // While the disk is still "full": nothing refused is served.
    const served = await listDevices(hub);
    const phantoms = result.refused.filter((id) => served.has(id)).length;
    hub.child.kill('SIGTERM');
    const code = await exited(hub.child);
    const restarted = await startHub(dataDir);
    const present = await listDevices(restarted);
    const kept = result.acknowledged.filter((id) => present.has(id)).length;
    const leaked = result.refused.filter((id) => present.has(id)).length;
    console.log(
      `[chaos] failed commits (prlimit --fsize=600000, 8 writers): acknowledged ${String(result.acknowledged.length)}, refused ${String(result.refused.length)}, refused but served while running ${String(phantoms)}; after restart: acknowledged present ${String(kept)}, refused present ${String(leaked)}; clean stop exit code ${String(code)}`,
    );
    expect(result.refused.length).toBeGreaterThan(0);
    expect(kept).toBe(result.acknowledged.length);
    expect(leaked).toBe(0);
    expect(phantoms).toBe(0);
    expect(code).toBe(0);
  });

  it('answers an unauthenticated 60 MB POST /devices at once, without reading it', async () => {
    const dataDir = tempDir();
    const hub = await startHub(dataDir);
    const pid = hub.child.pid ?? 0;
    const rssBefore = memoryOf(pid, 'VmRSS');
    const started = Date.now();
    // A valid JSON array of device entries (what a real bulk body looks like), 60 MB.
    const item = '{"id":"device-0000000","importMode":"create"},';
    const chunk = Buffer.from(item.repeat(Math.floor((1024 * 1024) / item.length)));
    const last = Buffer.from('{"id":"last"}]');
    const total = 1 + 60 * chunk.length + last.length;
    const status = await new Promise<number>((resolvePromise, reject) => {
      const req = request(
        new URL('/devices?api-version=2021-04-12', hub.url),
        {
          method: 'POST',
          ca: hub.ca,
          servername: 'localhost',
          headers: { 'content-type': 'application/json', 'content-length': total },
        },
        (response) => {
          response.resume();
          resolvePromise(response.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('[');
      let sent = 0;
      const pump = () => {
        while (sent < 60 && req.write(chunk)) sent += 1;
        if (sent < 60) req.once('drain', pump);
        else req.end(last);
      };
      pump();
    });
    const elapsed = Date.now() - started;
    const peak = memoryOf(pid, 'VmHWM');
    console.log(
      `[chaos] unauthenticated 60 MB POST /devices: ${String(status)} after ${String(elapsed)} ms; hub RSS ${String(Math.round(rssBefore / 1024))} MB before, peak ${String(Math.round(peak / 1024))} MB`,
    );
    expect(status).toBe(401);
    expect(elapsed).toBeLessThan(5_000);
    expect(peak - rssBefore).toBeLessThan(64 * 1024);
  });
});
