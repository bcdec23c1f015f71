/**
 * The request pipeline: a short ordered list of policies around one `fetch` call, after Azure's
 * `PipelinePolicy` (house-style 4.7). Policies see a mutable {@link PipelineRequest} and return
 * the `Response`; the innermost step turns it into a web `Request` for the injected `fetch`.
 */
import { TransportError } from '@twinkit/twin-model/errors';
import { abortable } from '../internal/abort.js';

/**
 * A `fetch`-compatible function: takes a web `Request`, returns a `Response`. `globalThis.fetch`
 * fits, so does an in-process handler such as the local hub's `hub.fetch`.
 */
export type FetchLike = (request: Request) => Promise<Response>;

/** One HTTP exchange as policies see it. Headers are mutable; the body is always text. */
export interface PipelineRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string | undefined;
  /** The operation's signal: caller abort plus client timeout. */
  readonly signal: AbortSignal;
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
export function createPipeline(policies: readonly PipelinePolicy[], fetchImpl: FetchLike): SendRequest {
  const transport: SendRequest = (request) => sendOverFetch(request, fetchImpl);
  return policies.reduceRight<SendRequest>((next, policy) => (request) => policy(request, next), transport);
}

async function sendOverFetch(request: PipelineRequest, fetchImpl: FetchLike): Promise<Response> {
  const { signal } = request;
  if (signal.aborted) throw signal.reason as Error;
  const init: RequestInit = { method: request.method, headers: request.headers, signal };
  if (request.body !== undefined) init.body = request.body;
  let pending: Promise<Response>;
  try {
    pending = Promise.resolve(fetchImpl(new Request(request.url, init)));
  } catch (error) {
    pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  try {
    // Raced against the signal because in-process handlers (hub.fetch) may ignore it.
    return await abortable(pending, signal);
  } catch (error) {
    if (isAborted(signal)) throw signal.reason as Error;
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

// A function, so the compiler does not narrow `aborted` to the value it had before an await.
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
