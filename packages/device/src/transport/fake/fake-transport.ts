/**
 * An in-memory transport with a tiny simulated hub behind it, for testing device apps and the
 * DeviceClient without a network: scriptable responses, faults, held (unanswered) requests,
 * dropped connections and desired pushes, including duplicates, reorders and gaps. It follows
 * the same rules as the real transports (deadlines, aborts, `disconnected` only for an
 * established connection) and passes `describeTransportContract`.
 */
import { applyPatch } from '@twinkit/twin-model';
import type { DeviceTwin, JsonObject } from '@twinkit/twin-model';
import { TransportError, type HubError } from '@twinkit/twin-model/errors';
import { withDeadline } from '@twinkit/twin-model/internal';
import type {
  ConnectParams,
  DeviceTransport,
  OperationOptions,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportRequestOptions,
  UpdateReportedResult,
} from '../transport.js';

/** The operations a {@link FakeTransport} can script. */
export type FakeOperation =
  'connect' | 'getTwin' | 'patchReported' | 'setDesiredSubscription' | 'updateCredentials';

/** One call the client made, as recorded by a {@link FakeTransport}. */
export interface FakeCall {
  operation: FakeOperation | 'disconnect';
  /** The patch of a `patchReported` call, or the flag of a `setDesiredSubscription` call. */
  argument?: JsonObject | boolean;
}

/** Options of {@link createFakeTransport}. */
export interface FakeTransportOptions {
  /** Initial desired properties (version 1). */
  desired?: JsonObject;
  /** Initial reported properties (version 1). */
  reported?: JsonObject;
  /**
   * Decides whether a connection is accepted; return the error to refuse it with (for example
   * an `UnauthorizedError`). Accepts everything by default.
   */
  authorize?: (params: ConnectParams) => Error | undefined;
}

/** A request the test holds unanswered; see {@link FakeTransport.holdNext}. */
export interface HeldRequest {
  /** Resolves once the client has sent the held request. */
  readonly started: Promise<void>;
  /** Lets the request complete normally. */
  release(): void;
  /** Makes the request fail with `error`. */
  fail(error: Error): void;
}

interface Hold {
  started: () => void;
  gate: Promise<void>;
}

/**
 * The fake transport and its simulated hub.
 */
export class FakeTransport {
  /** Pass this as `{ transport }` to a DeviceClient. */
  readonly factory: TransportFactory;
  /** Every call the client made, in order. */
  readonly calls: FakeCall[] = [];
  /** The parameters of every accepted and refused connect, in order. */
  readonly connectParams: ConnectParams[] = [];

  #handlers: TransportHandlers | undefined;
  #context: TransportContext = { operationTimeoutInMs: 30_000 };
  readonly #authorize: (params: ConnectParams) => Error | undefined;
  #connected = false;
  #subscribed = false;
  #desired: JsonObject;
  #desiredVersion = 1;
  #reported: JsonObject;
  #reportedVersion = 1;
  readonly #faults = new Map<FakeOperation, Error[]>();
  readonly #holds = new Map<FakeOperation, Hold[]>();
  readonly #pending = new Set<(error: Error) => void>();

  constructor(options: FakeTransportOptions = {}) {
    this.#desired = options.desired ?? {};
    this.#reported = options.reported ?? {};
    this.#authorize = options.authorize ?? (() => undefined);
    this.factory = (handlers, context) => {
      this.#handlers = handlers;
      this.#context = context;
      return this.#transport();
    };
  }

  /** Whether a connection is established. */
  get isConnected(): boolean {
    return this.#connected;
  }

  /** Whether desired patches are subscribed on the current connection. */
  get isDesiredSubscribed(): boolean {
    return this.#connected && this.#subscribed;
  }

  /** How many connections were accepted. */
  get connectCount(): number {
    return this.calls.filter((call) => call.operation === 'connect').length - this.#refusedConnects;
  }
  #refusedConnects = 0;

  /** The hub's desired properties (without `$version`). */
  get desired(): JsonObject {
    return this.#desired;
  }

  /** The hub's desired `$version`. */
  get desiredVersion(): number {
    return this.#desiredVersion;
  }

  /** The hub's reported properties (without `$version`). */
  get reported(): JsonObject {
    return this.#reported;
  }

  /** The hub's reported `$version`. */
  get reportedVersion(): number {
    return this.#reportedVersion;
  }

  /** How many calls of one kind the client made. */
  count(operation: FakeCall['operation']): number {
    return this.calls.filter((call) => call.operation === operation).length;
  }

  /**
   * Makes the next `times` calls of `operation` fail with `error` (a connect failure counts as
   * a refused connection).
   *
   * @param operation - which call
   * @param error - e.g. `createHubError({ statusCode: 503 })` or a `TransportError`
   * @param times - how many calls, default 1
   */
  failNext(operation: FakeOperation, error: Error, times = 1): void {
    const list = this.#faults.get(operation) ?? [];
    for (let index = 0; index < times; index += 1) list.push(error);
    this.#faults.set(operation, list);
  }

  /**
   * Holds the next call of `operation` unanswered until the test releases or fails it; the
   * call still honours its deadline and abort signal.
   *
   * @param operation - which call
   * @returns controls for the held call
   */
  holdNext(operation: FakeOperation): HeldRequest {
    let started!: () => void;
    const startedPromise = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release!: () => void;
    let fail!: (error: Error) => void;
    const gate = new Promise<void>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
    gate.catch(() => undefined);
    const list = this.#holds.get(operation) ?? [];
    list.push({ started, gate });
    this.#holds.set(operation, list);
    return { started: startedPromise, release, fail };
  }

  /**
   * As the service: merges `patch` into the desired properties, bumps the version and pushes
   * the patch to the device if it is connected and subscribed (no backlog, like IoT Hub).
   *
   * @param patch - the desired merge patch
   * @returns the new desired `$version`
   */
  updateDesired(patch: JsonObject): number {
    this.#desired = applyPatch(this.#desired, patch);
    this.#desiredVersion += 1;
    if (this.isDesiredSubscribed)
      this.#handlers?.desiredPatch(structuredClone(patch), this.#desiredVersion);
    return this.#desiredVersion;
  }

  /**
   * Changes the desired properties without notifying the device, as if the notification was lost.
   *
   * @param patch - the desired merge patch
   * @returns the new desired `$version`
   */
  updateDesiredSilently(patch: JsonObject): number {
    this.#desired = applyPatch(this.#desired, patch);
    this.#desiredVersion += 1;
    return this.#desiredVersion;
  }

  /**
   * Pushes a raw notification (any version, any content) without changing hub state: for
   * duplicates, reorders and gaps. Delivered only while connected and subscribed.
   *
   * @param patch - the patch body (without `$version`)
   * @param version - the `$version` to announce
   */
  pushDesired(patch: JsonObject, version: number): void {
    if (this.isDesiredSubscribed) this.#handlers?.desiredPatch(structuredClone(patch), version);
  }

  /**
   * Drops the connection as a network failure would: pending calls fail with `TransportError`
   * and the client is told through `disconnected`.
   *
   * @param error - the reason, default a `TransportError`
   */
  dropConnection(
    error: TransportError | HubError = new TransportError('The fake connection dropped.'),
  ): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#subscribed = false;
    this.#failPending(error);
    this.#handlers?.disconnected(error);
  }

  #transport(): DeviceTransport {
    return {
      connect: (params, options) =>
        this.#run(
          'connect',
          options,
          () => {
            this.connectParams.push(params);
            const refusal = this.#authorize(params);
            if (refusal !== undefined) return Promise.reject(refusal);
            this.#connected = true;
            this.#subscribed = false;
            return Promise.resolve();
          },
          false,
        ),
      // The fake disconnects at once, so there is nothing to cancel.
      disconnect: (_options?: OperationOptions) => {
        this.calls.push({ operation: 'disconnect' });
        this.#connected = false;
        this.#subscribed = false;
        this.#failPending(new TransportError('The client disconnected before the hub answered.'));
        return Promise.resolve();
      },
      getTwin: (options) => {
        // The hub reads the twin when the request arrives; a patch published while the answer is
        // held is newer than the answer, as on a real hub.
        const snapshot: DeviceTwin = {
          desired: { ...structuredClone(this.#desired), $version: this.#desiredVersion },
          reported: { ...structuredClone(this.#reported), $version: this.#reportedVersion },
        };
        return this.#run('getTwin', options, () => Promise.resolve(snapshot));
      },
      patchReported: (patch, options) =>
        this.#run(
          'patchReported',
          options,
          (): Promise<UpdateReportedResult> => {
            this.#reported = applyPatch(this.#reported, patch);
            this.#reportedVersion += 1;
            return Promise.resolve({ version: this.#reportedVersion });
          },
          true,
          patch,
        ),
      setDesiredSubscription: (enabled, options) =>
        this.#run(
          'setDesiredSubscription',
          options,
          () => {
            this.#subscribed = enabled;
            return Promise.resolve();
          },
          true,
          enabled,
        ),
      updateCredentials: (params, options) =>
        this.#run('updateCredentials', options, () => {
          this.connectParams.push(params);
          const refusal = this.#authorize(params);
          if (refusal !== undefined) {
            this.#connected = false;
            this.#subscribed = false;
            return Promise.reject(refusal);
          }
          // clean=false: the subscription survives the new connection.
          return Promise.resolve();
        }),
    };
  }

  async #run<T>(
    operation: FakeOperation,
    options: TransportRequestOptions | undefined,
    work: () => Promise<T>,
    requireConnection = true,
    argument?: JsonObject | boolean,
  ): Promise<T> {
    this.calls.push(argument === undefined ? { operation } : { operation, argument });
    if (requireConnection && !this.#connected) {
      throw new TransportError(`${operation} failed: the transport is not connected.`);
    }
    const timeoutInMs = options?.timeoutInMs ?? this.#context.operationTimeoutInMs;
    try {
      return await withDeadline(operation, timeoutInMs, options?.abortSignal, async () => {
        const hold = this.#holds.get(operation)?.shift();
        if (hold !== undefined) {
          hold.started();
          await new Promise<void>((resolve, reject) => {
            const onDrop = (error: Error): void => {
              reject(error);
            };
            this.#pending.add(onDrop);
            hold.gate.then(
              () => {
                this.#pending.delete(onDrop);
                resolve();
              },
              (error: unknown) => {
                this.#pending.delete(onDrop);
                // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the test's error passes through unchanged
                reject(error);
              },
            );
          });
        }
        if (requireConnection && !this.#connected) {
          throw new TransportError(`${operation} failed: the connection dropped.`);
        }
        const fault = this.#faults.get(operation)?.shift();
        if (fault !== undefined) throw fault;
        return work();
      });
    } catch (error) {
      if (operation === 'connect') this.#refusedConnects += 1;
      throw error;
    }
  }

  #failPending(error: Error): void {
    for (const fail of [...this.#pending]) fail(error);
    this.#pending.clear();
  }
}

/**
 * Creates a fake transport with a simulated hub.
 *
 * @param options - initial twin state and connection policy
 * @returns the fake; pass `fake.factory` as `{ transport }`
 * @example
 * ```ts
 * const fake = createFakeTransport({ desired: { rate: 1 } });
 * const device = new DeviceClient(credential, { transport: fake.factory });
 * await device.open();
 * fake.updateDesired({ rate: 2 });
 * ```
 */
export function createFakeTransport(options: FakeTransportOptions = {}): FakeTransport {
  return new FakeTransport(options);
}
