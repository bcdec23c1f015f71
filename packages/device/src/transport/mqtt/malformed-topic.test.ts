import { parseTwinTopic } from '@twinkit/twin-model/protocol';
import { describe, expect, it } from 'vitest';
import { explainMalformedTwinTopic } from './malformed-topic.js';

describe('explainMalformedTwinTopic', () => {
  it.each([
    ['$iothub/twin/res/204/?$rid=7&$version=-1', '7', 204, "$version '-1'"],
    ['$iothub/twin/res/204/?$rid=8&$version=abc', '8', 204, "$version 'abc'"],
    ['$iothub/twin/res/200/?$rid=9&$version=1.5', '9', 200, "$version '1.5'"],
  ])('fails request %s with its malformed $version', (topic, rid, statusCode, shown) => {
    expect(parseTwinTopic(topic)).toBeUndefined();
    const malformed = explainMalformedTwinTopic(topic);
    expect(malformed).toMatchObject({ kind: 'response', rid, error: { statusCode } });
    expect(malformed?.error.message).toContain(shown);
  });

  it('fails a request answered on a topic without a 3-digit status', () => {
    const malformed = explainMalformedTwinTopic('$iothub/twin/res/20/?$rid=3');
    expect(malformed).toMatchObject({
      kind: 'response',
      rid: '3',
      error: { statusCode: undefined },
    });
    expect(malformed?.error.message).toContain('malformed twin response topic');
  });

  it('reports a desired notification whose $version is missing or malformed', () => {
    for (const topic of [
      '$iothub/twin/PATCH/properties/desired/?$version=-2',
      '$iothub/twin/PATCH/properties/desired/?$version=x',
      '$iothub/twin/patch/properties/desired/',
    ]) {
      expect(parseTwinTopic(topic)).toBeUndefined();
      expect(explainMalformedTwinTopic(topic)).toMatchObject({ kind: 'desired-patch' });
    }
  });

  it('ignores responses without a $rid and topics that are no twin response or notification', () => {
    expect(explainMalformedTwinTopic('$iothub/twin/res/200/?$version=-1')).toBeUndefined();
    expect(explainMalformedTwinTopic('$iothub/methods/POST/x')).toBeUndefined();
    expect(explainMalformedTwinTopic('devices/dev-1/messages/devicebound')).toBeUndefined();
  });
});
