import { describe, expect, it } from 'vitest';
import {
  audienceMatches,
  grantCovers,
  identityOfResource,
  readPutToken,
  type CbsGrant,
} from './cbs.js';

const grant = (resource: string, expiresAtMs = Number.MAX_SAFE_INTEGER): CbsGrant => ({
  resource,
  expiresAtMs,
  token: 't',
});

describe('readPutToken', () => {
  it('reads the audience and the token of a Node put-token', () => {
    const read = readPutToken(
      {
        operation: 'put-token',
        type: 'servicebus.windows.net:sastoken',
        name: 'hub%2Fdevices%2Fd',
      },
      ' SharedAccessSignature sr=hub%2Fdevices%2Fd&sig=x&se=1 ',
    );
    expect(read).toEqual({
      ok: true,
      request: {
        audience: 'hub%2Fdevices%2Fd',
        token: 'SharedAccessSignature sr=hub%2Fdevices%2Fd&sig=x&se=1',
      },
    });
  });

  it('accepts the C# token type and refuses other operations and types with 400', () => {
    expect(
      readPutToken({ operation: 'put-token', type: 'azure-devices.net:sastoken', name: 'h' }, 'tok')
        .ok,
    ).toBe(true);
    expect(
      readPutToken(
        { operation: 'get-token', type: 'azure-devices.net:sastoken', name: 'h' },
        'tok',
      ),
    ).toMatchObject({ ok: false, statusCode: 400 });
    expect(readPutToken({ operation: 'put-token', type: 'jwt', name: 'h' }, 'tok')).toMatchObject({
      ok: false,
      statusCode: 400,
    });
    expect(
      readPutToken(
        { operation: 'put-token', type: 'azure-devices.net:sastoken', name: 'h' },
        undefined,
      ),
    ).toMatchObject({ ok: false, statusCode: 400 });
  });
});

describe('audienceMatches', () => {
  it('compares the percent-decoded path after the host, case-insensitively', () => {
    expect(audienceMatches('myhub.example%2Fdevices%2FDev1', 'myhub.example/devices/dev1')).toBe(
      true,
    );
    expect(audienceMatches('gateway.local/devices/dev1', 'myhub.example/devices/dev1')).toBe(true);
    expect(audienceMatches('myhub.example/devices/dev2', 'myhub.example/devices/dev1')).toBe(false);
  });
});

describe('identityOfResource', () => {
  it('finds devices and modules and nothing in hub-wide scopes', () => {
    expect(identityOfResource('hub:5671/devices/d1')).toEqual({ deviceId: 'd1' });
    expect(identityOfResource('hub/devices/d1/modules/m1')).toEqual({
      deviceId: 'd1',
      moduleId: 'm1',
    });
    expect(identityOfResource('hub')).toBeUndefined();
    expect(identityOfResource('hub/devices')).toBeUndefined();
  });
});

describe('grantCovers', () => {
  it('applies the segment-prefix rule with the host and ids compared case-insensitively', () => {
    expect(grantCovers(grant('localhost/devices/dev1'), 'LocalHost', { deviceId: 'Dev1' }, 0)).toBe(
      true,
    );
    expect(
      grantCovers(grant('localhost/devices/dev1'), 'localhost', { deviceId: 'dev10' }, 0),
    ).toBe(false);
    expect(
      grantCovers(
        grant('localhost/devices/dev1'),
        'localhost',
        { deviceId: 'dev1', moduleId: 'm' },
        0,
      ),
    ).toBe(true);
    expect(grantCovers(grant('localhost'), 'localhost', { deviceId: 'any' }, 0)).toBe(true);
  });

  it('stops covering once the grant expired', () => {
    expect(
      grantCovers(grant('localhost/devices/dev1', 1_000), 'localhost', { deviceId: 'dev1' }, 1_000),
    ).toBe(false);
  });
});
