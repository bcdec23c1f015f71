/**
 * The request pipeline: a short ordered list of policies around one `fetch` call, after Azure's
 * `PipelinePolicy` (house-style 4.7). Policies see a small mutable {@link PipelineRequest}, not a
 * web `Request`: the innermost step hands its parts straight to `fetch(url, init)`, so no
 * `Request` object is built (and then copied again inside `fetch`) on the way.
 */
import { TransportError } from '@twinkit/twin-model/errors';
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
}

/** Sends a request through the rest of the pipeline. */
export type SendRequest = (request: PipelineRequest) => Promise<Response>;

/** One step of the pipeline: may change the request, call `next` (more than once), or short-circuit. */
export type PipelinePolicy = (request: PipelineRequest, next: SendRequest) => Promise<Response>;

/**
 * Composes policies, outermost first, around a `fetch`.
 *
 * @param policies - in order; the first sees the request first and the response last
 * @param fetchImpl - the transport
 * @returns a function that runs a request through all of them
 */
export function createPipeline(
  policies: readonly PipelinePolicy[],
  fetchImpl: FetchLike,
): SendRequest {
  const transport: SendRequest = (request) => sendOverFetch(request, fetchImpl);
  return policies.reduceRight<SendRequest>(
    (next, policy) => (request) => policy(request, next),
    transport,
  );
}

async function sendOverFetch(request: PipelineRequest, fetchImpl: FetchLike): Promise<Response> {
  const { signal } = request;
  signal?.throwIfAborted();
  // A copy per attempt: policies keep changing the operation's headers (a renewed Authorization
  // on a retry) after this attempt's fetch has them.
  const init: FetchInit = { method: request.method, headers: { ...request.headers } };
  if (request.body !== undefined) init.body = request.body;
  if (signal !== undefined) init.signal = signal;
  let pending: Promise<Response>;
  try {
    pending = Promise.resolve(fetchImpl(request.url, init));
  } catch (error) {
    pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  try {
    // Raced against the signal because in-process handlers (hub.fetch) may ignore it.
    return await abortable(pending, signal);
  } catch (error) {
    signal?.throwIfAborted();
    // Whatever fetch threw (DNS, refused connection, TLS, reset) means no answer arrived.
    throw new TransportError(
      `${request.operation}: no response from ${new URL(request.url).host} (${describe(error)}). Check the host name, network and TLS trust; the call is retried automatically.`,
      { cause: error },
    );
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
