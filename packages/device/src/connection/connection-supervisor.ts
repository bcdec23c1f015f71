/**
 * Carries out the connection lifecycle that {@link transition} decides: runs connect attempts
 * with backoff, renews the SAS token before it expires, reports `connectionStateChange` events,
 * and lets operations wait for a usable connection within their deadline. The transports never
 * retry on their own; this is the one place that does (docs/internals/architecture.md#transport-boundary).
 *
 * The desired subscription and the reported outbox are its collaborators, reached through
 * {@link ConnectionHooks}: it tells them when the connection comes up, goes down or ends, and
 * gives each attempt a chance to restore the desired subscription before it counts as connected.
 *
 * @internal
 */
import { OperationTimeoutError, TransportError } from '@twinkit/twin-model/errors';
import type { DeviceAuth, DeviceCredential } from '../auth/credential.js';
import type { ConnectionStateChange, ConnectionStatus } from '../connection-state.js';
import {
  abortable,
  anySignal,
  backoffDelay,
  delay,
  withDeadline,
  type Logger,
  type ResolvedRetryOptions,
} from '@twinkit/twin-model/internal';
import type {
  ConnectParams,
  DeviceTransport,
  TransportRequestOptions,
} from '../transport/transport.js';
import {
  statusOf,
  transition,
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionPhase,
  type ConnectionPolicy,
  type EndOutcome,
  type Transition,
} from './connection-machine.js';

/** What the supervisor tells its collaborators (the desired subscription and the outbox). */
export interface ConnectionHooks {
  /**
   * Runs in every connect attempt once the transport is connected, before the attempt counts:
   * restores what the new connection needs (the desired subscription). A throw fails the attempt.
   */
  prepare(signal: AbortSignal): Promise<void>;
  /** The connection is usable, after `open()` or a reconnect. */
  up(): void;
  /** A renewed token was accepted on the same connection. */
  renewed(): void;
  /** The connection went away; the supervisor is reconnecting. */
  down(error: Error): void;
  /** The session ended: closed by the app, `open()` failed, or reconnecting gave up. */
  ended(outcome: EndOutcome, error: Error | undefined): void;
}

/** Settings and collaborators of a {@link ConnectionSupervisor}. */
export interface ConnectionSupervisorOptions {
  transport: DeviceTransport;
  credential: DeviceCredential;
  /** Builds the transport's parameters from fresh authentication material. */
  connectParams: (auth: DeviceAuth) => ConnectParams;
  operationTimeoutInMs: number;
  renewalMarginInSeconds: number;
  retry: ResolvedRetryOptions;
  /** Receives every `connectionStateChange`. */
  emit: (change: ConnectionStateChange) => void;
  hooks: ConnectionHooks;
  logger: Logger;
}

/** One open..close lifetime; ending it aborts its signal so every wait in it ends. */
interface Session {
  readonly controller: AbortController;
  /** The connect loop running now (open or reconnect), for close() to wait on. */
  loop?: Promise<unknown>;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * When to renew a token that expires in `remainingInMs`: `marginInSeconds` before expiry, or
 * halfway through its life when it lives shorter than twice the margin.
 *
 * @param remainingInMs - time left until the token expires
 * @param marginInSeconds - the renewal margin
 * @returns the delay before renewing, never negative
 */
export function renewalDelayInMs(remainingInMs: number, marginInSeconds: number): number {
  const byMargin = remainingInMs - marginInSeconds * 1000;
  return Math.max(0, byMargin < remainingInMs / 2 ? remainingInMs / 2 : byMargin);
}

/**
 * Drives one DeviceClient's connection.
 *
 * @internal
 */
export class ConnectionSupervisor {
  readonly #options: ConnectionSupervisorOptions;
  readonly #policy: ConnectionPolicy;
  #phase: ConnectionPhase = { kind: 'closed' };
  #session: Session | undefined;
  #opening: Promise<void> | undefined;
  #renewing: Promise<void> | undefined;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  /** Expiry of the token the current connection was made or renewed with. */
  #expiresOnInSeconds: number | undefined;
  #waiters: (() => void)[] = [];

  constructor(options: ConnectionSupervisorOptions) {
    this.#options = options;
    this.#policy = {
      maxRetries: options.retry.maxRetries,
      // The machine counts attempts from 0; the shared backoff numbers retries from 1.
      retryDelayInMs: (attempt) =>
        backoffDelay(attempt + 1, options.retry.retryDelayInMs, options.retry.maxRetryDelayInMs),
    };
  }

  /** The current phase (for tests and logs). */
  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** The public connection state. */
  get status(): ConnectionStatus {
    return statusOf(this.#phase);
  }

  /** Aborts when the current session ends; `undefined` while closed. */
  get sessionSignal(): AbortSignal | undefined {
    return this.#session?.controller.signal;
  }

  /**
   * Connects, retrying retryable failures with backoff until the deadline. Concurrent calls
   * share one attempt; a call while open returns at once.
   *
   * @param abortSignal - the caller's cancellation
   */
  async open(abortSignal?: AbortSignal): Promise<void> {
    if (this.#opening !== undefined) return abortable(this.#opening, abortSignal);
    if (this.#phase.kind !== 'closed') return;
    const session: Session = { controller: new AbortController() };
    this.#session = session;
    this.#dispatch({ type: 'open' });
    const opening = withDeadline(
      'open',
      this.#options.operationTimeoutInMs,
      anySignal([abortSignal, session.controller.signal]),
      (signal) => {
        const loop = this.#connectLoop(signal);
        session.loop = loop;
        return loop;
      },
    ).then(
      () => {
        if (this.#session === session) this.#dispatch({ type: 'attempt-succeeded' });
      },
      (error: unknown) => {
        const phase = this.#phase;
        // A timeout says what kept failing.
        if (
          error instanceof OperationTimeoutError &&
          phase.kind === 'opening' &&
          phase.lastError !== undefined
        ) {
          error.cause = phase.lastError;
        }
        if (this.#session === session) {
          this.#dispatch({ type: 'open-failed', error: toError(error) });
        }
        throw error;
      },
    );
    this.#opening = opening;
    try {
      await opening;
    } finally {
      if (this.#opening === opening) this.#opening = undefined;
    }
  }

  /**
   * Ends the session: stops reconnecting and renewing, then disconnects the transport.
   * Idempotent.
   *
   * @param abortSignal - cancels the graceful disconnect
   */
  async close(abortSignal?: AbortSignal): Promise<void> {
    const session = this.#session;
    if (session === undefined) {
      // Never opened (or already closed): calls queued meanwhile must still end, not hang.
      this.#options.hooks.ended('closed', undefined);
      return;
    }
    this.#dispatch({ type: 'close' });
    await session.loop?.catch(() => undefined);
    await this.#renewing?.catch(() => undefined);
    try {
      await this.#options.transport.disconnect(abortSignal === undefined ? {} : { abortSignal });
    } catch (error) {
      this.#options.logger.warning(`disconnect failed: ${toError(error).message}`);
    }
  }

  /**
   * The transport lost its connection.
   *
   * @param error - why, when the transport knows
   */
  connectionLost(error: Error | undefined): void {
    if (this.#session === undefined) return;
    this.#dispatch({
      type: 'connection-lost',
      error: error ?? new TransportError('The connection to the hub was lost.'),
    });
  }

  /**
   * Runs one operation on the connection: waits (within the deadline) while the client connects,
   * reconnects or renews, then calls `work` with the deadline's signal. Every twin read, reported
   * send and subscription change goes through here.
   *
   * @param operation - the name an `OperationTimeoutError` carries, e.g. `getTwin`
   * @param label - how a "not open" error names it, e.g. `Twin read`
   * @param abortSignal - the caller's cancellation
   * @param work - the transport call
   * @returns what `work` resolves to
   * @throws {@link TransportError} when the client is not open
   * @throws {@link OperationTimeoutError} when the deadline passes
   */
  run<T>(
    operation: string,
    label: string,
    abortSignal: AbortSignal | undefined,
    work: (options: TransportRequestOptions) => Promise<T>,
  ): Promise<T> {
    const timeoutInMs = this.#options.operationTimeoutInMs;
    if (this.#phase.kind === 'connected') {
      // The hot path: the transport call keeps the deadline and honours the signal itself, so
      // a deadline of our own (a controller, a timer, listeners) is only needed while waiting
      // for a connection below.
      if (abortSignal?.aborted === true) return Promise.reject(abortSignal.reason as Error);
      try {
        return work(abortSignal === undefined ? { timeoutInMs } : { abortSignal, timeoutInMs });
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on unchanged
        return Promise.reject(error);
      }
    }
    return withDeadline(operation, timeoutInMs, abortSignal, async (signal) => {
      await this.#whenConnected(label, signal);
      return work({ abortSignal: signal, timeoutInMs });
    });
  }

  async #whenConnected(label: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      const kind = this.#phase.kind;
      if (kind === 'connected') return;
      if (kind === 'closed') {
        throw new TransportError(`${label} failed: the client is not open. Call open() first.`, {
          retryable: false,
        });
      }
      await abortable(
        new Promise<void>((resolve) => {
          this.#waiters.push(resolve);
        }),
        signal,
      );
    }
  }

  // ---------------------------------------------------------------- connect attempts

  async #connectLoop(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await this.#attempt(signal);
        return;
      } catch (error) {
        // Closed, past the deadline or aborted: whoever ended it reports it.
        if (signal.aborted) throw error;
        const failure = toError(error);
        const retry = this.#dispatch({ type: 'attempt-failed', error: failure }).effects.find(
          (effect) => effect.type === 'retry',
        );
        if (retry === undefined) throw failure;
        this.#options.logger.info(
          `connect attempt failed (${failure.message}); retrying in ${String(retry.delayInMs)} ms`,
        );
        await delay(retry.delayInMs, signal);
      }
    }
  }

  async #attempt(signal: AbortSignal): Promise<void> {
    const { transport, credential, operationTimeoutInMs } = this.#options;
    const auth = await credential.getAuth({ abortSignal: signal });
    await transport.connect(this.#options.connectParams(auth), {
      abortSignal: signal,
      timeoutInMs: operationTimeoutInMs,
    });
    try {
      if (signal.aborted) throw signal.reason;
      await this.#options.hooks.prepare(signal);
    } catch (error) {
      await transport.disconnect().catch(() => undefined);
      throw error;
    }
    this.#expiresOnInSeconds = auth.expiresOnInSeconds;
  }

  #reconnect(session: Session): void {
    const loop = this.#connectLoop(session.controller.signal).then(
      () => {
        if (this.#session === session) this.#dispatch({ type: 'attempt-succeeded' });
      },
      // The machine already ended the session (gave up), or close() did.
      () => undefined,
    );
    session.loop = loop;
  }

  // ---------------------------------------------------------------- token renewal

  #scheduleRenewal(session: Session): void {
    this.#clearRenewal();
    const expiresOnInSeconds = this.#expiresOnInSeconds;
    if (!this.#options.credential.renewable || expiresOnInSeconds === undefined) return;
    const delayInMs = renewalDelayInMs(
      expiresOnInSeconds * 1000 - Date.now(),
      this.#options.renewalMarginInSeconds,
    );
    this.#renewTimer = setTimeout(() => {
      this.#renewTimer = undefined;
      if (this.#session === session) this.#dispatch({ type: 'renewal-due' });
    }, delayInMs);
  }

  #clearRenewal(): void {
    if (this.#renewTimer === undefined) return;
    clearTimeout(this.#renewTimer);
    this.#renewTimer = undefined;
  }

  #renew(session: Session): void {
    const { transport, credential, logger, operationTimeoutInMs } = this.#options;
    const signal = session.controller.signal;
    const renewing = (async () => {
      try {
        const auth = await credential.getAuth({ abortSignal: signal });
        await transport.updateCredentials(this.#options.connectParams(auth), {
          abortSignal: signal,
          timeoutInMs: operationTimeoutInMs,
        });
        this.#expiresOnInSeconds = auth.expiresOnInSeconds;
        logger.info('SAS token renewed; subscriptions kept');
        if (this.#session === session) this.#dispatch({ type: 'renewal-succeeded' });
      } catch (error) {
        if (signal.aborted) return;
        logger.warning(`token renewal failed: ${toError(error).message}`);
        await transport.disconnect().catch(() => undefined);
        if (this.#session === session) {
          this.#dispatch({ type: 'renewal-failed', error: toError(error) });
        }
      }
    })();
    this.#renewing = renewing;
    void renewing.finally(() => {
      if (this.#renewing === renewing) this.#renewing = undefined;
    });
  }

  // ---------------------------------------------------------------- transitions

  #dispatch(event: ConnectionEvent): Transition {
    const result = transition(this.#phase, event, this.#policy);
    if (result.phase === this.#phase) return result;
    this.#phase = result.phase;
    const session = this.#session;
    for (const change of result.changes) {
      this.#options.logger.info(
        `connection ${change.previousState} → ${change.state} (${change.reason})`,
      );
      this.#options.emit(change);
    }
    for (const effect of result.effects) this.#apply(effect, session);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
    return result;
  }

  #apply(effect: ConnectionEffect, session: Session | undefined): void {
    const hooks = this.#options.hooks;
    switch (effect.type) {
      case 'retry':
        // The connect loop that dispatched the failure waits and tries again.
        return;
      case 'reconnect':
        if (session !== undefined) this.#reconnect(session);
        return;
      case 'up':
        if (session !== undefined) this.#scheduleRenewal(session);
        hooks.up();
        return;
      case 'down':
        this.#clearRenewal();
        hooks.down(effect.error);
        return;
      case 'renew':
        if (session !== undefined) this.#renew(session);
        return;
      case 'renewed':
        if (session !== undefined) this.#scheduleRenewal(session);
        hooks.renewed();
        return;
      case 'end':
        this.#clearRenewal();
        if (this.#session === session) this.#session = undefined;
        // Aborting with the failure itself makes a pending open() reject with it.
        session?.controller.abort(
          effect.error ?? new TransportError('The client was closed.', { retryable: false }),
        );
        hooks.ended(effect.outcome, effect.error);
        return;
    }
  }
}
