/**
 * The service REST contract shared by the Registry client and the hub: api-version, header names,
 * resource paths and ETag quoting (docs/internals/wire-contract.md#rest).
 */

/** The REST api-version every current SDK sends (docs/internals/wire-contract.md#rest); the hub accepts any value. */
export const API_VERSION = '2021-04-12';

/**
 * REST header names, in lower case. Java's v1 service client matches response header names
 * case-sensitively, so the hub writes exactly these spellings (docs/internals/wire-contract.md#rest-query).
 */
export const HEADER = /* @__PURE__ */ Object.freeze({
  ifMatch: 'if-match',
  etag: 'etag',
  continuation: 'x-ms-continuation',
  maxItemCount: 'x-ms-max-item-count',
  itemType: 'x-ms-item-type',
  requestId: 'request-id',
  errorCode: 'iothub-errorcode',
  authorization: 'authorization',
  retryAfter: 'retry-after',
  contentType: 'content-type',
  userAgent: 'user-agent',
  accept: 'accept',
  /** Where a redirect points; the Registry reports it and never follows it. */
  location: 'location',
  /** Milliseconds to wait, sent by Azure front ends beside `retry-after`. */
  retryAfterMs: 'retry-after-ms',
  /** Milliseconds to wait, the `x-ms-` spelling. */
  msRetryAfterMs: 'x-ms-retry-after-ms',
} as const);

/** The query parameter carrying the REST api-version. */
export const API_VERSION_PARAMETER = 'api-version';

/** The `If-Match` value that matches any ETag, quoted as every official SDK sends it. */
export const IF_MATCH_ANY = '"*"';

/** The `Authorization` scheme of Microsoft Entra ID tokens. */
export const BEARER_SCHEME = 'Bearer';

/**
 * Values of `x-ms-item-type` on a query page: `Twin` for `SELECT *`, `Raw` for projections and
 * aggregates, `DeviceJob` for `devices.jobs`.
 */
export const KnownQueryItemType: Readonly<{
  Twin: 'Twin';
  Raw: 'Raw';
  DeviceJob: 'DeviceJob';
}> = /* @__PURE__ */ Object.freeze({
  Twin: 'Twin',
  Raw: 'Raw',
  DeviceJob: 'DeviceJob',
} as const);

/** A value of `x-ms-item-type`: one of {@link KnownQueryItemType}. */
export type QueryItemType = 'Twin' | 'Raw' | 'DeviceJob';

/** The `importMode`s of a bulk twin update item (`POST /devices`). */
export const KnownBulkImportMode = /* @__PURE__ */ Object.freeze({
  UpdateTwin: 'updateTwin',
  UpdateTwinIfMatchETag: 'updateTwinIfMatchETag',
} as const);

/** The media type the clients accept (`Accept`), without parameters. */
export const JSON_MEDIA_TYPE = 'application/json';

/** Content type of every JSON request and response body; Node parses only `application/json` bodies (docs/internals/wire-contract.md#rest). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Path of the twin query endpoint (`POST`, docs/internals/wire-contract.md#rest-query). */
export const QUERY_PATH = '/devices/query';

/** Path of the bulk registry endpoint (`POST`, docs/internals/wire-contract.md#bulk-twin-updates). C# sends `/devices/` with a trailing slash; route both. */
export const BULK_PATH = '/devices';

/**
 * Builds the REST path of a device or module twin.
 *
 * Each id is percent-encoded as one path segment (`encodeURIComponent`, as the Node SDK does),
 * so `+` travels as `%2B` and never turns into a space (docs/internals/wire-contract.md#rest).
 *
 * @param deviceId - The device id.
 * @param moduleId - The module id, for a module twin.
 * @returns `/twins/{deviceId}` or `/twins/{deviceId}/modules/{moduleId}`.
 * @throws {@link TypeError} when an id is empty.
 * @example
 * ```ts
 * twinPath('dev 1', 'mod1'); // '/twins/dev%201/modules/mod1'
 * ```
 */
export function twinPath(deviceId: string, moduleId?: string): string {
  const base = `/twins/${segment(deviceId, 'deviceId')}`;
  return moduleId === undefined ? base : `${base}/modules/${segment(moduleId, 'moduleId')}`;
}

/**
 * Builds the REST path of a device identity (docs/internals/wire-contract.md#identities).
 *
 * @param deviceId - The device id.
 * @returns `/devices/{deviceId}`.
 * @throws {@link TypeError} when the id is empty.
 */
export function devicePath(deviceId: string): string {
  return `/devices/${segment(deviceId, 'deviceId')}`;
}

/**
 * Builds the REST path of a module identity (docs/internals/wire-contract.md#identities).
 *
 * @param deviceId - The device id.
 * @param moduleId - The module id.
 * @returns `/devices/{deviceId}/modules/{moduleId}`.
 * @throws {@link TypeError} when an id is empty.
 */
export function modulePath(deviceId: string, moduleId: string): string {
  return `${devicePath(deviceId)}/modules/${segment(moduleId, 'moduleId')}`;
}

/**
 * Builds the REST path listing a device's modules (docs/internals/wire-contract.md#identities).
 *
 * @param deviceId - The device id.
 * @returns `/devices/{deviceId}/modules`.
 * @throws {@link TypeError} when the id is empty.
 */
export function modulesPath(deviceId: string): string {
  return `${devicePath(deviceId)}/modules`;
}

/**
 * Appends the `api-version` query parameter to a path.
 *
 * @param path - A path without a query string, e.g. from {@link twinPath}.
 * @param apiVersion - The api-version to send; defaults to {@link API_VERSION}.
 * @returns `path?api-version=…`.
 */
export function withApiVersion(path: string, apiVersion: string = API_VERSION): string {
  return `${path}?${API_VERSION_PARAMETER}=${encodeURIComponent(apiVersion)}`;
}

/**
 * Wraps an ETag in double quotes for an `If-Match` or `ETag` header, unless it is quoted already.
 *
 * Node and C# always send quoted values, including the `"*"` wildcard, and the real hub ignored
 * unquoted ones (docs/internals/wire-contract.md#etags-and-if-match), so clients must quote.
 *
 * @param etag - A bare or already quoted ETag, or `*`.
 * @returns The quoted form, e.g. `"AAAAAAAAAAE="`.
 */
export function quoteEtag(etag: string): string {
  return isQuoted(etag) ? etag : `"${etag}"`;
}

/**
 * Strips a weak-validator `W/` prefix and one pair of double quotes from a header value.
 *
 * This is the emulator's If-Match normalisation from docs/internals/wire-contract.md#etags-and-if-match. Values that are not
 * quoted come back unchanged (apart from surrounding whitespace).
 *
 * @param value - An `If-Match` or `ETag` header value.
 * @returns The bare ETag, e.g. `AAAAAAAAAAE=` or `*`.
 */
export function unquoteEtag(value: string): string {
  let text = value.trim();
  if (text.startsWith('W/')) text = text.slice(2);
  return isQuoted(text) ? text.slice(1, -1) : text;
}

/**
 * Tells whether a header value is wrapped in one pair of double quotes.
 *
 * @param value - A header value.
 * @returns `true` for `"…"` (at least two characters).
 */
export function isQuoted(value: string): boolean {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"');
}

function segment(id: string, field: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`${field} must be a non-empty string`);
  }
  return encodeURIComponent(id);
}
