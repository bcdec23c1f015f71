import { describe, expect, it } from 'vitest';
import {
  audienceMatches,
  grantReaches,
  identityOfResource,
  type CredentialReach,
  type Grant,
} from './credentials.js';

const grant = (reach: CredentialReach, expiresAtMs = Number.MAX_SAFE_INTEGER): Grant => ({
  reach,
  expiresAtMs,
  token: 't',
});
const deviceKey = (deviceId: string, moduleId?: string): Grant =>
  grant({ kind: 'identity', identity: { deviceId, moduleId } });
const policy = (scope: string): Grant => grant({ kind: 'policy', policyName: 'device', scope });

describe('audienceMatches', () => {
  it('compares the percent-decoded path after the host, ids exactly', () => {
    expect(audienceMatches('myhub.example%2Fdevices%2Fdev1', 'myhub.example/devices/dev1')).toBe(
      true,
    );
    expect(audienceMatches('gateway.local/devices/dev1', 'myhub.example/devices/dev1')).toBe(true);
    expect(audienceMatches('myhub.example/devices/Dev1', 'myhub.example/devices/dev1')).toBe(false);
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

describe('grantReaches', () => {
  it('lets a device key reach its own device only: not another case, not its modules', () => {
    const mallory = deviceKey('mallory');
    expect(grantReaches(mallory, 'localhost', { deviceId: 'mallory' }, 0)).toBe(true);
    expect(grantReaches(mallory, 'localhost', { deviceId: 'MALLORY' }, 0)).toBe(false);
    expect(grantReaches(mallory, 'localhost', { deviceId: 'mallory', moduleId: 'm' }, 0)).toBe(
      false,
    );
  });

  it('lets a module key reach that module only', () => {
    const module = deviceKey('d1', 'm1');
    expect(grantReaches(module, 'localhost', { deviceId: 'd1', moduleId: 'm1' }, 0)).toBe(true);
    expect(grantReaches(module, 'localhost', { deviceId: 'd1' }, 0)).toBe(false);
    expect(grantReaches(module, 'localhost', { deviceId: 'd1', moduleId: 'm2' }, 0)).toBe(false);
  });

  it('lets a DeviceConnect policy reach what its scope covers by segment, ids case-sensitive', () => {
    expect(grantReaches(policy('LocalHost'), 'localhost', { deviceId: 'any' }, 0)).toBe(true);
    const scoped = policy('localhost/devices/dev1');
    expect(grantReaches(scoped, 'localhost', { deviceId: 'dev1', moduleId: 'm' }, 0)).toBe(true);
    expect(grantReaches(scoped, 'localhost', { deviceId: 'dev10' }, 0)).toBe(false);
    expect(grantReaches(scoped, 'localhost', { deviceId: 'Dev1' }, 0)).toBe(false);
  });

  it('stops reaching once the grant expired', () => {
    expect(
      grantReaches(grant(deviceKey('d').reach, 1_000), 'localhost', { deviceId: 'd' }, 1_000),
    ).toBe(false);
  });
});
