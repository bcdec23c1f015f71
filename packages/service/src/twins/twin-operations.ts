/**
 * The twin operations as functions of a {@link TwinClient}: what `Registry`'s twin methods do
 * (they call these), importable one by one so a bundle carries only the operations it uses.
 * Each runs under the client's time limit and the caller's abort signal; the rules behind them
 * are in docs/internals/twin-semantics.md#etags-and-concurrency. Twin rules (key names, sizes, …)
 * are checked by the hub, or before sending when the client is a Registry (twin-validation.ts).
 */
import type { JsonObject, PagedAsyncIterableIterator, Twin, TwinUpdate } from '@twinkit/twin-model';
import { updateTwins as sendBulkUpdates } from '../bulk.js';
import { nonNegative } from '../create-client.js';
import { runOperation } from '../http/rest-client.js';
import type { BulkTwinUpdate, TwinId, UpdateTwinsResult } from '../models.js';
import type {
  GetTwinOptions,
  QueryOptions,
  QueryTwinsOptions,
  ReplaceTwinOptions,
  UpdateTwinOptions,
  UpdateTwinsOptions,
  UpdateTwinWithRetryOptions,
} from '../options.js';
import {
  assertQueryText,
  assertSelectsWholeTwins,
  pagedQuery,
  rowsOf,
  twinsOf,
} from '../queries.js';
import { assertId, ifMatchFor, resolveTwinTarget } from '../twin-body.js';
import { readTwin, updateTwinWithRetry as readModifyWrite, writeTwin } from './read-write.js';
import { restClientOf, type TwinClient } from './twin-client.js';

const DEFAULT_MAX_CONCURRENCY_ATTEMPTS = 10;

type D = JsonObject;

/**
 * Reads a device twin.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param deviceId - the device
 * @param options - abort signal
 * @returns the twin with its `etag`, `version`, tags and properties
 * @throws {@link TypeError} at once when `client` is not a twin client
 * @throws {@link DeviceNotFoundError} when the device does not exist
 * @throws {@link UnexpectedResponseError} when the answer is not a twin
 * @example
 * ```ts
 * const twin = await getTwin<{ rate: number }>(client, 'dev-1');
 * twin.properties.desired.rate; // number
 * ```
 */
export function getTwin<
  TDesired extends object = D,
  TReported extends object = D,
  TTags extends object = D,
>(
  client: TwinClient,
  deviceId: string,
  options?: GetTwinOptions,
): Promise<Twin<TDesired, TReported, TTags>> {
  const rest = restClientOf(client);
  return runOperation(rest, 'getTwin', options, (signal) => {
    assertId(deviceId, 'deviceId');
    return readTwin(rest, { deviceId, moduleId: undefined, etag: undefined }, signal);
  });
}

/**
 * Reads a module twin.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param deviceId - the device
 * @param moduleId - the module
 * @param options - abort signal
 * @returns the module twin
 * @throws {@link TypeError} at once when `client` is not a twin client
 * @throws {@link ModuleNotFoundError} when the module does not exist
 * @throws {@link DeviceNotFoundError} when the device does not exist
 */
export function getModuleTwin<
  TDesired extends object = D,
  TReported extends object = D,
  TTags extends object = D,
>(
  client: TwinClient,
  deviceId: string,
  moduleId: string,
  options?: GetTwinOptions,
): Promise<Twin<TDesired, TReported, TTags>> {
  const rest = restClientOf(client);
  return runOperation(rest, 'getModuleTwin', options, (signal) => {
    assertId(deviceId, 'deviceId');
    assertId(moduleId, 'moduleId');
    return readTwin(rest, { deviceId, moduleId, etag: undefined }, signal);
  });
}

/**
 * Merges a patch into a twin's tags and desired properties (`PATCH`; the rules:
 * docs/internals/twin-semantics.md#merge-patch): objects merge, `null` deletes a key, anything
 * else replaces. Pass a twin you read (or `{ deviceId, moduleId }`) to update a module twin.
 * Without an ETag a lost answer is not retried (the patch may have been applied).
 *
 * @param client - the hub's client (or a `Registry`)
 * @param twin - a device id, or a twin/reference (its `etag` serves `onlyIfUnchanged`)
 * @param patch - `{ tags?, properties?: { desired? } }`
 * @param options - `onlyIfUnchanged` or `etag` for optimistic concurrency, abort signal
 * @returns the whole updated twin, with its new `etag`
 * @throws {@link TypeError} at once when `client` is not a twin client
 * @throws {@link BadRequestError} when the hub finds the patch breaks a twin rule; nothing changes
 * @throws {@link TwinValidationError} instead, before anything is sent, when `client` is a
 *   `Registry` (which checks twin rules itself; {@link assertValidTwinUpdate} does the same)
 * @throws {@link PreconditionFailedError} when the ETag is stale; nothing changes
 * @throws {@link DeviceNotFoundError} when the device does not exist
 * @example
 * ```ts
 * const twin = await getTwin(client, 'dev-1');
 * await updateTwin(client, twin, { tags: { site: 'lyon' } }, { onlyIfUnchanged: true });
 * ```
 */
export function updateTwin<
  TDesired extends object = D,
  TReported extends object = D,
  TTags extends object = D,
>(
  client: TwinClient,
  twin: TwinId | Twin<TDesired, TReported, TTags>,
  patch: TwinUpdate<NoInfer<TDesired>, NoInfer<TTags>>,
  options?: UpdateTwinOptions,
): Promise<Twin<TDesired, TReported, TTags>> {
  const rest = restClientOf(client);
  return runOperation(rest, 'updateTwin', options, (signal) => {
    const target = resolveTwinTarget(twin);
    const ifMatch = ifMatchFor(target, options, 'twin');
    return writeTwin(rest, 'patch', target, patch, ifMatch, signal);
  });
}

/**
 * Replaces a twin's tags and desired properties wholesale (`PUT`;
 * docs/internals/twin-semantics.md#replace). A section you omit is replaced by `{}`; reported
 * properties are never touched.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param twin - a device id, or a twin/reference (its `etag` serves `onlyIfUnchanged`)
 * @param replacement - the new `{ tags, properties: { desired } }` (no `null` values)
 * @param options - `onlyIfUnchanged` or `etag`, abort signal
 * @returns the whole updated twin
 * @throws {@link TypeError} at once when `client` is not a twin client
 * @throws {@link BadRequestError} when the hub finds the content breaks a twin rule; nothing changes
 * @throws {@link TwinValidationError} instead, before anything is sent, when `client` is a
 *   `Registry` (which checks twin rules itself; {@link assertValidTwinUpdate} does the same)
 * @throws {@link PreconditionFailedError} when the ETag is stale
 * @throws {@link DeviceNotFoundError} when the device does not exist
 */
export function replaceTwin<
  TDesired extends object = D,
  TReported extends object = D,
  TTags extends object = D,
>(
  client: TwinClient,
  twin: TwinId | Twin<TDesired, TReported, TTags>,
  replacement: TwinUpdate<NoInfer<TDesired>, NoInfer<TTags>>,
  options?: ReplaceTwinOptions,
): Promise<Twin<TDesired, TReported, TTags>> {
  const rest = restClientOf(client);
  return runOperation(rest, 'replaceTwin', options, (signal) => {
    const target = resolveTwinTarget(twin);
    const ifMatch = ifMatchFor(target, options, 'twin');
    return writeTwin(rest, 'replace', target, replacement, ifMatch, signal);
  });
}

/**
 * Read-modify-write with optimistic concurrency: reads the twin, asks `compute` for a patch,
 * and writes it with the ETag it read. When another writer got there first (412), it reads
 * again and calls `compute` again, up to `maxAttempts` rounds.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param twin - a device id, or `{ deviceId, moduleId }`
 * @param compute - gets the current twin, returns a patch, or `undefined` to write nothing
 * @param options - `maxAttempts` (default 10), abort signal
 * @returns the twin after the write (or as read, when `compute` returned `undefined`)
 * @throws {@link TypeError} at once when `client` is not a twin client
 * @throws {@link PreconditionFailedError} when every attempt lost the race
 * @throws {@link BadRequestError} when the hub finds a computed patch breaks a twin rule
 *   ({@link TwinValidationError} when `client` is a `Registry`)
 * @example
 * ```ts
 * await updateTwinWithRetry(client, 'dev-1', (twin) => ({
 *   properties: { desired: { counter: Number(twin.properties.desired.counter ?? 0) + 1 } },
 * }));
 * ```
 */
export function updateTwinWithRetry<
  TDesired extends object = D,
  TReported extends object = D,
  TTags extends object = D,
>(
  client: TwinClient,
  twin: TwinId,
  compute: (
    current: Twin<TDesired, TReported, TTags>,
  ) => TwinUpdate<TDesired, TTags> | undefined | Promise<TwinUpdate<TDesired, TTags> | undefined>,
  options?: UpdateTwinWithRetryOptions,
): Promise<Twin<TDesired, TReported, TTags>> {
  const rest = restClientOf(client);
  return runOperation(rest, 'updateTwinWithRetry', options, (signal) => {
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
    return readModifyWrite(rest, target, compute, maxAttempts, signal);
  });
}

/**
 * Updates many twins with as few requests as possible: items go to the bulk endpoint
 * (`POST /devices`, docs/internals/wire-contract.md#bulk-twin-updates) in chunks of 100. Every
 * item is validated before the first request, so bad input sends nothing. A chunk the hub
 * rejects as a whole marks each of its items failed with that error.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param updates - one `{ deviceId, moduleId?, etag?, tags?, properties?: { desired? } }` per twin,
 *   each twin at most once
 * @param options - `onlyIfUnchanged` (each item's `etag` becomes its condition), abort signal
 * @returns per-item outcomes in input order, and the hub's warnings
 * @throws {@link TwinValidationError} when `client` is a `Registry` and an item's patch breaks a
 *   twin rule; nothing is sent (other clients get the hub's verdict per item in the result)
 * @throws {@link TypeError} when `client` is not a twin client, or an item is malformed,
 *   repeated, or lacks an `etag` under `onlyIfUnchanged`
 * @example
 * ```ts
 * const { results } = await updateTwins(
 *   client,
 *   ids.map((deviceId) => ({ deviceId, properties: { desired: { rate: 5 } } })),
 * );
 * ```
 */
export function updateTwins<TDesired extends object = D, TTags extends object = D>(
  client: TwinClient,
  updates: readonly BulkTwinUpdate<TDesired, TTags>[],
  options?: UpdateTwinsOptions,
): Promise<UpdateTwinsResult> {
  const rest = restClientOf(client);
  return runOperation(rest, 'updateTwins', options, (signal) =>
    sendBulkUpdates(
      rest,
      updates as readonly BulkTwinUpdate[],
      options?.onlyIfUnchanged === true,
      signal,
    ),
  );
}

/**
 * Runs a query for whole twins (`SELECT * FROM devices …` or `devices.modules`): `for await`
 * gives twins one by one, `.byPage({ maxPageSize, continuationToken })` gives pages, each with
 * the `continuationToken` that resumes after it, even from another process or a new client.
 * Projections and aggregates return rows, not twins: use {@link query} for them.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param sql - IoT Hub query language, e.g. `SELECT * FROM devices WHERE tags.site = 'lyon'`
 * @param options - abort signal (for the whole iteration)
 * @returns an async iterator of twins with a `byPage()` method
 * @throws {@link TypeError} at once when `client` is not a twin client or the query selects a
 *   projection or aggregate
 * @throws {@link BadRequestError} (when iterated) when the hub rejects the query text
 * @throws {@link UnexpectedResponseError} (when iterated) when a page is not twins or the
 *   server repeats a continuation token
 * @example
 * ```ts
 * for await (const twin of queryTwins(client, "SELECT * FROM devices WHERE tags.site = 'lyon'")) {
 *   console.log(twin.deviceId);
 * }
 * ```
 */
export function queryTwins<
  TDesired extends object = D,
  TReported extends object = D,
  TTags extends object = D,
>(
  client: TwinClient,
  sql: string,
  options?: QueryTwinsOptions,
): PagedAsyncIterableIterator<Twin<TDesired, TReported, TTags>> {
  const rest = restClientOf(client);
  assertQueryText(sql);
  assertSelectsWholeTwins(sql);
  return pagedQuery(rest, 'queryTwins', sql, options, (page) =>
    twinsOf<Twin<TDesired, TReported, TTags>>(page),
  );
}

/**
 * Runs any query and yields its rows as `TRow`: the entry for projections and aggregates,
 * whose rows are not twins. Paging works as in {@link queryTwins}.
 *
 * @param client - the hub's client (or a `Registry`)
 * @param sql - IoT Hub query language, e.g. `SELECT deviceId, properties.reported.fw FROM devices`
 * @param options - abort signal (for the whole iteration)
 * @returns an async iterator of rows with a `byPage()` method
 * @throws {@link TypeError} at once when `client` is not a twin client or the query is empty
 * @throws {@link BadRequestError} (when iterated) when the hub rejects the query text
 * @example
 * ```ts
 * for await (const row of query<{ n: number }>(client, 'SELECT COUNT() AS n FROM devices')) {
 *   console.log(row.n);
 * }
 * ```
 */
export function query<TRow = JsonObject>(
  client: TwinClient,
  sql: string,
  options?: QueryOptions,
): PagedAsyncIterableIterator<TRow> {
  const rest = restClientOf(client);
  assertQueryText(sql);
  return pagedQuery(rest, 'query', sql, options, (page) => rowsOf<TRow>(page));
}
