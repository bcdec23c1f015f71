/**
 * Node: the registry's default transport is undici's dispatcher (`Agent.dispatch`) over
 * keep-alive connections, not global `fetch`. Node's `fetch` is undici too, but it builds a WHATWG
 * `Request`, `Response` and body stream for every call, which costs about as much again as the
 * round trip to a nearby hub (docs/benchmarks.md). Even undici's own `request` wraps each answer
 * in a Node `Readable` and attaches two `abort` listeners to the signal; a REST answer is small
 * and read whole, so a handler that collects the chunks does the same job for a fraction of the
 * CPU. undici is loaded on the first request, so importing the package stays cheap; one Agent
 * serves every Registry in the process, and idle sockets do not keep the process alive. The CA
 * store is Node's (`NODE_EXTRA_CA_CERTS` works as with `fetch`).
 */
import type { Agent, Dispatcher } from 'undici';
import { HEADER } from '@twinkit/twin-model/protocol';
import { onAbort } from '@twinkit/twin-model/internal';
import type { PipelineRequest, PipelineResponse, TransportTarget } from '../../pipeline.js';
import { redirectRefused, transportFailure } from '../../transport.js';
import type { DefaultTransport } from '../types.js';

let shared: Agent | Promise<Agent> | undefined;

function agent(): Agent | Promise<Agent> {
  shared ??= import('undici').then(({ Agent: AgentClass }) => {
    const created = new AgentClass();
    shared = created;
    return created;
  });
  return shared;
}

/**
 * undici's dispatcher on a shared keep-alive Agent.
 *
 * @param target - the registry's origin and address
 * @returns the transport
 */
export const defaultTransport: DefaultTransport = (target) => {
  // Built once per registry, not per request.
  const prefix = `${target.origin}/`;
  return (request) => sendOverUndici(request, target, prefix);
};

/** What one exchange produced before its headers are turned into a `Headers`. */
interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyAsText: string;
}

async function sendOverUndici(
  request: PipelineRequest,
  target: TransportTarget,
  prefix: string,
): Promise<PipelineResponse> {
  request.signal?.throwIfAborted();
  const { origin } = target;
  // The auth policy lets only URLs under the registry's origin through; anything else (no
  // credential attached) is sent where it points, as fetch would.
  const sameOrigin = request.url.startsWith(prefix);
  const url = sameOrigin ? undefined : new URL(request.url);
  const options: Dispatcher.DispatchOptions = {
    origin: url?.origin ?? origin,
    path: url === undefined ? request.url.slice(origin.length) : `${url.pathname}${url.search}`,
    method: request.method,
    // undici serialises the headers while dispatching, before this returns, so a retry's renewed
    // Authorization cannot leak into this attempt: no copy is needed.
    headers: request.headers,
    body: request.body ?? null,
  };
  let answer: RawAnswer;
  try {
    const dispatcher = agent();
    answer = await exchange(
      dispatcher instanceof Promise ? await dispatcher : dispatcher,
      options,
      request.signal,
    );
  } catch (error) {
    throw transportFailure(error, request, target);
  }
  const { status, headers: rawHeaders, bodyAsText } = answer;
  if (status >= 300 && status < 400) {
    const location = rawHeaders[HEADER.location];
    throw redirectRefused(
      status,
      Array.isArray(location) ? location[0] : location,
      request,
      target,
    );
  }
  // A WHATWG Headers costs a validated append per header; most answers (a twin read or write)
  // never look at their headers, so it is built on first access only.
  let headers: Headers | undefined;
  return {
    status,
    get headers(): Headers {
      return (headers ??= toHeaders(rawHeaders));
    },
    bodyAsText,
  };
}

/**
 * Sends one request and collects the whole answer. An abort of `signal` rejects at once with its
 * reason and tears the exchange down; undici aborts a request still waiting for a socket as soon
 * as it would be written.
 */
function exchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    // Checked again here: the signal may have aborted while undici was being loaded.
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const handler = new CollectingHandler(resolve, reject);
    if (signal !== undefined) handler.follow(signal);
    try {
      dispatcher.dispatch(options, handler);
    } catch (error) {
      handler.onResponseError(undefined, error as Error);
    }
  });
}

/**
 * undici's handler for one exchange: keeps the status and headers, collects the body chunks, and
 * settles the exchange's promise. A class rather than closures: one object per call.
 */
class CollectingHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #abortedWith: { reason: unknown } | undefined;
  #detach: (() => void) | undefined;
  #status = 0;
  #headers: RawAnswer['headers'] = {};
  #chunks: Buffer[] = [];
  readonly #resolve: (answer: RawAnswer) => void;
  readonly #reject: (error: unknown) => void;

  constructor(resolve: (answer: RawAnswer) => void, reject: (error: unknown) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Ends the exchange with the signal's reason when it aborts. */
  follow(signal: AbortSignal): void {
    this.#detach = onAbort(signal, () => {
      const reason: unknown = signal.reason;
      this.#abortedWith = { reason };
      this.#controller?.abort(reason as Error);
      this.#reject(reason);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortedWith !== undefined) controller.abort(this.#abortedWith.reason as Error);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: RawAnswer['headers'],
  ): void {
    this.#status = statusCode;
    this.#headers = headers;
    this.#chunks = [];
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#detach?.();
    this.#resolve({
      status: this.#status,
      headers: this.#headers,
      bodyAsText: decodeUtf8(this.#chunks),
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#detach?.();
    this.#reject(error);
  }
}

/** UTF-8 text of the chunks, a leading byte order mark dropped (as `fetch`'s `text()` does). */
function decodeUtf8(chunks: readonly Buffer[]): string {
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  if (body === undefined || body.length === 0) return '';
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value !== undefined) for (const item of value) headers.append(name, item);
  }
  return headers;
}
