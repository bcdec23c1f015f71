/**
 * The device-session core: everything a device endpoint decides, with no sockets and no
 * protocol. MQTT (aedes) and AMQP (rhea), over TLS or WebSocket, are codecs over it: they turn
 * their packets or frames into calls here (authenticate, open a session, a twin request) and
 * carry out what it decides through {@link DeviceConnectionHooks} (end a session, drop a
 * connection, deliver a desired notification). So who may do what is decided in one place
 * (credentials.ts), and a third endpoint needs no change here.
 *
 * It owns: authentication and reach, disabled and unknown identities, per-identity request
 * ordering and the in-flight cap, twin GET and reported PATCH as `{ status, version, body }`,
 * desired fan-out, closing what a token opened at its expiry, revocation when an identity is
 * deleted, disabled or re-keyed, connection state, and the device-endpoint faults.
 */
import {
  DeferredActions,
  bestEffort,
  identityKey,
  type DeviceIdentity,
} from '../device-endpoint/endpoint-support.js';
import { DEFAULT_DEVICE_ENDPOINT_LIMITS } from '../device-endpoint/limits.js';
import {
  DEVICE_TWIN_FAULT_OPERATIONS,
  DeviceEndpointFaultState,
  createDeviceEndpointFaults,
  releaseHeldDesired,
  respondUnderFault,
  sendDesiredUnderFault,
  type DeviceEndpointFaults,
  type DeviceTwinOperation,
} from '../faults/device-endpoint-faults.js';
import type { DesiredChangeEvent, HubCore } from '../hub-core.js';
import {
  authenticateCredential,
  checkIdentityUsable,
  type AuthenticationResult,
  type DeviceCredential,
} from './credentials.js';
import {
  DeviceConnection,
  type ConnectionOwner,
  type DesiredNotification,
  type DeviceConnectionHooks,
} from './device-connection.js';
import {
  performTwinRequest,
  twinErrorResponse,
  type TwinRequest,
  type TwinResponse,
} from './twin-requests.js';

/** Default of {@link DeviceSessionCoreOptions.maxInFlightTwinRequests}. */
export const DEFAULT_MAX_IN_FLIGHT_TWIN_REQUESTS =
  DEFAULT_DEVICE_ENDPOINT_LIMITS.maxInFlightTwinRequests;

/** Options of {@link DeviceSessionCore}. */
export interface DeviceSessionCoreOptions {
  /** The clock, in milliseconds since the epoch (token expiry, timestamps). Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Twin requests one connection may have queued or running; more are answered 429 at once.
   * Default {@link DEFAULT_MAX_IN_FLIGHT_TWIN_REQUESTS}.
   */
  maxInFlightTwinRequests?: number | undefined;
}

/** The device-session core of one device endpoint (its faults are that endpoint's). */
export class DeviceSessionCore {
  /** This endpoint's faults (`hub.faults.mqtt`, `hub.faults.amqp`). */
  readonly faults: DeviceEndpointFaults;
  readonly #hub: HubCore;
  readonly #now: () => number;
  readonly #maxInFlight: number;
  readonly #faultState = new DeviceEndpointFaultState();
  readonly #connections = new Set<DeviceConnection>();
  /** The connections acting as each identity, for fan-out and connection state. */
  readonly #byIdentity = new Map<string, Set<DeviceConnection>>();
  /** Tokens a fault expired early; refused from then on. */
  readonly #refusedTokens = new Set<string>();
  readonly #deferred = new DeferredActions();
  readonly #unsubscribers: (() => void)[] = [];
  readonly #owner: ConnectionOwner;
  #closed = false;

  /**
   * @param hub - the hub core (identities, twins, events)
   * @param options - clock and in-flight cap
   */
  constructor(hub: HubCore, options: DeviceSessionCoreOptions = {}) {
    this.#hub = hub;
    this.#now = options.now ?? (() => Date.now());
    this.#maxInFlight = options.maxInFlightTwinRequests ?? DEFAULT_MAX_IN_FLIGHT_TWIN_REQUESTS;
    this.#owner = this.#makeOwner();
    this.faults = createDeviceEndpointFaults(this.#faultState, {
      dropConnection: (identity) => this.#dropConnection(identity),
      expireToken: (identity) => this.#expireToken(identity),
      releaseHeld: () => {
        this.#releaseHeld();
      },
    });
    this.#unsubscribers.push(
      hub.onDesiredChanged((event) => {
        this.#onDesiredChanged(event);
      }),
      hub.onIdentityChanged((event) => {
        this.#revoke({ deviceId: event.deviceId, moduleId: event.moduleId });
      }),
    );
  }

  /** The hub's host name (what token scopes and AMQP addresses name). */
  get hostName(): string {
    return this.#hub.hostName;
  }

  /** Number of open connections that proved a credential. */
  get connectionCount(): number {
    let count = 0;
    for (const connection of this.#connections) if (connection.authenticated) count += 1;
    return count;
  }

  /**
   * Tells whether an identity has a live session on any connection.
   *
   * @param identity - the device or module
   */
  isConnected(identity: DeviceIdentity): boolean {
    return (this.#byIdentity.get(identityKey(identity))?.size ?? 0) > 0;
  }

  /**
   * Starts the core's side of a new connection.
   *
   * @param hooks - what the codec does on the core's decisions
   * @returns the connection; close it when the transport ends
   * @throws {@link Error} when the core is closed
   */
  openConnection(hooks: DeviceConnectionHooks): DeviceConnection {
    if (this.#closed) throw new Error('The device endpoint is closed.');
    const connection = new DeviceConnection(this.#owner, hooks);
    this.#connections.add(connection);
    return connection;
  }

  /**
   * Checks a credential without binding it to a connection (SASL PLAIN must answer before the
   * connection opens; the connection adopts the token at OPEN).
   *
   * @param credential - the token or certificate
   * @returns the grant it would give, or why it was refused
   */
  verify(credential: DeviceCredential): Promise<AuthenticationResult> {
    return this.#authenticate(credential);
  }

  /** Ends every connection's bookkeeping and stops listening to the hub. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    this.#deferred.clear();
    for (const connection of [...this.#connections]) connection.close();
  }

  #makeOwner(): ConnectionOwner {
    const hub = this.#hub;
    return {
      hostName: hub.hostName,
      maxInFlightTwinRequests: this.#maxInFlight,
      now: () => this.#now(),
      authenticate: (credential) => this.#authenticate(credential),
      checkUsable: (identity) => checkIdentityUsable(hub, identity),
      sessionOpened: (connection, identity) => {
        this.#sessionOpened(connection, identity);
      },
      sessionClosed: (connection, identity) => {
        this.#sessionClosed(connection, identity);
      },
      announceModelId: (identity, modelId) => {
        bestEffort(() => {
          hub.announceModelId(identity.deviceId, identity.moduleId, modelId);
        });
      },
      connectionClosed: (connection) => this.#connections.delete(connection),
      answerTwin: (identity, request, applied) => this.#answerTwin(identity, request, applied),
      deferAnswer: (delayInMs, answer) => {
        this.#deferred.run(delayInMs, answer);
      },
      touchActivity: (identity) => {
        bestEffort(() => {
          hub.touchActivity(identity.deviceId, identity.moduleId);
        });
      },
    };
  }

  async #authenticate(credential: DeviceCredential): Promise<AuthenticationResult> {
    if (credential.sasToken !== undefined && this.#refusedTokens.has(credential.sasToken))
      return { ok: false, reason: 'expired', message: 'The SAS token has expired.' };
    return authenticateCredential(this.#hub, credential, this.#now());
  }

  // --- sessions and connection state -----------------------------------------------------------

  #sessionOpened(connection: DeviceConnection, identity: DeviceIdentity): void {
    const key = identityKey(identity);
    let connections = this.#byIdentity.get(key);
    if (connections === undefined) {
      connections = new Set();
      this.#byIdentity.set(key, connections);
    }
    connections.add(connection);
    if (connections.size === 1) this.#setConnectionState(identity, 'Connected');
  }

  #sessionClosed(connection: DeviceConnection, identity: DeviceIdentity): void {
    const key = identityKey(identity);
    const connections = this.#byIdentity.get(key);
    if (connections?.delete(connection) !== true || connections.size > 0) return;
    this.#byIdentity.delete(key);
    this.#setConnectionState(identity, 'Disconnected');
  }

  #setConnectionState(identity: DeviceIdentity, state: 'Connected' | 'Disconnected'): void {
    bestEffort(() => {
      this.#hub.setConnectionState(identity.deviceId, identity.moduleId, state);
    });
  }

  #connectionsOf(identity: DeviceIdentity): DeviceConnection[] {
    return [...(this.#byIdentity.get(identityKey(identity)) ?? [])];
  }

  // --- twins ------------------------------------------------------------------------------------

  async #answerTwin(
    identity: DeviceIdentity,
    request: TwinRequest,
    applied: () => void,
  ): Promise<{ response: TwinResponse; delayInMs: number | undefined }> {
    const operation: DeviceTwinOperation = request.kind === 'get' ? 'getTwin' : 'updateReported';
    const fault = this.#faultState.takeTwinResponseFault(operation, identity);
    const response = await respondUnderFault<TwinResponse>(fault, {
      applyHubFault: () => this.#hub.faults.apply(DEVICE_TWIN_FAULT_OPERATIONS[operation]),
      perform: () => {
        // performTwinRequest reads or stages the twin before its first await.
        const answer = performTwinRequest(this.#hub, identity, request, this.#now());
        applied();
        return answer;
      },
      error: (status, code, message) => twinErrorResponse(status, code, message, this.#now()),
    });
    return { response, delayInMs: fault.delayInMs };
  }

  // docs/internals/wire-contract.md#mqtt-desired, docs/internals/wire-contract.md#amqp-twin-links: only to sessions that asked for them, once per change, in commit order; nothing
  // is queued for identities that are not connected.
  #onDesiredChanged(event: DesiredChangeEvent): void {
    const identity: DeviceIdentity = { deviceId: event.deviceId, moduleId: event.moduleId };
    const notification: DesiredNotification = {
      version: event.version,
      body: JSON.stringify(event.notification),
    };
    for (const connection of this.#connectionsOf(identity)) {
      const slot = connection.heldSlot(identity);
      if (slot === undefined || !connection.hooks.wantsDesired(identity)) continue;
      const fault = this.#faultState.takeDesiredFault(identity);
      sendDesiredUnderFault(fault, slot, notification, (outgoing) => {
        connection.hooks.deliverDesired(identity, outgoing);
      });
    }
  }

  #revoke(identity: DeviceIdentity): void {
    for (const connection of [...this.#connections]) connection.revoke(identity);
  }

  // --- faults -----------------------------------------------------------------------------------

  #dropConnection(identity: DeviceIdentity): boolean {
    const connections = this.#connectionsOf(identity);
    for (const connection of connections) {
      connection.close();
      connection.hooks.drop();
    }
    return connections.length > 0;
  }

  #expireToken(identity: DeviceIdentity): boolean {
    let expired = false;
    for (const connection of this.#connectionsOf(identity)) {
      const forgot = connection.expireGrantsOf(identity, (token) => this.#refusedTokens.add(token));
      expired = forgot || expired;
    }
    return expired;
  }

  #releaseHeld(): void {
    for (const connection of this.#connections) {
      for (const identity of connection.identities) {
        const slot = connection.heldSlot(identity);
        if (slot === undefined) continue;
        releaseHeldDesired(slot, (held) => {
          connection.hooks.deliverDesired(identity, held);
        });
      }
    }
  }
}

export type {
  DesiredNotification,
  DeviceConnection,
  DeviceConnectionHooks,
  SessionAuthorization,
  SessionEndReason,
} from './device-connection.js';
export type {
  AuthenticationFailureReason,
  AuthenticationResult,
  ClientCertificate,
  DeviceCredential,
  Grant,
} from './credentials.js';
export type { TwinRequest, TwinResponse } from './twin-requests.js';
