/**
 * The service-side client of an IoT Hub's twins and identities, over HTTP only (undici on Node,
 * `fetch` elsewhere), so it runs in Node, browsers and edge runtimes. The class is the public face (its identity methods come from
 * `registry-identities.ts`); each concern lives in its own module over twin-model's table of REST
 * operations: twins (`twins.ts`, `bulk.ts`), queries (`queries.ts`) and identities
 * (`identities.ts`).
 */
import type { JsonObject, PagedAsyncIterableIterator, Twin, TwinUpdate } from '@twinkit/twin-model';
import { parseServiceKeyConnectionString } from '@twinkit/twin-model/protocol';
import { SasKeyCredential, type RegistryCredential } from './auth/credentials.js';
import { createRestClient } from './create-client.js';
import type { RestClient } from './http/rest-client.js';
import { IdentityOperations, bindRestClient } from './registry-identities.js';
import type { BulkTwinUpdate, TwinId, UpdateTwinsResult } from './models.js';
import type {
  CreateQueryOptions,
  GetTwinOptions,
  QueryOptions,
  QueryTwinsOptions,
  RegistryOptions,
  ReplaceTwinOptions,
  UpdateTwinOptions,
  UpdateTwinsOptions,
  UpdateTwinWithRetryOptions,
} from './options.js';
import { assertQueryText, queryPage } from './queries.js';
import { Query } from './query.js';
import {
  getRolloutStatus,
  waitForReported,
  type GetRolloutStatusOptions,
  type RolloutStatus,
  type WaitForReportedOptions,
} from './rollouts.js';
import { assertId } from './twin-body.js';
import { assertValidTwinBody } from './twin-validation.js';
import { bindTwinClient, type TwinClient } from './twins/twin-client.js';
import * as twins from './twins/twin-operations.js';

export { MAX_BULK_ITEMS } from './bulk.js';

type D = JsonObject;

/**
 * Reads and writes device twins, runs twin queries and manages device and module identities of
 * one IoT Hub, over its service REST API (docs/internals/wire-contract.md#rest).
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
export class Registry extends IdentityOperations implements TwinClient {
  readonly #hostName: string;
  readonly #client: RestClient;

  /**
   * Creates a registry for a hub host and a credential.
   *
   * @param hostName - the hub host, e.g. `myhub.azure-devices.net`; `host:port` for a local hub
   * @param credential - a shared access policy `{ name, key }` (or {@link SasKeyCredential},
   *   `AzureNamedKeyCredential`), or an Entra ID `TokenCredential` such as `DefaultAzureCredential`
   * @param options - transport, retries, timeout, user agent, additional policies
   * @throws {@link TypeError} when the host name or credential is malformed, or no `fetch` exists
   * @throws {@link RangeError} when a port, timeout or retry setting is out of range
   * @example
   * ```ts
   * import { DefaultAzureCredential } from '@azure/identity';
   * const registry = new Registry('myhub.azure-devices.net', new DefaultAzureCredential());
   * ```
   */
  constructor(hostName: string, credential: RegistryCredential, options: RegistryOptions = {}) {
    super();
    // The Registry checks twin writes itself, so a bad patch never leaves the process.
    this.#client = {
      ...createRestClient(hostName, credential, options),
      checkTwinBody: assertValidTwinBody,
    };
    bindRestClient(this, this.#client);
    bindTwinClient(this, this.#client);
    this.#hostName = hostName;
  }

  /**
   * Creates a registry from a service connection string
   * (`HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`, docs/internals/wire-contract.md#service-connection-strings).
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
    const parts = parseServiceKeyConnectionString(connectionString);
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
   * @throws {@link UnexpectedResponseError} when the answer is not a twin
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
    return twins.getTwin<TDesired, TReported, TTags>(this, deviceId, options);
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
    return twins.getModuleTwin<TDesired, TReported, TTags>(this, deviceId, moduleId, options);
  }

  /**
   * Merges a patch into a twin's tags and desired properties (`PATCH`; the rules:
   * docs/internals/twin-semantics.md#merge-patch): objects merge, `null` deletes a key, anything
   * else replaces. Pass a twin you read (or `{ deviceId, moduleId }`) to update a module twin.
   * Without an ETag a lost answer is not retried (the patch may have been applied).
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
    return twins.updateTwin<TDesired, TReported, TTags>(this, twin, patch, options);
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
   * @throws {@link ModuleNotFoundError} when the module does not exist
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
   * Replaces a twin's tags and desired properties wholesale (`PUT`;
   * docs/internals/twin-semantics.md#replace). A section you omit is replaced by `{}`; reported
   * properties are never touched.
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
    return twins.replaceTwin<TDesired, TReported, TTags>(this, twin, replacement, options);
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
   * @throws {@link ModuleNotFoundError} when the module does not exist
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
    return twins.updateTwinWithRetry<TDesired, TReported, TTags>(this, twin, compute, options);
  }

  /**
   * Updates many twins with as few requests as possible: items go to the bulk endpoint
   * (`POST /devices`, docs/internals/wire-contract.md#bulk-twin-updates) in chunks of 100. Every
   * item is validated before the first request, so bad input sends nothing. A chunk the hub
   * rejects as a whole marks each of its items failed with that error.
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
    return twins.updateTwins<TDesired, TTags>(this, updates, options);
  }

  // ---------------------------------------------------------------- queries

  /**
   * Runs a query for whole twins (`SELECT * FROM devices …` or `devices.modules`): `for await`
   * gives twins one by one, `.byPage({ maxPageSize, continuationToken })` gives pages, each with
   * the `continuationToken` that resumes after it, even from another process or a new registry.
   * Projections and aggregates return rows, not twins: use {@link Registry.query} for them.
   *
   * @param sql - IoT Hub query language, e.g. `SELECT * FROM devices WHERE tags.site = 'lyon'`
   * @param options - abort signal (for the whole iteration)
   * @returns an async iterator of twins with a `byPage()` method
   * @throws {@link TypeError} at once when the query selects a projection or aggregate
   * @throws {@link BadRequestError} (when iterated) when the hub rejects the query text
   * @throws {@link UnexpectedResponseError} (when iterated) when a page is not twins or the
   *   server repeats a continuation token
   * @example
   * ```ts
   * for await (const page of registry.queryTwins('SELECT * FROM devices').byPage({ maxPageSize: 100 })) {
   *   save(page.continuationToken); // resume later with .byPage({ continuationToken })
   * }
   * ```
   */
  queryTwins<TDesired extends object = D, TReported extends object = D, TTags extends object = D>(
    sql: string,
    options?: QueryTwinsOptions,
  ): PagedAsyncIterableIterator<Twin<TDesired, TReported, TTags>> {
    return twins.queryTwins<TDesired, TReported, TTags>(this, sql, options);
  }

  /**
   * Runs any query and yields its rows as `TRow`: the entry for projections and aggregates,
   * whose rows are not twins. Paging works as in {@link Registry.queryTwins}.
   *
   * @param sql - IoT Hub query language, e.g. `SELECT deviceId, properties.reported.fw FROM devices`
   * @param options - abort signal (for the whole iteration)
   * @returns an async iterator of rows with a `byPage()` method
   * @throws {@link BadRequestError} (when iterated) when the hub rejects the query text
   * @example
   * ```ts
   * for await (const row of registry.query<{ n: number }>('SELECT COUNT() AS n FROM devices')) {
   *   console.log(row.n);
   * }
   * ```
   */
  query<TRow = JsonObject>(sql: string, options?: QueryOptions): PagedAsyncIterableIterator<TRow> {
    return twins.query<TRow>(this, sql, options);
  }

  // ---------------------------------------------------------------- rollouts

  /**
   * Reads a device twin until its reported properties satisfy `predicate`, polling with
   * exponential backoff and jitter (500 ms doubling up to 10 s unless told otherwise).
   *
   * @param deviceId - the device
   * @param predicate - what the twin must satisfy, e.g. an acknowledgement of a desired version
   * @param options - `timeoutInMs` (required), poll intervals, abort signal
   * @returns the first twin read that satisfies the predicate
   * @throws {@link ReportedTimeoutError} (an `OperationTimeoutError`, carrying the last twin
   *   read) when the deadline passes first
   * @throws {@link DeviceNotFoundError} when the device does not exist
   * @example
   * ```ts
   * const { version } = await registry.updateTwin('dev-1', { properties: { desired: { rate: 5 } } });
   * await registry.waitForReported('dev-1', (twin) => twin.properties.reported.rate?.av >= version, {
   *   timeoutInMs: 60_000,
   * });
   * ```
   */
  waitForReported<
    TDesired extends object = D,
    TReported extends object = D,
    TTags extends object = D,
  >(
    deviceId: string,
    predicate: (twin: Twin<TDesired, TReported, TTags>) => boolean,
    options: WaitForReportedOptions,
  ): Promise<Twin<TDesired, TReported, TTags>> {
    assertId(deviceId, 'deviceId');
    return waitForReported<Twin<TDesired, TReported, TTags>>(
      deviceId,
      (readOptions) => this.getTwin<TDesired, TReported, TTags>(deviceId, readOptions),
      predicate,
      options,
    );
  }

  /**
   * Tells where the rollout of one IoT Plug and Play writable property stands across a fleet
   * (docs/internals/wire-contract.md#writable-property-acknowledgements): devices that
   * `acknowledged` the current desired value (`av` reaches the version it was set at, `ac` 2xx
   * other than 202), are `inProgress` (202), `failed` (`ac` ≥ 400), or are `pending` (no answer
   * to it yet). It pages through one projection query of only the fields it needs: about one
   * request per 100 devices, never one per device.
   *
   * @param propertyPath - the writable property: `name`, or `component.name` for a component's
   * @param options - `query`: a condition selecting the devices (as after `WHERE`); page size; abort signal
   * @returns counts and the devices in each state, each with its desired version
   * @throws {@link TypeError} when the path or condition is malformed
   * @throws {@link BadRequestError} when the hub rejects the condition
   * @example
   * ```ts
   * const status = await registry.getRolloutStatus('thermostat1.targetTemperature', {
   *   query: "tags.site = 'lyon'",
   * });
   * console.log(status.counts); // { total: 40, acknowledged: 31, inProgress: 2, failed: 1, pending: 6 }
   * ```
   */
  getRolloutStatus(
    propertyPath: string,
    options: GetRolloutStatusOptions = {},
  ): Promise<RolloutStatus> {
    return getRolloutStatus(
      propertyPath,
      (sql) => this.query(sql, { abortSignal: options.abortSignal }),
      options,
    );
  }

  /**
   * Creates a query read page by page with `next()` / `nextAsTwin()` while `hasMoreResults`: the
   * official SDK's `Query`, kept so code written for `azure-iothub` moves over unchanged apart
   * from the options object. New code uses {@link Registry.queryTwins} or {@link Registry.query}.
   *
   * @param sql - IoT Hub query language
   * @param options - `pageSize` (items per page, at most 100) and a `continuationToken` to resume
   * @returns a {@link Query}
   * @throws {@link TypeError} when the query is empty or the options are not an object
   * @throws {@link RangeError} when the page size is not a positive integer
   * @example
   * ```ts
   * const query = registry.createQuery('SELECT * FROM devices', { pageSize: 50 });
   * while (query.hasMoreResults) console.log(await query.nextAsTwin());
   * ```
   */
  createQuery(sql: string, options: CreateQueryOptions = {}): Query {
    assertQueryText(sql);
    if (typeof (options as unknown) !== 'object' || (options as unknown) === null) {
      throw new TypeError(
        'createQuery takes an options object: createQuery(sql, { pageSize: 50 }) instead of createQuery(sql, 50)',
      );
    }
    const size = options.pageSize;
    if (size !== undefined && (typeof size !== 'number' || !Number.isInteger(size) || size < 1))
      throw new RangeError('pageSize must be a positive integer (the hub allows at most 100)');
    return new Query(
      (token, nextOptions) => queryPage(this.#client, 'createQuery', sql, token, size, nextOptions),
      options.continuationToken,
    );
  }
}
