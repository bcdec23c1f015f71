/**
 * Node: the registry's default transport is undici's dispatcher API (`Agent.request`) over
 * keep-alive connections, not global `fetch`. Node's `fetch` is undici too, but it builds a WHATWG
 * `Request`, `Response` and body stream for every call, which costs about as much again as the
 * round trip to a nearby hub (docs/benchmarks.md). undici is loaded on the first request, so
 * importing the package stays cheap; one Agent serves every Registry in the process, and idle
 * sockets do not keep the process alive. The CA store is Node's (`NODE_EXTRA_CA_CERTS` works as
 * with `fetch`).
 */
import type { Agent, Dispatcher } from 'undici';
import { HEADER } from '@twinkit/twin-model/protocol';
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
 * undici's `request` on a shared keep-alive Agent.
 *
 * @param target - the registry's origin and address
 * @returns the transport
 */
export const defaultTransport: DefaultTransport = (target) => {
  // Built once per registry, not per request.
  const prefix = `${target.origin}/`;
  return (request) => sendOverUndici(request, target, prefix);
};

async function sendOverUndici(
  request: PipelineRequest,
  target: TransportTarget,
  prefix: string,
): Promise<PipelineResponse> {
  const { signal } = request;
  signal?.throwIfAborted();
  const { origin } = target;
  // The auth policy lets only URLs under the registry's origin through; anything else (no
  // credential attached) is sent where it points, as fetch would.
  const sameOrigin = request.url.startsWith(prefix);
  const url = sameOrigin ? undefined : new URL(request.url);
  const options: Dispatcher.RequestOptions = {
    origin: url?.origin ?? origin,
    path: url === undefined ? request.url.slice(origin.length) : `${url.pathname}${url.search}`,
    method: request.method,
    // undici reads the headers while dispatching, before this returns, so a retry's renewed
    // Authorization cannot leak into this attempt: no copy is needed.
    headers: request.headers,
    body: request.body ?? null,
    signal: signal ?? null,
  };
  let status: number;
  let rawHeaders: Dispatcher.ResponseData['headers'];
  let bodyAsText: string;
  try {
    const dispatcher = agent();
    const response = await (dispatcher instanceof Promise ? await dispatcher : dispatcher).request(
      options,
    );
    status = response.statusCode;
    rawHeaders = response.headers;
    // Read here so that a connection cut mid-body is a transport failure like any other.
    bodyAsText = await response.body.text();
  } catch (error) {
    throw transportFailure(error, request, target);
  }
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

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value !== undefined) for (const item of value) headers.append(name, item);
  }
  return headers;
}
