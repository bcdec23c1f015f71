/**
 * The narrow slice of the hub that the MQTT endpoint needs. The endpoint speaks only this
 * interface, so it can be built and tested without knowing how the hub stores identities and
 * twins; `core-adapter.ts` maps the hub's internal core onto it.
 *
 * @see ../../../../shared/spec/protocol.md §4 (MQTT), §7 (device-side state)
 */
import type { ConnectionState, DeviceTwin, JsonObject } from '@twinkit/twin-model';
import type { HubError } from '@twinkit/twin-model/errors';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import type { DeviceTwinOperation, InjectedTwinFailure } from '../faults/device-endpoint-faults.js';

/** A device, or a module of a device, as one MQTT client identity (the same as an AMQP one). */
export type MqttIdentity = DeviceIdentity;

/** The X.509 client certificate a TLS (or WSS) connection presented, as thumbprints. */
export interface MqttClientCertificate {
  /** SHA-1 of the DER bytes, 40 upper-case hex digits (IoT Hub's classic thumbprint). */
  readonly sha1Thumbprint: string;
  /** SHA-256 of the DER bytes, 64 upper-case hex digits. */
  readonly sha256Thumbprint: string;
}

/** What a CONNECT offered to prove who it is. */
export interface MqttCredentials {
  /** The identity named by the client id (already cross-checked against the username). */
  readonly identity: MqttIdentity;
  /** The CONNECT password: a SAS token, when one was sent. */
  readonly sasToken?: string | undefined;
  /** The TLS client certificate, when the transport saw one. */
  readonly clientCertificate?: MqttClientCertificate | undefined;
}

/**
 * Why a CONNECT was refused:
 * - `unknown-identity`: no such device or module.
 * - `disabled`: the device exists but is disabled (CONNACK 3, which the C SDK reports as such).
 * - `bad-credentials`: wrong signature, wrong scope, malformed token, no matching thumbprint.
 * - `expired`: the token's `se` has passed.
 * - `no-credentials`: neither a token nor a client certificate was offered.
 */
export type MqttAuthenticationFailureReason =
  'unknown-identity' | 'disabled' | 'bad-credentials' | 'expired' | 'no-credentials';

/** Outcome of {@link MqttHubCore.authenticate}. Messages never contain keys or tokens. */
export type MqttAuthenticationResult =
  | {
      readonly ok: true;
      /** When the credential stops being valid (SAS `se`); the connection is closed then (§3.5). */
      readonly expiresOnInSeconds?: number | undefined;
    }
  | {
      readonly ok: false;
      readonly reason: MqttAuthenticationFailureReason;
      readonly message: string;
    };

/** A committed change of a twin's desired properties, as devices must be told about it (§4.7). */
export interface MqttDesiredChange {
  readonly deviceId: string;
  readonly moduleId?: string | undefined;
  /** The notification body: the service's patch (nulls kept) or the whole new desired section, plus `$version`. */
  readonly notification: JsonObject;
  /** The new `desired.$version`. */
  readonly version: number;
}

/** What the MQTT endpoint asks of the hub. Every method may be called concurrently. */
export interface MqttHubCore {
  /**
   * Checks a CONNECT's credentials for an identity: the SAS token against the device or module
   * keys (or a policy with DeviceConnect), expiry and scope, or the certificate thumbprint.
   *
   * @param credentials - the identity and what was offered for it
   * @returns success with the credential's expiry, or the reason for refusal
   */
  authenticate(credentials: MqttCredentials): Promise<MqttAuthenticationResult>;

  /**
   * Reads the device view of a twin (§4.5): both sections with `$version`, no tags or `$metadata`.
   *
   * @param identity - the device or module
   * @returns the twin
   * @throws {@link HubError} (e.g. 404 DeviceNotFound) when it cannot be read
   */
  getTwin(identity: MqttIdentity): Promise<DeviceTwin>;

  /**
   * Applies a reported-properties merge patch sent by the device (§4.6).
   *
   * @param identity - the device or module
   * @param patch - the parsed JSON body, unvalidated
   * @param baseVersion - the `$version` the device expects `reported` to have (412 when stale)
   * @returns the new `reported.$version`
   * @throws {@link HubError} 400 for an invalid patch, 412 for a stale base version, 404 when gone
   */
  updateReported(
    identity: MqttIdentity,
    patch: unknown,
    baseVersion: number | undefined,
  ): Promise<{ version: number }>;

  /**
   * Subscribes to committed desired-property changes of every twin, in commit order.
   *
   * @param listener - called once per change, after it is stored
   * @returns a function that removes the listener
   */
  onDesiredChanged(listener: (change: MqttDesiredChange) => void): () => void;

  /**
   * Records that an identity connected or disconnected (`connectionState`,
   * `connectionStateUpdatedTime`; connecting also counts as activity).
   *
   * @param identity - the device or module
   * @param state - the new state
   * @param at - when it happened
   */
  setConnectionState(
    identity: MqttIdentity,
    state: ConnectionState,
    at: Date,
  ): Promise<void> | void;

  /**
   * Records device activity (`lastActivityTime`): a twin request or a telemetry message.
   *
   * @param identity - the device or module
   * @param at - when it happened
   */
  touchActivity(identity: MqttIdentity, at: Date): Promise<void> | void;

  /**
   * Optional: subscribes to identities whose live connections must end (deleted, disabled, keys
   * regenerated), as the real hub drops them.
   *
   * @param listener - called with the identity; a device also ends its modules' connections
   * @returns a function that removes the listener
   */
  onIdentityRevoked?(listener: (identity: MqttIdentity) => void): () => void;

  /**
   * Optional: the text to put in the `message` of a device error body for a failure, when the hub
   * keeps a wire text apart from the developer-facing `HubError.message`.
   *
   * @param error - a failure thrown by {@link MqttHubCore.getTwin} or {@link MqttHubCore.updateReported}
   */
  wireMessageOf?(error: HubError): string | undefined;

  /**
   * Optional: hub-wide faults (`hub.faults.failNext` / `delayNext`) for a device twin request.
   * Waits out an armed delay, then returns an armed failure, using both up.
   *
   * @param operation - the twin operation about to be performed
   * @param identity - who asked
   * @returns the failure to answer with instead, or `undefined` to proceed
   */
  applyTwinFault?(
    operation: DeviceTwinOperation,
    identity: MqttIdentity,
  ): Promise<InjectedTwinFailure | undefined>;
}
