import { describe, expect, it } from 'vitest';
import {
  API_VERSION,
  BULK_PATH,
  HEADER,
  QUERY_PATH,
  devicePath,
  isQuoted,
  modulePath,
  modulesPath,
  quoteEtag,
  twinPath,
  unquoteEtag,
  withApiVersion,
} from './rest.js';

describe('REST constants', () => {
  it('uses the api-version and lower-case header names of docs/internals/wire-contract.md#rest', () => {
    expect(API_VERSION).toBe('2021-04-12');
    expect(QUERY_PATH).toBe('/devices/query');
    expect(BULK_PATH).toBe('/devices');
    for (const name of Object.values(HEADER)) expect(name).toBe(name.toLowerCase());
    expect(HEADER.continuation).toBe('x-ms-continuation');
    expect(HEADER.itemType).toBe('x-ms-item-type');
    expect(HEADER.errorCode).toBe('iothub-errorcode');
    expect(Object.isFrozen(HEADER)).toBe(true);
  });
});

describe('twinPath', () => {
  it('builds device and module twin paths', () => {
    expect(twinPath('dev1')).toBe('/twins/dev1');
    expect(twinPath('dev1', 'mod1')).toBe('/twins/dev1/modules/mod1');
  });

  it('percent-encodes each id as one segment, keeping + distinct from space', () => {
    expect(twinPath('a/b+c d', 'm#1')).toBe('/twins/a%2Fb%2Bc%20d/modules/m%231');
  });

  it('rejects empty ids', () => {
    expect(() => twinPath('')).toThrow(TypeError);
    expect(() => twinPath('dev1', '')).toThrow(/moduleId/);
  });
});

describe('devicePath and modulePath', () => {
  it('build identity paths with encoded ids', () => {
    expect(devicePath('dev:1')).toBe('/devices/dev%3A1');
    expect(modulePath('dev1', 'mod 1')).toBe('/devices/dev1/modules/mod%201');
    expect(modulesPath('dev1')).toBe('/devices/dev1/modules');
    expect(() => devicePath('')).toThrow(/deviceId/);
  });
});

describe('withApiVersion', () => {
  it('appends the default or a given api-version', () => {
    expect(withApiVersion('/twins/dev1')).toBe('/twins/dev1?api-version=2021-04-12');
    expect(withApiVersion('/devices', '2020-09-30')).toBe('/devices?api-version=2020-09-30');
  });
});

describe('quoteEtag', () => {
  it('quotes bare etags and the wildcard, and leaves quoted ones alone', () => {
    expect(quoteEtag('AAAAAAAAAAE=')).toBe('"AAAAAAAAAAE="');
    expect(quoteEtag('*')).toBe('"*"');
    expect(quoteEtag('"AAAAAAAAAAE="')).toBe('"AAAAAAAAAAE="');
  });
});

describe('unquoteEtag', () => {
  it('strips one pair of quotes and a W/ prefix', () => {
    expect(unquoteEtag('"AAAAAAAAAAE="')).toBe('AAAAAAAAAAE=');
    expect(unquoteEtag('W/"AAAAAAAAAAE="')).toBe('AAAAAAAAAAE=');
    expect(unquoteEtag('"*"')).toBe('*');
    expect(unquoteEtag('""x""')).toBe('"x"');
  });

  it('returns unquoted values unchanged apart from surrounding whitespace', () => {
    expect(unquoteEtag(' AAAAAAAAAAE= ')).toBe('AAAAAAAAAAE=');
    expect(unquoteEtag('"')).toBe('"');
  });

  it('inverts quoteEtag', () => {
    expect(unquoteEtag(quoteEtag('abc='))).toBe('abc=');
  });
});

describe('isQuoted', () => {
  it('needs a quote at both ends', () => {
    expect(isQuoted('""')).toBe(true);
    expect(isQuoted('"a')).toBe(false);
    expect(isQuoted('a"')).toBe(false);
  });
});
