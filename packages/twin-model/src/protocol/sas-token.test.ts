import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from './base64.js';
import {
  computeSasSignature,
  createSasToken,
  deviceResourceUri,
  parseSasToken,
  resourceCovers,
  verifySasToken,
} from './sas-token.js';

// docs/internals/wire-contract.md#sas-verification: key bytes 0x00..0x1f, se=1700000000.
const DEVICE_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const POLICY_KEY = 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';
const OTHER_KEY = encodeBase64(new Uint8Array(32).fill(7));
const SE = 1_700_000_000;
const BEFORE = { nowInSeconds: SE - 10 };
const NODE_TOKEN =
  'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1&sig=i%2BYmMcSSZc4KzBi6ejz3l0iL%2B2sN0CE3q6vSm837h2g%3D&se=1700000000';
const C_TOKEN =
  'SharedAccessSignature sr=myhub.azure-devices.net/devices/dev1&sig=MXrV7dIYA4Nv1boM3d4kgQQtxA3MyMN%2fBRPwZ8fvsA0%3d&se=1700000000';
const NODE_SERVICE_TOKEN =
  'SharedAccessSignature sr=myhub.azure-devices.net&sig=Ri3SOL%2B2af72oUa0FeD6b7XHLp9qLwA5HjPlXONHM7M%3D&skn=iothubowner&se=1700000000';

describe('docs/internals/wire-contract.md#sas-verification test vectors', () => {
  it('creates the Node device token byte for byte', async () => {
    const token = await createSasToken({
      resourceUri: 'myhub.azure-devices.net/devices/dev1',
      key: DEVICE_KEY,
      expiresOnInSeconds: SE,
    });
    expect(token).toBe(NODE_TOKEN);
  });

  it('signs the C-style unencoded resource', async () => {
    await expect(
      computeSasSignature(DEVICE_KEY, 'myhub.azure-devices.net/devices/dev1', '1700000000'),
    ).resolves.toBe('MXrV7dIYA4Nv1boM3d4kgQQtxA3MyMN/BRPwZ8fvsA0=');
  });

  it('verifies the C token with lower-case %2f and %3d escapes in sig', async () => {
    const result = await verifySasToken(C_TOKEN, [DEVICE_KEY], BEFORE);
    expect(result.ok).toBe(true);
    expect(parseSasToken(C_TOKEN).signature).toBe('MXrV7dIYA4Nv1boM3d4kgQQtxA3MyMN/BRPwZ8fvsA0=');
  });

  it('signs the lower-case escaped resource over its raw text', async () => {
    const raw = 'myhub.azure-devices.net%2fdevices%2fdev1';
    await expect(computeSasSignature(DEVICE_KEY, raw, '1700000000')).resolves.toBe(
      'dUk3ecSsggNPeQNG98fO6Pv16mCcXEgP6lT2QfotQ4s=',
    );
    const token = `SharedAccessSignature sr=${raw}&sig=dUk3ecSsggNPeQNG98fO6Pv16mCcXEgP6lT2QfotQ4s%3D&se=1700000000`;
    const result = await verifySasToken(token, [DEVICE_KEY], BEFORE);
    expect(result.ok && result.token.resourceUri).toBe('myhub.azure-devices.net/devices/dev1');
  });

  it('creates the module token signature', async () => {
    const token = await createSasToken({
      resourceUri: deviceResourceUri('myhub.azure-devices.net', 'dev1', 'mod1'),
      key: DEVICE_KEY,
      expiresOnInSeconds: SE,
    });
    expect(token).toContain('sr=myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Fmod1&');
    expect(parseSasToken(token).signature).toBe('kA6xjFLkZvk4Cdh0nD8uWAzassq6PB47f7BepMMtmlY=');
  });

  it('verifies the Node service token with skn before se', async () => {
    const result = await verifySasToken(NODE_SERVICE_TOKEN, [POLICY_KEY], BEFORE);
    expect(result).toMatchObject({ ok: true, token: { keyName: 'iothubowner' } });
  });

  it('creates the Node service token signature with skn last', async () => {
    const token = await createSasToken({
      resourceUri: 'myhub.azure-devices.net',
      key: POLICY_KEY,
      keyName: 'iothubowner',
      expiresOnInSeconds: SE,
    });
    expect(token).toBe(
      'SharedAccessSignature sr=myhub.azure-devices.net&sig=Ri3SOL%2B2af72oUa0FeD6b7XHLp9qLwA5HjPlXONHM7M%3D&se=1700000000&skn=iothubowner',
    );
  });
});

describe('createSasToken', () => {
  it('round-trips through parseSasToken and verifySasToken', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 4_000_000_000 }),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        async (resourceUri, keyBytes, expiresOnInSeconds, keyName) => {
          const key = encodeBase64(keyBytes);
          const token = await createSasToken({
            resourceUri,
            key,
            expiresOnInSeconds,
            ...(keyName === undefined ? {} : { keyName }),
          });
          const parsed = parseSasToken(token);
          expect(parsed.resourceUri).toBe(resourceUri);
          expect(parsed.expiresOnInSeconds).toBe(expiresOnInSeconds);
          expect(parsed.keyName).toBe(keyName);
          const result = await verifySasToken(token, [key], {
            nowInSeconds: expiresOnInSeconds - 1,
          });
          expect(result.ok).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('keeps signing correctly with many different keys (imported keys are cached)', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => encodeBase64(new Uint8Array(32).fill(i)));
    const first = await computeSasSignature(keys[0] ?? '', 'h', '1');
    for (const key of keys) await computeSasSignature(key, 'h', '1');
    await expect(computeSasSignature(keys[0] ?? '', 'h', '1')).resolves.toBe(first);
    await expect(computeSasSignature(keys[39] ?? '', 'h', '1')).resolves.not.toBe(first);
    await expect(
      computeSasSignature(DEVICE_KEY, 'myhub.azure-devices.net/devices/dev1', '1700000000'),
    ).resolves.toBe('MXrV7dIYA4Nv1boM3d4kgQQtxA3MyMN/BRPwZ8fvsA0=');
  });

  it('rejects a bad base64 key without echoing it', async () => {
    const key = 'not*base64*key==';
    const create = createSasToken({ resourceUri: 'h/devices/d', key, expiresOnInSeconds: SE });
    await expect(create).rejects.toThrow(TypeError);
    await expect(
      createSasToken({ resourceUri: 'h/devices/d', key, expiresOnInSeconds: SE }),
    ).rejects.toThrow(/^SAS key is not valid base64$/);
  });

  it('rejects an empty key, an empty resource and an empty key name', async () => {
    await expect(
      createSasToken({ resourceUri: 'h', key: '', expiresOnInSeconds: SE }),
    ).rejects.toThrow(/non-empty base64/);
    await expect(
      createSasToken({ resourceUri: '', key: DEVICE_KEY, expiresOnInSeconds: SE }),
    ).rejects.toThrow(/resourceUri/);
    await expect(
      createSasToken({ resourceUri: 'h', key: DEVICE_KEY, keyName: '', expiresOnInSeconds: SE }),
    ).rejects.toThrow(/keyName/);
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])(
    'rejects the expiry %d with a RangeError',
    async (expiresOnInSeconds) => {
      await expect(
        createSasToken({ resourceUri: 'h', key: DEVICE_KEY, expiresOnInSeconds }),
      ).rejects.toThrow(RangeError);
    },
  );
});

describe('parseSasToken', () => {
  it('splits the Node token into raw and decoded fields', () => {
    expect(parseSasToken(NODE_TOKEN)).toEqual({
      rawResource: 'myhub.azure-devices.net%2Fdevices%2Fdev1',
      resourceUri: 'myhub.azure-devices.net/devices/dev1',
      signature: 'i+YmMcSSZc4KzBi6ejz3l0iL+2sN0CE3q6vSm837h2g=',
      expiresOnInSeconds: SE,
      rawExpiry: '1700000000',
    });
  });

  it('reads the fields in any order, as the docs write them', () => {
    const token = 'SharedAccessSignature sig=abc%3D&se=5&skn=pol%20icy&sr=host';
    expect(parseSasToken(token)).toMatchObject({
      rawResource: 'host',
      signature: 'abc=',
      expiresOnInSeconds: 5,
      keyName: 'pol icy',
    });
  });

  it('treats an empty skn as absent and ignores unknown fields and empty pairs', () => {
    const parsed = parseSasToken('SharedAccessSignature sr=h&sig=a&se=1&skn=&x=y&');
    expect(parsed.keyName).toBeUndefined();
    expect('keyName' in parsed).toBe(false);
  });

  it('splits each field at its first "="', () => {
    expect(parseSasToken('SharedAccessSignature sr=h&sig=ab==&se=1').signature).toBe('ab==');
  });

  it('tolerates surrounding whitespace', () => {
    expect(parseSasToken('  SharedAccessSignature   sr=h&sig=a&se=1 \n').rawResource).toBe('h');
  });

  it.each([
    ['a missing prefix', 'sr=h&sig=a&se=1', /SharedAccessSignature/],
    ['the wrong prefix', 'Bearer sr=h&sig=a&se=1', /SharedAccessSignature/],
    ['extra words', 'SharedAccessSignature sr=h&sig=a&se=1 extra', /one space/],
    ['no field list', 'SharedAccessSignature', /one space/],
    ['a pair without "="', 'SharedAccessSignature sr=h&sig&se=1', /name=value/],
    ['an empty field name', 'SharedAccessSignature sr=h&=x&sig=a&se=1', /name=value/],
    ['a duplicated field', 'SharedAccessSignature sr=h&sr=g&sig=a&se=1', /more than one "sr"/],
    [
      'an unprintable duplicated field',
      'SharedAccessSignature sr=h&%%=1&%%=2&sig=a&se=1',
      /unprintable/,
    ],
    ['a missing sr', 'SharedAccessSignature sig=a&se=1', /"sr"/],
    ['an empty sig', 'SharedAccessSignature sr=h&sig=&se=1', /"sig"/],
    ['a missing se', 'SharedAccessSignature sr=h&sig=a', /"se"/],
    ['a non-numeric se', 'SharedAccessSignature sr=h&sig=a&se=12x', /"se" must be a decimal/],
    ['a negative se', 'SharedAccessSignature sr=h&sig=a&se=-1', /"se" must be a decimal/],
    ['an se beyond safe integers', 'SharedAccessSignature sr=h&sig=a&se=9999999999999999', /"se"/],
    ['a broken escape in sr', 'SharedAccessSignature sr=h%2&sig=a&se=1', /"sr" has an invalid/],
    ['a broken escape in sig', 'SharedAccessSignature sr=h&sig=a%zz&se=1', /"sig" has an invalid/],
    [
      'a broken escape in skn',
      'SharedAccessSignature sr=h&sig=a&se=1&skn=%',
      /"skn" has an invalid/,
    ],
  ])('rejects %s with a TypeError', (_label, token, message) => {
    expect(() => parseSasToken(token)).toThrow(TypeError);
    expect(() => parseSasToken(token)).toThrow(message);
  });

  it('rejects a value that is not a string', () => {
    expect(() => parseSasToken(undefined as unknown as string)).toThrow(/must be a string/);
  });

  it('never puts the signature into an error message', () => {
    try {
      parseSasToken('SharedAccessSignature sr=h&sig=SECRETSIG%zz&se=1');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('SECRETSIG');
    }
  });
});

describe('verifySasToken', () => {
  it('accepts a valid token and returns the parsed fields', async () => {
    const result = await verifySasToken(NODE_TOKEN, [DEVICE_KEY], BEFORE);
    expect(result).toEqual({ ok: true, token: parseSasToken(NODE_TOKEN) });
  });

  it('accepts an already parsed token', async () => {
    const result = await verifySasToken(parseSasToken(NODE_TOKEN), [DEVICE_KEY], BEFORE);
    expect(result.ok).toBe(true);
  });

  it('tries every candidate key, e.g. a secondary key', async () => {
    const result = await verifySasToken(NODE_TOKEN, [OTHER_KEY, DEVICE_KEY], BEFORE);
    expect(result.ok).toBe(true);
  });

  it('rejects a token signed with another key', async () => {
    const result = await verifySasToken(NODE_TOKEN, [OTHER_KEY], BEFORE);
    expect(result).toEqual({
      ok: false,
      reason: 'signature',
      message: 'SAS token signature does not match any key for this resource',
    });
  });

  it('rejects when there are no candidate keys', async () => {
    const result = await verifySasToken(NODE_TOKEN, [], BEFORE);
    expect(result).toMatchObject({ ok: false, reason: 'signature' });
  });

  it('skips candidate keys that are not base64 instead of throwing', async () => {
    const result = await verifySasToken(NODE_TOKEN, ['%%%bad', '', DEVICE_KEY], BEFORE);
    expect(result.ok).toBe(true);
    const onlyBad = await verifySasToken(NODE_TOKEN, ['%%%bad'], BEFORE);
    expect(onlyBad).toMatchObject({ ok: false, reason: 'signature' });
  });

  it('rejects a tampered resource, because sr is signed raw', async () => {
    const tampered = NODE_TOKEN.replace('dev1', 'dev2');
    expect(await verifySasToken(tampered, [DEVICE_KEY], BEFORE)).toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it('rejects a re-encoded resource even though it decodes to the same URI', async () => {
    // Same decoded sr, lower-case escapes: only the raw text that was signed verifies (docs/internals/wire-contract.md#sas-tokens).
    const reencoded = NODE_TOKEN.replace(/%2F/g, '%2f');
    expect(parseSasToken(reencoded).resourceUri).toBe(parseSasToken(NODE_TOKEN).resourceUri);
    expect(await verifySasToken(reencoded, [DEVICE_KEY], BEFORE)).toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it('rejects a tampered expiry and a tampered signature', async () => {
    const laterExpiry = NODE_TOKEN.replace('se=1700000000', 'se=1800000000');
    expect(await verifySasToken(laterExpiry, [DEVICE_KEY], BEFORE)).toMatchObject({
      reason: 'signature',
    });
    const flipped = NODE_TOKEN.replace('sig=i', 'sig=j');
    expect(await verifySasToken(flipped, [DEVICE_KEY], BEFORE)).toMatchObject({
      reason: 'signature',
    });
    const truncated = NODE_TOKEN.replace('%3D&se', '&se');
    expect(await verifySasToken(truncated, [DEVICE_KEY], BEFORE)).toMatchObject({
      reason: 'signature',
    });
    const extended = NODE_TOKEN.replace('%3D&se', '%3DA&se');
    expect(await verifySasToken(extended, [DEVICE_KEY], BEFORE)).toMatchObject({
      reason: 'signature',
    });
  });

  it('rejects an expired token, at and after se', async () => {
    for (const nowInSeconds of [SE, SE + 1]) {
      const result = await verifySasToken(NODE_TOKEN, [DEVICE_KEY], { nowInSeconds });
      expect(result).toEqual({
        ok: false,
        reason: 'expired',
        message: 'SAS token expired at 2023-11-14T22:13:20.000Z',
      });
    }
  });

  it('allows the configured clock skew and no more', async () => {
    const skew = { clockSkewInSeconds: 300 };
    expect(
      (await verifySasToken(NODE_TOKEN, [DEVICE_KEY], { nowInSeconds: SE + 299, ...skew })).ok,
    ).toBe(true);
    expect(
      await verifySasToken(NODE_TOKEN, [DEVICE_KEY], { nowInSeconds: SE + 300, ...skew }),
    ).toMatchObject({ reason: 'expired' });
  });

  it('reports a forged expired token as a signature failure', async () => {
    const result = await verifySasToken(NODE_TOKEN, [OTHER_KEY], { nowInSeconds: SE + 100 });
    expect(result).toMatchObject({ reason: 'signature' });
  });

  it('reports a malformed token without throwing', async () => {
    const result = await verifySasToken('SharedAccessSignature sr=h&se=1', [DEVICE_KEY], BEFORE);
    expect(result).toEqual({
      ok: false,
      reason: 'malformed',
      message: 'SAS token is missing the "sig" field',
    });
  });

  it('throws a RangeError for an unusable clock', async () => {
    await expect(
      verifySasToken(NODE_TOKEN, [DEVICE_KEY], { nowInSeconds: Number.NaN }),
    ).rejects.toThrow(RangeError);
    await expect(
      verifySasToken(NODE_TOKEN, [DEVICE_KEY], { nowInSeconds: 0, clockSkewInSeconds: -1 }),
    ).rejects.toThrow(/clockSkewInSeconds/);
  });
});

describe('deviceResourceUri', () => {
  it('builds device and module resources unencoded', () => {
    expect(deviceResourceUri('h.example', 'dev1')).toBe('h.example/devices/dev1');
    expect(deviceResourceUri('h.example', 'dev1', 'm')).toBe('h.example/devices/dev1/modules/m');
  });

  it('rejects empty parts', () => {
    expect(() => deviceResourceUri('', 'd')).toThrow(/hostName/);
    expect(() => deviceResourceUri('h', '')).toThrow(/deviceId/);
    expect(() => deviceResourceUri('h', 'd', '')).toThrow(/moduleId/);
  });
});

describe('resourceCovers', () => {
  const device = 'myhub.azure-devices.net/devices/dev1';

  it('applies the segment-prefix rule', () => {
    expect(resourceCovers(device, device)).toBe(true);
    expect(resourceCovers('myhub.azure-devices.net', device)).toBe(true);
    expect(resourceCovers('myhub.azure-devices.net/devices', device)).toBe(true);
    expect(resourceCovers(device, `${device}/modules/m1`)).toBe(true);
    expect(resourceCovers('myhub.azure-devices.net/devices/dev', device)).toBe(false);
    expect(resourceCovers(device, 'myhub.azure-devices.net/devices/dev10')).toBe(false);
    expect(resourceCovers(`${device}/modules/m1`, device)).toBe(false);
  });

  it('compares the host case-insensitively and ids case-sensitively by default', () => {
    expect(resourceCovers('MyHub.Azure-Devices.NET/devices/dev1', device)).toBe(true);
    expect(resourceCovers('myhub.azure-devices.net/devices/DEV1', device)).toBe(false);
    expect(
      resourceCovers('myhub.azure-devices.net/Devices/DEV1', device, { ignoreCase: true }),
    ).toBe(true);
  });

  it('ignores trailing slashes and rejects an empty scope', () => {
    expect(resourceCovers('myhub.azure-devices.net/', device)).toBe(true);
    expect(resourceCovers(device, `${device}/`)).toBe(true);
    expect(resourceCovers('', device)).toBe(false);
    expect(resourceCovers('other.azure-devices.net', device)).toBe(false);
  });
});
