import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeQueryHash,
  createContinuationToken,
  readContinuationToken,
} from './continuation-token.js';

const SECRET = 'hub-secret';

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/gu, '-').replace(/\//gu, '_').replace(/=+$/u, '');
}

/** Signs an arbitrary payload the way the hub does, to reach the checks behind the signature. */
async function signRaw(payloadJson: string, secret = SECRET): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const body = `v1.${toBase64Url(new TextEncoder().encode(payloadJson))}`;
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body));
  return `${body}.${toBase64Url(new Uint8Array(signature))}`;
}

describe('createContinuationToken', () => {
  it('round-trips the offset and query hash', async () => {
    const queryHash = await computeQueryHash('SELECT * FROM devices');
    const token = await createContinuationToken({ offset: 200, queryHash }, SECRET);
    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/u);
    await expect(readContinuationToken(token, SECRET)).resolves.toEqual({ offset: 200, queryHash });
  });

  it('round-trips any state, including non-ASCII hashes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.string({ unit: 'binary', maxLength: 40 }),
        async (offset, queryHash) => {
          const token = await createContinuationToken({ offset, queryHash }, SECRET);
          expect(await readContinuationToken(token, SECRET)).toEqual({ offset, queryHash });
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects offsets that are not non-negative integers', async () => {
    await expect(createContinuationToken({ offset: -1, queryHash: '' }, SECRET)).rejects.toThrow(
      RangeError,
    );
    await expect(createContinuationToken({ offset: 1.5, queryHash: '' }, SECRET)).rejects.toThrow(
      RangeError,
    );
    await expect(
      createContinuationToken({ offset: Number.NaN, queryHash: '' }, SECRET),
    ).rejects.toThrow(RangeError);
  });

  it('rejects a query hash that is not a string', async () => {
    await expect(
      createContinuationToken({ offset: 0, queryHash: 5 as unknown as string }, SECRET),
    ).rejects.toThrow(TypeError);
  });

  it('rejects an empty secret', async () => {
    await expect(createContinuationToken({ offset: 0, queryHash: 'q' }, '')).rejects.toThrow(
      TypeError,
    );
    await expect(readContinuationToken('v1.a.b', '')).rejects.toThrow(TypeError);
  });
});

describe('readContinuationToken', () => {
  it('refuses a token signed with another secret', async () => {
    const token = await createContinuationToken({ offset: 5, queryHash: 'q' }, 'other-secret');
    await expect(readContinuationToken(token, SECRET)).resolves.toBeUndefined();
  });

  it('refuses every single-character change', async () => {
    const token = await createContinuationToken({ offset: 12345, queryHash: 'abc' }, SECRET);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let i = 0; i < token.length; i += 1) {
      const original = token.charAt(i);
      const replacement = alphabet.charAt((alphabet.indexOf(original) + 1) % alphabet.length);
      const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
      expect(
        await readContinuationToken(tampered, SECRET),
        `changed position ${String(i)}`,
      ).toBeUndefined();
    }
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a token'],
    ['two parts', 'v1.abc'],
    ['four parts', 'v1.a.b.c'],
    ['other version', 'v2.eyJvIjowfQ.AAAA'],
    ['bad base64 in the payload', 'v1.@@@.AAAA'],
    ['bad base64 in the signature', 'v1.eyJvIjowfQ.@@@'],
    ['impossible base64 length', 'v1.eyJvIjowfQ.A'],
    ['non-canonical trailing bits', 'v1.eyJvIjowfQ.AB'],
    ['too long', `v1.${'A'.repeat(3000)}.AAAA`],
  ])('gives undefined for %s', async (_label, token) => {
    await expect(readContinuationToken(token, SECRET)).resolves.toBeUndefined();
  });

  it('gives undefined for a value that is not a string', async () => {
    await expect(readContinuationToken(42 as unknown as string, SECRET)).resolves.toBeUndefined();
  });

  it.each([
    ['not JSON', 'nope'],
    ['not an object', '7'],
    ['null', 'null'],
    ['missing offset', '{"q":"x"}'],
    ['negative offset', '{"o":-1,"q":"x"}'],
    ['fractional offset', '{"o":1.5,"q":"x"}'],
    ['missing hash', '{"o":1}'],
    ['numeric hash', '{"o":1,"q":2}'],
  ])('gives undefined for a correctly signed payload that is %s', async (_label, payload) => {
    await expect(readContinuationToken(await signRaw(payload), SECRET)).resolves.toBeUndefined();
  });

  it('gives undefined for a correctly signed payload that is not UTF-8', async () => {
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(SECRET),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const body = `v1.${toBase64Url(new Uint8Array([0xff, 0xfe]))}`;
    const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body));
    await expect(
      readContinuationToken(`${body}.${toBase64Url(new Uint8Array(signature))}`, SECRET),
    ).resolves.toBeUndefined();
  });

  it('accepts a correctly signed well-formed payload', async () => {
    await expect(readContinuationToken(await signRaw('{"o":3,"q":"h"}'), SECRET)).resolves.toEqual({
      offset: 3,
      queryHash: 'h',
    });
  });
});

describe('computeQueryHash', () => {
  it('is stable, base64url and differs between queries', async () => {
    const a = await computeQueryHash('SELECT * FROM devices');
    expect(a).toBe(await computeQueryHash('SELECT * FROM devices'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    expect(a).not.toBe(await computeQueryHash('SELECT * FROM devices '));
  });

  it('matches the SHA-256 of the UTF-8 text', async () => {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(await computeQueryHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});
