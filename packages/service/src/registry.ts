/**
 * The service-side client of an IoT Hub's twins and identities, over `fetch` only, so it runs in
 * Node, browsers and edge runtimes (house-style 4.3, 4.5, 4.7).
 */
import {
  createPagedIterator,
  type JsonObject,
  type JsonValue,
  type PagedAsyncIterableIterator,
  type Twin,
  type TwinUpdate,
} from '@twinkit/twin-model';
import {
  createHubError,
  isDeviceNotFoundError,
  isModuleNotFoundError,
  isPreconditionFailedError,
  lookupHubErrorCode,
  type HubError,
} from '@twinkit/twin-model/errors';
import {
  API_VERSION,
  BULK_PATH,
  HEADER,
  QUERY_PATH,
  devicePath,
  modulePath,
  modulesPath,
  parseServiceConnectionString,
  quoteEtag,
  splitHostPort,
  twinPath,
} from '@twinkit/twin-model/protocol';
import {
  SasKeyCredential,
  isNamedKeyCredential,
  isTokenCredential,
  type RegistryCredential,
} from './auth/credentials.js';
import { createPipeline, type SendRequest } from './http/pipeline.js';
import { authPolicy } from './http/policies/auth-policy.js';
import { logPolicy } from './http/policies/log-policy.js';
import { requestIdPolicy } from './http/policies/request-id-policy.js';
import { retryPolicy } from './http/policies/retry-policy.js';
import { userAgentPolicy } from './http/policies/user-agent-policy.js';
import { sendRest, type RestCall, type RestContext } from './http/send-request.js';
import {
  abortable,
  createLogger,
  createOperationScope,
  delay,
  resolveRetryOptions,
  type ResolvedRetryOptions,
} from '@twinkit/twin-model/internal';
import type {
  BulkTwinUpdate,
  BulkTwinUpdateItemResult,
  Device,
  DeviceDescription,
  Module,
  ModuleDescription,
  TwinId,
  UpdateTwinsResult,
} from './models.js';
import type {
  CreateIdentityOptions,
  GetIdentityOptions,
  GetTwinOptions,
  IdentityWriteOptions,
  ListDevicesOptions,
  OperationOptions,
  QueryNextOptions,
  QueryTwinsOptions,
  RegistryOptions,
  ReplaceTwinOptions,
  UpdateTwinOptions,
  UpdateTwinsOptions,
  UpdateTwinWithRetryOptions,
} from './options.js';
import { Query, type QueryPageResult } from './query.js';
import {
  assertId,
  buildTwinBody,
  describeTwin,
  ifMatchFor,
  resolveTwinTarget,
  type TwinTarget,
} from './twin-body.js';

/** The hub accepts at most this many entries per bulk request (protocol.md §6.8). */
export const MAX_BULK_ITEMS = 100;

const DEFAULT_OPERATION_TIMEOUT_IN_MS = 30_000;
const DEFAULT_RETRY: ResolvedRetryOptions = {
  maxRetries: 3,
  retryDelayInMs: 800,
  maxRetryDelayInMs: 60_000,
};
const DEFAULT_MAX_CONCURRENCY_ATTEMPTS = 10;
/** Base of the short, jittered pause between read-modify-write rounds after a 412. */
const CONFLICT_BACKOFF_IN_MS = 20;

const log = createLogger('twin:service:registry');

type D = JsonObject;

function nonNegative(
  value: number | undefined,
  name: string,
  fallback: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} of 0 or more`);
  }
  return value;
}

function validateHostName(hostName: unknown): string {
  if (typeof hostName !== 'string' || hostName.trim() === '') {
    throw new TypeError('hostName must be a non-empty string such as myhub.azure-devices.net');
  }
  if (hostName.includes('://') || hostName.includes('/') || /\s/.test(hostName)) {
    throw new TypeError(
      `hostName must be a bare host name such as myhub.azure-devices.net (optionally with :port), not '${hostName}'`,
    );
  }
  return splitHostPort(hostName).host;
}

function asArray(body: unknown, what: string): JsonValue[] {
  if (!Array.isArray(body)) {
    throw createHubError({
      statusCode: 502,
      code: 'ServerError',
      message: `the hub answered a ${what} with something other than a JSON array`,
    });
  }
  return body as JsonValue[];
}

interface BulkErrorEntry {
  deviceId?: string;
  moduleId?: string | null;
  errorCode?: string | number;
  errorStatus?: string;
}

interface BulkResponseBody {
  isSuccessful?: boolean;
  errors?: BulkErrorEntry[];
  warnings?: UpdateTwinsResult['warnings'];
}

function isBulkResponse(body: unknown): body is BulkResponseBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Array.isArray((body as BulkResponseBody).errors)
  );
}

/**
 * Reads and writes device twins, runs twin queries and manages device and module identities of
 * one IoT Hub, over its service REST API (protocol.md §6).
 *
 * Construction does no I/O. Every method takes a final options bag with `abortSignal`, retries
 * throttled and failed requests with backoff, and gives up after `operationTimeoutInMs`.
 *
 * @example
 * ```ts
 * import { Registry } from '@twinkit/service';
 *
 * const registry = Registry.fromConnectionString(process.env.IOTHUB_CONNECTION_STRING!);
 * const twin = await registry.getTwin('dev-1');
 * await registry.updateTwin(twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
 * for await (const t of registry.queryTwins("SELECT * FROM devices WHERE tags.site = 'lyon'")) {
 *   console.log(t.deviceId, t.properties.reported.firmware);
 * }
 * ```
 */
export class Registry {
  readonly #hostName: string;
  readonly #rest: RestContext;
  readonly #operationTimeoutInMs: number;
  readonly #retry: ResolvedRetryOptions;

  /**
   * Creates a registry for a hub host and a credential.
   *
   * @param hostName - the hub host, e.g. `myhub.azure-devices.net`; `host:port` for a local hub
   * @param credential - a shared access policy `{ name, key }` (or {@link SasKeyCredential},
   *   `AzureNamedKeyCredential`), or an Entra ID `TokenCredential` such as `DefaultAzureCredential`
   * @param options - transport, retries, timeout, user agent
   * @throws {@link TypeError} when the host name or credential is malformed, or no `fetch` exists
   * @throws {@link RangeError} when a port, timeout or retry setting is out of range
   * @example
   * ```ts
   * import { DefaultAzureCredential } from '@azure/identity';
   * const registry = new Registry('myhub.azure-devices.net', new DefaultAzureCredential());
   * ```
   */
  constructor(hostName: string, credential: RegistryCredential, options: RegistryOptions = {}) {
    const sasResource = validateHostName(hostName);
    if (!isTokenCredential(credential) && !isNamedKeyCredential(credential)) {
      throw new TypeError(
        'credential must be a TokenCredential (with getToken) or a named key { name, key } such as new SasKeyCredential(policyName, key)',
      );
    }
    if (typeof (options as unknown) !== 'object' || (options as unknown) === null)
      throw new TypeError('options must be an object');
    const fetchImpl =
      options.fetch ??
      (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
    if (typeof fetchImpl !== 'function') {
      throw new TypeError('No fetch is available in this runtime; pass options.fetch');
    }
    this.#retry = resolveRetryOptions(options.retryOptions, DEFAULT_RETRY);
    this.#operationTimeoutInMs = nonNegative(
      options.operationTimeoutInMs,
      'operationTimeoutInMs',
      DEFAULT_OPERATION_TIMEOUT_IN_MS,
    );
    const tokenLifetimeInSeconds = nonNegative(
      options.sasTokenLifetimeInSeconds,
      'sasTokenLifetimeInSeconds',
      3600,
      true,
    );
    if (tokenLifetimeInSeconds < 60)
      throw new RangeError('sasTokenLifetimeInSeconds must be at least 60');
    if (options.userAgentPrefix !== undefined && typeof options.userAgentPrefix !== 'string') {
      throw new TypeError('userAgentPrefix must be a string');
    }
    const apiVersion = options.apiVersion ?? API_VERSION;
    if (typeof apiVersion !== 'string' || apiVersion === '')
      throw new TypeError('apiVersion must be a non-empty string');
    this.#hostName = hostName;
    // Order matters: one request id and user agent per operation, then retries, and inside each
    // attempt a current Authorization and a log line (house-style 4.7).
    const send: SendRequest = createPipeline(
      [
        userAgentPolicy(options.userAgentPrefix),
        requestIdPolicy(),
        retryPolicy(this.#retry),
        authPolicy(credential, sasResource, { tokenLifetimeInSeconds }),
        logPolicy(),
      ],
      fetchImpl,
    );
    this.#rest = { send, baseUrl: `https://${hostName}`, apiVersion };
  }

  /**
   * Creates a registry from a service connection string
   * (`HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`, protocol.md §2.2).
   *
   * @param connectionString - the hub's shared access policy connection string
   * @param options - transport, retries, timeout, user agent
   * @returns a registry signing with that policy's key
   * @throws {@link TypeError} when the connection string is malformed (the message never repeats the key)
   * @example
   * ```ts
   * const registry = Registry.fromConnectionString(process.env.IOTHUB_CONNECTION_STRING!);
   * ```
   */
  static fromConnectionString(connectionString: string, options?: RegistryOptions): Registry {
    const parts = parseServiceConnectionString(connectionString);
    return new Registry(
      parts.hostName,
      new SasKeyCredential(parts.sharedAccessKeyName, parts.sharedAccessKey),
      options,
    );
  }

  /** The hub host (with `:port` when one was given), as passed to the constructor. */
  get hostName(): string {
    return this.#hostName;
  }

  // ---------------------------------------------------------------- twins

  /**
   * Reads a device twin.
   *
   * @param deviceId - the device
   * @param options - abort signal
   * @returns the twin with its `etag`, `version`, tags and properties
   * @throws {@link DeviceNotFoundError} when the device does not exist
   * @example
   * ```ts
   * const twin = await registry.getTwin<{ rate: number }>('dev-1');
   * twin.properties.desired.rate; // number
   * ```
   */
  getTwin<TDesired extends object = D, TReported extends object = D, TTags extends object = D>(
    deviceId: string,
    options?: GetTwinOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.#run('getTwin', options, async (signal) => {
      assertId(deviceId, 'deviceId');
      return this.#readTwin<TDesired, TReported, TTags>(
        { deviceId, moduleId: undefined, etag: undefined },
        signal,
      );
    });
  }

  /**
   * Reads a module twin.
   *
   * @param deviceId - the device
   * @param moduleId - the module
   * @param options - abort signal
   * @returns the module twin
   * @throws {@link ModuleNotFoundError} when the module does not exist
   * @throws {@link DeviceNotFoundError} when the device does not exist
   */
  getModuleTwin<
    TDesired extends object = D,
    TReported extends object = D,
    TTags extends object = D,
  >(
    deviceId: string,
    moduleId: string,
    options?: GetTwinOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.#run('getModuleTwin', options, async (signal) => {
      assertId(deviceId, 'deviceId');
      assertId(moduleId, 'moduleId');
      return this.#readTwin<TDesired, TReported, TTags>(
        { deviceId, moduleId, etag: undefined },
        signal,
      );
    });
  }

  /**
   * Merges a patch into a twin's tags and desired properties (`PATCH`, twin-semantics §2.3):
   * objects merge, `null` deletes a key, anything else replaces. Pass a twin you read (or
   * `{ deviceId, moduleId }`) to update a module twin.
   *
   * @param twin - a device id, or a twin/reference (its `etag` serves `onlyIfUnchanged`)
   * @param patch - `{ tags?, properties?: { desired? } }`
   * @param options - `onlyIfUnchanged` or `etag` for optimistic concurrency, abort signal
   * @returns the whole updated twin, with its new `etag`
   * @throws {@link TwinValidationError} when the patch breaks a twin rule; nothing is sent
   * @throws {@link PreconditionFailedError} when the ETag is stale; nothing changes
   * @throws {@link DeviceNotFoundError} when the device does not exist
   * @example
   * ```ts
   * const twin = await registry.getTwin('dev-1');
   * await registry.updateTwin(twin, { tags: { site: 'lyon' } }, { onlyIfUnchanged: true });
   * ```
   */
  updateTwin<TDesired extends object = D, TReported extends object = D, TTags extends object = D>(
    twin: TwinId | Twin<TDesired, TReported, TTags>,
    patch: TwinUpdate<NoInfer<TDesired>, NoInfer<TTags>>,
    options?: UpdateTwinOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.#run('updateTwin', options, async (signal) => {
      const target = resolveTwinTarget(twin);
      return this.#writeTwin<TDesired, TReported, TTags>(
        'PATCH',
        target,
        patch,
        ifMatchFor(target, options, 'twin'),
        signal,
      );
    });
  }

  /**
   * Merges a patch into a module twin; see {@link Registry.updateTwin}.
   *
   * @param deviceId - the device
   * @param moduleId - the module
   * @param patch - `{ tags?, properties?: { desired? } }`
   * @param options - `etag` for optimistic concurrency, abort signal
   * @returns the updated module twin
   * @throws {@link TwinValidationError} when the patch breaks a twin rule; nothing is sent
   * @throws {@link PreconditionFailedError} when the ETag is stale
   * @throws {@link DeviceNotFoundError} when the module does not exist
   */
  updateModuleTwin<
    TDesired extends object = D,
    TReported extends object = D,
    TTags extends object = D,
  >(
    deviceId: string,
    moduleId: string,
    patch: TwinUpdate<TDesired, TTags>,
    options?: UpdateTwinOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.updateTwin<TDesired, TReported, TTags>({ deviceId, moduleId }, patch, options);
  }

  /**
   * Replaces a twin's tags and desired properties wholesale (`PUT`, twin-semantics §2.4).
   * A section you omit is replaced by `{}`; reported properties are never touched.
   *
   * @param twin - a device id, or a twin/reference (its `etag` serves `onlyIfUnchanged`)
   * @param replacement - the new `{ tags, properties: { desired } }` (no `null` values)
   * @param options - `onlyIfUnchanged` or `etag`, abort signal
   * @returns the whole updated twin
   * @throws {@link TwinValidationError} when the content breaks a twin rule; nothing is sent
   * @throws {@link PreconditionFailedError} when the ETag is stale
   * @throws {@link DeviceNotFoundError} when the device does not exist
   */
  replaceTwin<TDesired extends object = D, TReported extends object = D, TTags extends object = D>(
    twin: TwinId | Twin<TDesired, TReported, TTags>,
    replacement: TwinUpdate<NoInfer<TDesired>, NoInfer<TTags>>,
    options?: ReplaceTwinOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.#run('replaceTwin', options, async (signal) => {
      const target = resolveTwinTarget(twin);
      return this.#writeTwin<TDesired, TReported, TTags>(
        'PUT',
        target,
        replacement,
        ifMatchFor(target, options, 'twin'),
        signal,
      );
    });
  }

  /**
   * Replaces a module twin's tags and desired properties; see {@link Registry.replaceTwin}.
   *
   * @param deviceId - the device
   * @param moduleId - the module
   * @param replacement - the new `{ tags, properties: { desired } }`
   * @param options - `etag`, abort signal
   * @returns the updated module twin
   * @throws {@link TwinValidationError} when the content breaks a twin rule
   * @throws {@link PreconditionFailedError} when the ETag is stale
   * @throws {@link DeviceNotFoundError} when the module does not exist
   */
  replaceModuleTwin<
    TDesired extends object = D,
    TReported extends object = D,
    TTags extends object = D,
  >(
    deviceId: string,
    moduleId: string,
    replacement: TwinUpdate<TDesired, TTags>,
    options?: ReplaceTwinOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.replaceTwin<TDesired, TReported, TTags>(
      { deviceId, moduleId },
      replacement,
      options,
    );
  }

  /**
   * Read-modify-write with optimistic concurrency: reads the twin, asks `compute` for a patch,
   * and writes it with the ETag it read. When another writer got there first (412), it reads
   * again and calls `compute` again, up to `maxAttempts` rounds.
   *
   * @param twin - a device id, or `{ deviceId, moduleId }`
   * @param compute - gets the current twin, returns a patch, or `undefined` to write nothing
   * @param options - `maxAttempts` (default 10), abort signal
   * @returns the twin after the write (or as read, when `compute` returned `undefined`)
   * @throws {@link PreconditionFailedError} when every attempt lost the race
   * @throws {@link TwinValidationError} when a computed patch breaks a twin rule
   * @example
   * ```ts
   * await registry.updateTwinWithRetry('dev-1', (twin) => ({
   *   properties: { desired: { counter: Number(twin.properties.desired.counter ?? 0) + 1 } },
   * }));
   * ```
   */
  updateTwinWithRetry<
    TDesired extends object = D,
    TReported extends object = D,
    TTags extends object = D,
  >(
    twin: TwinId,
    compute: (
      current: Twin<TDesired, TReported, TTags>,
    ) => TwinUpdate<TDesired, TTags> | undefined | Promise<TwinUpdate<TDesired, TTags> | undefined>,
    options?: UpdateTwinWithRetryOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    return this.#run('updateTwinWithRetry', options, async (signal) => {
      const target = resolveTwinTarget(twin);
      if (typeof compute !== 'function')
        throw new TypeError('compute must be a function from the current twin to a patch');
      const maxAttempts = nonNegative(
        options?.maxAttempts,
        'maxAttempts',
        DEFAULT_MAX_CONCURRENCY_ATTEMPTS,
        true,
      );
      if (maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
      for (let attempt = 1; ; attempt++) {
        const current = await this.#readTwin<TDesired, TReported, TTags>(target, signal);
        const patch = await abortable(Promise.resolve(compute(current)), signal);
        if (patch === undefined) return current;
        try {
          return await this.#writeTwin<TDesired, TReported, TTags>(
            'PATCH',
            target,
            patch,
            quoteEtag(current.etag),
            signal,
          );
        } catch (error) {
          if (!isPreconditionFailedError(error) || attempt >= maxAttempts) throw error;
          log.info(
            `updateTwinWithRetry: ${describeTwin(target)} changed concurrently, attempt ${attempt + 1}/${maxAttempts}`,
          );
          // Jitter spreads competing writers apart so they stop colliding.
          await delay(Math.round(Math.random() * CONFLICT_BACKOFF_IN_MS * attempt), signal);
        }
      }
    });
  }

  async #readTwin<TDesired extends object, TReported extends object, TTags extends object>(
    target: TwinTarget,
    signal: AbortSignal | undefined,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    const result = await sendRest(
      this.#rest,
      {
        method: 'GET',
        path: twinPath(target.deviceId, target.moduleId),
        operation: target.moduleId === undefined ? 'getTwin' : 'getModuleTwin',
        description: 'Twin read',
        deviceId: target.deviceId,
        moduleId: target.moduleId,
      },
      signal,
    );
    return result.body as Twin<TDesired, TReported, TTags>;
  }

  async #writeTwin<TDesired extends object, TReported extends object, TTags extends object>(
    method: 'PATCH' | 'PUT',
    target: TwinTarget,
    update: unknown,
    ifMatch: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    const description = method === 'PATCH' ? 'Twin update' : 'Twin replace';
    const body = buildTwinBody(
      update,
      method === 'PATCH' ? 'patch' : 'replace',
      `${description} for ${describeTwin(target)}`,
    );
    const call: RestCall = {
      method,
      path: twinPath(target.deviceId, target.moduleId),
      body,
      operation: method === 'PATCH' ? 'updateTwin' : 'replaceTwin',
      description,
      deviceId: target.deviceId,
      moduleId: target.moduleId,
    };
    if (ifMatch !== undefined) call.headers = { [HEADER.ifMatch]: ifMatch };
    const result = await sendRest(this.#rest, call, signal);
    return result.body as Twin<TDesired, TReported, TTags>;
  }

  // ---------------------------------------------------------------- bulk

  /**
   * Updates many twins with as few requests as possible: items go to the bulk endpoint
   * (`POST /devices`, `importMode` `updateTwin` or `updateTwinIfMatchETag`, protocol.md §6.8) in
   * chunks of 100. Every item is validated before the first request, so bad input sends nothing.
   * A chunk the hub rejects as a whole marks each of its items failed with that error.
   *
   * @param updates - one `{ deviceId, moduleId?, etag?, tags?, properties?: { desired? } }` per twin,
   *   each twin at most once
   * @param options - `onlyIfUnchanged` (each item's `etag` becomes its condition), abort signal
   * @returns per-item outcomes in input order, and the hub's warnings
   * @throws {@link TwinValidationError} when an item's patch breaks a twin rule; nothing is sent
   * @throws {@link TypeError} when an item is malformed, repeated, or lacks an `etag` under `onlyIfUnchanged`
   * @example
   * ```ts
   * const { results } = await registry.updateTwins(
   *   ids.map((deviceId) => ({ deviceId, properties: { desired: { rate: 5 } } })),
   * );
   * const failed = results.filter((r) => !r.succeeded);
   * ```
   */
  updateTwins<TDesired extends object = D, TTags extends object = D>(
    updates: readonly BulkTwinUpdate<TDesired, TTags>[],
    options?: UpdateTwinsOptions,
  ): Promise<UpdateTwinsResult> {
    return this.#run('updateTwins', options, async (signal) => {
      if (!Array.isArray(updates))
        throw new TypeError('updates must be an array of { deviceId, tags?, properties? }');
      const onlyIfUnchanged = options?.onlyIfUnchanged === true;
      const seen = new Set<string>();
      const entries = updates.map((update, index) => {
        const target = resolveTwinTarget(update as BulkTwinUpdate);
        const key = `${target.deviceId}\u0000${target.moduleId ?? ''}`;
        if (seen.has(key)) {
          throw new TypeError(
            `updates[${index}] repeats ${describeTwin(target)}; merge its patches into one item`,
          );
        }
        seen.add(key);
        const body = buildTwinBody(
          update,
          'patch',
          `Bulk twin update of ${describeTwin(target)} (item ${index})`,
        );
        if (onlyIfUnchanged && target.etag === undefined) {
          throw new TypeError(
            `updates[${index}] (${describeTwin(target)}) needs an etag because onlyIfUnchanged is set`,
          );
        }
        const entry: JsonObject = {
          id: target.deviceId,
          importMode: onlyIfUnchanged ? 'updateTwinIfMatchETag' : 'updateTwin',
          ...body,
        };
        if (target.moduleId !== undefined) entry.moduleId = target.moduleId;
        if (onlyIfUnchanged && target.etag !== undefined) entry.twinETag = target.etag;
        return { target, entry };
      });
      const results: BulkTwinUpdateItemResult[] = [];
      const warnings: UpdateTwinsResult['warnings'] = [];
      for (let start = 0; start < entries.length; start += MAX_BULK_ITEMS) {
        const chunk = entries.slice(start, start + MAX_BULK_ITEMS);
        let failures = new Map<string, HubError>();
        let chunkError: HubError | undefined;
        try {
          const outcome = await this.#sendBulkChunk(
            chunk.map((item) => item.entry),
            signal,
          );
          failures = outcome.failures;
          warnings.push(...outcome.warnings);
        } catch (error) {
          signal?.throwIfAborted();
          if (!(error instanceof Error) || !('statusCode' in error)) throw error;
          chunkError = error as HubError;
        }
        for (const { target } of chunk) {
          const failure =
            chunkError ?? failures.get(`${target.deviceId}\u0000${target.moduleId ?? ''}`);
          const result: BulkTwinUpdateItemResult = {
            deviceId: target.deviceId,
            succeeded: failure === undefined,
          };
          if (target.moduleId !== undefined) result.moduleId = target.moduleId;
          if (failure !== undefined) result.error = failure;
          results.push(result);
        }
      }
      return { isSuccessful: results.every((r) => r.succeeded), results, warnings };
    });
  }

  async #sendBulkChunk(
    entries: JsonObject[],
    signal: AbortSignal | undefined,
  ): Promise<{ failures: Map<string, HubError>; warnings: UpdateTwinsResult['warnings'] }> {
    const result = await sendRest(
      this.#rest,
      {
        method: 'POST',
        path: BULK_PATH,
        body: entries,
        operation: 'updateTwins',
        description: 'Bulk twin update',
        acceptErrorBody: isBulkResponse,
      },
      signal,
    );
    const body: BulkResponseBody = isBulkResponse(result.body)
      ? result.body
      : { isSuccessful: true, errors: [], warnings: [] };
    const failures = new Map<string, HubError>();
    for (const item of body.errors ?? []) {
      const deviceId = typeof item.deviceId === 'string' ? item.deviceId : '';
      const moduleId =
        typeof item.moduleId === 'string' && item.moduleId !== '' ? item.moduleId : undefined;
      const info = item.errorCode === undefined ? undefined : lookupHubErrorCode(item.errorCode);
      failures.set(
        `${deviceId}\u0000${moduleId ?? ''}`,
        createHubError({
          statusCode: info?.statusCode ?? 400,
          code: item.errorCode,
          message: item.errorStatus,
          requestId: result.headers.get(HEADER.requestId) ?? undefined,
          deviceId,
          moduleId,
          operation: 'Bulk twin update',
        }),
      );
    }
    return { failures, warnings: Array.isArray(body.warnings) ? body.warnings : [] };
  }

  // ---------------------------------------------------------------- queries

  /**
   * Runs a twin query and iterates over the results: `for await` gives twins one by one,
   * `.byPage({ maxPageSize, continuationToken })` gives pages, each with the `continuationToken`
   * that resumes after it, even from another process or a new registry (protocol.md §6.6).
   *
   * @param query - IoT Hub query language, e.g. `SELECT * FROM devices WHERE tags.site = 'lyon'`
   * @param options - page size, abort signal (for the whole iteration)
   * @returns an async iterator of twins with a `byPage()` method
   * @throws {@link BadRequestError} (when iterated) when the hub rejects the query text
   * @example
   * ```ts
   * for await (const page of registry.queryTwins('SELECT * FROM devices').byPage({ maxPageSize: 100 })) {
   *   save(page.continuationToken); // resume later with .byPage({ continuationToken })
   * }
   * ```
   */
  queryTwins<TDesired extends object = D, TReported extends object = D, TTags extends object = D>(
    query: string,
    options: QueryTwinsOptions = {},
  ): PagedAsyncIterableIterator<Twin<TDesired, TReported, TTags>> {
    if (typeof query !== 'string' || query.trim() === '')
      throw new TypeError('query must be a non-empty string');
    const defaultPageSize = this.#pageSize(options.pageSize);
    const abortSignal = options.abortSignal;
    const pagingDefaults: { maxPageSize?: number } = {};
    if (defaultPageSize !== undefined) pagingDefaults.maxPageSize = defaultPageSize;
    return createPagedIterator<Twin<TDesired, TReported, TTags>>(async (settings) => {
      const pageSize = this.#pageSize(settings.maxPageSize) ?? defaultPageSize;
      const page = await this.#queryPage(query, settings.continuationToken, pageSize, {
        abortSignal,
      });
      const result: { items: Twin<TDesired, TReported, TTags>[]; continuationToken?: string } = {
        items: page.items as unknown as Twin<TDesired, TReported, TTags>[],
      };
      if (page.continuationToken !== undefined) result.continuationToken = page.continuationToken;
      return result;
    }, pagingDefaults);
  }

  /**
   * Creates a query read page by page, like the official SDK's `createQuery`. Use it for
   * projections and aggregates (`next()`), or when you want explicit page calls (`nextAsTwin()`).
   *
   * @param query - IoT Hub query language
   * @param pageSize - items per page (at most 100)
   * @param options - `continuationToken` to resume a query saved earlier
   * @returns a {@link Query}
   * @throws {@link TypeError} when the query is empty
   * @throws {@link RangeError} when the page size is not a positive integer
   * @example
   * ```ts
   * const query = registry.createQuery('SELECT deviceId, properties.reported.fw FROM devices', 50);
   * while (query.hasMoreResults) console.log(await query.next());
   * ```
   */
  createQuery(
    query: string,
    pageSize?: number,
    options: { continuationToken?: string } = {},
  ): Query {
    if (typeof query !== 'string' || query.trim() === '')
      throw new TypeError('query must be a non-empty string');
    const size = this.#pageSize(pageSize);
    return new Query(
      (token, nextOptions) => this.#queryPage(query, token, size, nextOptions),
      options.continuationToken,
    );
  }

  #pageSize(pageSize: number | undefined): number | undefined {
    if (pageSize === undefined) return undefined;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1) {
      throw new RangeError('pageSize must be a positive integer (the hub allows at most 100)');
    }
    return pageSize;
  }

  #queryPage(
    query: string,
    continuationToken: string | undefined,
    pageSize: number | undefined,
    options: QueryNextOptions | undefined,
  ): Promise<QueryPageResult> {
    return this.#run('queryTwins', options, async (signal) => {
      const headers: Record<string, string> = {};
      if (pageSize !== undefined) headers[HEADER.maxItemCount] = String(pageSize);
      if (continuationToken !== undefined) headers[HEADER.continuation] = continuationToken;
      const result = await sendRest(
        this.#rest,
        {
          method: 'POST',
          path: QUERY_PATH,
          body: { query },
          headers,
          operation: 'queryTwins',
          description: 'Twin query',
        },
        signal,
      );
      const page: QueryPageResult = { items: asArray(result.body, 'query') };
      // An empty token would restart the query at page 1; only a non-empty one means "more" (§6.6).
      const next = result.headers.get(HEADER.continuation);
      if (next !== null && next !== '') page.continuationToken = next;
      const itemType = result.headers.get(HEADER.itemType);
      if (itemType !== null && itemType !== '') page.itemType = itemType;
      return page;
    });
  }

  // ---------------------------------------------------------------- identities

  /**
   * Creates a device identity. Keys you leave empty are generated by the hub.
   *
   * @param device - a device id, or `{ deviceId, status?, authentication?, capabilities? }`
   * @param options - abort signal
   * @returns the device, with its keys
   * @throws {@link ConflictError} when the device already exists
   * @example
   * ```ts
   * const device = await registry.createDevice('dev-1');
   * const cs = createDeviceConnectionString(device, registry.hostName);
   * ```
   */
  createDevice(
    device: string | DeviceDescription,
    options?: CreateIdentityOptions,
  ): Promise<Device> {
    return this.#run('createDevice', options, async (signal) => {
      const description: DeviceDescription =
        typeof device === 'string' ? { deviceId: device } : device;
      assertId(description.deviceId, 'deviceId');
      const body = {
        ...description,
        authentication: withDefaultAuthentication(description.authentication),
      };
      const result = await sendRest(
        this.#rest,
        {
          method: 'PUT',
          path: devicePath(description.deviceId),
          body,
          operation: 'createDevice',
          description: 'Device create',
          deviceId: description.deviceId,
        },
        signal,
      );
      return result.body as Device;
    });
  }

  /**
   * Reads a device identity.
   *
   * @param deviceId - the device
   * @param options - abort signal
   * @returns the device
   * @throws {@link DeviceNotFoundError} when it does not exist
   */
  getDevice(deviceId: string, options?: GetIdentityOptions): Promise<Device> {
    return this.#run('getDevice', options, async (signal) => {
      assertId(deviceId, 'deviceId');
      const result = await sendRest(
        this.#rest,
        {
          method: 'GET',
          path: devicePath(deviceId),
          operation: 'getDevice',
          description: 'Device read',
          deviceId,
        },
        signal,
      );
      return result.body as Device;
    });
  }

  /**
   * Updates a device identity (status, keys, capabilities) with `PUT`.
   *
   * @param device - the device as read, changed
   * @param options - `onlyIfUnchanged` to require its `etag`, abort signal
   * @returns the updated device
   * @throws {@link PreconditionFailedError} when `onlyIfUnchanged` and the identity changed
   * @throws {@link DeviceNotFoundError} when it does not exist
   */
  updateDevice(
    device: DeviceDescription & { etag?: string },
    options?: IdentityWriteOptions,
  ): Promise<Device> {
    return this.#run('updateDevice', options, async (signal) => {
      if (typeof (device as unknown) !== 'object' || (device as unknown) === null)
        throw new TypeError('device must be a device object');
      assertId(device.deviceId, 'deviceId');
      const ifMatch = ifMatchFor({ etag: device.etag }, options, 'device') ?? '"*"';
      const result = await sendRest(
        this.#rest,
        {
          method: 'PUT',
          path: devicePath(device.deviceId),
          body: device,
          headers: { [HEADER.ifMatch]: ifMatch },
          operation: 'updateDevice',
          description: 'Device update',
          deviceId: device.deviceId,
        },
        signal,
      );
      return result.body as Device;
    });
  }

  /**
   * Deletes a device identity and its twin. Succeeds when the device does not exist.
   *
   * @param device - a device id, or the device as read (its `etag` serves `onlyIfUnchanged`)
   * @param options - `onlyIfUnchanged`, abort signal
   * @throws {@link PreconditionFailedError} when `onlyIfUnchanged` and the identity changed
   */
  deleteDevice(
    device: string | { deviceId: string; etag?: string },
    options?: IdentityWriteOptions,
  ): Promise<void> {
    return this.#run('deleteDevice', options, async (signal) => {
      const target =
        typeof device === 'string'
          ? { deviceId: device, etag: undefined }
          : { deviceId: device.deviceId, etag: device.etag };
      assertId(target.deviceId, 'deviceId');
      await this.#deleteIdentity(
        devicePath(target.deviceId),
        ifMatchFor(target, options, 'device') ?? '"*"',
        'deleteDevice',
        target.deviceId,
        undefined,
        signal,
      );
    });
  }

  /**
   * Lists device identities (`GET /devices`). For large fleets prefer {@link Registry.queryTwins}.
   *
   * @param options - `maxCount`, abort signal
   * @returns an async iterator of devices with `byPage()` (the hub answers in a single page)
   */
  listDevices(options: ListDevicesOptions = {}): PagedAsyncIterableIterator<Device> {
    const maxCount = options.maxCount === undefined ? undefined : this.#pageSize(options.maxCount);
    const abortSignal = options.abortSignal;
    return createPagedIterator<Device>(async (settings) => {
      const top = settings.maxPageSize ?? maxCount;
      const items = await this.#run('listDevices', { abortSignal }, async (signal) => {
        const call: RestCall = {
          method: 'GET',
          path: '/devices',
          operation: 'listDevices',
          description: 'Device list',
        };
        if (top !== undefined) call.query = { top: String(top) };
        return asArray(
          (await sendRest(this.#rest, call, signal)).body,
          'device list',
        ) as unknown as Device[];
      });
      return { items };
    });
  }

  /**
   * Creates a module identity on a device. Keys you leave empty are generated by the hub.
   *
   * @param deviceId - the device
   * @param module - a module id, or `{ moduleId, managedBy?, authentication? }`
   * @param options - abort signal
   * @returns the module, with its keys
   * @throws {@link ConflictError} when the module already exists
   * @throws {@link DeviceNotFoundError} when the device does not exist
   */
  createModule(
    deviceId: string,
    module: string | Omit<ModuleDescription, 'deviceId'>,
    options?: CreateIdentityOptions,
  ): Promise<Module> {
    return this.#run('createModule', options, async (signal) => {
      assertId(deviceId, 'deviceId');
      const description = typeof module === 'string' ? { moduleId: module } : module;
      assertId(description.moduleId, 'moduleId');
      const body = {
        ...description,
        deviceId,
        authentication: withDefaultAuthentication(description.authentication),
      };
      const result = await sendRest(
        this.#rest,
        {
          method: 'PUT',
          path: modulePath(deviceId, description.moduleId),
          body,
          operation: 'createModule',
          description: 'Module create',
          deviceId,
          moduleId: description.moduleId,
        },
        signal,
      );
      return result.body as Module;
    });
  }

  /**
   * Reads a module identity.
   *
   * @param deviceId - the device
   * @param moduleId - the module
   * @param options - abort signal
   * @returns the module
   * @throws {@link DeviceNotFoundError} when it does not exist
   */
  getModule(deviceId: string, moduleId: string, options?: GetIdentityOptions): Promise<Module> {
    return this.#run('getModule', options, async (signal) => {
      assertId(deviceId, 'deviceId');
      assertId(moduleId, 'moduleId');
      const result = await sendRest(
        this.#rest,
        {
          method: 'GET',
          path: modulePath(deviceId, moduleId),
          operation: 'getModule',
          description: 'Module read',
          deviceId,
          moduleId,
        },
        signal,
      );
      return result.body as Module;
    });
  }

  /**
   * Deletes a module identity and its twin. Succeeds when it does not exist.
   *
   * @param deviceId - the device
   * @param module - a module id, or the module as read (its `etag` serves `onlyIfUnchanged`)
   * @param options - `onlyIfUnchanged`, abort signal
   * @throws {@link PreconditionFailedError} when `onlyIfUnchanged` and the identity changed
   */
  deleteModule(
    deviceId: string,
    module: string | { moduleId: string; etag?: string },
    options?: IdentityWriteOptions,
  ): Promise<void> {
    return this.#run('deleteModule', options, async (signal) => {
      assertId(deviceId, 'deviceId');
      const target =
        typeof module === 'string'
          ? { moduleId: module, etag: undefined }
          : { moduleId: module.moduleId, etag: module.etag };
      assertId(target.moduleId, 'moduleId');
      await this.#deleteIdentity(
        modulePath(deviceId, target.moduleId),
        ifMatchFor(target, options, 'module') ?? '"*"',
        'deleteModule',
        deviceId,
        target.moduleId,
        signal,
      );
    });
  }

  /**
   * Lists the module identities of a device.
   *
   * @param deviceId - the device
   * @param options - abort signal
   * @returns an async iterator of modules with `byPage()` (a single page)
   * @throws {@link DeviceNotFoundError} (when iterated) when the device does not exist
   */
  listModules(
    deviceId: string,
    options: GetIdentityOptions = {},
  ): PagedAsyncIterableIterator<Module> {
    assertId(deviceId, 'deviceId');
    const abortSignal = options.abortSignal;
    return createPagedIterator<Module>(async () => {
      const items = await this.#run('listModules', { abortSignal }, async (signal) => {
        const call: RestCall = {
          method: 'GET',
          path: modulesPath(deviceId),
          operation: 'listModules',
          description: 'Module list',
          deviceId,
        };
        return asArray(
          (await sendRest(this.#rest, call, signal)).body,
          'module list',
        ) as unknown as Module[];
      });
      return { items };
    });
  }

  async #deleteIdentity(
    path: string,
    ifMatch: string,
    operation: string,
    deviceId: string,
    moduleId: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      await sendRest(
        this.#rest,
        {
          method: 'DELETE',
          path,
          headers: { [HEADER.ifMatch]: ifMatch },
          operation,
          description: moduleId === undefined ? 'Device delete' : 'Module delete',
          deviceId,
          moduleId,
        },
        signal,
      );
    } catch (error) {
      // delete* succeeds when the identity is already gone (house-style 4.4 verb table).
      if (!isDeviceNotFoundError(error) && !isModuleNotFoundError(error)) throw error;
    }
  }

  // ---------------------------------------------------------------- plumbing

  async #run<T>(
    operation: string,
    options: OperationOptions | undefined,
    work: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const scope = createOperationScope(operation, this.#operationTimeoutInMs, options?.abortSignal);
    try {
      return await work(scope.signal);
    } finally {
      scope.dispose();
    }
  }
}

function withDefaultAuthentication(
  authentication: DeviceDescription['authentication'],
): JsonObject {
  // Node's rule (protocol.md §6.7): no auth block means SAS with keys the hub generates.
  if (authentication === undefined)
    return { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } };
  return { type: 'sas', ...authentication } as unknown as JsonObject;
}
