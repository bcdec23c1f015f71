/**
 * The DeviceClient's connection lifecycle as one state type and one pure transition function.
 * Nothing here does I/O or reads a clock: {@link transition} takes the current phase and what
 * happened, and returns the next phase, the `connectionStateChange` events to emit and the
 * effects the {@link ConnectionSupervisor} must carry out. Every rule about when to retry, when
 * to give up and what a state change is reported as lives here, in one place, tested directly.
 *
 * ```
 *            open                attempt-succeeded            renewal-due
 *   closed ───────▶ opening ──────────────────────▶ connected ───────────▶ renewing
 *     ▲               │ ▲ attempt-failed (retryable)   │  ▲                    │
 *     │               │ └─ retry after backoff         │  │ renewal-succeeded  │
 *     │               │                                │  └────────────────────┤
 *     │  give up /    │                connection-lost │                       │ renewal-failed,
 *     │  deadline     ▼                                ▼                       │ connection-lost
 *     ├──────────── (closed)            reconnecting ◀─────────────────────────┘
 *     │                                   │ ▲  attempt-failed (retryable, under maxRetries)
 *     │  give up (not retryable,          │ └─ retry after backoff
 *     └──── or maxRetries reached) ───────┘── attempt-succeeded ──▶ connected
 * ```
 *
 * `close` leads from every phase to `closed`. A connection that drops while an attempt is still
 * finishing is remembered (`droppedWith`) and turns the attempt's success into a reconnect.
 *
 * @internal
 */
import {
  isConnectionRefusedError,
  isRetryableError,
  isTlsTrustError,
  isUnauthorizedError,
} from '@twinkit/twin-model/errors';
import type {
  ConnectionChangeReason,
  ConnectionStateChange,
  ConnectionStatus,
} from '../connection-state.js';

/** Where the connection stands, with what each phase needs to remember. */
export type ConnectionPhase =
  /** Not open: before `open()`, after `close()`, or after giving up. */
  | { readonly kind: 'closed' }
  /**
   * `open()` is making its first connection. `attempt` counts the failed attempts so far;
   * `lastError` is the latest failure (the `cause` of a timeout).
   */
  | {
      readonly kind: 'opening';
      readonly attempt: number;
      readonly lastError?: Error;
      readonly droppedWith?: Error;
    }
  /** Connected and usable. */
  | { readonly kind: 'connected' }
  /** Connected, presenting a renewed SAS token; operations wait until it is done. */
  | { readonly kind: 'renewing' }
  /** The connection was lost after `open()` succeeded; `attempt` counts failed reconnects. */
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly droppedWith?: Error };

/** What can happen to a connection. */
export type ConnectionEvent =
  | { readonly type: 'open' }
  | { readonly type: 'attempt-succeeded' }
  | { readonly type: 'attempt-failed'; readonly error: Error }
  /** `open()` ran out of time or its caller aborted it. */
  | { readonly type: 'open-failed'; readonly error: Error }
  /** The transport reported that the established connection went away. */
  | { readonly type: 'connection-lost'; readonly error: Error }
  | { readonly type: 'renewal-due' }
  | { readonly type: 'renewal-succeeded' }
  | { readonly type: 'renewal-failed'; readonly error: Error }
  | { readonly type: 'close' };

/** How the session ended, for {@link ConnectionEffect} `end`. */
export type EndOutcome = 'closed' | 'open-failed' | 'gave-up';

/** What the supervisor must do after a transition. */
export type ConnectionEffect =
  /** Start connecting again (the reconnect loop). */
  | { readonly type: 'reconnect' }
  /** The running connect loop waits this long, then makes another attempt. */
  | { readonly type: 'retry'; readonly delayInMs: number }
  /** The connection is usable (again): schedule renewal, flush the outbox, resync. */
  | { readonly type: 'up' }
  /** The connection is gone and will be retried: stop timers, hold the outbox. */
  | { readonly type: 'down'; readonly error: Error }
  /** Present a renewed token. */
  | { readonly type: 'renew' }
  /** The renewed token was accepted: schedule the next renewal, resync. */
  | { readonly type: 'renewed' }
  /** The session is over: abort what runs, stop timers. */
  | { readonly type: 'end'; readonly outcome: EndOutcome; readonly error?: Error };

/** The result of {@link transition}. */
export interface Transition {
  readonly phase: ConnectionPhase;
  /** `connectionStateChange` events to emit, in order. */
  readonly changes: readonly ConnectionStateChange[];
  readonly effects: readonly ConnectionEffect[];
}

/** The retry policy the machine applies. */
export interface ConnectionPolicy {
  /** Failed reconnect attempts allowed before giving up (`Infinity`: never give up). */
  readonly maxRetries: number;
  /**
   * The wait before the next attempt.
   *
   * @param attempt - how many attempts have failed before this one, from 0
   */
  readonly retryDelayInMs: (attempt: number) => number;
}

/**
 * The public status of a phase: renewing is still `connected` to the app.
 *
 * @param phase - the phase
 * @returns what `DeviceClient.connectionState` reports
 */
export function statusOf(phase: ConnectionPhase): ConnectionStatus {
  switch (phase.kind) {
    case 'closed':
      return 'disconnected';
    case 'opening':
      return 'connecting';
    case 'connected':
    case 'renewing':
      return 'connected';
    case 'reconnecting':
      return 'reconnecting';
  }
}

/**
 * The reason reported when the connection ends because of `error`.
 *
 * @param error - why it ended
 * @param fallback - the reason when the hub did not reject the credential
 * @returns `device-disabled` or `credential-rejected` for an `UnauthorizedError`, else `fallback`
 */
export function reasonForFailure(
  error: unknown,
  fallback: ConnectionChangeReason,
): ConnectionChangeReason {
  if (!isUnauthorizedError(error)) return fallback;
  return error.code === 'DeviceDisabled' ? 'device-disabled' : 'credential-rejected';
}

/**
 * Whether a failed reconnect attempt is tried again. After `open()` succeeded once the hub is
 * known to exist, so a refused connection (it may be restarting) and an untrusted certificate
 * (it may be mid-rotation; the failure is reported on each `retry-scheduled` event) are retried
 * with backoff like any transient failure; a rejected credential is not.
 *
 * @param error - the failure
 * @returns whether to retry
 */
export function isRetryableOnReconnect(error: Error): boolean {
  return isRetryableError(error) || isConnectionRefusedError(error) || isTlsTrustError(error);
}

function change(
  state: ConnectionStatus,
  previousState: ConnectionStatus,
  reason: ConnectionChangeReason,
  error?: Error,
): ConnectionStateChange {
  return { state, previousState, reason, ...(error === undefined ? {} : { error }) };
}

function stay(phase: ConnectionPhase): Transition {
  return { phase, changes: [], effects: [] };
}

const CLOSED: ConnectionPhase = { kind: 'closed' };

function end(
  from: ConnectionPhase,
  reason: ConnectionChangeReason,
  outcome: EndOutcome,
  error?: Error,
): Transition {
  return {
    phase: CLOSED,
    changes: [change('disconnected', statusOf(from), reason, error)],
    effects: [error === undefined ? { type: 'end', outcome } : { type: 'end', outcome, error }],
  };
}

/** An attempt of `opening` or `reconnecting` succeeded. */
function succeeded(
  from: ConnectionPhase & { droppedWith?: Error },
  reason: 'connected' | 'reconnected',
): Transition {
  const up = change('connected', statusOf(from), reason);
  if (from.droppedWith === undefined) {
    return { phase: { kind: 'connected' }, changes: [up], effects: [{ type: 'up' }] };
  }
  // The connection the attempt made dropped before the attempt finished: it counts as made
  // (open() resolves), then lost.
  return lost(up, from.droppedWith, 'connection-lost');
}

/** The established connection went away: reconnect. */
function lost(
  before: ConnectionStateChange | undefined,
  error: Error,
  reason: 'connection-lost' | 'token-renewal-failed',
): Transition {
  const changes = before === undefined ? [] : [before];
  changes.push(change('reconnecting', 'connected', reason, error));
  return {
    phase: { kind: 'reconnecting', attempt: 0 },
    changes,
    effects: [{ type: 'down', error }, { type: 'reconnect' }],
  };
}

function retry(
  status: ConnectionStatus,
  attempt: number,
  error: Error,
  policy: ConnectionPolicy,
): { change: ConnectionStateChange; effect: ConnectionEffect } {
  const delayInMs = policy.retryDelayInMs(attempt);
  return {
    change: {
      ...change(status, status, 'retry-scheduled', error),
      attempt: attempt + 1,
      retryInMs: delayInMs,
    },
    effect: { type: 'retry', delayInMs },
  };
}

/** Phases by kind, and events by type. */
type PhaseOf<K extends ConnectionPhase['kind']> = Extract<ConnectionPhase, { kind: K }>;
type EventOf<T extends ConnectionEvent['type']> = Extract<ConnectionEvent, { type: T }>;

/** What one event does in one phase. */
type Rule<K extends ConnectionPhase['kind'], T extends ConnectionEvent['type']> = (
  phase: PhaseOf<K>,
  event: EventOf<T>,
  policy: ConnectionPolicy,
) => Transition;

/**
 * The transitions, as data: for each phase, what each event leads to. An event a phase does not
 * list (a late answer from an attempt that was already abandoned, a second `open`) leaves it
 * unchanged and asks for nothing. `close` is the same from every phase but `closed`.
 */
const RULES: {
  readonly [K in ConnectionPhase['kind']]: {
    readonly [T in ConnectionEvent['type']]?: Rule<K, T>;
  };
} = {
  closed: {
    open: () => ({
      phase: { kind: 'opening', attempt: 0 },
      changes: [change('connecting', 'disconnected', 'open-requested')],
      effects: [],
    }),
  },
  opening: {
    'attempt-succeeded': (phase) => succeeded(phase, 'connected'),
    'attempt-failed': (phase, { error }, policy) => {
      // open() gives up on the first failure retrying cannot fix; its deadline bounds the rest.
      if (!isRetryableError(error)) {
        return end(phase, reasonForFailure(error, 'open-failed'), 'open-failed', error);
      }
      const next = retry('connecting', phase.attempt, error, policy);
      return {
        phase: { kind: 'opening', attempt: phase.attempt + 1, lastError: error },
        changes: [next.change],
        effects: [next.effect],
      };
    },
    'open-failed': (phase, { error }) =>
      end(phase, reasonForFailure(error, 'open-failed'), 'open-failed', error),
    'connection-lost': (phase, { error }) => stay({ ...phase, droppedWith: error }),
    close: (phase) => end(phase, 'close-requested', 'closed'),
  },
  connected: {
    'connection-lost': (_, { error }) => lost(undefined, error, 'connection-lost'),
    'renewal-due': () => ({
      phase: { kind: 'renewing' },
      changes: [],
      effects: [{ type: 'renew' }],
    }),
    close: (phase) => end(phase, 'close-requested', 'closed'),
  },
  renewing: {
    'renewal-succeeded': () => ({
      phase: { kind: 'connected' },
      changes: [],
      effects: [{ type: 'renewed' }],
    }),
    'renewal-failed': (_, { error }) => lost(undefined, error, 'token-renewal-failed'),
    'connection-lost': (_, { error }) => lost(undefined, error, 'connection-lost'),
    close: (phase) => end(phase, 'close-requested', 'closed'),
  },
  reconnecting: {
    'attempt-succeeded': (phase) => succeeded(phase, 'reconnected'),
    'attempt-failed': (phase, { error }, policy) => {
      if (!isRetryableOnReconnect(error) || phase.attempt + 1 > policy.maxRetries) {
        return end(phase, reasonForFailure(error, 'retries-exhausted'), 'gave-up', error);
      }
      const next = retry('reconnecting', phase.attempt, error, policy);
      return {
        phase: { kind: 'reconnecting', attempt: phase.attempt + 1 },
        changes: [next.change],
        effects: [next.effect],
      };
    },
    'connection-lost': (phase, { error }) => stay({ ...phase, droppedWith: error }),
    close: (phase) => end(phase, 'close-requested', 'closed'),
  },
};

/**
 * The next phase after `event`, with the events to emit and the effects to carry out (looked up
 * in the transition table).
 *
 * @param phase - the current phase
 * @param event - what happened
 * @param policy - retries allowed and the backoff
 * @returns the transition; the same `phase` object when the event changes nothing
 */
export function transition(
  phase: ConnectionPhase,
  event: ConnectionEvent,
  policy: ConnectionPolicy,
): Transition {
  const rule = RULES[phase.kind][event.type] as
    | ((phase: ConnectionPhase, event: ConnectionEvent, policy: ConnectionPolicy) => Transition)
    | undefined;
  return rule === undefined ? stay(phase) : rule(phase, event, policy);
}
