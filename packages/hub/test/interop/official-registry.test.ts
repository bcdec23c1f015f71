import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, vi } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, 'registry-interop.cjs');
const CLI = resolve(import.meta.dirname, '../../src/cli.ts');

interface Ready {
  serviceConnectionString: string;
  caFile: string;
  endpoints: { https: string };
}

/** Starts `twinkit-hub start --standard-ports --json` and resolves with its ready line. */
function startCli(dataDir: string): { child: ChildProcess; ready: Promise<Ready> } {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@twinkit/source',
      '--import',
      'tsx',
      CLI,
      'start',
      '--data',
      dataDir,
      '--standard-ports',
      '--json',
    ],
    { cwd: resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<Ready>((resolveReady, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      resolveReady(JSON.parse(line) as Ready);
    });
    child.once('exit', (code) => {
      reject(new Error(`twinkit-hub exited (${String(code)}) before it was ready: ${stderr}`));
    });
  });
  return { child, ready };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit(child.exitCode);
    else child.once('exit', (code) => resolveExit(code));
  });
}

describe('official azure-iothub Registry against `twinkit-hub start --standard-ports`', () => {
  it(
    'creates a device, reads and updates its twin with ETags, and pages a query',
    { timeout: 90_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-interop-'));
      let hub: ChildProcess | undefined;
      try {
        // The Node service SDK can only dial 443. Other interop suites use it too and run one after
        // another, but a port can linger briefly after its owner closed it: retry the start.
        const ready = await vi.waitFor(
          async () => {
            const started = startCli(dataDir);
            hub = started.child;
            return started.ready;
          },
          { timeout: 40_000, interval: 500 },
        );
        expect(new URL(ready.endpoints.https).port).toBe('');
        const child = spawn(process.execPath, [SCRIPT], {
          cwd: resolve(import.meta.dirname, '../..'),
          env: {
            ...process.env,
            NODE_EXTRA_CA_CERTS: ready.caFile,
            IOTHUB_CONNECTION_STRING: ready.serviceConnectionString,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const code = await exited(child);
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        const report = JSON.parse(stdout);
        expect(ready.serviceConnectionString).toMatch(/^HostName=localhost;/);
        expect(report.created).toEqual({ deviceId: 'interop-dev', hasKey: true });
        expect(report.twin).toEqual({ deviceId: 'interop-dev', etag: 'AAAAAAAAAAE=', version: 2 });
        expect(report.updated).toEqual({ etag: 'AAAAAAAAAAI=', tags: { city: 'Paris' }, rate: 5 });
        expect(report.stale).toEqual({ rejected: true, name: 'InvalidEtagError', statusCode: 412 });
        expect(report.query.pages).toEqual([2, 2, 1]);
        expect(report.query.ids).toEqual([
          'interop-dev',
          'interop-extra-0',
          'interop-extra-1',
          'interop-extra-2',
          'interop-extra-3',
        ]);
        expect(report.get).toEqual({ deviceId: 'interop-dev', status: 'enabled' });
        expect(report.missing).toEqual({ rejected: true, name: 'DeviceNotFoundError' });
        expect(report.deleted).toBe(true);
        // Ctrl-C shuts the hub down cleanly.
        hub?.kill('SIGINT');
        expect(await exited(hub!)).toBe(0);
      } finally {
        if (hub?.exitCode === null && hub.signalCode === null) hub.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});
