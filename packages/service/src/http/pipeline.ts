/**
 * The request pipeline: a short ordered list of named policies around one transport step, after
 * the Azure SDK core's `PipelinePolicy`. Policies see a small mutable {@link PipelineRequest}, not
 * a web `Request`: the innermost step (transport.ts) sends its parts, reads the whole body as
 * text, and returns a {@link PipelineResponse}, so no `Request` object is built on the way and a
 * connection cut mid-body is a transport failure the retry policy sees.
 */

/**
 * What the registry passes as the second argument of its `fetch`: a subset of `RequestInit`.
 */
export interface FetchInit {
  /** `GET`, `PUT`, `PATCH`, `POST` or `DELETE`. */
  method: string;
  /** A plain object with lower-case header names, fresh for every attempt. */
  headers: Record<string, string>;
  /** The JSON text of the request body; absent when there is none. */
  body?: string;
  /**
   * Present when the call has a timeout or an abort signal. It aborts with the caller's reason, or
   * with an `OperationTimeoutError` when the time limit passes; calls without a signal of their
   * own that start together share one, so follow it only while your request runs.
   */
  signal?: AbortSignal;
  /**
   * Always `manual`: a redirect is answered with `UnexpectedResponseError`, never followed, so
   * the registry's credentials go to its own origin only.
   */
  redirect: 'manual';
}

/**
 * The registry's HTTP transport. It is called as `fetch(url, init)` with an absolute URL string
 * and a {@link FetchInit}, never with a `Request` object, so any function with the standard
 * `fetch` signature fits unchanged: `globalThis.fetch`, undici's `fetch` (add a dispatcher with
 * `(url, init) => fetch(url, { ...init, dispatcher })`) and the local hub's `hub.fetch`.
 */
export type FetchLike = (url: string, init: FetchInit) => Promise<Response>;

/** One HTTP exchange as policies see it. Headers are mutable; the body is always text. */
export interface PipelineRequest {
  readonly method: string;
  readonly url: string;
  /** Lower-case header names; policies add to it. */
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /**
   * The operation's signal (caller abort plus client timeout), when it can be cancelled at all.
   * Calls without a signal of their own that start together share one: detach what you attach.
   */
  readonly signal: AbortSignal | undefined;
  /** The method that issued it, e.g. `getTwin`, for logs. */
  readonly operation: string;
  /**
   * Whether the request may be sent again after its answer was lost (a transport failure): reads,
   * queries, PUTs and conditional writes may; creates and unconditional PATCHes may not.
   */
  readonly idempotent: boolean;
}

/** An answer as policies see it: status, headers and the whole body as text. */
export interface PipelineResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The body, read in full; `''` when there was none. */
  readonly bodyAsText: string;
}

/** Sends a request through the rest of the pipeline. */
export type SendRequest = (request: PipelineRequest) => Promise<PipelineResponse>;

/**
 * One step of the pipeline, as in the Azure SDK core: it may change the request, call `next`
 * (more than once), or answer without calling it.
 */
export interface PipelinePolicy {
  /** A name for logs and for telling policies apart, e.g. `retryPolicy`. */
  readonly name: string;
  sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse>;
}

/**
 * A policy of your own and where it runs, as the Azure SDK core's `additionalPolicies`:
 * `perCall` policies run once per operation, before the retry policy; `perRetry` policies run
 * on every attempt, after the retry policy and before `Authorization` is set (a request pointed
 * at another origin gets no credential).
 */
export interface AdditionalPolicy {
  /** The policy: a `name` and a `sendRequest(request, next)`. */
  policy: PipelinePolicy;
  /** `perCall`: once per operation, before retries; `perRetry`: on every attempt. */
  position: 'perCall' | 'perRetry';
}

/** Where the transport step dials, and what failure messages name. */
export interface TransportTarget {
  /** `https://host[:port]`: the registry's only origin. */
  origin: string;
  /** `host` or `host:port`, as the registry was given it. */
  address: string;
  /** Whether a port was given explicitly (a refused explicit port is not retried). */
  portIsExplicit: boolean;
}

/**
 * Composes policies, outermost first, around a transport.
 *
 * @param policies - in order; the first sees the request first and the response last
 * @param transport - the innermost step: sends the request and reads the whole answer
 * @returns a function that runs a request through all of them
 */
export function createPipeline(
  policies: readonly PipelinePolicy[],
  transport: SendRequest,
): SendRequest {
  return policies.reduceRight<SendRequest>(
    (next, policy) => (request) => policy.sendRequest(request, next),
    transport,
  );
}
