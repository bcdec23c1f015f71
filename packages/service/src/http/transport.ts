/**
 * The innermost pipeline step over a `fetch`-shaped function: `options.fetch` on every runtime,
 * and `globalThis.fetch` where the platform seam (platform/web) has nothing faster. Node's own
 * default (platform/node) shares the failure and redirect rules below.
 */
import { UnexpectedResponseError, toTransportError } from '@twinkit/twin-model/errors';
import { HEADER } from '@twinkit/twin-model/protocol';
import { abortable } from '@twinkit/twin-model/internal';
import type {
  FetchInit,
  FetchLike,
  PipelineRequest,
  PipelineResponse,
  SendRequest,
  TransportTarget,
} from './pipeline.js';

/** How to trust a CA with the registry, named in every TLS trust failure. */
const TRUST_ADVICE =
  'set NODE_EXTRA_CA_CERTS to its PEM file before Node starts, or pass options.fetch as undici fetch with an Agent whose connect.ca is that PEM';

/**
 * What a failed send becomes: the signal's reason when the call was aborted, else a typed
 * `TransportError` (TLS trust and refused ports recognised).
 *
 * @param error - what the transport threw
 * @param request - the request, for its signal and operation name
 * @param target - where it dialled
 * @returns the error to throw
 */
export function transportFailure(
  error: unknown,
  request: PipelineRequest,
  target: TransportTarget,
): unknown {
  if (request.signal?.aborted === true) return request.signal.reason;
  return toTransportError(error, {
    operation: request.operation,
    address: target.address,
    portIsExplicit: target.portIsExplicit,
    trustAdvice: TRUST_ADVICE,
  });
}

/**
 * Refuses a redirect: the registry follows none, so its credentials reach only its own origin.
 *
 * @param status - the answer's status (`0` for a browser's opaque redirect)
 * @param location - its `Location`, if any
 * @param request - the request, for its operation name
 * @param target - where it dialled
 * @returns the error to throw
 */
export function redirectRefused(
  status: number,
  location: string | null | undefined,
  request: PipelineRequest,
  target: TransportTarget,
): UnexpectedResponseError {
  return new UnexpectedResponseError(
    `${request.operation}: ${target.address} answered ${status || 'a redirect'}${location == null ? '' : ` to ${location}`} instead of an IoT Hub response. The registry follows no redirects, so its credentials reach only ${target.address}; check the host name.`,
    status,
    'an answer from the hub itself, not a redirect',
  );
}

/**
 * The transport step over a `fetch`-shaped function.
 *
 * @param fetchImpl - `options.fetch` or `globalThis.fetch`
 * @param target - where it dials, for failure messages
 * @returns the innermost pipeline step
 */
export function fetchTransport(fetchImpl: FetchLike, target: TransportTarget): SendRequest {
  return (request) => sendOverFetch(request, fetchImpl, target);
}

async function sendOverFetch(
  request: PipelineRequest,
  fetchImpl: FetchLike,
  target: TransportTarget,
): Promise<PipelineResponse> {
  const { signal } = request;
  signal?.throwIfAborted();
  // A copy per attempt: policies keep changing the operation's headers (a renewed Authorization
  // on a retry) after this attempt's fetch has them, and a custom fetch may keep the object.
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
    throw transportFailure(error, request, target);
  }
  // Browsers report a manual redirect as an opaque response with status 0.
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400))
    throw redirectRefused(response.status, response.headers.get(HEADER.location), request, target);
  return { status: response.status, headers: response.headers, bodyAsText };
}
