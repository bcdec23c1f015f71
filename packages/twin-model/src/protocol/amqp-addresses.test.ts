import { describe, expect, it } from 'vitest';
import {
  CBS_NODE,
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  DESIRED_NOTIFICATIONS_RESOURCE,
  KnownCbsTokenType,
  KnownTwinAmqpOperation,
  REPORTED_PROPERTIES_RESOURCE,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  parseTwinLinkAddress,
  twinLinkAddress,
} from './amqp-addresses.js';

describe('AMQP constants', () => {
  it('carry the CBS and twin names of docs/internals/wire-contract.md#amqp-cbs', () => {
    expect(CBS_NODE).toBe('$cbs');
    expect(CBS_PUT_TOKEN_OPERATION).toBe('put-token');
    expect(Object.values(KnownCbsTokenType)).toEqual([
      'servicebus.windows.net:sastoken',
      'azure-devices.net:sastoken',
    ]);
    expect(CBS_PROPERTY.statusCode).toBe('status-code');
    expect(TWIN_LINK_PROPERTY.channelCorrelationId).toBe('com.microsoft:channel-correlation-id');
    expect(TWIN_ANNOTATION.version).toBe('version');
    expect(Object.values(KnownTwinAmqpOperation)).toEqual(['GET', 'PATCH', 'PUT', 'DELETE']);
    expect(REPORTED_PROPERTIES_RESOURCE).toBe('/properties/reported');
    expect(DESIRED_NOTIFICATIONS_RESOURCE).toBe('/notifications/twin/properties/desired');
  });
});

describe('twinLinkAddress', () => {
  it('builds the Node-style relative address with encoded ids', () => {
    expect(twinLinkAddress('dev1')).toBe('/devices/dev1/twin');
    expect(twinLinkAddress('dev 1', 'mod/1')).toBe('/devices/dev%201/modules/mod%2F1/twin');
    expect(() => twinLinkAddress('')).toThrow(TypeError);
  });

  it('round-trips through parseTwinLinkAddress', () => {
    expect(parseTwinLinkAddress(twinLinkAddress('a+b:c', 'm#1'))).toEqual({
      deviceId: 'a+b:c',
      moduleId: 'm#1',
    });
  });
});

describe('parseTwinLinkAddress', () => {
  it('parses relative Node and Java addresses', () => {
    expect(parseTwinLinkAddress('/devices/dev1/twin')).toEqual({ deviceId: 'dev1' });
    expect(parseTwinLinkAddress('/devices/dev1/modules/mod1/twin')).toEqual({
      deviceId: 'dev1',
      moduleId: 'mod1',
    });
    expect(parseTwinLinkAddress('devices/dev1/twin')).toEqual({ deviceId: 'dev1' });
  });

  it('parses absolute C and C# addresses with host and port', () => {
    expect(parseTwinLinkAddress('amqps://myhub.azure-devices.net/devices/dev1/twin')).toEqual({
      deviceId: 'dev1',
      hostName: 'myhub.azure-devices.net',
    });
    expect(
      parseTwinLinkAddress(
        'amqps://myhub.azure-devices.net:5671/devices/dev%2B1/modules/m%201/twin',
      ),
    ).toEqual({
      deviceId: 'dev+1',
      moduleId: 'm 1',
      hostName: 'myhub.azure-devices.net',
      port: 5671,
    });
  });

  it.each([
    ['a non-twin address', '/devices/dev1/messages/events'],
    ['a missing device id', '/devices//twin'],
    ['a missing module id', '/devices/d/modules//twin'],
    ['a broken escape', '/devices/d%zz/twin'],
    ['an empty authority', 'amqps:///devices/d/twin'],
    ['a bad port', 'amqps://host:port/devices/d/twin'],
    ['the CBS node', '$cbs'],
    ['a non-string', 5 as unknown as string],
  ])('returns undefined for %s', (_label, address) => {
    expect(parseTwinLinkAddress(address)).toBeUndefined();
  });
});
