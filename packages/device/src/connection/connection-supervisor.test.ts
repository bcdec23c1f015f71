import {
  ConnectionRefusedError,
  TlsTrustError,
  TransportError,
  UnauthorizedError,
  createHubError,
} from '@twinkit/twin-model/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SasTokenCredential } from '../auth/sas-token-credential.js';
import { createConnectParams } from '../client-settings.js';
import type { ConnectionStateChange } from '../connection-state.js';
import { createLogger, resolveRetryOptions } from '@twinkit/twin-model/internal';
import { DEFAULT_RETRY_OPTIONS } from '../options.js';
import { createFakeTransport } from '../transport/fake/fake-transport.js';
import {
  ConnectionSupervisor,
  renewalDelayInMs,
  type ConnectionHooks,
} from './connection-supervisor.js';

function issueToken({ resourceUri }: { resourceUri: string }): Promise<string> {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  return Promise.resolve(
    `SharedAccessSignature sr=${encodeURIComponent(resourceUri)}&sig=test&se=${String(expiry)}`,
  );
}

function setup(hooks: Partial<ConnectionHooks> = {}) {
  const fake = createFakeTransport();
  const calls: string[] = [];
  const changes: ConnectionStateChange[] = [];
  const forward: { lost?: (error: Error | undefined) => void } = {};
  const transport = fake.factory(
    {
      desiredPatch: () => undefined,
      disconnected: (error) => {
        forward.lost?.(error);
      },
    },
    { operationTimeoutInMs: 5_000 },
  );
  const credential = new SasTokenCredential(
    { hostName: 'hub.example', deviceId: 'dev-1' },
    issueToken,
  );
  const supervisor = new ConnectionSupervisor({
    transport,
    credential,
    connectParams: (auth) =>
      createConnectParams(credential.identity, auth, {
        ca: undefined,
        keepAliveInSeconds: 60,
        modelId: undefined,
      }),
    operationTimeoutInMs: 5_000,
    renewalMarginInSeconds: 900,
    retry: resolveRetryOptions(
      { retryDelayInMs: 100, maxRetryDelayInMs: 400 },
      DEFAULT_RETRY_OPTIONS,
    ),
    emit: (change) => {
      changes.push(change);
    },
    hooks: {
      prepare: () => Promise.resolve(),
      up: () => calls.push('up'),
      renewed: () => calls.push('renewed'),
      down: () => calls.push('down'),
      ended: (outcome) => calls.push(`ended:${outcome}`),
      ...hooks,
    },
    logger: createLogger('twin:device:test'),
  });
  forward.lost = (error) => {
    supervisor.connectionLost(error);
  };
  return { fake, supervisor, calls, changes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ConnectionSupervisor', () => {
  it('fails open() at once with TlsTrustError: an untrusted certificate is not retried', async () => {
    const { fake, supervisor, changes, calls } = setup();
    const untrusted = new TlsTrustError('untrusted', 'SELF_SIGNED_CERT_IN_CHAIN');
    fake.failNext('connect', untrusted, 5);
    await expect(supervisor.open()).rejects.toBe(untrusted);
    expect(fake.count('connect')).toBe(1);
    expect(changes.at(-1)).toMatchObject({
      state: 'disconnected',
      reason: 'open-failed',
      error: untrusted,
    });
    expect(calls).toEqual(['ended:open-failed']);
  });

  it('fails open() at once with ConnectionRefusedError for a refused explicit port', async () => {
    const { fake, supervisor } = setup();
    const refused = new ConnectionRefusedError('refused', '127.0.0.1:1');
    fake.failNext('connect', refused, 5);
    await expect(supervisor.open()).rejects.toBe(refused);
    expect(fake.count('connect')).toBe(1);
  });

  it('keeps reconnecting through refused connections and untrusted certificates once open() succeeded', async () => {
    vi.useFakeTimers();
    const { fake, supervisor, changes, calls } = setup();
    await supervisor.open();
    const refused = new ConnectionRefusedError('refused', '127.0.0.1:8883');
    const untrusted = new TlsTrustError('untrusted', 'CERT_HAS_EXPIRED');
    fake.failNext('connect', refused);
    fake.failNext('connect', untrusted);
    fake.dropConnection();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(supervisor.status).toBe('connected');
    expect(
      changes.filter((change) => change.reason === 'retry-scheduled').map((change) => change.error),
    ).toEqual([refused, untrusted]);
    expect(calls).toEqual(['up', 'down', 'up']);
    await supervisor.close();
  });

  it('restores what the connection needs in each attempt, and retries an attempt whose preparation fails', async () => {
    vi.useFakeTimers();
    let failures = 1;
    const { fake, supervisor, changes } = setup({
      prepare: () => {
        if (failures === 0) return Promise.resolve();
        failures -= 1;
        return Promise.reject(new TransportError('subscribe failed'));
      },
    });
    const opening = supervisor.open();
    await vi.advanceTimersByTimeAsync(1_000);
    await opening;
    expect(fake.count('connect')).toBe(2);
    // The half-prepared connection was dropped before the next attempt.
    expect(fake.count('disconnect')).toBe(1);
    expect(changes.map((change) => change.reason)).toEqual([
      'open-requested',
      'retry-scheduled',
      'connected',
    ]);
    await supervisor.close();
  });

  it('close() while reconnecting stops the attempts, ends the session and disconnects', async () => {
    vi.useFakeTimers();
    const { fake, supervisor, calls, changes } = setup();
    await supervisor.open();
    fake.failNext('connect', new TransportError('down'), 100);
    fake.dropConnection();
    await vi.advanceTimersByTimeAsync(500);
    const attempts = fake.count('connect');
    await supervisor.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.count('connect')).toBe(attempts);
    expect(calls.at(-1)).toBe('ended:closed');
    expect(changes.at(-1)).toMatchObject({ state: 'disconnected', reason: 'close-requested' });
    expect(fake.count('disconnect')).toBe(1);
  });

  it('operations wait while the token is renewed, then run on the renewed connection', async () => {
    vi.useFakeTimers();
    const { fake, supervisor, calls } = setup();
    await supervisor.open();
    const held = fake.holdNext('updateCredentials');
    await vi.advanceTimersByTimeAsync(2_700_000);
    await held.started;
    expect(supervisor.phase).toEqual({ kind: 'renewing' });
    expect(supervisor.status).toBe('connected');
    let read = false;
    const reading = supervisor
      .run('getTwin', 'Twin read', undefined, () => Promise.resolve())
      .then(() => {
        read = true;
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(read).toBe(false);
    held.release();
    await reading;
    expect(read).toBe(true);
    expect(calls).toEqual(['up', 'renewed']);
    await supervisor.close();
  });

  it('reconnects with token-renewal-failed when the renewal is refused, and gives up on the refused credential', async () => {
    vi.useFakeTimers();
    const { fake, supervisor, changes, calls } = setup();
    await supervisor.open();
    const refusal = createHubError({ statusCode: 401, operation: 'Connect' });
    fake.failNext('updateCredentials', refusal);
    fake.failNext('connect', refusal);
    await vi.advanceTimersByTimeAsync(2_700_000 + 1_000);
    expect(changes.slice(-2).map((change) => [change.state, change.reason])).toEqual([
      ['reconnecting', 'token-renewal-failed'],
      ['disconnected', 'credential-rejected'],
    ]);
    expect(changes.at(-1)?.error).toBeInstanceOf(UnauthorizedError);
    expect(calls).toEqual(['up', 'down', 'ended:gave-up']);
    expect(supervisor.status).toBe('disconnected');
  });

  it('fails operations at once while closed', async () => {
    const { supervisor } = setup();
    await expect(
      supervisor.run('getTwin', 'Twin read', undefined, () => Promise.resolve(1)),
    ).rejects.toThrow(/Twin read failed: the client is not open/);
  });
});

describe('renewalDelayInMs', () => {
  it('renews the margin before expiry, or halfway through a short life', () => {
    expect(renewalDelayInMs(3_600_000, 900)).toBe(2_700_000);
    expect(renewalDelayInMs(600_000, 900)).toBe(300_000);
    expect(renewalDelayInMs(-5, 900)).toBe(0);
  });
});
