/**
 * Cross-origin access to the REST API, for back ends that run in a web page (the service
 * `Registry` in a browser). Off unless the hub is given the origins to allow: a page from any
 * other origin can then send requests with an `Authorization` header, and answers expose the
 * headers the Registry reads (ETag, continuation token, error code).
 */
import { cors } from 'hono/cors';
import type { MiddlewareHandler } from 'hono';
import { HEADER } from '@twinkit/twin-model/protocol';

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_IN_SECONDS = 600;

/**
 * Checks origins given to the hub (`corsOrigins`, `--cors`): each must be `*` or a bare origin
 * (`scheme://host[:port]`, no path), because browsers compare the `Origin` header exactly.
 *
 * @param origins - the configured origins
 * @throws TypeError naming the first invalid origin
 */
export function assertValidCorsOrigins(origins: readonly string[]): void {
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed?.origin !== origin) {
      throw new TypeError(
        `Invalid CORS origin '${origin}': give '*' or an origin such as 'http://localhost:5173' (scheme, host and port; no path or trailing slash).`,
      );
    }
  }
}

/**
 * The CORS middleware for the REST app.
 *
 * @param origins - allowed origins; `*` allows every origin
 * @returns hono middleware answering preflights and decorating responses
 */
export function corsMiddleware(origins: readonly string[]): MiddlewareHandler {
  const allowAll = origins.includes('*');
  const allowed = new Set(origins);
  return cors({
    // Echo the request's origin rather than `*`, so caches keyed on Vary: Origin stay correct.
    origin: (origin) => (allowAll || allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'],
    allowHeaders: [
      HEADER.authorization,
      HEADER.contentType,
      HEADER.ifMatch,
      HEADER.continuation,
      HEADER.maxItemCount,
      HEADER.requestId,
    ],
    exposeHeaders: [
      HEADER.etag,
      HEADER.continuation,
      HEADER.itemType,
      HEADER.requestId,
      HEADER.errorCode,
      HEADER.retryAfter,
    ],
    maxAge: PREFLIGHT_MAX_AGE_IN_SECONDS,
  });
}
