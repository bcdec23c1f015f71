import { describe, expect, it } from 'vitest';
import {
  classifyDevicePublish,
  isSubscriptionAllowed,
  parseMqttClientId,
  topicMatchesFilter,
} from './topic-access.js';

const device = { deviceId: 'dev-1' };
const module = { deviceId: 'dev-1', moduleId: 'mod-1' };

describe('parseMqttClientId', () => {
  it('reads a device id and a device/module id', () => {
    expect(parseMqttClientId('dev-1')).toEqual({ deviceId: 'dev-1' });
    expect(parseMqttClientId('dev-1/mod-1')).toEqual({ deviceId: 'dev-1', moduleId: 'mod-1' });
  });

  it('rejects empty ids, empty module ids and extra segments', () => {
    expect(parseMqttClientId('')).toBeUndefined();
    expect(parseMqttClientId('dev-1/')).toBeUndefined();
    expect(parseMqttClientId('/mod')).toBeUndefined();
    expect(parseMqttClientId('a/b/c')).toBeUndefined();
  });
});

describe('classifyDevicePublish', () => {
  it('recognises twin GET and reported PATCH requests with their rid and base version', () => {
    expect(classifyDevicePublish(device, '$iothub/twin/GET/?$rid=1')).toEqual({
      kind: 'twin',
      request: { kind: 'get', rid: '1' },
    });
    expect(
      classifyDevicePublish(device, '$iothub/twin/PATCH/properties/reported/?$rid=2&$version=5'),
    ).toEqual({
      kind: 'twin',
      request: { kind: 'patch-reported', rid: '2', baseVersion: 5 },
    });
  });

  it('refuses twin responses and desired patches published by a device', () => {
    expect(classifyDevicePublish(device, '$iothub/twin/res/200/?$rid=1').kind).toBe('refused');
    expect(
      classifyDevicePublish(device, '$iothub/twin/PATCH/properties/desired/?$version=2').kind,
    ).toBe('refused');
    expect(classifyDevicePublish(device, '$iothub/twin/GET/').kind).toBe('refused');
  });

  it('accepts telemetry on its own topics and method responses', () => {
    expect(classifyDevicePublish(device, 'devices/dev-1/messages/events/')).toEqual({
      kind: 'accepted',
      purpose: 'telemetry',
    });
    expect(
      classifyDevicePublish(device, 'devices/dev-1/messages/events/%24.ct=application%2Fjson&a=b')
        .kind,
    ).toBe('accepted');
    expect(
      classifyDevicePublish(module, 'devices/dev-1/modules/mod-1/messages/events/%24.on=out1/')
        .kind,
    ).toBe('accepted');
    expect(classifyDevicePublish(device, '$iothub/methods/res/200/?$rid=42')).toEqual({
      kind: 'accepted',
      purpose: 'method-response',
    });
  });

  it("refuses another device's topics, a device writing as its module and unknown topics", () => {
    expect(classifyDevicePublish(device, 'devices/dev-2/messages/events/').kind).toBe('refused');
    expect(classifyDevicePublish(device, 'devices/dev-1/modules/mod-1/messages/events/').kind).toBe(
      'refused',
    );
    expect(classifyDevicePublish(module, 'devices/dev-1/messages/events/').kind).toBe('refused');
    expect(classifyDevicePublish(device, 'devices/dev-1/messages/devicebound/x').kind).toBe(
      'refused',
    );
    expect(classifyDevicePublish(device, 'anything/else').kind).toBe('refused');
  });

  it('accepts a percent-encoded device id segment', () => {
    expect(classifyDevicePublish({ deviceId: 'a#b' }, 'devices/a%23b/messages/events/').kind).toBe(
      'accepted',
    );
  });
});

describe('isSubscriptionAllowed', () => {
  it('grants the twin, method and own C2D filters of a device', () => {
    for (const filter of [
      '$iothub/twin/res/#',
      '$iothub/twin/PATCH/properties/desired/#',
      '$iothub/methods/POST/#',
      'devices/dev-1/messages/devicebound/#',
      'devices/+/messages/devicebound/#',
    ]) {
      expect(isSubscriptionAllowed(device, filter)).toBe(true);
    }
  });

  it('grants the input filters of a module', () => {
    expect(isSubscriptionAllowed(module, 'devices/dev-1/modules/mod-1/inputs/#')).toBe(true);
    expect(isSubscriptionAllowed(module, 'devices/dev-1/modules/mod-1/#')).toBe(true);
  });

  it("refuses other identities' topics and broad wildcards", () => {
    for (const filter of [
      'devices/dev-2/messages/devicebound/#',
      'devices/dev-1/modules/mod-1/inputs/#',
      '#',
      '$iothub/#',
      '$iothub/twin/#',
      'devices/#',
      '$SYS/#',
    ]) {
      expect(isSubscriptionAllowed(device, filter)).toBe(false);
    }
    expect(isSubscriptionAllowed(module, 'devices/dev-1/messages/devicebound/#')).toBe(false);
    expect(isSubscriptionAllowed(module, 'devices/dev-1/modules/mod-2/#')).toBe(false);
  });
});

describe('topicMatchesFilter', () => {
  it('follows the MQTT wildcard rules', () => {
    expect(
      topicMatchesFilter(
        '$iothub/twin/PATCH/properties/desired/#',
        '$iothub/twin/PATCH/properties/desired/?$version=3',
      ),
    ).toBe(true);
    expect(topicMatchesFilter('a/#', 'a')).toBe(true);
    expect(topicMatchesFilter('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatchesFilter('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatchesFilter('a/b', 'a/b/c')).toBe(false);
    expect(topicMatchesFilter('a/b/c', 'a/b')).toBe(false);
  });
});
