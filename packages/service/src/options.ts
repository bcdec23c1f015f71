/**
 * Options of the {@link Registry} and of each of its methods. Every method takes a last, optional
 * options bag that extends {@link OperationOptions} (docs/internals/architecture.md#client-conventions).
 */
import type { RetryOptions } from '@twinkit/twin-model/internal';
import type { AdditionalPolicy, FetchLike } from './http/pipeline.js';

export type {
  AdditionalPolicy,
  FetchInit,
  FetchLike,
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
  SendRequest,
} from './http/pipeline.js';
export type { RetryOptions } from '@twinkit/twin-model/internal';

/** What every async method accepts. */
export interface OperationOptions {
  /**
   * Cancels the call. The returned promise then rejects with `abortSignal.reason` unchanged
   * (an `AbortError` or `TimeoutError` `DOMException` unless you chose another reason).
   */
  abortSignal?: AbortSignal | undefined;
}

/** Client-wide settings of a {@link Registry}; fixed at construction. */
export interface RegistryOptions {
  /**
   * The HTTP transport, called as `fetch(url, init)` (see {@link FetchLike}). Defaults on Node to
   * undici's dispatcher API (`Agent.request`, keep-alive, Node's CA store) and elsewhere to
   * `globalThis.fetch`. Pass the local hub's `hub.fetch` to test with no sockets, or undici's
   * `fetch` with an `Agent` for a custom CA or a proxy:
   * `(url, init) => undiciFetch(url, { ...init, dispatcher: agent })` (see the README).
   */
  fetch?: FetchLike;
  /**
   * Retries of throttled (429), failed (5xx) and unanswered requests. Defaults: `maxRetries` 3,
   * `retryDelayInMs` 800, `maxRetryDelayInMs` 60 000 (exponential, with jitter; a hub's
   * `Retry-After` is honoured as given).
   */
  retryOptions?: RetryOptions;
  /**
   * Time limit of each call, retries included, in milliseconds. Default 30 000; `0` means none.
   * When it elapses the call rejects with `OperationTimeoutError`. Calls that start within a few
   * milliseconds of each other share one timer, so a call may run up to an eighth longer (100 ms
   * at most), never shorter.
   */
  operationTimeoutInMs?: number;
  /** Your application's product token, sent before ours in `User-Agent`, e.g. `fleet-admin/2.1`. */
  userAgentPrefix?: string;
  /** REST api-version. Default `2021-04-12`, as the official SDKs send. */
  apiVersion?: string;
  /** Lifetime of the SAS tokens signed with a shared access key. Default 3600 s; renewed after 75 %. */
  sasTokenLifetimeInSeconds?: number;
  /**
   * Policies of your own in the request pipeline, each named and placed `perCall` (once per
   * operation, before retries) or `perRetry` (on every attempt), as in the Azure SDK core.
   *
   * @example
   * ```ts
   * const tracing: AdditionalPolicy = {
   *   position: 'perCall',
   *   policy: { name: 'tracing', sendRequest: (request, next) => { request.headers['x-trace'] = id; return next(request); } },
   * };
   * ```
   */
  additionalPolicies?: readonly AdditionalPolicy[];
}

/** Options of `getTwin` and `getModuleTwin`. */
export type GetTwinOptions = OperationOptions;

/** Options of `updateTwin`, `replaceTwin` and their module variants. */
export interface UpdateTwinOptions extends OperationOptions {
  /**
   * Send the update only if the twin still has this ETag (`If-Match`); otherwise the call rejects
   * with `PreconditionFailedError` and nothing changes.
   */
  etag?: string | undefined;
  /**
   * Send the update only if the twin is unchanged since the twin object you passed was read: its
   * `etag` becomes `If-Match`. Needs a twin object with an `etag`, or the `etag` option.
   */
  onlyIfUnchanged?: boolean | undefined;
}

/** Options of `replaceTwin` and `replaceModuleTwin`. */
export type ReplaceTwinOptions = UpdateTwinOptions;

/** Options of `updateTwinWithRetry`. */
export interface UpdateTwinWithRetryOptions extends OperationOptions {
  /** How many read-compute-write rounds to try before giving up on 412s. Default 10. */
  maxAttempts?: number;
}

/**
 * Options of `queryTwins`. The page size is a paging setting, not a query option: pass
 * `maxPageSize` to `byPage()` (the hub's default is 100, its maximum).
 */
export type QueryTwinsOptions = OperationOptions;

/** Options of `query`; page size as for {@link QueryTwinsOptions}. */
export type QueryOptions = OperationOptions;

/** Options of the seed-compatible `createQuery`. */
export interface CreateQueryOptions {
  /** Items per page (`x-ms-max-item-count`); the hub allows at most 100. Default: the hub's (100). */
  pageSize?: number;
  /** Resume a query saved earlier from `query.continuationToken`. */
  continuationToken?: string;
}

/** Options of a query's `next()` and `nextAsTwin()`. */
export type QueryNextOptions = OperationOptions;

/** Options of `updateTwins`. */
export interface UpdateTwinsOptions extends OperationOptions {
  /**
   * Apply each update only if that twin still has the `etag` given in its item
   * (`updateTwinIfMatchETag`); every item then needs an `etag`.
   */
  onlyIfUnchanged?: boolean;
}

/** Options of the identity reads: `getDevice`, `getModule`, `listDevices`, `listModules`. */
export type GetIdentityOptions = OperationOptions;

/** Options of `createDevice` and `createModule`. */
export type CreateIdentityOptions = OperationOptions;

/** Options of `updateDevice`, `deleteDevice` and `deleteModule`. */
export interface IdentityWriteOptions extends OperationOptions {
  /** Only if the identity's `etag` is unchanged; otherwise `PreconditionFailedError`. */
  onlyIfUnchanged?: boolean;
}

/** Options of `listDevices`; page it with `byPage({ maxPageSize })`. */
export type ListDevicesOptions = OperationOptions;
