/**
 * Connection states and the typed reasons reported by `on('connectionStateChange', …)`
 * (peers.md row 9: a connection-state stream with reasons).
 */

/** Where the client's connection stands. */
export type ConnectionStatus = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** Known values of {@link ConnectionStatus}, for use at runtime. */
export const KnownConnectionStatus = Object.freeze({
  Disconnected: 'disconnected',
  Connecting: 'connecting',
  Connected: 'connected',
  Reconnecting: 'reconnecting',
} as const);

/** Known reasons for a connection-state change. */
export const KnownConnectionChangeReason = Object.freeze({
  /** `open()` was called (disconnected → connecting). */
  OpenRequested: 'open-requested',
  /** The first connection of `open()` succeeded (connecting → connected). */
  Connected: 'connected',
  /**
   * An attempt failed and another is scheduled (`retryInMs`, `attempt`, the failure as `error`);
   * the state is unchanged. During a reconnect this includes a refused connection
   * (`ConnectionRefusedError`) and an untrusted certificate (`TlsTrustError`).
   */
  RetryScheduled: 'retry-scheduled',
  /** The connection dropped (connected → reconnecting). */
  ConnectionLost: 'connection-lost',
  /** Renewing the SAS token failed, so the client reconnects (connected → reconnecting). */
  TokenRenewalFailed: 'token-renewal-failed',
  /** A reconnect succeeded (reconnecting → connected). */
  Reconnected: 'reconnected',
  /** `close()` was called (→ disconnected). */
  CloseRequested: 'close-requested',
  /**
   * `open()` gave up: deadline, abort or a failure retrying cannot fix, such as `TlsTrustError`
   * or `ConnectionRefusedError` (connecting → disconnected).
   */
  OpenFailed: 'open-failed',
  /** The hub rejected the credential; retrying cannot help (→ disconnected). */
  CredentialRejected: 'credential-rejected',
  /** The hub refused a disabled device (→ disconnected). */
  DeviceDisabled: 'device-disabled',
  /** `retryOptions.maxRetries` reconnect attempts failed (reconnecting → disconnected). */
  RetriesExhausted: 'retries-exhausted',
} as const);

/** Why the connection state changed; see {@link KnownConnectionChangeReason}. */
export type ConnectionChangeReason =
  (typeof KnownConnectionChangeReason)[keyof typeof KnownConnectionChangeReason];

/** The payload of a `connectionStateChange` event. */
export interface ConnectionStateChange {
  state: ConnectionStatus;
  previousState: ConnectionStatus;
  reason: ConnectionChangeReason;
  /** What went wrong, for failure reasons. */
  error?: Error;
  /** For `retry-scheduled`: how many attempts have failed so far. */
  attempt?: number;
  /** For `retry-scheduled`: the wait before the next attempt. */
  retryInMs?: number;
}

/** Events of a DeviceClient and their payloads. */
export interface DeviceClientEvents {
  connectionStateChange: ConnectionStateChange;
  /**
   * Something failed in the background: a handler threw, a resync or subscription failed. The
   * client keeps going (and retries what it can).
   */
  error: Error;
}
