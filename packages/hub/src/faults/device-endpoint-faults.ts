/**
 * Fault injection for the device endpoints (MQTT and AMQP alike, docs/internals/architecture.md#testing): failed or
 * slow twin responses, duplicated or reordered desired notifications, dropped connections and
 * early token expiry. Both endpoints arm and use up faults through one
 * {@link DeviceEndpointFaultState}, so `hub.faults.mqtt` and `hub.faults.amqp` behave the same
 * and differ only in what "a connection" and "a token" are on their protocol.
 */
import { defaultHubErrorCode } from '@twinkit/twin-model/errors';
import { sameIdentity, type DeviceIdentity } from '../device-endpoint/endpoint-support.js';

/** The device twin operations whose responses can be faulted. */
export type DeviceTwinOperation = 'getTwin' | 'updateReported';

/**
 * The names the device twin operations have in `hub.faults.failNext({ operation })` /
 * `delayNext`, the same on every device endpoint.
 */
export const DEVICE_TWIN_FAULT_OPERATIONS: Readonly<Record<DeviceTwinOperation, string>> =
  Object.freeze({
    getTwin: 'deviceGetTwin',
    updateReported: 'deviceUpdateReported',
  });

/** Which identities a fault applies to. Without `deviceId`, every identity. */
export interface DeviceEndpointFaultTarget {
  /** Only this device (a module needs `moduleId` too). */
  deviceId?: string | undefined;
  /** Only this module of `deviceId`. */
  moduleId?: string | undefined;
}

/** Options for {@link DeviceEndpointFaults.failNextTwinResponses}. */
export interface FailTwinResponsesOptions extends DeviceEndpointFaultTarget {
  /** Only this operation; both when omitted. */
  operation?: DeviceTwinOperation | undefined;
  /**
   * The status to answer with, e.g. 429 or 503 (the MQTT response topic's status, the AMQP
   * `status` annotation). The operation is not applied.
   */
  statusCode: number;
  /** The hub error code name or number for the body; derived from the status when omitted. */
  code?: string | number | undefined;
  /** The `message` of the error body. */
  message?: string | undefined;
  /** How many responses to fail. Default 1. */
  times?: number | undefined;
}

/** Options for {@link DeviceEndpointFaults.delayNextTwinResponses}. */
export interface DelayTwinResponsesOptions extends DeviceEndpointFaultTarget {
  /** Only this operation; both when omitted. */
  operation?: DeviceTwinOperation | undefined;
  /** How long to hold each response back after the operation completed. */
  delayInMs: number;
  /** How many responses to delay. Default 1. */
  times?: number | undefined;
}

/** Options for {@link DeviceEndpointFaults.duplicateNextDesired}. */
export interface DuplicateDesiredOptions extends DeviceEndpointFaultTarget {
  /** How many notifications to send twice. Default 1. */
  times?: number | undefined;
}

/**
 * The faults of one device endpoint, surfaced as `hub.faults.mqtt` and `hub.faults.amqp`. Each
 * armed fault is used up by the operations it matches; `clear()` disarms everything.
 */
export interface DeviceEndpointFaults {
  /**
   * Answers the next matching twin requests with an error status (and a device error body with
   * a numeric `errorCode`, docs/internals/wire-contract.md#device-errors, docs/internals/wire-contract.md#amqp-twin-links) instead of performing them.
   *
   * @param options - status, optional code, message, operation, target and count
   * @throws {@link RangeError} when the status is not 400–599 or `times` is not a positive integer
   * @example
   * ```ts
   * hub.faults.amqp.failNextTwinResponses({ operation: 'getTwin', statusCode: 503 });
   * ```
   */
  failNextTwinResponses(options: FailTwinResponsesOptions): void;
  /**
   * Performs the next matching twin requests but holds their responses back.
   *
   * @param options - delay, operation, target and count
   * @throws {@link RangeError} when the delay is negative or `times` is not a positive integer
   */
  delayNextTwinResponses(options: DelayTwinResponsesOptions): void;
  /**
   * Sends the next matching desired notifications twice (the same message twice).
   *
   * @param options - target and count
   * @throws {@link RangeError} when `times` is not a positive integer
   */
  duplicateNextDesired(options?: DuplicateDesiredOptions): void;
  /**
   * Holds the next matching desired notification back and sends it right after the following
   * one on the same MQTT connection or AMQP twin link, so the device sees versions out of
   * order. A held notification is dropped when its connection or link ends, and sent when
   * {@link DeviceEndpointFaults.clear} is called.
   *
   * @param options - target
   */
  reorderNextDesired(options?: DeviceEndpointFaultTarget): void;
  /**
   * Drops an identity's connection now, as a network failure would: without an MQTT DISCONNECT
   * (a clean-session=0 session survives) or an AMQP CLOSE (every connection carrying the
   * identity's twin links goes).
   *
   * @param identity - the device or module
   * @returns whether a connection was dropped
   */
  dropConnection(identity: DeviceIdentity): boolean;
  /**
   * Makes an identity's current SAS token expire now, and refuses the same token from then on,
   * so the client must sign a new one. MQTT closes the connection; AMQP detaches the twin links
   * its CBS grants covered with `amqp:unauthorized-access`.
   *
   * @param identity - the device or module
   * @returns whether a live connection or grant was expired
   */
  expireToken(identity: DeviceIdentity): boolean;
  /** Disarms every fault and releases held notifications. */
  clear(): void;
}

/** What to do to one twin response. */
export interface TwinResponseFault {
  fail?: { statusCode: number; code?: string | number | undefined; message?: string | undefined };
  delayInMs?: number;
}

/** A hub-wide fault (`hub.faults.failNext`) a twin request is answered with instead. */
export interface InjectedTwinFailure {
  readonly statusCode: number;
  readonly code?: string | number | undefined;
  readonly message: string;
}

interface Armed<T> {
  target: DeviceEndpointFaultTarget;
  operation?: DeviceTwinOperation | undefined;
  remaining: number;
  value: T;
}

function checkTimes(times: number | undefined): number {
  const value = times ?? 1;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError('times must be a positive integer');
  return value;
}

function targets(target: DeviceEndpointFaultTarget, identity: DeviceIdentity): boolean {
  if (target.deviceId === undefined) return true;
  return sameIdentity({ deviceId: target.deviceId, moduleId: target.moduleId }, identity);
}

function take<T>(
  list: Armed<T>[],
  identity: DeviceIdentity,
  operation?: DeviceTwinOperation,
): T | undefined {
  const index = list.findIndex(
    (armed) =>
      targets(armed.target, identity) &&
      (armed.operation === undefined || armed.operation === operation),
  );
  const armed = list[index];
  if (armed === undefined) return undefined;
  armed.remaining -= 1;
  if (armed.remaining === 0) list.splice(index, 1);
  return armed.value;
}

function targetOf(options: DeviceEndpointFaultTarget | undefined): DeviceEndpointFaultTarget {
  return { deviceId: options?.deviceId, moduleId: options?.moduleId };
}

/**
 * The armed faults of one device endpoint and the bookkeeping that uses them up. The endpoint
 * owns one and consults it; connection faults are delegated back to the endpoint through
 * {@link createDeviceEndpointFaults}.
 *
 * @internal
 */
export class DeviceEndpointFaultState {
  #failures: Armed<NonNullable<TwinResponseFault['fail']>>[] = [];
  #delays: Armed<number>[] = [];
  #duplicates: Armed<true>[] = [];
  #reorders: Armed<true>[] = [];

  /**
   * Arms a failure.
   *
   * @param options - see {@link DeviceEndpointFaults.failNextTwinResponses}
   */
  armFailure(options: FailTwinResponsesOptions): void {
    if (
      !Number.isInteger(options.statusCode) ||
      options.statusCode < 400 ||
      options.statusCode > 599
    ) {
      throw new RangeError('statusCode must be an error status from 400 to 599');
    }
    this.#failures.push({
      target: targetOf(options),
      operation: options.operation,
      remaining: checkTimes(options.times),
      value: { statusCode: options.statusCode, code: options.code, message: options.message },
    });
  }

  /**
   * Arms a delay.
   *
   * @param options - see {@link DeviceEndpointFaults.delayNextTwinResponses}
   */
  armDelay(options: DelayTwinResponsesOptions): void {
    if (!Number.isFinite(options.delayInMs) || options.delayInMs < 0) {
      throw new RangeError('delayInMs must be a finite number of milliseconds, 0 or more');
    }
    this.#delays.push({
      target: targetOf(options),
      operation: options.operation,
      remaining: checkTimes(options.times),
      value: options.delayInMs,
    });
  }

  /**
   * Arms duplication of desired notifications.
   *
   * @param options - see {@link DeviceEndpointFaults.duplicateNextDesired}
   */
  armDuplicate(options?: DuplicateDesiredOptions): void {
    this.#duplicates.push({
      target: targetOf(options),
      remaining: checkTimes(options?.times),
      value: true,
    });
  }

  /**
   * Arms reordering of the next desired notification.
   *
   * @param options - the target
   */
  armReorder(options?: DeviceEndpointFaultTarget): void {
    this.#reorders.push({ target: targetOf(options), remaining: 1, value: true });
  }

  /**
   * Uses up the faults that apply to one twin response.
   *
   * @param operation - the request's operation
   * @param identity - who asked
   * @returns what to do; an empty object when nothing is armed
   */
  takeTwinResponseFault(
    operation: DeviceTwinOperation,
    identity: DeviceIdentity,
  ): TwinResponseFault {
    const fault: TwinResponseFault = {};
    const fail = take(this.#failures, identity, operation);
    if (fail !== undefined) fault.fail = fail;
    const delay = take(this.#delays, identity, operation);
    if (delay !== undefined) fault.delayInMs = delay;
    return fault;
  }

  /**
   * Uses up the faults that apply to one desired notification.
   *
   * @param identity - who is notified
   * @returns whether to send it twice and whether to hold it back
   */
  takeDesiredFault(identity: DeviceIdentity): { duplicate: boolean; hold: boolean } {
    return {
      duplicate: take(this.#duplicates, identity) !== undefined,
      hold: take(this.#reorders, identity) !== undefined,
    };
  }

  /** Disarms everything. */
  clear(): void {
    this.#failures = [];
    this.#delays = [];
    this.#duplicates = [];
    this.#reorders = [];
  }
}

/** The connection-level faults an endpoint implements itself. */
export interface DeviceEndpointConnectionFaults {
  /** See {@link DeviceEndpointFaults.dropConnection}. */
  dropConnection(identity: DeviceIdentity): boolean;
  /** See {@link DeviceEndpointFaults.expireToken}. */
  expireToken(identity: DeviceIdentity): boolean;
  /** Sends every desired notification a reorder fault still holds back. */
  releaseHeld(): void;
}

/**
 * Builds the `hub.faults.<protocol>` object of an endpoint: the armed faults go to `state`, the
 * connection faults to the endpoint.
 *
 * @param state - the endpoint's fault state
 * @param connections - what the endpoint does to its connections
 * @returns the faults to surface
 * @internal
 */
export function createDeviceEndpointFaults(
  state: DeviceEndpointFaultState,
  connections: DeviceEndpointConnectionFaults,
): DeviceEndpointFaults {
  return {
    failNextTwinResponses: (options) => {
      state.armFailure(options);
    },
    delayNextTwinResponses: (options) => {
      state.armDelay(options);
    },
    duplicateNextDesired: (options) => {
      state.armDuplicate(options);
    },
    reorderNextDesired: (options) => {
      state.armReorder(options);
    },
    dropConnection: (identity) => connections.dropConnection(identity),
    expireToken: (identity) => connections.expireToken(identity),
    clear: () => {
      state.clear();
      connections.releaseHeld();
    },
  };
}

/** How an endpoint answers one twin request: the protocol-specific parts of a response. */
export interface TwinResponder<R> {
  /** Hub-wide faults (`hub.faults.failNext` / `delayNext`): waits out a delay, returns a failure. */
  applyHubFault(): Promise<InjectedTwinFailure | undefined>;
  /** Performs the operation and builds its response. */
  perform(): Promise<R>;
  /** Builds an error response with a device error body. */
  error(statusCode: number, code: string | number, message: string): R;
}

/**
 * Answers a twin request under the faults armed for it, in the order every device endpoint
 * uses: the endpoint's own failure first, then a hub-wide failure, else the real operation.
 *
 * @param fault - what {@link DeviceEndpointFaultState.takeTwinResponseFault} returned
 * @param responder - the endpoint's protocol-specific steps
 * @returns the response to send (after `fault.delayInMs`, when set)
 * @internal
 */
export async function respondUnderFault<R>(
  fault: TwinResponseFault,
  responder: TwinResponder<R>,
): Promise<R> {
  if (fault.fail !== undefined) {
    const { statusCode, code, message } = fault.fail;
    return responder.error(
      statusCode,
      code ?? defaultHubErrorCode(statusCode),
      message ?? `Injected fault: ${String(statusCode)}`,
    );
  }
  const injected = await responder.applyHubFault();
  if (injected !== undefined) {
    return responder.error(
      injected.statusCode,
      injected.code ?? defaultHubErrorCode(injected.statusCode),
      injected.message,
    );
  }
  return responder.perform();
}

/** Where an endpoint keeps the one desired notification a reorder fault holds back. */
export interface HeldDesired<T> {
  held: T | undefined;
}

/**
 * Sends one desired notification under the faults armed for it: held back (reorder), sent twice
 * (duplicate), and followed by the notification held back before it.
 *
 * @param fault - what {@link DeviceEndpointFaultState.takeDesiredFault} returned
 * @param slot - the connection's or link's held notification
 * @param notification - the notification to send
 * @param send - sends one notification on that connection or link
 * @internal
 */
export function sendDesiredUnderFault<T>(
  fault: { duplicate: boolean; hold: boolean },
  slot: HeldDesired<T>,
  notification: T,
  send: (notification: T) => void,
): void {
  if (fault.hold) {
    slot.held = notification;
    return;
  }
  send(notification);
  if (fault.duplicate) send(notification);
  releaseHeldDesired(slot, send);
}

/**
 * Sends the notification a reorder fault held back, if any, and empties the slot.
 *
 * @param slot - the connection's or link's held notification
 * @param send - sends one notification on that connection or link
 * @internal
 */
export function releaseHeldDesired<T>(slot: HeldDesired<T>, send: (notification: T) => void): void {
  const held = slot.held;
  if (held === undefined) return;
  slot.held = undefined;
  send(held);
}
