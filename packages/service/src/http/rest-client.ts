/**
 * Turns one REST operation from twin-model's table into a value or a typed error: fills the
 * path, sets the headers, runs the pipeline, and maps a failure status through
 * `parseHubErrorBody` + `createHubError`, so callers get a `HubError` subclass with status, hub
 * code, request id and advice. Every Registry method goes through {@link callRest} inside
 * {@link runOperation}.
 */
import {
  UnexpectedResponseError,
  createHubError,
  parseHubErrorBody,
} from '@twinkit/twin-model/errors';
import { createOperationScope, parseRetryAfter } from '@twinkit/twin-model/internal';
import {
  HEADER,
  JSON_CONTENT_TYPE,
  JSON_MEDIA_TYPE,
  formatOperationPath,
  withApiVersion,
  type RestOperation,
} from '@twinkit/twin-model/protocol';
import type { OperationOptions } from '../options.js';
import type { TwinBodyCheck } from '../twin-validation.js';
import type { PipelineResponse, SendRequest } from './pipeline.js';

/** What every call needs from its registry. */
export interface RestClient {
  readonly send: SendRequest;
  /** `https://host[:port]` */
  readonly baseUrl: string;
  readonly apiVersion: string;
  /** Time limit of each operation, retries included; `0` for none. */
  readonly operationTimeoutInMs: number;
  /**
   * Checks twin write content before it is sent: a Registry's client has one; a client of
   * `@twinkit/service/twins` leaves the rules to the hub, so its bundle need not carry them.
   */
  readonly checkTwinBody?: TwinBodyCheck;
}

/** The parts of one call that are not in its operation descriptor. */
export interface RestRequest {
  /** The ids the path template needs. */
  ids?: { deviceId?: string | undefined; moduleId?: string | undefined };
  /** Serialised to JSON when present. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the descriptor: a PATCH with `If-Match` may be repeated safely. */
  idempotent?: boolean;
  /**
   * Accepts a failure status whose JSON body passes this check as a result instead of an error
   * (the bulk endpoint answers 400 with per-item errors).
   */
  acceptErrorBody?: (body: unknown) => boolean;
}

/** A successful answer. */
export interface RestResult {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or `undefined` when there was none. */
  body: unknown;
}

/**
 * Runs one Registry operation under its time limit and the caller's abort signal.
 *
 * @param client - the registry's client
 * @param name - the method name, for the timeout message
 * @param options - the caller's options (its `abortSignal`)
 * @param work - the operation, given the signal it must honour
 * @returns what `work` returns
 */
export async function runOperation<T>(
  client: RestClient,
  name: string,
  options: OperationOptions | undefined,
  work: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const scope = createOperationScope(name, client.operationTimeoutInMs, options?.abortSignal);
  try {
    return await work(scope.signal);
  } catch (error) {
    // The timeout reason of a signal shared with other calls becomes this call's own error.
    throw scope.failure(error);
  } finally {
    scope.dispose();
  }
}

/**
 * Sends one REST operation and returns its parsed body, or throws.
 *
 * @param client - pipeline and endpoint
 * @param operation - the descriptor from `REST_OPERATIONS`
 * @param request - ids, body and extra headers
 * @param signal - the operation's signal, when it can be cancelled
 * @returns status, headers and parsed JSON body
 * @throws a {@link HubError} subclass for a failure status
 * @throws {@link UnexpectedResponseError} for a redirect or a body that is not JSON
 * @throws {@link TransportError} when no answer came
 * @throws `signal.reason` when the signal aborts
 */
export async function callRest(
  client: RestClient,
  operation: RestOperation,
  request: RestRequest,
  signal: AbortSignal | undefined,
): Promise<RestResult> {
  // A plain object with lower-case names: `fetch` takes it as is, and policies add to it cheaply.
  const headers: Record<string, string> =
    request.headers === undefined ? {} : { ...request.headers };
  let body: string | undefined;
  if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers[HEADER.contentType] = JSON_CONTENT_TYPE;
  }
  headers[HEADER.accept] = JSON_MEDIA_TYPE;
  const path = formatOperationPath(operation.path, request.ids);
  const response = await client.send({
    method: operation.method,
    url: `${client.baseUrl}${withApiVersion(path, client.apiVersion)}`,
    headers,
    body,
    signal,
    operation: operation.name,
    idempotent: request.idempotent ?? operation.idempotent,
  });
  const text = response.bodyAsText;
  const ids = request.ids ?? {};
  if (response.status >= 400 && request.acceptErrorBody !== undefined) {
    const parsed = tryParseJson(text);
    if (parsed !== undefined && request.acceptErrorBody(parsed))
      return restResult(response, parsed);
  }
  if (response.status >= 400) {
    const parsed = parseHubErrorBody(text);
    const code = parsed.code ?? response.headers.get(HEADER.errorCode) ?? undefined;
    throw createHubError({
      statusCode: response.status,
      // A 404 that names no code is not IoT Hub's "no such device": it is a route this server lacks.
      code: code ?? (response.status === 404 ? 'NotFound' : undefined),
      message: parsed.message,
      requestId: response.headers.get(HEADER.requestId) ?? headers[HEADER.requestId],
      deviceId: ids.deviceId,
      moduleId: ids.moduleId,
      operation: operation.description,
      retryAfterInMs: parseRetryAfter(response.headers),
    });
  }
  // Parsed once; only a body that fails to parse is checked for being blank (no second pass over
  // every good body).
  const parsed = text === '' ? undefined : tryParseJson(text);
  if (parsed === undefined && text.trim() === '') return restResult(response, undefined);
  if (parsed === undefined) {
    throw new UnexpectedResponseError(
      `${operation.description} got ${response.status} with a body that is not JSON from ${client.baseUrl}; is it an IoT Hub?`,
      response.status,
      'a JSON body',
    );
  }
  return restResult(response, parsed);
}

/** The headers stay the transport's lazy ones: read only by the calls that need them (paging). */
function restResult(response: PipelineResponse, body: unknown): RestResult {
  return new ParsedResult(response, body);
}

/**
 * A class, not an object literal with a `get headers()` closure: V8 gives every such literal a map
 * of its own, held in old space, which kept each answer (a query page is 100 twins) alive until
 * the next full GC and made every young-generation GC copy megabytes.
 */
class ParsedResult implements RestResult {
  readonly status: number;
  readonly body: unknown;
  readonly #response: PipelineResponse;

  constructor(response: PipelineResponse, body: unknown) {
    this.status = response.status;
    this.#response = response;
    this.body = body;
  }

  get headers(): Headers {
    return this.#response.headers;
  }
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
