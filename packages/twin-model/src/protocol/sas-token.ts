/**
 * Shared access signature tokens: create, parse and verify (docs/internals/wire-contract.md#sas-tokens), on WebCrypto
 * HMAC-SHA256 so the same code runs in Node, browsers and edge runtimes.
 */
import { decodeBase64, encodeBase64 } from './base64.js';

/** The literal scheme word that starts every SAS token (docs/internals/wire-contract.md#sas-tokens). */
export const SAS_TOKEN_PREFIX = 'SharedAccessSignature';

/** Options for {@link createSasToken}. */
export interface CreateSasTokenOptions {
  /** Unencoded resource, e.g. `myhub.azure-devices.net/devices/dev1` or a bare host for service tokens. */
  resourceUri: string;
  /** Base64 symmetric key (device, module or policy key). */
  key: string;
  /** Policy name; set only for tokens signed with a hub policy key (adds `skn`). */
  keyName?: string;
  /** Expiry as whole seconds since the Unix epoch. */
  expiresOnInSeconds: number;
}

/** A SAS token split into its fields (docs/internals/wire-contract.md#sas-tokens). */
export interface ParsedSasToken {
  /** The `sr` field exactly as written in the token: this raw text is what was signed (docs/internals/wire-contract.md#sas-tokens). */
  rawResource: string;
  /** The `sr` field percent-decoded once, for scope checks (docs/internals/wire-contract.md#sas-verification step 4). */
  resourceUri: string;
  /** The `sig` field percent-decoded: base64 text of the HMAC. */
  signature: string;
  /** The `se` field as a number of seconds since the Unix epoch. */
  expiresOnInSeconds: number;
  /** The `se` field exactly as written in the token (signed verbatim). */
  rawExpiry: string;
  /** The percent-decoded `skn` policy name; absent for device and module keys or when empty. */
  keyName?: string;
}

/** Options for {@link verifySasToken}. */
export interface VerifySasTokenOptions {
  /** The current time in seconds since the Unix epoch (injected so callers control the clock). */
  nowInSeconds: number;
  /**
   * Seconds an expired token is still accepted for. Defaults to 0; C#'s server-side parser uses
   * 300, and the real hub's tolerance is unconfirmed (docs/internals/wire-contract.md#sas-verification step 3).
   */
  clockSkewInSeconds?: number;
}

/** Outcome of {@link verifySasToken}. Failure messages never contain the token, keys or signatures. */
export type SasVerification =
  | { ok: true; token: ParsedSasToken }
  | { ok: false; reason: 'malformed' | 'expired' | 'signature'; message: string };

/** Options for {@link resourceCovers}. */
export interface ResourceCoversOptions {
  /**
   * Also compare the segments after the host case-insensitively. The host is always compared
   * case-insensitively; the real hub's rule for ids is unconfirmed (docs/internals/wire-contract.md#sas-resource-uris), so this is opt-in.
   */
  ignoreCase?: boolean;
}

const encoder = /* @__PURE__ */ new TextEncoder();

/**
 * Creates a SAS token the way the Node SDK does.
 *
 * `sr` is `encodeURIComponent(resourceUri)` (upper-case hex), `sig` is the percent-encoded
 * base64 HMAC-SHA256 of `sr + "\n" + se` under the decoded key (docs/internals/wire-contract.md#sas-tokens), and the fields are written
 * in the order `sr, sig, se[, skn]`.
 *
 * @param options - Resource, key, optional policy name and expiry.
 * @returns The token, starting with `SharedAccessSignature `.
 * @throws {@link TypeError} when the key is not valid base64 or is empty, or the resource is empty.
 * @throws {@link RangeError} when the expiry is not a non-negative safe integer.
 * @example
 * ```ts
 * const token = await createSasToken({
 *   resourceUri: 'myhub.azure-devices.net/devices/dev1',
 *   key: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
 *   expiresOnInSeconds: Math.ceil(Date.now() / 1000) + 3600,
 * });
 * ```
 */
export async function createSasToken(options: CreateSasTokenOptions): Promise<string> {
  const { resourceUri, key, keyName, expiresOnInSeconds } = options;
  if (typeof resourceUri !== 'string' || resourceUri.length === 0) {
    throw new TypeError('SAS resourceUri must be a non-empty string');
  }
  if (!Number.isSafeInteger(expiresOnInSeconds) || expiresOnInSeconds < 0) {
    throw new RangeError('SAS expiresOnInSeconds must be a non-negative integer number of seconds');
  }
  if (keyName !== undefined && (typeof keyName !== 'string' || keyName.length === 0)) {
    throw new TypeError('SAS keyName must be a non-empty string when given');
  }
  const rawResource = encodeURIComponent(resourceUri);
  const rawExpiry = String(expiresOnInSeconds);
  const signature = await computeSasSignature(key, rawResource, rawExpiry);
  let token = `${SAS_TOKEN_PREFIX} sr=${rawResource}&sig=${encodeURIComponent(signature)}&se=${rawExpiry}`;
  if (keyName !== undefined) token += `&skn=${encodeURIComponent(keyName)}`;
  return token;
}

/**
 * Computes a SAS signature: `base64(HMAC-SHA256(base64decode(key), rawResource + "\n" + rawExpiry))`.
 *
 * The resource and expiry are signed exactly as given, with no re-encoding (docs/internals/wire-contract.md#sas-tokens), so this also
 * reproduces C-style (unencoded `sr`) or lower-case-escaped tokens.
 *
 * @param key - Base64 symmetric key.
 * @param rawResource - The `sr` text as it appears in the token.
 * @param rawExpiry - The `se` text as it appears in the token.
 * @returns The base64 signature (not percent-encoded).
 * @throws {@link TypeError} when the key is not valid base64 or is empty.
 */
export async function computeSasSignature(
  key: string,
  rawResource: string,
  rawExpiry: string,
): Promise<string> {
  const cryptoKey = await importHmacKey(key);
  const mac = await crypto.subtle.sign(
    'HMAC',
    cryptoKey,
    encoder.encode(`${rawResource}\n${rawExpiry}`),
  );
  return encodeBase64(new Uint8Array(mac));
}

/**
 * Builds the unencoded resource URI a device or module token is scoped to (docs/internals/wire-contract.md#sas-resource-uris).
 *
 * @param hostName - Hub host name (always the hub, even behind `GatewayHostName`, docs/internals/wire-contract.md#endpoints).
 * @param deviceId - The device id.
 * @param moduleId - The module id, for a module token.
 * @returns `<host>/devices/<id>` or `<host>/devices/<id>/modules/<mid>`, for
 *   {@link CreateSasTokenOptions.resourceUri} and {@link resourceCovers}.
 * @throws {@link TypeError} when a part is empty.
 */
export function deviceResourceUri(hostName: string, deviceId: string, moduleId?: string): string {
  for (const [field, value] of [
    ['hostName', hostName],
    ['deviceId', deviceId],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`${field} must be a non-empty string`);
    }
  }
  if (moduleId === undefined) return `${hostName}/devices/${deviceId}`;
  if (typeof moduleId !== 'string' || moduleId.length === 0) {
    throw new TypeError('moduleId must be a non-empty string');
  }
  return `${hostName}/devices/${deviceId}/modules/${moduleId}`;
}

/**
 * Parses a SAS token into its fields.
 *
 * The prefix and the field list are split on whitespace, the fields on `&` and each field at its
 * first `=`. Fields are an unordered set because SDKs write them in different orders (docs/internals/wire-contract.md#sas-tokens).
 * `sig` and `skn` are percent-decoded (hex in either case); `sr` is kept raw for the HMAC and
 * also decoded once for scope checks; an empty `skn` counts as absent. Unknown fields are ignored.
 *
 * @param token - A token such as `SharedAccessSignature sr=…&sig=…&se=…`.
 * @returns The parsed fields.
 * @throws {@link TypeError} when the token is malformed; the message names the field at fault
 *   but never contains the signature or the token.
 * @example
 * ```ts
 * const parsed = parseSasToken(token);
 * parsed.resourceUri; // 'myhub.azure-devices.net/devices/dev1'
 * ```
 */
export function parseSasToken(token: string): ParsedSasToken {
  if (typeof token !== 'string') throw new TypeError('SAS token must be a string');
  const parts = token.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0] !== SAS_TOKEN_PREFIX) {
    throw new TypeError(
      `SAS token must be "${SAS_TOKEN_PREFIX}" followed by one space and the field list`,
    );
  }
  const fields = new Map<string, string>();
  for (const pair of (parts[1] ?? '').split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new TypeError('SAS token field list must consist of name=value pairs');
    const name = pair.slice(0, eq);
    if (fields.has(name))
      throw new TypeError(`SAS token has more than one "${safeName(name)}" field`);
    fields.set(name, pair.slice(eq + 1));
  }
  const rawResource = requireField(fields, 'sr');
  const rawSignature = requireField(fields, 'sig');
  const rawExpiry = requireField(fields, 'se');
  if (!/^\d{1,16}$/.test(rawExpiry) || !Number.isSafeInteger(Number(rawExpiry))) {
    throw new TypeError('SAS token field "se" must be a decimal number of seconds since the epoch');
  }
  const resourceUri = percentDecode(rawResource, 'sr');
  const signature = percentDecode(rawSignature, 'sig');
  const parsed: ParsedSasToken = {
    rawResource,
    resourceUri,
    signature,
    expiresOnInSeconds: Number(rawExpiry),
    rawExpiry,
  };
  const rawKeyName = fields.get('skn');
  if (rawKeyName !== undefined && rawKeyName.length > 0) {
    const keyName = percentDecode(rawKeyName, 'skn');
    if (keyName.length > 0) parsed.keyName = keyName;
  }
  return parsed;
}

/**
 * Verifies a SAS token against candidate keys and the clock (docs/internals/wire-contract.md#sas-verification steps 1–3).
 *
 * The HMAC is recomputed over the raw `sr` and `se` exactly as received, never a re-encoded
 * form, because SDKs sign upper-case-escaped, lower-case-escaped and unencoded resources (docs/internals/wire-contract.md#sas-tokens).
 * Every candidate key is tried and every comparison reads all bytes, so timing does not reveal
 * which key or how much of the signature matched. Candidate keys that are not valid base64 never
 * match. Signature is checked before expiry, so a forged token learns nothing about the clock.
 * Scope (step 4) is the caller's job: see {@link resourceCovers}.
 *
 * @param token - The token text, or one already parsed with {@link parseSasToken}.
 * @param keys - Candidate base64 keys: a device's primary and secondary keys, or the keys of the
 *   policy named by `skn`.
 * @param options - The current time and allowed clock skew.
 * @returns `{ ok: true, token }`, or `{ ok: false, reason, message }` with reason `malformed`,
 *   `signature` or `expired`.
 * @throws {@link RangeError} when `nowInSeconds` or `clockSkewInSeconds` is not a finite number
 *   (a caller bug, not a bad token).
 * @example
 * ```ts
 * const result = await verifySasToken(password, [primaryKey, secondaryKey], {
 *   nowInSeconds: Math.floor(Date.now() / 1000),
 * });
 * if (!result.ok) console.warn(result.reason);
 * ```
 */
export async function verifySasToken(
  token: string | ParsedSasToken,
  keys: readonly string[],
  options: VerifySasTokenOptions,
): Promise<SasVerification> {
  const { nowInSeconds, clockSkewInSeconds = 0 } = options;
  if (!Number.isFinite(nowInSeconds)) throw new RangeError('nowInSeconds must be a finite number');
  if (!Number.isFinite(clockSkewInSeconds) || clockSkewInSeconds < 0) {
    throw new RangeError('clockSkewInSeconds must be a finite number of seconds, 0 or more');
  }
  let parsed: ParsedSasToken;
  try {
    parsed = typeof token === 'string' ? parseSasToken(token) : token;
  } catch (error) {
    return { ok: false, reason: 'malformed', message: (error as Error).message };
  }
  let matched = false;
  for (const key of keys) {
    let expected: string;
    try {
      expected = await computeSasSignature(key, parsed.rawResource, parsed.rawExpiry);
    } catch {
      continue;
    }
    // Bitwise OR instead of short-circuiting: every key is compared in full.
    matched = timingSafeEqual(expected, parsed.signature) || matched;
  }
  if (!matched) {
    return {
      ok: false,
      reason: 'signature',
      message: 'SAS token signature does not match any key for this resource',
    };
  }
  if (parsed.expiresOnInSeconds + clockSkewInSeconds <= nowInSeconds) {
    return {
      ok: false,
      reason: 'expired',
      message: `SAS token expired at ${new Date(parsed.expiresOnInSeconds * 1000).toISOString()}`,
    };
  }
  return { ok: true, token: parsed };
}

/**
 * Tells whether a token scope covers a resource by the segment-prefix rule (docs/internals/wire-contract.md#sas-resource-uris).
 *
 * Both arguments are decoded resource URIs such as `myhub.azure-devices.net/devices/dev1`. The
 * scope covers the resource when its `/`-separated segments are a prefix of the resource's: `a/b`
 * covers `a/b` and `a/b/c` but not `a/bc`. The first segment (the host) is compared
 * case-insensitively; trailing slashes are ignored.
 *
 * @param scope - The decoded `sr` of a token (e.g. {@link ParsedSasToken.resourceUri}).
 * @param resource - The decoded resource being accessed.
 * @param options - Whether ids are compared case-insensitively too.
 * @returns `true` when the token may be used for the resource.
 * @example
 * ```ts
 * resourceCovers('MyHub.azure-devices.net', 'myhub.azure-devices.net/devices/dev1'); // true
 * resourceCovers('hub/devices/dev1', 'hub/devices/dev10'); // false
 * ```
 */
export function resourceCovers(
  scope: string,
  resource: string,
  options: ResourceCoversOptions = {},
): boolean {
  const scopeSegments = splitResource(scope);
  const resourceSegments = splitResource(resource);
  if (scopeSegments.length === 0 || scopeSegments.length > resourceSegments.length) return false;
  return scopeSegments.every((segment, index) => {
    const other = resourceSegments[index] ?? '';
    return index === 0 || options.ignoreCase === true
      ? segment.toLowerCase() === other.toLowerCase()
      : segment === other;
  });
}

function splitResource(resource: string): string[] {
  const segments = resource.split('/');
  while (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  return segments;
}

/**
 * Compares two strings in time that depends only on their lengths, never on where they differ.
 */
function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  const length = Math.max(left.length, right.length);
  let diff = left.length ^ right.length;
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

// importKey costs about as much as the HMAC itself; the hub verifies every connect and the
// service signs every request with the same few keys, so keep the imported (non-extractable)
// keys. Small and bounded: least recently used entries go first.
const KEY_CACHE_SIZE = 32;
// The global CryptoKey type needs the DOM lib, which the project leaves out on purpose.
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const keyCache = new Map<string, Promise<HmacKey>>();

function importHmacKey(key: string): Promise<HmacKey> {
  const cached = keyCache.get(key);
  if (cached !== undefined) {
    keyCache.delete(key);
    keyCache.set(key, cached);
    return cached;
  }
  const imported = crypto.subtle.importKey(
    'raw',
    decodeKey(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  keyCache.set(key, imported);
  for (const oldest of keyCache.keys()) {
    if (keyCache.size <= KEY_CACHE_SIZE) break;
    keyCache.delete(oldest);
  }
  return imported;
}

function decodeKey(key: string): Uint8Array<ArrayBuffer> {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('SAS key must be a non-empty base64 string');
  }
  try {
    return decodeBase64(key);
  } catch {
    // Name the value that was wrong; the position inside a secret is of no use to the caller.
    throw new TypeError('SAS key is not valid base64');
  }
}

function requireField(fields: ReadonlyMap<string, string>, name: string): string {
  const value = fields.get(name);
  if (value === undefined || value.length === 0) {
    throw new TypeError(`SAS token is missing the "${name}" field`);
  }
  return value;
}

function percentDecode(value: string, field: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new TypeError(`SAS token field "${field}" has an invalid percent-encoding`);
  }
}

// Field names come from untrusted input; keep them short and printable in messages.
function safeName(name: string): string {
  return name.length <= 16 && /^[\w-]+$/.test(name) ? name : '(unprintable)';
}
