/**
 * One device-side connection as the session core sees it, whatever protocol carries it: the
 * credentials it proved (grants, each closed at its expiry), the identities it acts as
 * (sessions), and its twin requests, applied and answered in order per identity and capped in
 * number.
 * The codec (MQTT, AMQP) tells it what arrived; it tells the codec, through
 * {@link DeviceConnectionHooks}, what to end, drop or deliver.
 */
import {
  identityKey,
  scheduleExpiry,
  type DeviceIdentity,
  type ExpiryTimer,
} from '../device-endpoint/endpoint-support.js';
import type { HeldDesired } from '../faults/device-endpoint-faults.js';
import {
  grantReaches,
  type AuthenticationFailureReason,
  type AuthenticationResult,
  type DeviceCredential,
  type Grant,
} from './credentials.js';
import { twinErrorResponse, type TwinRequest, type TwinResponse } from './twin-requests.js';

/** A desired-properties notification for one identity (docs/internals/wire-contract.md#mqtt-desired, docs/internals/wire-contract.md#amqp-twin-links). */
export interface DesiredNotification {
  /** The new `desired.$version`. */
  readonly version: number;
  /** JSON: the patch (nulls kept) or the whole desired section, with `$version`. */
  readonly body: string;
}

/** Why the core ended a session: its credential expired, or its identity was revoked. */
export type SessionEndReason = 'expired' | 'revoked';

/** What a codec does to its own connection when the core decides. */
export interface DeviceConnectionHooks {
  /**
   * Ends what the connection does as one identity: MQTT closes the connection, AMQP detaches
   * the identity's twin links with `amqp:unauthorized-access`.
   */
  endSession(identity: DeviceIdentity, reason: SessionEndReason, message: string): void;
  /** Ends the connection abruptly, as a network failure would (a fault). */
  drop(): void;
  /** Whether the identity has asked for desired notifications on this connection. */
  wantsDesired(identity: DeviceIdentity): boolean;
  /** Sends one desired notification to the identity on this connection. */
  deliverDesired(identity: DeviceIdentity, notification: DesiredNotification): void;
}

/** Outcome of {@link DeviceConnection.openSession}. */
export type SessionAuthorization =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** `not-covered`: no credential of this connection reaches the identity. */
      readonly reason: AuthenticationFailureReason | 'not-covered';
      readonly message: string;
    };

/** What the connection needs from the core that made it. */
export interface ConnectionOwner {
  readonly hostName: string;
  readonly maxInFlightTwinRequests: number;
  now(): number;
  authenticate(credential: DeviceCredential): Promise<AuthenticationResult>;
  checkUsable(identity: DeviceIdentity): AuthenticationResult | undefined;
  sessionOpened(connection: DeviceConnection, identity: DeviceIdentity): void;
  sessionClosed(connection: DeviceConnection, identity: DeviceIdentity): void;
  announceModelId(identity: DeviceIdentity, modelId: string): void;
  connectionClosed(connection: DeviceConnection): void;
  /** Answers one twin request; calls `applied` as soon as it read or staged the twin. */
  answerTwin(
    identity: DeviceIdentity,
    request: TwinRequest,
    applied: () => void,
  ): Promise<{
    response: TwinResponse;
    delayInMs: number | undefined;
  }>;
  deferAnswer(delayInMs: number | undefined, answer: () => void): void;
  touchActivity(identity: DeviceIdentity): void;
}

/** The per-identity state of a session on one connection. */
interface Session extends HeldDesired<DesiredNotification> {
  readonly identity: DeviceIdentity;
  /**
   * Settles once the identity's latest twin request was applied: its patch staged for the next
   * group commit, or its read done. A reported patch waits only for this, so a burst of patches
   * joins one commit, each staged on the one before, in the order sent.
   */
  applied: Promise<void>;
  /**
   * Settles once the identity's latest twin request was answered (committed or refused). A GET
   * waits for this, so it sees every patch sent before it; every answer waits for it, so
   * answers leave in the order the requests came.
   */
  answered: Promise<void>;
}

function describe(identity: DeviceIdentity): string {
  return identity.moduleId === undefined
    ? `device '${identity.deviceId}'`
    : `module '${identity.deviceId}/${identity.moduleId}'`;
}

function grantKey(grant: Grant): string {
  return grant.reach.kind === 'identity'
    ? `identity:${identityKey(grant.reach.identity)}`
    : `policy:${grant.reach.policyName}:${grant.reach.scope}`;
}

/** A connection of the session core. Made by `DeviceSessionCore.openConnection`. */
export class DeviceConnection {
  readonly hooks: DeviceConnectionHooks;
  readonly #owner: ConnectionOwner;
  readonly #grants = new Map<string, { grant: Grant; timer: ExpiryTimer | undefined }>();
  readonly #sessions = new Map<string, Session>();
  #inFlight = 0;
  #closed = false;

  /**
   * @param owner - the core
   * @param hooks - what the codec does on the core's decisions
   */
  constructor(owner: ConnectionOwner, hooks: DeviceConnectionHooks) {
    this.#owner = owner;
    this.hooks = hooks;
  }

  /** Whether the connection has ended (for the core, at least). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether any credential was accepted on this connection (still valid or not). */
  get authenticated(): boolean {
    return this.#grants.size > 0 || this.#sessions.size > 0;
  }

  /** The identities this connection acts as. */
  get identities(): DeviceIdentity[] {
    return [...this.#sessions.values()].map((session) => session.identity);
  }

  /**
   * Verifies a credential and, when it holds, keeps it as a grant of this connection until its
   * expiry (a renewal for the same reach replaces the old grant, docs/internals/wire-contract.md#token-lifetimes).
   *
   * @param credential - the token or certificate, and the claimed identity if any
   * @returns the grant, or why it was refused
   */
  async authenticate(credential: DeviceCredential): Promise<AuthenticationResult> {
    const result = await this.#owner.authenticate(credential);
    if (!result.ok || this.#closed) return result;
    this.#addGrant(result.grant);
    return result;
  }

  /**
   * Keeps a grant the core verified for this peer before the connection existed (AMQP SASL
   * PLAIN answers during the handshake; the connection adopts the grant at OPEN).
   *
   * @param grant - what `DeviceSessionCore.verify` returned
   */
  adoptGrant(grant: Grant): void {
    if (!this.#closed) this.#addGrant(grant);
  }

  #addGrant(grant: Grant): void {
    const key = grantKey(grant);
    this.#grants.get(key)?.timer?.cancel();
    const timer =
      grant.expiresAtMs === undefined
        ? undefined
        : scheduleExpiry(
            grant.expiresAtMs,
            () => this.#owner.now(),
            () => {
              if (this.#grants.get(key)?.grant !== grant) return;
              this.#grants.delete(key);
              this.endUncovered('expired', 'The SAS token has expired.');
            },
          );
    this.#grants.set(key, { grant, timer });
  }

  /**
   * Lets the connection act as an identity, when one of its live credentials reaches it and the
   * identity exists and is enabled. Opening an open session again is a no-op.
   *
   * @param identity - the device or module (ids case-sensitive)
   * @param announced - what the device announced with it: its Plug and Play model id
   *   (docs/internals/wire-contract.md#model-id), recorded each time it is given
   * @returns whether it may
   */
  openSession(
    identity: DeviceIdentity,
    announced: { modelId?: string | undefined } = {},
  ): SessionAuthorization {
    if (this.#closed)
      return { ok: false, reason: 'not-covered', message: 'The connection is closed.' };
    if (!this.#reaches(identity)) {
      return {
        ok: false,
        reason: 'not-covered',
        message: `No valid credential on this connection covers ${describe(identity)}.`,
      };
    }
    const unusable = this.#owner.checkUsable(identity);
    if (unusable !== undefined && !unusable.ok)
      return { ok: false, reason: unusable.reason, message: unusable.message };
    const key = identityKey(identity);
    if (!this.#sessions.has(key)) {
      this.#sessions.set(key, {
        identity,
        applied: Promise.resolve(),
        answered: Promise.resolve(),
        held: undefined,
      });
      this.#owner.sessionOpened(this, identity);
    }
    if (announced.modelId !== undefined) this.#owner.announceModelId(identity, announced.modelId);
    return { ok: true };
  }

  /**
   * Whether the connection acts as an identity.
   *
   * @param identity - the device or module
   */
  hasSession(identity: DeviceIdentity): boolean {
    return this.#sessions.has(identityKey(identity));
  }

  #reaches(identity: DeviceIdentity): boolean {
    const now = this.#owner.now();
    for (const { grant } of this.#grants.values())
      if (grantReaches(grant, this.#owner.hostName, identity, now)) return true;
    return false;
  }

  /**
   * Answers a twin request of one of the connection's identities: in order behind the
   * identity's earlier requests, under the faults armed for it, and refused with 429 while
   * the connection already has its maximum of requests in flight.
   *
   * @param identity - who asks
   * @param request - the request
   * @returns the response, or `undefined` when the connection or the hub closed meanwhile
   */
  twin(identity: DeviceIdentity, request: TwinRequest): Promise<TwinResponse | undefined> {
    const session = this.#sessions.get(identityKey(identity));
    const now = this.#owner.now();
    if (this.#closed) return Promise.resolve(undefined);
    if (session === undefined) {
      return Promise.resolve(
        twinErrorResponse(
          401,
          'IotHubUnauthorizedAccess',
          `This connection does not act as ${describe(identity)}.`,
          now,
        ),
      );
    }
    if (this.#inFlight >= this.#owner.maxInFlightTwinRequests) {
      return Promise.resolve(
        twinErrorResponse(
          429,
          'ThrottlingException',
          `Too many twin requests in flight on this connection (at most ${String(this.#owner.maxInFlightTwinRequests)}); wait for answers before sending more.`,
          now,
        ),
      );
    }
    this.#inFlight += 1;
    this.#owner.touchActivity(identity);
    const { applied: earlierApplied, answered: earlierAnswered } = session;
    let markApplied!: () => void;
    session.applied = new Promise((resolve) => (markApplied = resolve));
    const answer = this.#answerInOrder(identity, request, {
      start: request.kind === 'get' ? earlierAnswered : earlierApplied,
      earlierAnswered,
      markApplied,
    });
    session.answered = answer.decided;
    return answer.response;
  }

  /**
   * Answers one request once `order.start` settled, calling `order.markApplied` as soon as it
   * is applied, and hands its answer on only after the answers of the requests before it.
   * `decided` settles when the answer is known (before any delay a fault adds); `response`
   * resolves with the answer, or `undefined` when the connection closed or the request failed.
   */
  #answerInOrder(
    identity: DeviceIdentity,
    request: TwinRequest,
    order: { start: Promise<void>; earlierAnswered: Promise<void>; markApplied: () => void },
  ): { decided: Promise<void>; response: Promise<TwinResponse | undefined> } {
    let answer!: (response: TwinResponse | undefined) => void;
    const response = new Promise<TwinResponse | undefined>((resolve) => (answer = resolve));
    const decided = (async () => {
      try {
        await order.start;
        const { response: decision, delayInMs } = await this.#owner.answerTwin(
          identity,
          request,
          order.markApplied,
        );
        await order.earlierAnswered;
        this.#owner.deferAnswer(delayInMs, () => {
          answer(this.#closed ? undefined : decision);
        });
      } catch {
        answer(undefined);
      } finally {
        order.markApplied();
        this.#inFlight -= 1;
      }
    })();
    return { decided, response };
  }

  /**
   * Records activity of one of the connection's identities that is not a twin request (MQTT
   * telemetry or a method response): IoT Hub's `lastActivityTime`.
   *
   * @param identity - the device or module
   */
  recordActivity(identity: DeviceIdentity): void {
    if (this.#sessions.has(identityKey(identity))) this.#owner.touchActivity(identity);
  }

  /**
   * The held desired notification slot of a session (reorder fault).
   *
   * @param identity - the device or module
   */
  heldSlot(identity: DeviceIdentity): HeldDesired<DesiredNotification> | undefined {
    return this.#sessions.get(identityKey(identity));
  }

  /**
   * Ends the sessions no live grant reaches any more, telling the codec.
   *
   * @param reason - why
   * @param message - what to tell the peer
   */
  endUncovered(reason: SessionEndReason, message: string): void {
    for (const session of [...this.#sessions.values()]) {
      if (this.#reaches(session.identity)) continue;
      this.#closeSession(session);
      this.hooks.endSession(session.identity, reason, message);
    }
  }

  /**
   * Ends the sessions of an identity (a device also ends its modules'), whatever credential
   * opened them, and forgets the identity's own grants: the identity was deleted, disabled or
   * given new credentials.
   *
   * @param identity - the revoked identity
   * @returns whether a session ended
   */
  revoke(identity: DeviceIdentity): boolean {
    const matches = (candidate: DeviceIdentity): boolean =>
      candidate.deviceId === identity.deviceId &&
      (identity.moduleId === undefined || candidate.moduleId === identity.moduleId);
    for (const [key, { grant, timer }] of [...this.#grants]) {
      if (grant.reach.kind !== 'identity' || !matches(grant.reach.identity)) continue;
      timer?.cancel();
      this.#grants.delete(key);
    }
    let ended = false;
    for (const session of [...this.#sessions.values()]) {
      if (!matches(session.identity)) continue;
      ended = true;
      this.#closeSession(session);
      this.hooks.endSession(
        session.identity,
        'revoked',
        `The credentials of ${describe(session.identity)} were revoked.`,
      );
    }
    return ended;
  }

  /**
   * Forgets every grant that reaches an identity (a fault expiring its token early) and ends
   * what they covered.
   *
   * @param identity - the device or module
   * @param refuse - called with each forgotten token, so it is refused from then on
   * @returns whether a grant was forgotten
   */
  expireGrantsOf(identity: DeviceIdentity, refuse: (token: string) => void): boolean {
    const now = this.#owner.now();
    let expired = false;
    for (const [key, { grant, timer }] of [...this.#grants]) {
      if (!grantReaches(grant, this.#owner.hostName, identity, now)) continue;
      if (grant.token !== undefined) refuse(grant.token);
      timer?.cancel();
      this.#grants.delete(key);
      expired = true;
    }
    this.endUncovered('expired', 'The SAS token has expired.');
    return expired;
  }

  #closeSession(session: Session): void {
    session.held = undefined;
    if (!this.#sessions.delete(identityKey(session.identity))) return;
    this.#owner.sessionClosed(this, session.identity);
  }

  /** Ends the core's bookkeeping of the connection (the codec closes its transport). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { timer } of this.#grants.values()) timer?.cancel();
    this.#grants.clear();
    for (const session of [...this.#sessions.values()]) this.#closeSession(session);
    this.#owner.connectionClosed(this);
  }
}
