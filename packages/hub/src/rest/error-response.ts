/**
 * Turning failures into IoT Hub REST error responses: status, `iothub-errorcode` header and the
 * classic `{"Message":"ErrorCode:<Code>;<text>","ExceptionMessage":"Tracking ID:…"}` body that
 * every official SDK decodes (docs/internals/wire-contract.md#rest-errors). The inverse of twin-model's `createHubError`.
 */
import { HEADER } from '@twinkit/twin-model/protocol';
import { randomUUID } from 'node:crypto';
import {
  formatRestErrorBody,
  isHubError,
  isQuerySyntaxError,
  isTwinValidationError,
  type HubError,
} from '@twinkit/twin-model/errors';
import { wireTextOf } from './hub-failure.js';

/** Content type of every JSON response (Node's SDK parses only `application/json` bodies, docs/internals/wire-contract.md#rest). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The hub's message for a query that does not parse (docs/internals/twin-semantics.md#query-errors). */
export const INVALID_QUERY_TEXT =
  'The query is invalid. Please check the format of the query and try again.';

/**
 * A JSON response with the content type IoT Hub uses.
 *
 * @param status - HTTP status
 * @param body - any JSON-serialisable value
 * @param headers - extra headers
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { [HEADER.contentType]: JSON_CONTENT_TYPE, ...headers },
  });
}

/**
 * The REST error response for a code and text.
 *
 * @param statusCode - HTTP status
 * @param code - IoT Hub error code name
 * @param text - the text after `ErrorCode:<code>;`
 * @param headers - extra headers (e.g. `retry-after`)
 */
export function errorResponse(
  statusCode: number,
  code: string,
  text: string,
  headers: Record<string, string> = {},
): Response {
  const trackingId = randomUUID().replaceAll('-', '').toUpperCase();
  const body = formatRestErrorBody(code, text, trackingId, new Date().toISOString());
  return jsonResponse(statusCode, body, { [HEADER.errorCode]: code, ...headers });
}

/**
 * The text a HubError's wire body carries.
 *
 * @param error - the error
 */
export function hubTextOf(error: HubError): string {
  // createHubError decorates `message` for client developers; the wire carries the hub's text.
  return wireTextOf(error) ?? error.message;
}

/**
 * Maps anything thrown while handling a request to the response IoT Hub would send.
 * HubErrors keep their status and code; twin validation errors become 400 ArgumentInvalid; query
 * syntax errors become 400 with the hub's invalid-query text; anything else is a 500 ServerError.
 *
 * @param error - what was thrown
 * @returns the response
 */
export function toErrorResponse(error: unknown): Response {
  if (isHubError(error)) {
    const headers: Record<string, string> = {};
    if (error.retryAfterInMs !== undefined)
      headers[HEADER.retryAfter] = String(Math.ceil(error.retryAfterInMs / 1000));
    return errorResponse(error.statusCode, error.code, hubTextOf(error), headers);
  }
  if (isTwinValidationError(error)) {
    const first = error.issues[0];
    return errorResponse(400, 'ArgumentInvalid', first?.message ?? error.message);
  }
  if (isQuerySyntaxError(error)) {
    // twin-model's query errors already start with the hub's sentence; keep its detail after it.
    const text = error.message.startsWith(INVALID_QUERY_TEXT)
      ? error.message
      : `${INVALID_QUERY_TEXT} ${error.message}`;
    return errorResponse(400, 'ArgumentInvalid', text);
  }
  const detail = error instanceof Error ? error.message : String(error);
  return errorResponse(500, 'ServerError', `The hub failed to handle the request: ${detail}`);
}
