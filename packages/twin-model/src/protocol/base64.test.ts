import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64, isBase64 } from './base64.js';

describe('encodeBase64', () => {
  it('encodes the RFC 4648 test vectors with padding', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64(new TextEncoder().encode(plain))).toBe(encoded);
    }
  });

  it('encodes every byte value the way btoa does', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(encodeBase64(bytes)).toBe(btoa(String.fromCharCode(...bytes)));
  });
});

describe('decodeBase64', () => {
  it('decodes the 32-byte device key of docs/internals/wire-contract.md#sas-verification', () => {
    const bytes = decodeBase64('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
    expect([...bytes]).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it('round-trips arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
      }),
    );
  });

  it('decodes the empty string to no bytes', () => {
    expect(decodeBase64('')).toHaveLength(0);
  });

  it.each([
    ['a length that is not a multiple of 4', 'abc', /multiple of 4/],
    ['missing padding', 'Zg', /multiple of 4/],
    ['a character outside the alphabet', 'Zm9v!A==', /position 4/],
    ['URL-safe characters', 'ab-_', /position 2/],
    ['whitespace', 'Zm9v Zm8', /position 4/],
    ['too much padding', 'Z===', /position 1/],
    ['padding in the middle', 'Zg==Zg==', /position 2/],
    ['non-ASCII characters', 'Zm9é', /position 3/],
  ])('rejects %s with a TypeError', (_label, text, message) => {
    expect(() => decodeBase64(text)).toThrow(TypeError);
    expect(() => decodeBase64(text)).toThrow(message);
  });

  it('rejects a value that is not a string', () => {
    expect(() => decodeBase64(42 as unknown as string)).toThrow(/expected a string/);
  });

  it('never echoes the rejected input in the message', () => {
    const secret = 'c2VjcmV0S2V5!!';
    expect(() => decodeBase64(secret)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('c2VjcmV0') as unknown }),
    );
  });
});

describe('isBase64', () => {
  it('accepts padded base64 and rejects everything else', () => {
    expect(isBase64('Zm8=')).toBe(true);
    expect(isBase64('Zm8')).toBe(false);
    expect(isBase64('Zm8*')).toBe(false);
  });
});
