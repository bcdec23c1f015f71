/**
 * Storage chaos: a CLI hub (`twinkit-hub start`, run from source) is killed with `kill -9`
 * under write load, made to fail commits with `prlimit --fsize`, and sent an unauthenticated
 * 60 MB POST. Each scenario prints its figures (docs/security.md#storage quotes them) and checks
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
  /** A SAS token of the hub's service connection string. */
  authorization: string;
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
  const argv: string[] = [
    ...prefix,
    process.execPath,
    ...CLI,
    'start',
    '--data',
    dataDir,
    ...PORTS,
    '--json',
  ];
  const [file = process.execPath, ...args] = argv;
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
  return { child, call, url, ca, authorization };
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
    const hub = await startHub(tempDir());
    const result = await postBulk(hub, 60);
    console.log(`[chaos] unauthenticated 60 MB POST /devices: ${summary(result)}`);
    expect(result.status).toBe(401);
    expect(result.elapsed).toBeLessThan(5_000);
    expect(result.peakKb - result.rssBeforeKb).toBeLessThan(64 * 1024);
  });

  it('stops reading an authorised 50 MB POST /devices at its cap', async () => {
    const hub = await startHub(tempDir());
    const result = await postBulk(hub, 50, hub.authorization);
    console.log(`[chaos] authorised 50 MB POST /devices (cap 16 MiB): ${summary(result)}`);
    expect(result.status).toBe(413);
    expect(result.peakKb - result.rssBeforeKb).toBeLessThan(128 * 1024);
  });
});

interface BulkResult {
  status: number;
  elapsed: number;
  rssBeforeKb: number;
  peakKb: number;
}

function summary(result: BulkResult): string {
  return `${String(result.status)} after ${String(result.elapsed)} ms; hub RSS ${String(Math.round(result.rssBeforeKb / 1024))} MB before, peak ${String(Math.round(result.peakKb / 1024))} MB`;
}

/** POSTs a valid JSON array of device entries (what a real bulk body looks like) of `megabytes`. */
async function postBulk(
  hub: Started,
  megabytes: number,
  authorization?: string,
): Promise<BulkResult> {
  const pid = hub.child.pid ?? 0;
  const rssBeforeKb = memoryOf(pid, 'VmRSS');
  const started = Date.now();
  const item = '{"id":"device-0000000","importMode":"create"},';
  const chunk = Buffer.from(item.repeat(Math.floor((1024 * 1024) / item.length)));
  const last = Buffer.from('{"id":"last"}]');
  const total = 1 + megabytes * chunk.length + last.length;
  const status = await new Promise<number>((resolvePromise, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': total,
    };
    if (authorization !== undefined) headers.authorization = authorization;
    const req = request(
      new URL('/devices?api-version=2021-04-12', hub.url),
      { method: 'POST', ca: hub.ca, servername: 'localhost', headers },
      (response) => {
        response.resume();
        resolvePromise(response.statusCode ?? 0);
      },
    );
    // The hub may close the connection after answering, while this side still writes.
    req.on('error', reject);
    req.write('[');
    let sent = 0;
    const pump = () => {
      while (sent < megabytes && req.write(chunk)) sent += 1;
      if (sent < megabytes) req.once('drain', pump);
      else req.end(last);
    };
    pump();
  });
  return { status, elapsed: Date.now() - started, rssBeforeKb, peakKb: memoryOf(pid, 'VmHWM') };
}
