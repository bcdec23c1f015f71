import {
  ConnectionRefusedError,
  OperationTimeoutError,
  TlsTrustError,
  TransportError,
  UnexpectedResponseError,
  createHubError,
} from '@twinkit/twin-model/errors';
import { describe, expect, it } from 'vitest';
import {
  isRetryableOnReconnect,
  reasonForFailure,
  statusOf,
  transition,
  type ConnectionEvent,
  type ConnectionPhase,
  type ConnectionPolicy,
} from './connection-machine.js';

const policy: ConnectionPolicy = { maxRetries: 3, retryDelayInMs: (attempt) => 100 * 2 ** attempt };

const closed: ConnectionPhase = { kind: 'closed' };
const opening: ConnectionPhase = { kind: 'opening', attempt: 0 };
const connected: ConnectionPhase = { kind: 'connected' };
const renewing: ConnectionPhase = { kind: 'renewing' };
const reconnecting: ConnectionPhase = { kind: 'reconnecting', attempt: 0 };

const lostError = new TransportError('socket closed');
const transient = new TransportError('refused');
const rejected = createHubError({ statusCode: 401, operation: 'Connect' });
const disabled = createHubError({ statusCode: 401, code: 'DeviceDisabled' });

function step(phase: ConnectionPhase, event: ConnectionEvent) {
  return transition(phase, event, policy);
}

describe('transition', () => {
  describe('from closed', () => {
    it('open starts opening and reports connecting (open-requested)', () => {
      const result = step(closed, { type: 'open' });
      expect(result.phase).toEqual({ kind: 'opening', attempt: 0 });
      expect(result.changes).toEqual([
        { state: 'connecting', previousState: 'disconnected', reason: 'open-requested' },
      ]);
      expect(result.effects).toEqual([]);
    });

    it.each<ConnectionEvent>([
      { type: 'close' },
      { type: 'attempt-succeeded' },
      { type: 'attempt-failed', error: transient },
      { type: 'open-failed', error: transient },
      { type: 'connection-lost', error: lostError },
      { type: 'renewal-due' },
      { type: 'renewal-succeeded' },
      { type: 'renewal-failed', error: transient },
    ])('ignores $type (a late answer after the session ended)', (event) => {
      const result = step(closed, event);
      expect(result.phase).toBe(closed);
      expect(result.changes).toEqual([]);
      expect(result.effects).toEqual([]);
    });
  });

  describe('from opening', () => {
    it('a successful attempt connects (connected) and brings the collaborators up', () => {
      const result = step(opening, { type: 'attempt-succeeded' });
      expect(result.phase).toEqual(connected);
      expect(result.changes).toEqual([
        { state: 'connected', previousState: 'connecting', reason: 'connected' },
      ]);
      expect(result.effects).toEqual([{ type: 'up' }]);
    });

    it('a retryable failure schedules another attempt with backoff and remembers the failure', () => {
      const result = step(
        { kind: 'opening', attempt: 1 },
        { type: 'attempt-failed', error: transient },
      );
      expect(result.phase).toEqual({ kind: 'opening', attempt: 2, lastError: transient });
      expect(result.changes).toEqual([
        {
          state: 'connecting',
          previousState: 'connecting',
          reason: 'retry-scheduled',
          error: transient,
          attempt: 2,
          retryInMs: 200,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'retry', delayInMs: 200 }]);
    });

    it('keeps retrying past maxRetries: only the deadline bounds open()', () => {
      const result = step(
        { kind: 'opening', attempt: 10 },
        { type: 'attempt-failed', error: transient },
      );
      expect(result.phase).toMatchObject({ kind: 'opening', attempt: 11 });
      expect(result.effects).toEqual([{ type: 'retry', delayInMs: 102_400 }]);
    });

    it.each([
      ['a rejected credential', rejected, 'credential-rejected'],
      ['a disabled device', disabled, 'device-disabled'],
      [
        'an untrusted certificate',
        new TlsTrustError('untrusted', 'SELF_SIGNED_CERT_IN_CHAIN'),
        'open-failed',
      ],
      [
        'a refused explicit port',
        new ConnectionRefusedError('refused', '127.0.0.1:1'),
        'open-failed',
      ],
      ['a protocol violation', new UnexpectedResponseError('bad', 200, 'a twin'), 'open-failed'],
    ] as const)('gives up at once on %s', (_, error, reason) => {
      const result = step(opening, { type: 'attempt-failed', error });
      expect(result.phase).toEqual(closed);
      expect(result.changes).toEqual([
        { state: 'disconnected', previousState: 'connecting', reason, error },
      ]);
      expect(result.effects).toEqual([{ type: 'end', outcome: 'open-failed', error }]);
    });

    it('open-failed (deadline or the caller aborted) ends the session', () => {
      const timeout = new OperationTimeoutError('open', 5_000);
      const result = step(opening, { type: 'open-failed', error: timeout });
      expect(result.phase).toEqual(closed);
      expect(result.changes).toEqual([
        {
          state: 'disconnected',
          previousState: 'connecting',
          reason: 'open-failed',
          error: timeout,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'end', outcome: 'open-failed', error: timeout }]);
    });

    it('close during open ends the session (close-requested)', () => {
      const result = step({ kind: 'opening', attempt: 2, lastError: transient }, { type: 'close' });
      expect(result.phase).toEqual(closed);
      expect(result.changes).toEqual([
        { state: 'disconnected', previousState: 'connecting', reason: 'close-requested' },
      ]);
      expect(result.effects).toEqual([{ type: 'end', outcome: 'closed' }]);
    });

    it('a drop while the attempt finishes is remembered, then turns its success into a reconnect', () => {
      const dropped = step(opening, { type: 'connection-lost', error: lostError });
      expect(dropped.phase).toEqual({ kind: 'opening', attempt: 0, droppedWith: lostError });
      expect(dropped.changes).toEqual([]);
      expect(dropped.effects).toEqual([]);
      const result = step(dropped.phase, { type: 'attempt-succeeded' });
      expect(result.phase).toEqual(reconnecting);
      expect(result.changes).toEqual([
        { state: 'connected', previousState: 'connecting', reason: 'connected' },
        {
          state: 'reconnecting',
          previousState: 'connected',
          reason: 'connection-lost',
          error: lostError,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'down', error: lostError }, { type: 'reconnect' }]);
    });

    it('a drop forgotten when that attempt fails anyway', () => {
      const result = step(
        { kind: 'opening', attempt: 0, droppedWith: lostError },
        { type: 'attempt-failed', error: transient },
      );
      expect(result.phase).toEqual({ kind: 'opening', attempt: 1, lastError: transient });
    });

    it.each<ConnectionEvent>([
      { type: 'open' },
      { type: 'renewal-due' },
      { type: 'renewal-succeeded' },
      { type: 'renewal-failed', error: transient },
    ])('ignores $type', (event) => {
      expect(step(opening, event).phase).toBe(opening);
    });
  });

  describe('from connected', () => {
    it('a lost connection reconnects (connection-lost) and takes the collaborators down', () => {
      const result = step(connected, { type: 'connection-lost', error: lostError });
      expect(result.phase).toEqual(reconnecting);
      expect(result.changes).toEqual([
        {
          state: 'reconnecting',
          previousState: 'connected',
          reason: 'connection-lost',
          error: lostError,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'down', error: lostError }, { type: 'reconnect' }]);
    });

    it('a due renewal starts renewing without a visible state change', () => {
      const result = step(connected, { type: 'renewal-due' });
      expect(result.phase).toEqual(renewing);
      expect(result.changes).toEqual([]);
      expect(result.effects).toEqual([{ type: 'renew' }]);
    });

    it('close ends the session', () => {
      const result = step(connected, { type: 'close' });
      expect(result.phase).toEqual(closed);
      expect(result.changes).toEqual([
        { state: 'disconnected', previousState: 'connected', reason: 'close-requested' },
      ]);
      expect(result.effects).toEqual([{ type: 'end', outcome: 'closed' }]);
    });

    it.each<ConnectionEvent>([
      { type: 'open' },
      { type: 'attempt-succeeded' },
      { type: 'attempt-failed', error: transient },
      { type: 'open-failed', error: transient },
      { type: 'renewal-succeeded' },
      { type: 'renewal-failed', error: transient },
    ])('ignores $type', (event) => {
      expect(step(connected, event).phase).toBe(connected);
    });
  });

  describe('from renewing', () => {
    it('an accepted renewal is connected again and asks for a resync', () => {
      const result = step(renewing, { type: 'renewal-succeeded' });
      expect(result.phase).toEqual(connected);
      expect(result.changes).toEqual([]);
      expect(result.effects).toEqual([{ type: 'renewed' }]);
    });

    it('a failed renewal reconnects (token-renewal-failed)', () => {
      const result = step(renewing, { type: 'renewal-failed', error: rejected });
      expect(result.phase).toEqual(reconnecting);
      expect(result.changes).toEqual([
        {
          state: 'reconnecting',
          previousState: 'connected',
          reason: 'token-renewal-failed',
          error: rejected,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'down', error: rejected }, { type: 'reconnect' }]);
    });

    it('a drop during the renewal reconnects once; the renewal failing afterwards changes nothing', () => {
      const result = step(renewing, { type: 'connection-lost', error: lostError });
      expect(result.phase).toEqual(reconnecting);
      expect(result.changes.map((change) => change.reason)).toEqual(['connection-lost']);
      expect(step(result.phase, { type: 'renewal-failed', error: transient }).effects).toEqual([]);
    });

    it('close ends the session', () => {
      expect(step(renewing, { type: 'close' }).effects).toEqual([
        { type: 'end', outcome: 'closed' },
      ]);
    });

    it.each<ConnectionEvent>([
      { type: 'open' },
      { type: 'renewal-due' },
      { type: 'attempt-succeeded' },
      { type: 'attempt-failed', error: transient },
    ])('ignores $type', (event) => {
      expect(step(renewing, event).phase).toBe(renewing);
    });
  });

  describe('from reconnecting', () => {
    it('a successful attempt reconnects (reconnected)', () => {
      const result = step({ kind: 'reconnecting', attempt: 2 }, { type: 'attempt-succeeded' });
      expect(result.phase).toEqual(connected);
      expect(result.changes).toEqual([
        { state: 'connected', previousState: 'reconnecting', reason: 'reconnected' },
      ]);
      expect(result.effects).toEqual([{ type: 'up' }]);
    });

    it('a retryable failure schedules another attempt', () => {
      const result = step(reconnecting, { type: 'attempt-failed', error: transient });
      expect(result.phase).toEqual({ kind: 'reconnecting', attempt: 1 });
      expect(result.changes).toEqual([
        {
          state: 'reconnecting',
          previousState: 'reconnecting',
          reason: 'retry-scheduled',
          error: transient,
          attempt: 1,
          retryInMs: 100,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'retry', delayInMs: 100 }]);
    });

    it('gives up after maxRetries failed attempts (retries-exhausted)', () => {
      const last = step(
        { kind: 'reconnecting', attempt: 2 },
        { type: 'attempt-failed', error: transient },
      );
      expect(last.phase).toEqual({ kind: 'reconnecting', attempt: 3 });
      const result = step(last.phase, { type: 'attempt-failed', error: transient });
      expect(result.phase).toEqual(closed);
      expect(result.changes).toEqual([
        {
          state: 'disconnected',
          previousState: 'reconnecting',
          reason: 'retries-exhausted',
          error: transient,
        },
      ]);
      expect(result.effects).toEqual([{ type: 'end', outcome: 'gave-up', error: transient }]);
    });

    it('gives up at once when the hub rejects the credential or the device is disabled', () => {
      expect(step(reconnecting, { type: 'attempt-failed', error: rejected }).changes).toEqual([
        {
          state: 'disconnected',
          previousState: 'reconnecting',
          reason: 'credential-rejected',
          error: rejected,
        },
      ]);
      expect(
        step(reconnecting, { type: 'attempt-failed', error: disabled }).changes[0]?.reason,
      ).toBe('device-disabled');
    });

    it('keeps retrying a refused connection and an untrusted certificate, reporting each one', () => {
      for (const error of [
        new ConnectionRefusedError('refused', '127.0.0.1:8883'),
        new TlsTrustError('untrusted', 'CERT_HAS_EXPIRED'),
      ]) {
        const result = step(reconnecting, { type: 'attempt-failed', error });
        expect(result.phase).toEqual({ kind: 'reconnecting', attempt: 1 });
        expect(result.changes[0]).toMatchObject({ reason: 'retry-scheduled', error });
      }
    });

    it('gives up on a protocol violation', () => {
      const error = new UnexpectedResponseError('bad', 200, 'a twin');
      expect(step(reconnecting, { type: 'attempt-failed', error }).effects).toEqual([
        { type: 'end', outcome: 'gave-up', error },
      ]);
    });

    it('a drop while the attempt finishes turns its success into another reconnect', () => {
      const dropped = step(reconnecting, { type: 'connection-lost', error: lostError });
      expect(dropped.phase).toEqual({ kind: 'reconnecting', attempt: 0, droppedWith: lostError });
      const result = step(dropped.phase, { type: 'attempt-succeeded' });
      expect(result.phase).toEqual(reconnecting);
      expect(result.changes.map((change) => [change.state, change.reason])).toEqual([
        ['connected', 'reconnected'],
        ['reconnecting', 'connection-lost'],
      ]);
      expect(result.effects).toEqual([{ type: 'down', error: lostError }, { type: 'reconnect' }]);
    });

    it('close ends the session', () => {
      const result = step(reconnecting, { type: 'close' });
      expect(result.changes).toEqual([
        { state: 'disconnected', previousState: 'reconnecting', reason: 'close-requested' },
      ]);
      expect(result.effects).toEqual([{ type: 'end', outcome: 'closed' }]);
    });

    it.each<ConnectionEvent>([
      { type: 'open' },
      { type: 'open-failed', error: transient },
      { type: 'renewal-due' },
      { type: 'renewal-succeeded' },
      { type: 'renewal-failed', error: transient },
    ])('ignores $type', (event) => {
      expect(step(reconnecting, event).phase).toBe(reconnecting);
    });
  });
});

describe('statusOf', () => {
  it('maps each phase to the public state; renewing is still connected', () => {
    expect([closed, opening, connected, renewing, reconnecting].map(statusOf)).toEqual([
      'disconnected',
      'connecting',
      'connected',
      'connected',
      'reconnecting',
    ]);
  });
});

describe('reasonForFailure', () => {
  it('names rejected credentials and disabled devices, else the fallback', () => {
    expect(reasonForFailure(rejected, 'open-failed')).toBe('credential-rejected');
    expect(reasonForFailure(disabled, 'retries-exhausted')).toBe('device-disabled');
    expect(reasonForFailure(transient, 'retries-exhausted')).toBe('retries-exhausted');
  });
});

describe('isRetryableOnReconnect', () => {
  it('retries transient, refused and untrusted failures, not rejected credentials', () => {
    expect(isRetryableOnReconnect(transient)).toBe(true);
    expect(isRetryableOnReconnect(new OperationTimeoutError('connect', 1))).toBe(true);
    expect(isRetryableOnReconnect(new ConnectionRefusedError('x', 'h:1'))).toBe(true);
    expect(isRetryableOnReconnect(new TlsTrustError('x', 'CERT_HAS_EXPIRED'))).toBe(true);
    expect(isRetryableOnReconnect(rejected)).toBe(false);
    expect(isRetryableOnReconnect(new TransportError('x', { retryable: false }))).toBe(false);
  });
});
