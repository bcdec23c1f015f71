/**
 * Fault injection for the MQTT endpoint (house-style 4.10.3): failed or slow twin responses,
 * duplicated or reordered desired notifications, dropped connections and early token expiry.
 * Tests drive the unhappy paths of device SDKs with these instead of mocking the network.
 */
import type { MqttIdentity } from './mqtt-hub-core.js';

/** The device twin operations whose responses can be faulted. */
export type MqttTwinOperation = 'getTwin' | 'updateReported';

/** Which identities a fault applies to. Without `deviceId`, every identity. */
export interface MqttFaultTarget {
  /** Only this device (its own connection; a module needs `moduleId` too). */
  deviceId?: string | undefined;
  /** Only this module of `deviceId`. */
  moduleId?: string | undefined;
}

/** Options for {@link MqttFaults.failNextTwinResponses}. */
export interface FailTwinResponsesOptions extends MqttFaultTarget {
  /** Only this operation; both when omitted. */
  operation?: MqttTwinOperation | undefined;
  /** The status to answer with, e.g. 429 or 503. The operation is not applied. */
  statusCode: number;
  /** The hub error code name or number for the body; derived from the status when omitted. */
  code?: string | number | undefined;
  /** The `message` of the error body. */
  message?: string | undefined;
  /** How many responses to fail. Default 1. */
  times?: number | undefined;
}

/** Options for {@link MqttFaults.delayNextTwinResponses}. */
export interface DelayTwinResponsesOptions extends MqttFaultTarget {
  /** Only this operation; both when omitted. */
  operation?: MqttTwinOperation | undefined;
  /** How long to hold each response back after the operation completed. */
  delayInMs: number;
  /** How many responses to delay. Default 1. */
  times?: number | undefined;
}

/** Options for {@link MqttFaults.duplicateNextDesired}. */
export interface DuplicateDesiredOptions extends MqttFaultTarget {
  /** How many notifications to send twice. Default 1. */
  times?: number | undefined;
}

/**
 * MQTT faults, surfaced by the hub under `hub.faults`. Each armed fault is used up by the
 * operations it matches; `clear()` disarms everything.
 */
export interface MqttFaults {
  /**
   * Answers the next matching twin requests with an error status (and a device error body with
   * a numeric `errorCode`, protocol.md §4.8) instead of performing them.
   *
   * @param options - status, optional code, message, operation, target and count
   * @throws {@link RangeError} when the status is not 400–599 or `times` is not a positive integer
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
   * Sends the next matching desired notifications twice (same topic, same body).
   *
   * @param options - target and count
   * @throws {@link RangeError} when `times` is not a positive integer
   */
  duplicateNextDesired(options?: DuplicateDesiredOptions): void;
  /**
   * Holds the next matching desired notification back and sends it right after the following
   * one for the same identity, so the device sees versions out of order. A held notification is
   * dropped when its connection ends, and sent when {@link MqttFaults.clear} is called.
   *
   * @param options - target
   */
  reorderNextDesired(options?: MqttFaultTarget): void;
  /**
   * Drops an identity's connection now, without a DISCONNECT, as a network failure would. Its
   * clean-session=0 session survives.
   *
   * @param identity - the device or module
   * @returns whether it was connected
   */
  dropConnection(identity: MqttIdentity): boolean;
  /**
   * Makes an identity's current SAS token expire now: the connection is closed and the same
   * token is refused from then on, so the client must sign a new one.
   *
   * @param identity - the device or module
   * @returns whether it was connected
   */
  expireToken(identity: MqttIdentity): boolean;
  /** Disarms every fault and releases held notifications. */
  clear(): void;
}

/** What to do to one twin response. */
export interface TwinResponseFault {
  fail?: { statusCode: number; code?: string | number | undefined; message?: string | undefined };
  delayInMs?: number;
}

interface Armed<T> {
  target: MqttFaultTarget;
  operation?: MqttTwinOperation | undefined;
  remaining: number;
  value: T;
}

function checkTimes(times: number | undefined): number {
  const value = times ?? 1;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError('times must be a positive integer');
  return value;
}

function targets(target: MqttFaultTarget, identity: MqttIdentity): boolean {
  if (target.deviceId === undefined) return true;
  return target.deviceId === identity.deviceId && target.moduleId === identity.moduleId;
}

function take<T>(
  list: Armed<T>[],
  identity: MqttIdentity,
  operation?: MqttTwinOperation,
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

function targetOf(options: MqttFaultTarget | undefined): MqttFaultTarget {
  return { deviceId: options?.deviceId, moduleId: options?.moduleId };
}

/**
 * The armed faults and the bookkeeping that uses them up. The endpoint owns one and consults it;
 * connection faults are delegated back to the endpoint.
 *
 * @internal
 */
export class MqttFaultState {
  #failures: Armed<NonNullable<TwinResponseFault['fail']>>[] = [];
  #delays: Armed<number>[] = [];
  #duplicates: Armed<true>[] = [];
  #reorders: Armed<true>[] = [];

  /**
   * Arms a failure.
   *
   * @param options - see {@link MqttFaults.failNextTwinResponses}
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
   * @param options - see {@link MqttFaults.delayNextTwinResponses}
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
   * @param options - see {@link MqttFaults.duplicateNextDesired}
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
  armReorder(options?: MqttFaultTarget): void {
    this.#reorders.push({ target: targetOf(options), remaining: 1, value: true });
  }

  /**
   * Uses up the faults that apply to one twin response.
   *
   * @param operation - the request's operation
   * @param identity - who asked
   * @returns what to do; an empty object when nothing is armed
   */
  takeTwinResponseFault(operation: MqttTwinOperation, identity: MqttIdentity): TwinResponseFault {
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
  takeDesiredFault(identity: MqttIdentity): { duplicate: boolean; hold: boolean } {
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
