/**
 * The request pipeline: a short ordered list of named policies around one `fetch` call, after
 * the Azure SDK core's `PipelinePolicy`. Policies see a small mutable {@link PipelineRequest}, not
 * a web `Request`: the innermost step hands its parts straight to `fetch(url, init)`, reads the
 * whole body as text, and returns a {@link PipelineResponse}, so no `Request` object is built on
 * the way and a connection cut mid-body is a transport failure the retry policy sees.
 */
import { UnexpectedResponseError, toTransportError } from '@twinkit/twin-model/errors';
import { HEADER } from '@twinkit/twin-model/protocol';
import { abortable } from '@twinkit/twin-model/internal';

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
  /** Present when the call has a timeout or an abort signal; it aborts with the call's reason. */
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
  /** The operation's signal (caller abort plus client timeout), when it can be cancelled at all. */
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

/** Where the transport step dials, for failure messages. */
export interface TransportTarget {
  /** `host` or `host:port`, as the registry was given it. */
  address: string;
  /** Whether a port was given explicitly (a refused explicit port is not retried). */
  portIsExplicit: boolean;
}

/** How to trust a CA with the registry, named in every TLS trust failure. */
const TRUST_ADVICE =
  'set NODE_EXTRA_CA_CERTS to its PEM file before Node starts, or pass options.fetch as undici fetch with an Agent whose connect.ca is that PEM';

/**
 * Composes policies, outermost first, around a `fetch`.
 *
 * @param policies - in order; the first sees the request first and the response last
 * @param fetchImpl - the transport
 * @param target - where it dials, for failure messages
 * @returns a function that runs a request through all of them
 */
export function createPipeline(
  policies: readonly PipelinePolicy[],
  fetchImpl: FetchLike,
  target: TransportTarget,
): SendRequest {
  const transport: SendRequest = (request) => sendOverFetch(request, fetchImpl, target);
  return policies.reduceRight<SendRequest>(
    (next, policy) => (request) => policy.sendRequest(request, next),
    transport,
  );
}

async function sendOverFetch(
  request: PipelineRequest,
  fetchImpl: FetchLike,
  target: TransportTarget,
): Promise<PipelineResponse> {
  const { signal } = request;
  signal?.throwIfAborted();
  // A copy per attempt: policies keep changing the operation's headers (a renewed Authorization
  // on a retry) after this attempt's fetch has them.
  const init: FetchInit = {
    method: request.method,
    headers: { ...request.headers },
    redirect: 'manual',
  };
  if (request.body !== undefined) init.body = request.body;
  if (signal !== undefined) init.signal = signal;
  let response: Response;
  let bodyAsText: string;
  try {
    // Raced against the signal because in-process handlers (hub.fetch) may ignore it. The body is
    // read here so that a connection cut mid-body (undici's `TypeError: terminated`) is a
    // transport failure like any other.
    response = await abortable(
      Promise.resolve().then(() => fetchImpl(request.url, init)),
      signal,
    );
    bodyAsText = await abortable(response.text(), signal);
  } catch (error) {
    signal?.throwIfAborted();
    throw toTransportError(error, {
      operation: request.operation,
      address: target.address,
      portIsExplicit: target.portIsExplicit,
      trustAdvice: TRUST_ADVICE,
    });
  }
  // Browsers report a manual redirect as an opaque response with status 0.
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
    const location = response.headers.get(HEADER.location);
    throw new UnexpectedResponseError(
      `${request.operation}: ${target.address} answered ${response.status || 'a redirect'}${location === null ? '' : ` to ${location}`} instead of an IoT Hub response. The registry follows no redirects, so its credentials reach only ${target.address}; check the host name.`,
      response.status,
      'an answer from the hub itself, not a redirect',
    );
  }
  return { status: response.status, headers: response.headers, bodyAsText };
}
