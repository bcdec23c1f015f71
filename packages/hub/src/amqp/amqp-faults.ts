/**
 * Fault injection for the AMQP endpoint (house-style 4.10.3), the same shape as the MQTT
 * endpoint's faults: failed or slow twin responses, duplicated or reordered desired
 * notifications, dropped connections and early token expiry.
 */

/** A device, or a module of a device, as one AMQP twin identity. */
export interface AmqpIdentity {
  readonly deviceId: string;
  readonly moduleId?: string | undefined;
}

/** The device twin operations whose responses can be faulted. */
export type AmqpTwinOperation = 'getTwin' | 'updateReported';

/** Which identities a fault applies to. Without `deviceId`, every identity. */
export interface AmqpFaultTarget {
  /** Only this device (a module needs `moduleId` too). */
  deviceId?: string | undefined;
  /** Only this module of `deviceId`. */
  moduleId?: string | undefined;
}

/** Options for {@link AmqpFaults.failNextTwinResponses}. */
export interface AmqpFailTwinResponsesOptions extends AmqpFaultTarget {
  /** Only this operation; both when omitted. */
  operation?: AmqpTwinOperation | undefined;
  /** The `status` annotation to answer with, e.g. 429 or 503. The operation is not applied. */
  statusCode: number;
  /** The hub error code name or number for the body; derived from the status when omitted. */
  code?: string | number | undefined;
  /** The `message` of the error body. */
  message?: string | undefined;
  /** How many responses to fail. Default 1. */
  times?: number | undefined;
}

/** Options for {@link AmqpFaults.delayNextTwinResponses}. */
export interface AmqpDelayTwinResponsesOptions extends AmqpFaultTarget {
  /** Only this operation; both when omitted. */
  operation?: AmqpTwinOperation | undefined;
  /** How long to hold each response back after the operation completed. */
  delayInMs: number;
  /** How many responses to delay. Default 1. */
  times?: number | undefined;
}

/** Options for {@link AmqpFaults.duplicateNextDesired}. */
export interface AmqpDuplicateDesiredOptions extends AmqpFaultTarget {
  /** How many notifications to send twice. Default 1. */
  times?: number | undefined;
}

/**
 * AMQP faults, surfaced by the hub next to the MQTT ones. Each armed fault is used up by the
 * operations it matches; `clear()` disarms everything.
 */
export interface AmqpFaults {
  /**
   * Answers the next matching twin requests with an error `status` (and a device error body with
   * a numeric `errorCode`, protocol.md §5.4) instead of performing them.
   *
   * @param options - status, optional code, message, operation, target and count
   * @throws {@link RangeError} when the status is not 400–599 or `times` is not a positive integer
   * @example
   * ```ts
   * hub.faults.amqp.failNextTwinResponses({ operation: 'getTwin', statusCode: 503 });
   * ```
   */
  failNextTwinResponses(options: AmqpFailTwinResponsesOptions): void;
  /**
   * Performs the next matching twin requests but holds their responses back.
   *
   * @param options - delay, operation, target and count
   * @throws {@link RangeError} when the delay is negative or `times` is not a positive integer
   */
  delayNextTwinResponses(options: AmqpDelayTwinResponsesOptions): void;
  /**
   * Sends the next matching desired notifications twice (same body, same annotations).
   *
   * @param options - target and count
   * @throws {@link RangeError} when `times` is not a positive integer
   */
  duplicateNextDesired(options?: AmqpDuplicateDesiredOptions): void;
  /**
   * Holds the next matching desired notification back and sends it right after the following
   * one on the same link, so the device sees versions out of order. A held notification is
   * dropped when its link ends, and sent when {@link AmqpFaults.clear} is called.
   *
   * @param options - target
   */
  reorderNextDesired(options?: AmqpFaultTarget): void;
  /**
   * Drops every connection carrying an identity's twin links now, without an AMQP CLOSE, as a
   * network failure would.
   *
   * @param identity - the device or module
   * @returns whether a connection was dropped
   */
  dropConnection(identity: AmqpIdentity): boolean;
  /**
   * Makes the CBS tokens covering an identity expire now: its twin links are detached with
   * `amqp:unauthorized-access` and the same tokens are refused from then on, so the client must
   * put a new one.
   *
   * @param identity - the device or module
   * @returns whether a live grant was expired
   */
  expireToken(identity: AmqpIdentity): boolean;
  /** Disarms every fault and releases held notifications. */
  clear(): void;
}

/** What to do to one twin response. */
export interface AmqpTwinResponseFault {
  fail?: { statusCode: number; code?: string | number | undefined; message?: string | undefined };
  delayInMs?: number;
}

interface Armed<T> {
  target: AmqpFaultTarget;
  operation?: AmqpTwinOperation | undefined;
  remaining: number;
  value: T;
}

function checkTimes(times: number | undefined): number {
  const value = times ?? 1;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError('times must be a positive integer');
  return value;
}

function targets(target: AmqpFaultTarget, identity: AmqpIdentity): boolean {
  if (target.deviceId === undefined) return true;
  return target.deviceId === identity.deviceId && target.moduleId === identity.moduleId;
}

function take<T>(list: Armed<T>[], identity: AmqpIdentity, operation?: AmqpTwinOperation): T | undefined {
  const index = list.findIndex(
    (armed) => targets(armed.target, identity) && (armed.operation === undefined || armed.operation === operation),
  );
  const armed = list[index];
  if (armed === undefined) return undefined;
  armed.remaining -= 1;
  if (armed.remaining === 0) list.splice(index, 1);
  return armed.value;
}

function targetOf(options: AmqpFaultTarget | undefined): AmqpFaultTarget {
  return { deviceId: options?.deviceId, moduleId: options?.moduleId };
}

/**
 * The armed faults and the bookkeeping that uses them up. The endpoint owns one and consults it.
 *
 * @internal
 */
export class AmqpFaultState {
  #failures: Armed<NonNullable<AmqpTwinResponseFault['fail']>>[] = [];
  #delays: Armed<number>[] = [];
  #duplicates: Armed<true>[] = [];
  #reorders: Armed<true>[] = [];

  /**
   * Arms a failure.
   *
   * @param options - see {@link AmqpFaults.failNextTwinResponses}
   */
  armFailure(options: AmqpFailTwinResponsesOptions): void {
    if (!Number.isInteger(options.statusCode) || options.statusCode < 400 || options.statusCode > 599) {
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
   * @param options - see {@link AmqpFaults.delayNextTwinResponses}
   */
  armDelay(options: AmqpDelayTwinResponsesOptions): void {
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
   * @param options - see {@link AmqpFaults.duplicateNextDesired}
   */
  armDuplicate(options?: AmqpDuplicateDesiredOptions): void {
    this.#duplicates.push({ target: targetOf(options), remaining: checkTimes(options?.times), value: true });
  }

  /**
   * Arms reordering of the next desired notification.
   *
   * @param options - the target
   */
  armReorder(options?: AmqpFaultTarget): void {
    this.#reorders.push({ target: targetOf(options), remaining: 1, value: true });
  }

  /**
   * Uses up the faults that apply to one twin response.
   *
   * @param operation - the request's operation
   * @param identity - who asked
   * @returns what to do; an empty object when nothing is armed
   */
  takeTwinResponseFault(operation: AmqpTwinOperation, identity: AmqpIdentity): AmqpTwinResponseFault {
    const fault: AmqpTwinResponseFault = {};
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
  takeDesiredFault(identity: AmqpIdentity): { duplicate: boolean; hold: boolean } {
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
