import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createHub, listen, type HubServer } from '../../src/index.js';

const SCRIPT = resolve(import.meta.dirname, 'registry-interop.cjs');

describe('official azure-iothub Registry against the hub on 127.0.0.1:443', () => {
  it('creates a device, reads and updates its twin with ETags, and pages a query', { timeout: 90_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'twinkit-hub-interop-'));
    try {
      await using hub = await createHub({ dataDir });
      let server: HubServer;
      try {
        // Other interop suites (device MQTT over WSS) also need 443; wait for them to release it.
        server = await vi.waitFor(() => listen(hub, { host: '127.0.0.1', httpsPort: 443 }), { timeout: 40_000, interval: 200 });
      } catch (error) {
        throw new Error(
          `The official-SDK interop test needs 127.0.0.1:443 (the Node service SDK cannot use another port): ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
      await using _server = server;
      const child = spawn(process.execPath, [SCRIPT], {
        cwd: resolve(import.meta.dirname, '../..'),
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: hub.caFile ?? '',
          IOTHUB_CONNECTION_STRING: hub.serviceConnectionString,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((done) => child.once('exit', done));
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const report = JSON.parse(stdout);
      expect(hub.serviceConnectionString).toMatch(/^HostName=localhost;/);
      expect(report.created).toEqual({ deviceId: 'interop-dev', hasKey: true });
      expect(report.twin).toEqual({ deviceId: 'interop-dev', etag: 'AAAAAAAAAAE=', version: 2 });
      expect(report.updated).toEqual({ etag: 'AAAAAAAAAAI=', tags: { city: 'Paris' }, rate: 5 });
      expect(report.stale).toEqual({ rejected: true, name: 'InvalidEtagError', statusCode: 412 });
      expect(report.query.pages).toEqual([2, 2, 1]);
      expect(report.query.ids).toEqual(['interop-dev', 'interop-extra-0', 'interop-extra-1', 'interop-extra-2', 'interop-extra-3']);
      expect(report.get).toEqual({ deviceId: 'interop-dev', status: 'enabled' });
      expect(report.missing).toEqual({ rejected: true, name: 'DeviceNotFoundError' });
      expect(report.deleted).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
