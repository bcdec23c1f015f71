import { describe, expect, it } from 'vitest';
import {
  MAX_MODEL_ID_LENGTH,
  isModelId,
  isWritablePropertyAck,
  mqttUsername,
  parseMqttUsername,
} from './index.js';

describe('isModelId (docs/internals/wire-contract.md#model-id)', () => {
  it.each([
    'dtmi:com:example:Thermostat;1',
    'dtmi:com:example:TemperatureController;2',
    'dtmi:a;999999999',
    'dtmi:com:example:Thermostat;1.2',
    'dtmi:com:ex_ample:A1;1',
  ])('accepts %s', (text) => {
    expect(isModelId(text)).toBe(true);
  });

  it.each([
    ['no version', 'dtmi:com:example:Thermostat'],
    ['version 0', 'dtmi:com:example:Thermostat;0'],
    ['another scheme', 'urn:com:example:Thermostat;1'],
    ['a segment starting with a digit', 'dtmi:com:1example;1'],
    ['a segment ending with an underscore', 'dtmi:com:example_;1'],
    ['an empty segment', 'dtmi:com::example;1'],
    ['a non-string', 1],
  ])('refuses %s', (_label, text) => {
    expect(isModelId(text)).toBe(false);
  });

  it('refuses a model id longer than the DTDL limit', () => {
    const long = `dtmi:${'a'.repeat(MAX_MODEL_ID_LENGTH)};1`;
    expect(isModelId(long)).toBe(false);
  });

  it('round-trips through the MQTT username after the api-version', () => {
    const username = mqttUsername({
      hostName: 'h',
      deviceId: 'd',
      modelId: 'dtmi:com:example:Thermostat;1',
    });
    expect(username).toBe(
      'h/d/?api-version=2021-04-12&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1',
    );
    expect(parseMqttUsername(username)?.query['model-id']).toBe('dtmi:com:example:Thermostat;1');
    // The Node SDK writes it unencoded; the hub reads both.
    expect(
      parseMqttUsername('h/d/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1')
        ?.query['model-id'],
    ).toBe('dtmi:com:example:Thermostat;1');
  });
});

describe('isWritablePropertyAck', () => {
  it('recognises { value, ac, av, ad? }', () => {
    expect(isWritablePropertyAck({ value: 21, ac: 200, av: 3 })).toBe(true);
    expect(isWritablePropertyAck({ value: 21, ac: 400, av: 3, ad: 'too hot' })).toBe(true);
  });

  it('refuses plain values and acknowledgements without numeric ac and av', () => {
    expect(isWritablePropertyAck(21)).toBe(false);
    expect(isWritablePropertyAck(null)).toBe(false);
    expect(isWritablePropertyAck([1])).toBe(false);
    expect(isWritablePropertyAck({ value: 21, ac: '200', av: 3 })).toBe(false);
    expect(isWritablePropertyAck({ value: 21, ac: 200 })).toBe(false);
  });
});
