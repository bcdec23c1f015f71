/**
 * The Registry's default transport on Node (undici's dispatcher API behind the package's
 * `#platform/transport` seam) against the hub over real sockets. Each case runs in a child Node,
 * because the CA comes from NODE_EXTRA_CA_CERTS, which Node reads only when it starts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startTestHub } from '@twinkit/hub/testing';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/default-transport.ts');

async function observe(env: Record<string, string>): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=@twinkit/source', '--import', 'tsx', FIXTURE],
    { cwd: resolve(import.meta.dirname, '..'), env: { ...process.env, ...env } },
  );
  const line = stdout.split('\n').find((text) => text.startsWith('TWINKIT_OBSERVED '));
  expect(line, stdout).toBeDefined();
  return JSON.parse(line!.slice('TWINKIT_OBSERVED '.length));
}

/** Runs the fixture against the hub, trusting its CA through NODE_EXTRA_CA_CERTS. */
async function observeTrusting(
  hub: { caCertificate: string; serviceConnectionString: string },
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'twinkit-service-ca-'));
  try {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, hub.caCertificate);
    return await observe({
      NODE_EXTRA_CA_CERTS: caFile,
      TWINKIT_SERVICE_CS: hub.serviceConnectionString,
      ...env,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the default transport on Node', () => {
  it(
    'reads, writes with ETags, runs 20 writes at once, pages a query and aborts',
    { timeout: 60_000 },
    async () => {
      await using hub = await startTestHub();
      await hub.createDevice('dev-1');
      await hub.createDevice('dev-2');
      const observed = await observeTrusting(hub);
      expect(observed.read).toMatchObject({ deviceId: 'dev-1' });
      expect(observed.updatedRate).toBe(7);
      expect(observed.stale).toMatchObject({ name: 'PreconditionFailedError', statusCode: 412 });
      expect(observed.missing).toMatchObject({ name: 'DeviceNotFoundError', statusCode: 404 });
      expect(observed.parallelVersions).toHaveLength(20);
      expect(new Set(observed.parallelVersions as number[]).size).toBe(20);
      expect(observed.pages).toEqual([1, 1]);
      expect(observed.aborted).toMatchObject({ name: 'Error', message: 'stopped by the caller' });
    },
  );

  it(
    'ends an exchange the hub holds back when operationTimeoutInMs passes, and goes on working',
    { timeout: 60_000 },
    async () => {
      await using hub = await startTestHub();
      await hub.createDevice('dev-1');
      hub.hub.faults.delayNext({ operation: 'getTwin', delayInMs: 20_000 });
      const observed = await observeTrusting(hub, { TWINKIT_MODE: 'timeout' });
      expect(observed.timedOut).toMatchObject({ name: 'OperationTimeoutError' });
      expect(observed.after).toBe('dev-1');
    },
  );

  it(
    'fails at once with a TlsTrustError naming NODE_EXTRA_CA_CERTS when the CA is not trusted',
    { timeout: 60_000 },
    async () => {
      await using hub = await startTestHub();
      const observed = await observe({
        NODE_EXTRA_CA_CERTS: '',
        TWINKIT_SERVICE_CS: hub.serviceConnectionString,
        TWINKIT_MODE: 'untrusted',
      });
      expect(observed.untrusted).toMatchObject({ name: 'TlsTrustError', retryable: false });
      expect((observed.untrusted as { message: string }).message).toMatch(/NODE_EXTRA_CA_CERTS/);
    },
  );
});
