/**
 * THE transport boundary (docs/internals/architecture.md#transport-boundary). Only model types cross it: twin-model types,
 * {@link ConnectParams} and the shared error classes. mqtt.js and rhea types, packets, buffers
 * and sockets stay inside `transport/<protocol>/`. Transports never retry or reconnect on
 * their own; they report {@link TransportHandlers.disconnected} and the DeviceClient applies
 * its policy.
 */
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';
import type { HubError, TransportError, UnexpectedResponseError } from '@twinkit/twin-model/errors';

/** Options every async operation takes (docs/internals/architecture.md#client-conventions). */
export interface OperationOptions {
  /** Cancels the operation; it then rejects with `abortSignal.reason`, unchanged. */
  abortSignal?: AbortSignal;
}

/** A PEM client certificate and key for X.509 authentication (Node only). */
export interface ClientCertificate {
  /** PEM certificate (chain). */
  certificate: string;
  /** PEM private key. */
  key: string;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
}

/** Everything a transport needs to open one connection for one identity. */
export interface ConnectParams {
  /** The hub's host name without port: the MQTT username host and the SAS `sr` host (docs/internals/wire-contract.md#endpoints). */
  hostName: string;
  /** Where the network connection goes: the gateway host when `GatewayHostName` is set, else `hostName`. */
  endpointHost: string;
  /** The port from `GatewayHostName`/`HostName` (`host:port`), when one was given. */
  endpointPort?: number;
  deviceId: string;
  moduleId?: string;
  /** The SAS token sent as the password; absent for X.509. Never log it. */
  sasToken?: string;
  /** TLS client certificate for X.509 identities. */
  clientCertificate?: ClientCertificate;
  /** Extra PEM CA certificate(s) to trust, e.g. the local hub's development CA. */
  ca?: string;
  /** MQTT keep-alive. */
  keepAliveInSeconds: number;
  /** IoT Plug and Play model id, announced at connect. */
  modelId?: string;
}

/** Options of a transport request. */
export interface TransportRequestOptions extends OperationOptions {
  /** Per-request deadline; defaults to the client's `operationTimeoutInMs`. */
  timeoutInMs?: number;
}

/** The result of a reported-properties update: the new reported `$version`. */
export interface UpdateReportedResult {
  version: number;
}

/** A promise-based connection to the hub for one identity's twin. */
export interface DeviceTransport {
  /**
   * Opens the connection and subscribes to twin responses; does not subscribe to desired patches.
   *
   * @throws {@link UnauthorizedError} when the hub rejects the credential
   * @throws {@link TransportError} when the hub cannot be reached
   */
  connect(params: ConnectParams, options?: TransportRequestOptions): Promise<void>;
  /** Closes the connection; pending requests fail with `TransportError`. Idempotent. */
  disconnect(options?: OperationOptions): Promise<void>;
  /** GETs the device view of the twin. */
  getTwin(options?: TransportRequestOptions): Promise<DeviceTwin>;
  /** Sends a reported merge patch; resolves with the new reported `$version`. */
  patchReported(
    patch: JsonObject,
    options?: TransportRequestOptions,
  ): Promise<UpdateReportedResult>;
  /** Subscribes to (or unsubscribes from) desired-property patches on the current connection. */
  setDesiredSubscription(enabled: boolean, options?: TransportRequestOptions): Promise<void>;
  /**
   * Presents a fresh credential without losing subscriptions. MQTT reconnects with the new
   * password and `clean=false`, re-subscribing what was subscribed; AMQP would put a new CBS token.
   */
  updateCredentials(params: ConnectParams, options?: TransportRequestOptions): Promise<void>;
}

/** What a transport reports back to the client. */
export interface TransportHandlers {
  /** A desired patch arrived; `patch` has no `$version` (it is passed separately). */
  desiredPatch(patch: JsonObject, version: number): void;
  /** The connection was lost (not called for `disconnect()`); pending requests already failed. */
  disconnected(error?: TransportError | HubError): void;
  /**
   * The hub sent something the protocol does not allow outside any request, such as a desired
   * notification with a malformed `$version` or body; the transport dropped it. (A malformed
   * answer to a request fails that request instead.) The DeviceClient reports it as an `error`
   * event and re-reads the twin, so no desired change is missed.
   */
  protocolViolation?(error: UnexpectedResponseError): void;
}

/** Client settings a transport needs. */
export interface TransportContext {
  /** Default per-request deadline. */
  operationTimeoutInMs: number;
}

/** Builds a transport for one client; `mqtt()` returns one of these. */
export type TransportFactory = (
  handlers: TransportHandlers,
  context: TransportContext,
) => DeviceTransport;
