/**
 * Options of the DeviceClient and its methods (docs/internals/architecture.md#client-conventions: every method takes a final
 * `<Method>Options` bag extending {@link OperationOptions}; durations carry their unit).
 */
import type { RetryOptions } from '@twinkit/twin-model/internal';
import type { OutboxOptions } from './outbox/reported-outbox.js';
import type { DeviceStateStore } from './store/device-state.js';
import type {
  ClientCertificate,
  OperationOptions,
  TransportFactory,
} from './transport/transport.js';

export type { OperationOptions } from './transport/transport.js';
export type { RetryOptions } from '@twinkit/twin-model/internal';

/** Default reconnect policy: retry forever, 1 s doubling up to 60 s, with jitter. */
export const DEFAULT_RETRY_OPTIONS: Readonly<Required<RetryOptions>> = Object.freeze({
  maxRetries: Number.POSITIVE_INFINITY,
  retryDelayInMs: 1_000,
  maxRetryDelayInMs: 60_000,
});

/** Options of a {@link DeviceClient}. */
export interface DeviceClientOptions {
  /** The transport factory. Default `mqtt()` (MQTT over TCP+TLS, port 8883). */
  transport?: TransportFactory;
  /** Extra PEM CA certificate(s) to trust, e.g. the local hub's `caCertificate` (Node dialect). */
  ca?: string;
  /** TLS client certificate and key, for `x509=true` connection strings (Node dialect). */
  clientCertificate?: ClientCertificate;
  /** Deadline of every operation (open, getTwin, each reported send, subscriptions). Default 30 000 ms. */
  operationTimeoutInMs?: number;
  /** Reconnect policy: exponential backoff with jitter, forever by default. */
  retryOptions?: RetryOptions;
  /** MQTT keep-alive. Default 180 s, as the Node SDK uses (docs/internals/wire-contract.md#mqtt-connect). */
  keepAliveInSeconds?: number;
  /** Lifetime of each SAS token signed from a device key. Default 3600 s. */
  tokenValidityInSeconds?: number;
  /**
   * How long before a token expires the client renews it (reconnecting with the new token
   * without losing subscriptions). Default 900 s. When a token lives shorter than twice the
   * margin, it is renewed halfway through its life instead.
   */
  tokenRenewalMarginInSeconds?: number;
  /**
   * Offline outbox for reported properties: queued while disconnected, coalesced, sent in order
   * on reconnect (default on, bounded by {@link OutboxOptions}). `false` makes updates fail fast
   * with `TransportError` while disconnected.
   */
  outbox?: false | OutboxOptions;
  /**
   * IoT Plug and Play model id (a versioned DTMI such as `dtmi:com:example:Thermostat;1`),
   * announced at every connect: in the MQTT username, and as a link property over AMQP. The hub
   * shows it as the twin's `modelId`. An invalid DTMI throws `TypeError` at construction.
   */
  modelId?: string;
  /**
   * Keeps the device's state across restarts: the reported patches not yet acknowledged by the
   * hub, the last desired state handed to the app, and the last answered writable-property
   * versions. A new process with the same store sends the queued patches once, in order, and
   * delivers what changed in the desired section meanwhile as one `resync` change. Use
   * `createFileStore(path)` from `@twinkit/device/file-store` on Node or
   * `createIndexedDbStore(name)` from `@twinkit/device/indexeddb-store` in browsers.
   */
  store?: DeviceStateStore;
}

/** Options of `flushState()`. */
export type FlushStateOptions = OperationOptions;

/** Options of `DeviceClient.fromSasToken`. */
export interface FromSasTokenOptions extends DeviceClientOptions {
  /** Where to connect (`host[:port]`) when it is not the host in the token's `sr`. */
  gatewayHostName?: string;
}

/** Options of `open()`. */
export type OpenOptions = OperationOptions;
/** Options of `close()`. */
export type CloseOptions = OperationOptions;
/** Options of `getTwin()`. */
export type GetTwinOptions = OperationOptions;

/** Options of `updateReportedProperties()`. */
export type UpdateReportedPropertiesOptions = OperationOptions;

/** Options of `watchDesired()`. */
export interface WatchDesiredOptions extends OperationOptions {
  /**
   * The queue bound. Default 100. On overflow the queued changes fold into one (`reason:
   * 'coalesced'`, newest version and value, combined patch); see `watchDesired`.
   */
  maxQueuedChanges?: number;
}
