/** Where a paged query resumes: the result offset and a hash binding the token to one query. */
export interface ContinuationState {
  /** Index of the first result item of the next page. */
  offset: number;
  /** Hash of the query the token belongs to (see {@link computeQueryHash}). */
  queryHash: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = /* @__PURE__ */ (() => {
  const table = new Map<string, number>();
  for (let index = 0; index < ALPHABET.length; index += 1) table.set(ALPHABET.charAt(index), index);
  return table;
})();
const TOKEN_VERSION = 'v1';
/** Real tokens are ~100 characters; anything far longer is not ours and is refused unread. */
const MAX_TOKEN_LENGTH = 2048;

function encodeBase64Url(bytes: Uint8Array): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text += ALPHABET.charAt((buffer >> bits) & 63);
    }
  }
  if (bits > 0) text += ALPHABET.charAt((buffer << (6 - bits)) & 63);
  return text;
}

/** Decodes unpadded base64url; undefined for any other character or an impossible length. */
function decodeBase64Url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let buffer = 0;
  let index = 0;
  for (const char of text) {
    const value = DECODE.get(char);
    if (value === undefined) return undefined;
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[index] = (buffer >> bits) & 0xff;
      index += 1;
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one spelling.
  if ((buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return bytes;
}

/** The HMAC key type, named without the DOM lib (which this package leaves out). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function importKey(secret: string): Promise<HmacKey> {
  if (typeof secret !== 'string' || secret === '') {
    throw new TypeError('The continuation-token secret must be a non-empty string.');
  }
  return crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
}

function assertState(state: ContinuationState): void {
  if (!Number.isSafeInteger(state.offset) || state.offset < 0) {
    throw new RangeError(
      `The continuation offset must be a non-negative integer, not ${String(state.offset)}.`,
    );
  }
  if (typeof state.queryHash !== 'string')
    throw new TypeError('The continuation queryHash must be a string.');
}

/**
 * Creates an opaque, tamper-evident continuation token (`x-ms-continuation`): the state in
 * base64url JSON plus an HMAC-SHA256 over it, so a client can neither read a meaning into it
 * nor forge another offset.
 *
 * @param state - where the next page starts and which query it belongs to
 * @param secret - the hub's signing secret
 * @returns the token; URL- and header-safe
 * @throws TypeError when the secret is empty; RangeError when the offset is not a
 *   non-negative integer
 * @see docs/internals/twin-semantics.md#query-paging
 * @example
 * ```ts
 * const token = await createContinuationToken({ offset: 100, queryHash }, secret);
 * await readContinuationToken(token, secret); // { offset: 100, queryHash }
 * ```
 */
export async function createContinuationToken(
  state: ContinuationState,
  secret: string,
): Promise<string> {
  assertState(state);
  const key = await importKey(secret);
  const payload = encodeBase64Url(
    new TextEncoder().encode(JSON.stringify({ o: state.offset, q: state.queryHash })),
  );
  const body = `${TOKEN_VERSION}.${payload}`;
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body));
  return `${body}.${encodeBase64Url(new Uint8Array(signature))}`;
}

/**
 * Reads a continuation token made by {@link createContinuationToken} with the same secret.
 * Never throws for bad tokens: anything altered, truncated, signed with another secret or not
 * a token at all gives `undefined` (a hub answers that with 400).
 *
 * @param token - the `x-ms-continuation` value the client sent
 * @param secret - the hub's signing secret
 * @returns the state, or undefined when the token is not a valid one
 * @throws TypeError when the secret is empty
 */
export async function readContinuationToken(
  token: string,
  secret: string,
): Promise<ContinuationState | undefined> {
  const key = await importKey(secret);
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_VERSION) return undefined;
  const [, payload = '', signatureText = ''] = parts;
  const signature = decodeBase64Url(signatureText);
  const payloadBytes = decodeBase64Url(payload);
  if (signature === undefined || payloadBytes === undefined) return undefined;
  const valid = await crypto.subtle.verify(
    'HMAC',
    key,
    signature,
    new TextEncoder().encode(`${TOKEN_VERSION}.${payload}`),
  );
  if (!valid) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch {
    return undefined;
  }
  if (typeof decoded !== 'object' || decoded === null) return undefined;
  const { o: offset, q: queryHash } = decoded as { o?: unknown; q?: unknown };
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
  if (typeof queryHash !== 'string') return undefined;
  return { offset, queryHash };
}

/**
 * Hashes query text (SHA-256, base64url) so a continuation token can be tied to the query that
 * made it: a token replayed with different query text is refused.
 *
 * @param query - the query text exactly as received
 * @returns 43 base64url characters
 */
export async function computeQueryHash(query: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(query));
  return encodeBase64Url(new Uint8Array(digest));
}
