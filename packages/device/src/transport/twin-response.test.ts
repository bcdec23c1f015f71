import { MAX_DESIRED_SIZE, MAX_REPORTED_SIZE } from '@twinkit/twin-model';
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import { describe, expect, it } from 'vitest';
import {
  MAX_TWIN_RESPONSE_BYTES,
  VERSION_EXPECTED,
  isTwinVersion,
  parseVersionText,
  readDesiredNotification,
  readDeviceTwin,
} from './twin-response.js';

function twinBody(desired: object, reported: object = { $version: 1 }): string {
  return JSON.stringify({ desired, reported });
}

describe('isTwinVersion and parseVersionText', () => {
  it('accept non-negative safe integers only', () => {
    expect([0, 1, 2 ** 53 - 1].every(isTwinVersion)).toBe(true);
    expect([-1, 1.5, Number.NaN, Infinity, 2 ** 53, '3', null, undefined].some(isTwinVersion)).toBe(
      false,
    );
    expect(parseVersionText('42')).toBe(42);
    for (const text of ['-1', '1.0', '', 'abc', '1e3', '+1', '99999999999999999']) {
      expect(parseVersionText(text)).toBeUndefined();
    }
  });
});

describe('readDeviceTwin', () => {
  it('reads a twin with both versions', () => {
    expect(readDeviceTwin(twinBody({ a: 1, $version: 4 }), 'Twin read', 200)).toEqual({
      desired: { a: 1, $version: 4 },
      reported: { $version: 1 },
    });
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['a string', '7'],
    ['missing', undefined],
  ])('refuses a %s $version with UnexpectedResponseError', (_, version) => {
    const error = (() => {
      try {
        readDeviceTwin(twinBody({ $version: version }), 'Twin read', 200);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error).toMatchObject({ statusCode: 200, expected: VERSION_EXPECTED });
    expect((error as Error).message).toContain('desired section');
  });

  it('refuses a body that is not a twin', () => {
    for (const body of ['not json', '[]', 'null', '{"desired":{"$version":1}}', undefined]) {
      expect(() => readDeviceTwin(body, 'Twin read', 200)).toThrow(UnexpectedResponseError);
    }
  });

  it("refuses a section larger than IoT Hub's limit, and accepts one at the limit", () => {
    // Each key of 4 characters with a 4092-character string counts 4096 by IoT Hub's formula.
    const section = (count: number, last = 4092) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, index) => [
          `k${String(index).padStart(3, '0')}`,
          'x'.repeat(index === count - 1 ? last : 4092),
        ]),
      );
    const atLimit = section(MAX_DESIRED_SIZE / 4096);
    expect(() =>
      readDeviceTwin(twinBody({ ...atLimit, $version: 2 }), 'Twin read', 200),
    ).not.toThrow();
    const over = section(MAX_REPORTED_SIZE / 4096, 4093);
    expect(() =>
      readDeviceTwin(twinBody({ $version: 2 }, { ...over, $version: 3 }), 'Twin read', 200),
    ).toThrow(/reported section has size 32769, more than IoT Hub's limit of 32768/);
  });

  it('refuses a body larger than MAX_TWIN_RESPONSE_BYTES without parsing it', () => {
    const body = `{"desired":{"$version":1,"a":"${'x'.repeat(MAX_TWIN_RESPONSE_BYTES)}"}}`;
    expect(() => readDeviceTwin(body, 'Twin read', 200)).toThrow(
      /a body of \d+ bytes, more than any twin IoT Hub sends/,
    );
  });
});

describe('readDesiredNotification', () => {
  it('reads the patch and its $version', () => {
    expect(readDesiredNotification('{"a":null,"$version":8}')).toEqual({
      patch: { a: null },
      version: 8,
    });
    expect(readDesiredNotification('{"a":1}')).toEqual({ patch: { a: 1 }, version: undefined });
  });

  it('refuses a malformed $version or a body that is not an object', () => {
    expect(() => readDesiredNotification('{"$version":-3}')).toThrow(/\$version -3/);
    expect(() => readDesiredNotification('{"$version":"8"}')).toThrow(UnexpectedResponseError);
    expect(() => readDesiredNotification('[1]')).toThrow(/not a JSON object/);
    expect(() => readDesiredNotification('{')).toThrow(UnexpectedResponseError);
  });
});
