/**
 * Turns one REST call into a value or a typed error: builds the URL and headers, runs the
 * pipeline, and maps a failure status through `parseHubErrorBody` + `createHubError` so the
 * caller gets a `HubError` subclass with status, hub code, request id and advice (house-style 4.6).
 */
import { createHubError, parseHubErrorBody } from '@twinkit/twin-model/errors';
import { HEADER, JSON_CONTENT_TYPE, withApiVersion } from '@twinkit/twin-model/protocol';
import { abortable, parseRetryAfter } from '@twinkit/twin-model/internal';
import type { SendRequest } from './pipeline.js';

/** One REST call. */
export interface RestCall {
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** A path from twin-model's `protocol/rest.ts`, without the query string. */
  path: string;
  /** Serialised to JSON when present. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Extra query parameters besides `api-version`. */
  query?: Record<string, string>;
  /**
   * Accepts a failure status whose JSON body passes this check as a result instead of an error
   * (the bulk endpoint answers 400 with per-item errors, protocol.md §6.8).
   */
  acceptErrorBody?: (body: unknown) => boolean;
  /** Method name for logs, e.g. `getTwin`. */
  operation: string;
  /** What failed, for error messages, e.g. `Twin update`. */
  description: string;
  deviceId?: string | undefined;
  moduleId?: string | undefined;
}

/** A successful answer. */
export interface RestResult {
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The parsed JSON body, or `undefined` when there was none. */
  body: unknown;
}

/** The pieces a call needs from its registry. */
export interface RestContext {
  send: SendRequest;
  /** `https://host[:port]` */
  baseUrl: string;
  apiVersion: string;
}

/**
 * Sends one REST call and returns its parsed body, or throws.
 *
 * @param context - pipeline and endpoint
 * @param call - what to send
 * @param signal - the operation's signal, when it can be cancelled
 * @returns status, headers and parsed JSON body
 * @throws a {@link HubError} subclass for any status of 300 or more
 * @throws `signal.reason` when the signal aborts
 */
export async function sendRest(
  context: RestContext,
  call: RestCall,
  signal: AbortSignal | undefined,
): Promise<RestResult> {
  // A plain object with lower-case names: `fetch` takes it as is, and policies add to it cheaply.
  const headers: Record<string, string> = call.headers === undefined ? {} : { ...call.headers };
  let body: string | undefined;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers[HEADER.contentType] = JSON_CONTENT_TYPE;
  }
  headers.accept = 'application/json';
  let url = `${context.baseUrl}${withApiVersion(call.path, context.apiVersion)}`;
  if (call.query !== undefined) {
    for (const [name, value] of Object.entries(call.query))
      url += `&${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  }
  const response = await context.send({
    method: call.method,
    url,
    headers,
    body,
    signal,
    operation: call.operation,
  });
  const text = await abortable(response.text(), signal);
  if (response.status >= 300 && call.acceptErrorBody !== undefined) {
    const body = tryParseJson(text);
    if (body !== undefined && call.acceptErrorBody(body))
      return { status: response.status, headers: response.headers, body };
  }
  if (response.status >= 300) {
    const parsed = parseHubErrorBody(text);
    throw createHubError({
      statusCode: response.status,
      code: parsed.code ?? response.headers.get(HEADER.errorCode) ?? undefined,
      message: parsed.message,
      requestId: response.headers.get(HEADER.requestId) ?? headers[HEADER.requestId],
      deviceId: call.deviceId,
      moduleId: call.moduleId,
      operation: call.description,
      retryAfterInMs: parseRetryAfter(response.headers),
    });
  }
  let parsedBody: unknown;
  if (text.trim() !== '') {
    try {
      parsedBody = JSON.parse(text);
    } catch (error) {
      throw createHubError({
        statusCode: 502,
        code: 'ServerError',
        message: `the hub answered ${response.status} with a body that is not JSON`,
        requestId: response.headers.get(HEADER.requestId) ?? headers[HEADER.requestId],
        deviceId: call.deviceId,
        moduleId: call.moduleId,
        operation: call.description,
        cause: error,
      });
    }
  }
  return { status: response.status, headers: response.headers, body: parsedBody };
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
