/**
 * Standard base64 (RFC 4648 section 4, with padding) without `Buffer`, so the codec runs in Node,
 * browsers and edge runtimes alike. SAS keys, SAS signatures and twin ETags all use this alphabet.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// Reverse lookup indexed by char code; -1 marks a character outside the alphabet.
const DECODE_TABLE: Int16Array = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Encodes bytes as standard, padded base64.
 *
 * @param bytes - The bytes to encode.
 * @returns The base64 text (alphabet `A–Z a–z 0–9 + /`, `=` padding).
 * @example
 * ```ts
 * encodeBase64(new Uint8Array([0, 1, 2])); // 'AAEC'
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    // Reading past the end yields 0, which is exactly the zero fill the final group needs.
    const n = (at(bytes, i) << 16) | (at(bytes, i + 1) << 8) | at(bytes, i + 2);
    const remaining = bytes.length - i;
    out +=
      ALPHABET.charAt(n >>> 18) +
      ALPHABET.charAt((n >>> 12) & 63) +
      (remaining > 1 ? ALPHABET.charAt((n >>> 6) & 63) : '=') +
      (remaining > 2 ? ALPHABET.charAt(n & 63) : '=');
  }
  return out;
}

/**
 * Tells whether a string is standard, padded base64 that {@link decodeBase64} accepts.
 *
 * @param text - The candidate text.
 * @returns `true` when `decodeBase64(text)` would succeed.
 */
export function isBase64(text: string): boolean {
  return describeBase64Problem(text) === undefined;
}

/**
 * Decodes standard, padded base64 into bytes.
 *
 * The input must be a multiple of 4 characters from the standard alphabet, with at most two `=`
 * at the end. Whitespace, URL-safe characters (`-`, `_`) and missing padding are rejected, so a
 * mistyped key fails here instead of producing a wrong HMAC. Unused low bits of the last
 * character are ignored, as .NET's `Convert.FromBase64String` and `atob` do.
 *
 * @param text - The base64 text.
 * @returns The decoded bytes (empty for the empty string).
 * @throws {@link TypeError} when `text` is not valid base64; the message names the problem but
 *   never repeats the input, which may be a secret key.
 * @example
 * ```ts
 * decodeBase64('AAEC'); // Uint8Array [0, 1, 2]
 * ```
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const problem = describeBase64Problem(text);
  if (problem !== undefined) throw new TypeError(`Invalid base64: ${problem}`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n =
      (sextet(text, i) << 18) |
      (sextet(text, i + 1) << 12) |
      (sextet(text, i + 2) << 6) |
      sextet(text, i + 3);
    bytes[o++] = n >>> 16;
    if (o < bytes.length) bytes[o++] = (n >>> 8) & 255;
    if (o < bytes.length) bytes[o++] = n & 255;
  }
  return bytes;
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  // '=' (and only '=', already validated) maps to 0 so padded groups decode uniformly.
  return code === 61 ? 0 : at(DECODE_TABLE, code);
}

function at(array: ArrayLike<number>, index: number): number {
  return array[index] ?? 0;
}

function describeBase64Problem(text: unknown): string | undefined {
  if (typeof text !== 'string') return 'expected a string';
  if (text.length % 4 !== 0) return 'length must be a multiple of 4 (padding with "=" is required)';
  const end = text.endsWith('==')
    ? text.length - 2
    : text.endsWith('=')
      ? text.length - 1
      : text.length;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || DECODE_TABLE[code] === -1) {
      return `character at position ${String(i)} is not in the base64 alphabet`;
    }
  }
  return undefined;
}
