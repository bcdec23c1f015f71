/**
 * IoT Plug and Play writable properties (docs/internals/wire-contract.md#writable-property-acknowledgements):
 * a handler per property (root or component) whose outcome is reported as `{ value, ac, av, ad }`,
 * and a start-up pass after every connect that answers what changed while the device was away.
 * Built only on the client's public operations (onDesired, getTwin, updateReportedProperties),
 * so it works the same over every transport.
 */
import type { DeviceTwin, JsonObject, JsonValue } from '@twinkit/twin-model';
import {
  ACK_FIELD,
  COMPONENT_MARKER,
  KnownAckCode,
  isWritablePropertyAck,
} from '@twinkit/twin-model/protocol';
import type { DesiredChange } from '../desired/desired-router.js';
import type { Unsubscribe } from '../internal/emitter.js';

/** The property names of a component of `T` (any name for untyped twins). */
export type ComponentPropertyName<T, C extends string> = C extends keyof T
  ? NonNullable<T[C]> extends object
    ? keyof NonNullable<T[C]> & string
    : string
  : string;

/** The desired value type of a component property (`JsonValue` for untyped twins). */
export type ComponentPropertyValue<T, C extends string, N extends string> = C extends keyof T
  ? N extends keyof NonNullable<T[C]>
    ? NonNullable<NonNullable<T[C]>[N]>
    : NonNullable<JsonValue>
  : NonNullable<JsonValue>;

/** A writable property: a root property name, or a property of a component. */
export type WritablePropertyTarget = string | { component: string; name: string };

/** What a writable-property handler receives next to the desired value. */
export interface WritablePropertyContext<T> {
  /** The property name. */
  name: string;
  /** The component, for a component property. */
  component?: string;
  /** The desired `$version` being answered (reported as `av`). */
  version: number;
  /**
   * Reports `ac: 202` (accepted, still applying) at once; the handler's own outcome follows as
   * the final answer.
   *
   * @param progress - the value the device holds meanwhile (default: the desired value) and a description
   */
  reportInProgress(progress?: { value?: T; description?: string }): Promise<void>;
}

/**
 * Handles a writable property: return (or resolve) the value the device applied (`undefined`
 * means the desired value), or a {@link WritablePropertyResponse} to add a description. Throw a
 * {@link WritablePropertyValidationError} to refuse the value (400); any other throw is 500.
 */
export type WritablePropertyHandler<T> = (
  value: T,
  context: WritablePropertyContext<T>,
) => WritablePropertyResult<T> | Promise<WritablePropertyResult<T>>;

/** What a handler may return: the applied value, a response with a description, or nothing (the desired value). */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a handler that returns nothing acknowledges the desired value
export type WritablePropertyResult<T> = T | WritablePropertyResponse<T> | undefined | void;

/** A handler's answer with a description (`ad`). */
export class WritablePropertyResponse<T> {
  /**
   * @param value - the value the device applied
   * @param description - reported as `ad`
   */
  constructor(
    readonly value: T,
    readonly description?: string,
  ) {}
}

/** Thrown by a handler to refuse a desired value; reported as `ac: 400` with the message as `ad`. */
export class WritablePropertyValidationError extends Error {
  override readonly name = 'WritablePropertyValidationError';
}

/** What the responder needs from the client. */
export interface WritablePropertyHost {
  onDesired(path: string, handler: (change: DesiredChange) => Promise<void>): Unsubscribe;
  getTwin(): Promise<DeviceTwin>;
  /**
   * Queues a reported patch; `answered` is recorded with it (in the same state-store save), so a
   * restarted device neither answers a version twice nor forgets one.
   */
  updateReportedProperties(
    patch: JsonObject,
    answered?: { path: string; version: number },
  ): Promise<unknown>;
  /** The last desired `$version` answered for a property before a restart (state store). */
  acknowledgedVersion(path: string): number | undefined;
  /** Calls back after `open()` and after every reconnect. */
  onConnected(callback: () => void): Unsubscribe;
  isConnected(): boolean;
  reportError(error: unknown): void;
}

interface Registration {
  name: string;
  component: string | undefined;
  path: string;
  handler: WritablePropertyHandler<JsonValue>;
  /** The newest desired version answered (or being answered). */
  answered: number;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Answers writable properties for one client.
 *
 * @internal
 */
export class WritableProperties {
  readonly #host: WritablePropertyHost;
  readonly #registrations = new Map<string, Registration>();
  #hooked = false;

  constructor(host: WritablePropertyHost) {
    this.#host = host;
  }

  /**
   * Registers a handler (see `DeviceClient.onWritableProperty`).
   *
   * @param target - the property
   * @param handler - the handler
   * @returns removes it
   */
  register(
    target: WritablePropertyTarget,
    handler: WritablePropertyHandler<JsonValue>,
  ): Unsubscribe {
    const { name, component } =
      typeof target === 'string' ? { name: target, component: undefined } : target;
    for (const part of component === undefined ? [name] : [component, name]) {
      if (typeof part !== 'string' || !NAME.test(part))
        throw new TypeError(
          `A writable property or component name is a letter then up to 63 letters, digits or '_' (got ${JSON.stringify(part)})`,
        );
    }
    if (typeof handler !== 'function') throw new TypeError('onWritableProperty needs a handler');
    const path = component === undefined ? name : `${component}.${name}`;
    if (this.#registrations.has(path))
      throw new TypeError(`The writable property '${path}' already has a handler`);
    const registration: Registration = { name, component, path, handler, answered: 0 };
    this.#registrations.set(path, registration);
    const offDesired = this.#host.onDesired(path, async (change) => {
      if (change.value === null) return;
      await this.#answer(registration, change.value, change.version);
    });
    if (!this.#hooked) {
      this.#hooked = true;
      this.#host.onConnected(() => {
        this.#reconcileInBackground();
      });
    }
    // Registered on an open client: answer what is already waiting.
    if (this.#host.isConnected()) this.#reconcileInBackground();
    return () => {
      offDesired();
      this.#registrations.delete(path);
    };
  }

  #reconcileInBackground(): void {
    this.#reconcile().catch((error: unknown) => {
      this.#host.reportError(error);
    });
  }

  // After a connect: answer each property whose desired version is newer than its last answer,
  // so a change made while the device was offline (or before it first started) is applied once.
  async #reconcile(): Promise<void> {
    if (this.#registrations.size === 0) return;
    const twin = await this.#host.getTwin();
    const version = twin.desired.$version;
    for (const registration of this.#registrations.values()) {
      const value = valueAt(twin.desired, registration.path);
      if (value === undefined || value === null) continue;
      const ack = valueAt(twin.reported, registration.path);
      if (isWritablePropertyAck(ack)) {
        if (ack.av >= version) continue;
        registration.answered = Math.max(registration.answered, ack.av);
      }
      await this.#answer(registration, value, version);
    }
  }

  async #answer(registration: Registration, value: JsonValue, version: number): Promise<void> {
    // A version answered before a restart counts too (the state store keeps it).
    const stored = this.#host.acknowledgedVersion(registration.path) ?? 0;
    if (version <= Math.max(registration.answered, stored)) return;
    registration.answered = version;
    const context: WritablePropertyContext<JsonValue> = {
      name: registration.name,
      version,
      ...(registration.component === undefined ? {} : { component: registration.component }),
      reportInProgress: async (progress = {}) => {
        await this.#report(registration, {
          value: progress.value ?? value,
          status: KnownAckCode.inProgress,
          version,
          description: progress.description,
        });
      },
    };
    let outcome: Outcome;
    try {
      const result = await registration.handler(value, context);
      outcome =
        result instanceof WritablePropertyResponse
          ? {
              value: result.value,
              status: KnownAckCode.completed,
              version,
              description: result.description,
            }
          : {
              value: result ?? value,
              status: KnownAckCode.completed,
              version,
              description: undefined,
            };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome =
        error instanceof WritablePropertyValidationError
          ? { value, status: KnownAckCode.badRequest, version, description: message }
          : {
              value,
              status: KnownAckCode.internalError,
              version,
              description: `The device failed to apply it: ${message}`,
            };
    }
    await this.#report(registration, outcome);
  }

  async #report(registration: Registration, outcome: Outcome): Promise<void> {
    const ack: JsonObject = {
      [ACK_FIELD.value]: outcome.value,
      [ACK_FIELD.status]: outcome.status,
      [ACK_FIELD.version]: outcome.version,
    };
    // A merge patch keeps what it does not name: drop an earlier answer's description.
    ack[ACK_FIELD.description] = outcome.description ?? null;
    const patch: JsonObject =
      registration.component === undefined
        ? { [registration.name]: ack }
        : {
            [registration.component]: {
              [COMPONENT_MARKER.key]: COMPONENT_MARKER.value,
              [registration.name]: ack,
            },
          };
    const final = outcome.status !== KnownAckCode.inProgress;
    await this.#host.updateReportedProperties(
      patch,
      final ? { path: registration.path, version: outcome.version } : undefined,
    );
  }
}

interface Outcome {
  value: JsonValue;
  status: number;
  version: number;
  description: string | undefined;
}

function valueAt(document: JsonObject, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = document;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
}
