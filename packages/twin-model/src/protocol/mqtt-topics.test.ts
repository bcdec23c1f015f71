import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DESIRED_PATCH_TOPIC_FILTER,
  TWIN_RESPONSE_TOPIC_FILTER,
  desiredPatchTopic,
  mqttClientId,
  mqttUsername,
  parseMqttUsername,
  parseTwinTopic,
  reportedPatchTopic,
  twinGetTopic,
  twinResponseTopic,
} from './mqtt-topics.js';

const rid = fc.stringMatching(/^[A-Za-z0-9\-_.:$=;~]{1,40}$/);
const version = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe('topic filters', () => {
  it('match what every SDK subscribes to (docs/internals/wire-contract.md#mqtt-topics)', () => {
    expect(TWIN_RESPONSE_TOPIC_FILTER).toBe('$iothub/twin/res/#');
    expect(DESIRED_PATCH_TOPIC_FILTER).toBe('$iothub/twin/PATCH/properties/desired/#');
  });
});

describe('twin topic builders', () => {
  it('build the request topics of docs/internals/wire-contract.md#mqtt-twin-get and docs/internals/wire-contract.md#mqtt-reported-patch', () => {
    expect(twinGetTopic('4b0c')).toBe('$iothub/twin/GET/?$rid=4b0c');
    expect(reportedPatchTopic('77d1')).toBe('$iothub/twin/PATCH/properties/reported/?$rid=77d1');
    expect(reportedPatchTopic('77d1', 5)).toBe(
      '$iothub/twin/PATCH/properties/reported/?$rid=77d1&$version=5',
    );
  });

  it('build response topics with a 3-digit status, a slash before "?" and $rid first (docs/internals/wire-contract.md#device-errors)', () => {
    expect(twinResponseTopic(200, '4b0c')).toBe('$iothub/twin/res/200/?$rid=4b0c');
    expect(twinResponseTopic(204, '1', 6)).toBe('$iothub/twin/res/204/?$rid=1&$version=6');
    expect(twinResponseTopic(412, '2')).toBe('$iothub/twin/res/412/?$rid=2');
  });

  it('build the desired notification topic as desired/?$version= (docs/internals/wire-contract.md#mqtt-desired)', () => {
    expect(desiredPatchTopic(8)).toBe('$iothub/twin/PATCH/properties/desired/?$version=8');
  });

  it.each([99, 1000, 200.5, Number.NaN])('rejects the status %d with a RangeError', (status) => {
    expect(() => twinResponseTopic(status, '1')).toThrow(RangeError);
  });

  it.each([-1, 1.5, Number.POSITIVE_INFINITY])('rejects the version %d with a RangeError', (v) => {
    expect(() => desiredPatchTopic(v)).toThrow(RangeError);
    expect(() => reportedPatchTopic('1', v)).toThrow(RangeError);
    expect(() => twinResponseTopic(204, '1', v)).toThrow(RangeError);
  });

  it.each(['', 'a&b', 'a?b', 'a#', 'a+b', 'a/b', 'a b', 'a\u0000', 'a\u007f'])(
    'rejects the rid %j with a TypeError',
    (bad) => {
      expect(() => twinGetTopic(bad)).toThrow(TypeError);
      expect(() => twinResponseTopic(200, bad)).toThrow(TypeError);
    },
  );
});

describe('parseTwinTopic', () => {
  it('parses every topic the builders write', () => {
    fc.assert(
      fc.property(rid, version, fc.integer({ min: 100, max: 999 }), (r, v, status) => {
        expect(parseTwinTopic(twinGetTopic(r))).toEqual({ kind: 'get', rid: r });
        expect(parseTwinTopic(reportedPatchTopic(r))).toEqual({ kind: 'patch-reported', rid: r });
        expect(parseTwinTopic(reportedPatchTopic(r, v))).toEqual({
          kind: 'patch-reported',
          rid: r,
          baseVersion: v,
        });
        expect(parseTwinTopic(twinResponseTopic(status, r))).toEqual({
          kind: 'response',
          status,
          rid: r,
        });
        expect(parseTwinTopic(twinResponseTopic(status, r, v))).toEqual({
          kind: 'response',
          status,
          rid: r,
          version: v,
        });
        expect(parseTwinTopic(desiredPatchTopic(v))).toEqual({ kind: 'desired-patch', version: v });
      }),
    );
  });

  it('matches verbs case-insensitively and tolerates a missing slash before "?"', () => {
    expect(parseTwinTopic('$iothub/twin/get/?$rid=1')).toEqual({ kind: 'get', rid: '1' });
    expect(parseTwinTopic('$iothub/twin/GET?$rid=1')).toEqual({ kind: 'get', rid: '1' });
    expect(parseTwinTopic('$iothub/twin/patch/properties/reported?$rid=2')).toEqual({
      kind: 'patch-reported',
      rid: '2',
    });
  });

  it('returns the rid verbatim and ignores unknown parameters', () => {
    expect(parseTwinTopic('$iothub/twin/GET/?foo=bar&$rid=a%20b&x')).toEqual({
      kind: 'get',
      rid: 'a%20b',
    });
  });

  it('keeps the first $rid when it is repeated', () => {
    expect(parseTwinTopic('$iothub/twin/GET/?$rid=1&$rid=2')).toEqual({ kind: 'get', rid: '1' });
  });

  it('accepts an empty rid as written', () => {
    expect(parseTwinTopic('$iothub/twin/GET/?$rid=')).toEqual({ kind: 'get', rid: '' });
  });

  it.each([
    ['a non-twin topic', 'devices/dev1/messages/events/'],
    ['a twin topic without a query', '$iothub/twin/GET/'],
    ['a GET without $rid', '$iothub/twin/GET/?x=1'],
    ['a reported PATCH without $rid', '$iothub/twin/PATCH/properties/reported/?$version=1'],
    ['a desired notification without $version', '$iothub/twin/PATCH/properties/desired/?x=1'],
    ['a malformed $version', '$iothub/twin/PATCH/properties/desired/?$version=1a'],
    [
      'a version beyond safe integers',
      '$iothub/twin/PATCH/properties/desired/?$version=9999999999999999',
    ],
    ['a 2-digit status', '$iothub/twin/res/20/?$rid=1'],
    ['a 4-digit status', '$iothub/twin/res/2000/?$rid=1'],
    ['a response without $rid', '$iothub/twin/res/200/?$version=1'],
    ['an upper-case RES', '$iothub/twin/RES/200/?$rid=1'],
    ['an unknown twin resource', '$iothub/twin/PATCH/properties/other/?$rid=1'],
    ['a non-string', 42 as unknown as string],
  ])('returns undefined for %s', (_label, topic) => {
    expect(parseTwinTopic(topic)).toBeUndefined();
  });
});

describe('mqttClientId', () => {
  it('is the device id, or device/module for modules (docs/internals/wire-contract.md#mqtt-connect)', () => {
    expect(mqttClientId('dev1')).toBe('dev1');
    expect(mqttClientId('dev1', 'mod1')).toBe('dev1/mod1');
    expect(() => mqttClientId('')).toThrow(/deviceId/);
    expect(() => mqttClientId('dev1', '')).toThrow(/moduleId/);
  });
});

describe('mqttUsername', () => {
  it('puts a slash before "?" and defaults the api-version (docs/internals/wire-contract.md#mqtt-connect)', () => {
    expect(mqttUsername({ hostName: 'myhub.azure-devices.net', deviceId: 'dev1' })).toBe(
      'myhub.azure-devices.net/dev1/?api-version=2021-04-12',
    );
  });

  it('builds the module form with model id and encoded client type', () => {
    expect(
      mqttUsername({
        hostName: 'h',
        deviceId: 'dev1',
        moduleId: 'mod1',
        apiVersion: '2020-09-30',
        modelId: 'dtmi:com:example:Thermostat;1',
        clientType: 'azure-iot-device/1.18.4 (node v20.11.1; Ubuntu 22.04; x64)',
      }),
    ).toBe(
      'h/dev1/mod1/?api-version=2020-09-30&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1' +
        '&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.11.1%3B%20Ubuntu%2022.04%3B%20x64)',
    );
  });

  it('rejects an empty host name', () => {
    expect(() => mqttUsername({ hostName: '', deviceId: 'd' })).toThrow(/hostName/);
  });
});

describe('parseMqttUsername', () => {
  it('parses the Node username of docs/internals/wire-contract.md#mqtt-connect with decoded query values', () => {
    const username =
      'myhub.azure-devices.net/dev1/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.11.1%3B%20Ubuntu%2022.04%3B%20x64)';
    expect(parseMqttUsername(username)).toEqual({
      hostName: 'myhub.azure-devices.net',
      deviceId: 'dev1',
      query: {
        'api-version': '2021-04-12',
        DeviceClientType: 'azure-iot-device/1.18.4 (node v20.11.1; Ubuntu 22.04; x64)',
      },
    });
  });

  it('parses the module form', () => {
    expect(parseMqttUsername('h/dev1/mod1/?api-version=1')).toEqual({
      hostName: 'h',
      deviceId: 'dev1',
      moduleId: 'mod1',
      query: { 'api-version': '1' },
    });
  });

  it('round-trips mqttUsername', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9\-:.+%_#*!(),=@$']{1,20}$/);
    fc.assert(
      fc.property(
        id,
        fc.option(id, { nil: undefined }),
        fc.string(),
        (deviceId, moduleId, clientType) => {
          const options = {
            hostName: 'hub.example',
            deviceId,
            clientType,
            ...(moduleId === undefined ? {} : { moduleId }),
          };
          const parsed = parseMqttUsername(mqttUsername(options));
          expect(parsed).toEqual({
            hostName: 'hub.example',
            deviceId,
            ...(moduleId === undefined ? {} : { moduleId }),
            query: { 'api-version': '2021-04-12', DeviceClientType: clientType },
          });
        },
      ),
    );
  });

  it('keeps "+" literal, keeps broken escapes as written and takes the first of repeated keys', () => {
    expect(parseMqttUsername('h/d/?a=1+2&b=%zz&a=3&flag&&=x')?.query).toEqual({
      a: '1+2',
      b: '%zz',
      flag: '',
    });
  });

  it('finds the query at "/?", so a device id may contain "?"', () => {
    expect(parseMqttUsername('h/we?ird/?api-version=1')).toMatchObject({ deviceId: 'we?ird' });
  });

  it('accepts a username without a query', () => {
    expect(parseMqttUsername('h/dev1/')).toEqual({ hostName: 'h', deviceId: 'dev1', query: {} });
    expect(parseMqttUsername('h/dev1/mod1')).toEqual({
      hostName: 'h',
      deviceId: 'dev1',
      moduleId: 'mod1',
      query: {},
    });
  });

  it.each([
    ['no device id', 'h/?api-version=1'],
    ['an empty host', '/dev1/?api-version=1'],
    ['an empty module id', 'h/dev1//?api-version=1'],
    ['too many segments', 'h/a/b/c/?api-version=1'],
    ['a non-string', undefined as unknown as string],
  ])('returns undefined for %s', (_label, username) => {
    expect(parseMqttUsername(username)).toBeUndefined();
  });
});
