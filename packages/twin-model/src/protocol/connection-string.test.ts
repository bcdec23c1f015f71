import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from './base64.js';
import {
  formatDeviceConnectionString,
  formatServiceConnectionString,
  parseConnectionString,
  parseDeviceConnectionString,
  parseServiceConnectionString,
  parseServiceKeyConnectionString,
  splitHostPort,
  type DeviceConnectionString,
} from './connection-string.js';

const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const POLICY_KEY = 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';
const HOST = 'myhub.azure-devices.net';
const TOKEN =
  'SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1&sig=i%2BYmMcSSZc4KzBi6ejz3l0iL%2B2sN0CE3q6vSm837h2g%3D&se=1700000000';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('expected a TypeError');
}

describe('parseConnectionString', () => {
  it('splits pairs at the first "=" so padding and tokens survive', () => {
    const pairs = parseConnectionString(
      `HostName=${HOST};SharedAccessKey=${KEY};SharedAccessSignature=${TOKEN}`,
    );
    expect(pairs).toEqual({ HostName: HOST, SharedAccessKey: KEY, SharedAccessSignature: TOKEN });
  });

  it('skips empty segments and drops pairs with an empty value, as Node does', () => {
    expect(parseConnectionString('A=1;;B=;C=3;')).toEqual({ A: '1', C: '3' });
  });

  it('keeps a key named __proto__ as data', () => {
    const pairs = parseConnectionString('__proto__=x');
    expect(Object.entries(pairs)).toEqual([['__proto__', 'x']]);
    expect(Object.getPrototypeOf(pairs)).toBeNull();
  });

  it('rejects segments without "=", empty names and duplicates, naming no values', () => {
    expect(messageOf(() => parseConnectionString('A=1;SharedAccessKeySECRET'))).toBe(
      'Connection string segment 2 is not a Key=Value pair (no "=")',
    );
    expect(messageOf(() => parseConnectionString('=SECRET'))).toBe(
      'Connection string segment 1 has an empty key name',
    );
    expect(messageOf(() => parseConnectionString('A=SECRET1;A=SECRET2'))).toBe(
      'Connection string has "A" more than once',
    );
    expect(messageOf(() => parseConnectionString(7 as unknown as string))).toMatch(
      /must be a string/,
    );
  });
});

describe('parseDeviceConnectionString', () => {
  it('parses a key-based device string', () => {
    expect(
      parseDeviceConnectionString(`HostName=${HOST};DeviceId=dev1;SharedAccessKey=${KEY}`),
    ).toEqual({
      hostName: HOST,
      deviceId: 'dev1',
      sharedAccessKey: KEY,
    });
  });

  it('parses a module string with a policy key and a gateway', () => {
    const cs = `HostName=${HOST};DeviceId=dev1;ModuleId=mod1;SharedAccessKeyName=device;SharedAccessKey=${KEY};GatewayHostName=edge.local:8883`;
    expect(parseDeviceConnectionString(cs)).toEqual({
      hostName: HOST,
      deviceId: 'dev1',
      moduleId: 'mod1',
      sharedAccessKeyName: 'device',
      sharedAccessKey: KEY,
      gatewayHostName: 'edge.local:8883',
    });
  });

  it('parses an embedded SAS token intact', () => {
    const parts = parseDeviceConnectionString(
      `HostName=${HOST};DeviceId=dev1;SharedAccessSignature=${TOKEN}`,
    );
    expect(parts.sharedAccessSignature).toBe(TOKEN);
  });

  it('parses x509=true and the C# X509Cert=true spelling', () => {
    expect(parseDeviceConnectionString(`HostName=${HOST};DeviceId=dev1;x509=true`).x509).toBe(true);
    expect(parseDeviceConnectionString(`HostName=${HOST};DeviceId=dev1;X509Cert=True`).x509).toBe(
      true,
    );
  });

  it('accepts a host:port HostName for emulators and ignores unknown keys', () => {
    const parts = parseDeviceConnectionString(
      `HostName=localhost:8883;DeviceId=d;x509=true;Extra=1`,
    );
    expect(parts).toEqual({ hostName: 'localhost:8883', deviceId: 'd', x509: true });
  });

  it.each([
    [
      'HostName is missing',
      `DeviceId=d;SharedAccessKey=${KEY}`,
      'Device connection string is missing HostName',
    ],
    [
      'DeviceId is missing',
      `HostName=${HOST};SharedAccessKey=${KEY}`,
      'Device connection string is missing DeviceId',
    ],
    [
      'no authentication is given',
      `HostName=${HOST};DeviceId=d`,
      'Device connection string needs exactly one of SharedAccessKey, SharedAccessSignature or x509=true (found none)',
    ],
    [
      'x509=false is the only authentication',
      `HostName=${HOST};DeviceId=d;x509=false`,
      'Device connection string needs exactly one of SharedAccessKey, SharedAccessSignature or x509=true (found none)',
    ],
    [
      'two authentication methods are given',
      `HostName=${HOST};DeviceId=d;SharedAccessKey=${KEY};x509=true`,
      'Device connection string needs exactly one of SharedAccessKey, SharedAccessSignature or x509=true (found SharedAccessKey and x509=true)',
    ],
    [
      'x509 is not a boolean',
      `HostName=${HOST};DeviceId=d;x509=yes`,
      'Device connection string x509 must be "true" or "false"',
    ],
    [
      'SharedAccessKeyName comes without a key',
      `HostName=${HOST};DeviceId=d;SharedAccessKeyName=p;x509=true`,
      'Device connection string has SharedAccessKeyName but no SharedAccessKey',
    ],
    [
      'HostName has a path',
      `HostName=${HOST}/x;DeviceId=d;x509=true`,
      'Device connection string HostName must be a host name with an optional :port',
    ],
    [
      'HostName has a bad port',
      `HostName=${HOST}:99999;DeviceId=d;x509=true`,
      `Device connection string HostName is invalid: Host "${HOST}:99999" has a port outside 1-65535`,
    ],
    [
      'GatewayHostName is malformed',
      `HostName=${HOST};DeviceId=d;x509=true;GatewayHostName=edge:port`,
      'Device connection string GatewayHostName is invalid: Host "edge:port" has a non-numeric port',
    ],
  ])('rejects a string where %s', (_label, cs, message) => {
    expect(messageOf(() => parseDeviceConnectionString(cs))).toBe(message);
  });

  it('rejects a SharedAccessKey that is not base64 without echoing it', () => {
    const message = messageOf(() =>
      parseDeviceConnectionString(`HostName=${HOST};DeviceId=d;SharedAccessKey=SECRET*KEY*VALUE=`),
    );
    expect(message).toBe('Device connection string SharedAccessKey is not valid base64');
  });

  it('rejects a malformed SharedAccessSignature without echoing it', () => {
    const message = messageOf(() =>
      parseDeviceConnectionString(
        `HostName=${HOST};DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h&sig=SECRETSIG`,
      ),
    );
    expect(message).toBe(
      'Device connection string SharedAccessSignature is not a valid SAS token: SAS token is missing the "se" field',
    );
    expect(message).not.toContain('SECRETSIG');
  });
});

describe('formatDeviceConnectionString', () => {
  it('writes the fields in the documented order', () => {
    const cs = formatDeviceConnectionString({
      gatewayHostName: 'edge.local',
      sharedAccessKey: KEY,
      moduleId: 'mod1',
      deviceId: 'dev1',
      hostName: HOST,
    });
    expect(cs).toBe(
      `HostName=${HOST};DeviceId=dev1;ModuleId=mod1;SharedAccessKey=${KEY};GatewayHostName=edge.local`,
    );
    expect(formatDeviceConnectionString({ hostName: HOST, deviceId: 'd', x509: true })).toBe(
      `HostName=${HOST};DeviceId=d;x509=true`,
    );
  });

  it('refuses parts that would not parse back', () => {
    expect(
      messageOf(() =>
        formatDeviceConnectionString({ hostName: HOST, deviceId: 'a;b', x509: true }),
      ),
    ).toBe('Device connection string DeviceId must not contain ";"');
    expect(
      messageOf(() => formatDeviceConnectionString({ hostName: HOST, deviceId: '', x509: true })),
    ).toBe('Device connection string DeviceId must be a non-empty string');
    expect(
      messageOf(() =>
        formatDeviceConnectionString({ hostName: HOST, deviceId: 'd', moduleId: '', x509: true }),
      ),
    ).toMatch(/ModuleId/);
    expect(
      messageOf(() =>
        formatDeviceConnectionString({
          hostName: HOST,
          deviceId: 'd',
          sharedAccessKey: KEY,
          sharedAccessKeyName: '',
        }),
      ),
    ).toMatch(/SharedAccessKeyName must be a non-empty/);
    expect(
      messageOf(() => formatDeviceConnectionString({ hostName: HOST, deviceId: 'd' })),
    ).toMatch(/found none/);
  });

  it('round-trips any valid parts through parse', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9\-:.+%_#*?!(),=@$']{1,20}$/);
    const host = fc.stringMatching(/^[a-z0-9-]{1,10}(\.[a-z0-9-]{1,10}){0,3}$/);
    const auth = fc.oneof(
      fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((bytes) => ({ sharedAccessKey: encodeBase64(bytes) })),
      fc.record({
        sharedAccessKey: fc.uint8Array({ minLength: 1, maxLength: 64 }).map(encodeBase64),
        sharedAccessKeyName: id,
      }),
      fc.constant({ sharedAccessSignature: TOKEN }),
      fc.constant({ x509: true }),
    );
    fc.assert(
      fc.property(
        host,
        id,
        fc.option(id, { nil: undefined }),
        auth,
        fc.option(host, { nil: undefined }),
        (hostName, deviceId, moduleId, credentials, gateway) => {
          const parts: DeviceConnectionString = { hostName, deviceId, ...credentials };
          if (moduleId !== undefined) parts.moduleId = moduleId;
          if (gateway !== undefined) parts.gatewayHostName = gateway;
          const cs = formatDeviceConnectionString(parts);
          expect(parseDeviceConnectionString(cs)).toEqual(parts);
          expect(formatDeviceConnectionString(parseDeviceConnectionString(cs))).toBe(cs);
        },
      ),
    );
  });
});

describe('parseServiceConnectionString', () => {
  const cs = `HostName=${HOST};SharedAccessKeyName=iothubowner;SharedAccessKey=${POLICY_KEY}`;

  it('parses a policy-key service string', () => {
    expect(parseServiceConnectionString(cs)).toEqual({
      hostName: HOST,
      sharedAccessKeyName: 'iothubowner',
      sharedAccessKey: POLICY_KEY,
    });
  });

  it('accepts SharedAccessSignature in place of the key only when asked to', () => {
    const sasCs = `HostName=${HOST};SharedAccessKeyName=iothubowner;SharedAccessSignature=${TOKEN}`;
    expect(messageOf(() => parseServiceConnectionString(sasCs))).toMatch(
      /allowSharedAccessSignature/,
    );
    expect(parseServiceConnectionString(sasCs, { allowSharedAccessSignature: true })).toEqual({
      hostName: HOST,
      sharedAccessKeyName: 'iothubowner',
      sharedAccessSignature: TOKEN,
    });
    expect(
      parseServiceConnectionString(`HostName=${HOST};SharedAccessSignature=${TOKEN}`, {
        allowSharedAccessSignature: true,
      }),
    ).toEqual({ hostName: HOST, sharedAccessSignature: TOKEN });
  });

  it.each([
    [
      'HostName is missing',
      `SharedAccessKeyName=p;SharedAccessKey=${KEY}`,
      'Service connection string is missing HostName',
    ],
    [
      'SharedAccessKeyName is missing',
      `HostName=${HOST};SharedAccessKey=${KEY}`,
      'Service connection string is missing SharedAccessKeyName',
    ],
    [
      'SharedAccessKey is missing',
      `HostName=${HOST};SharedAccessKeyName=p`,
      'Service connection string is missing SharedAccessKey',
    ],
    [
      'both a key and a signature are given',
      `HostName=${HOST};SharedAccessKeyName=p;SharedAccessKey=${KEY};SharedAccessSignature=${TOKEN}`,
      'Service connection string must not have both SharedAccessKey and SharedAccessSignature',
    ],
    [
      'the key is not base64',
      `HostName=${HOST};SharedAccessKeyName=p;SharedAccessKey=SECRET`,
      'Service connection string SharedAccessKey is not valid base64',
    ],
    [
      'HostName has whitespace',
      `HostName=my hub;SharedAccessKeyName=p;SharedAccessKey=${KEY}`,
      'Service connection string HostName must be a host name with an optional :port',
    ],
  ])('rejects a string where %s', (_label, text, message) => {
    expect(messageOf(() => parseServiceConnectionString(text))).toBe(message);
    expect(
      messageOf(() => parseServiceConnectionString(text, { allowSharedAccessSignature: true })),
    ).toBe(message);
    expect(messageOf(() => parseServiceKeyConnectionString(text))).toBe(message);
  });

  it('parses key strings alone with parseServiceKeyConnectionString, which refuses signatures', () => {
    expect(parseServiceKeyConnectionString(cs)).toEqual(parseServiceConnectionString(cs));
    const sasCs = `HostName=${HOST};SharedAccessSignature=${TOKEN}`;
    expect(messageOf(() => parseServiceKeyConnectionString(sasCs))).toBe(
      messageOf(() => parseServiceConnectionString(sasCs)),
    );
  });

  it('rejects a malformed signature when signatures are allowed', () => {
    const text = `HostName=${HOST};SharedAccessSignature=SharedAccessSignature sig=SECRET`;
    const message = messageOf(() =>
      parseServiceConnectionString(text, { allowSharedAccessSignature: true }),
    );
    expect(message).toBe(
      'Service connection string SharedAccessSignature is not a valid SAS token: SAS token is missing the "sr" field',
    );
  });
});

describe('formatServiceConnectionString', () => {
  it('round-trips key-based and token-based service strings', () => {
    const keyParts = {
      hostName: HOST,
      sharedAccessKeyName: 'service',
      sharedAccessKey: POLICY_KEY,
    };
    const keyCs = formatServiceConnectionString(keyParts);
    expect(keyCs).toBe(
      `HostName=${HOST};SharedAccessKeyName=service;SharedAccessKey=${POLICY_KEY}`,
    );
    expect(parseServiceConnectionString(keyCs)).toEqual(keyParts);
    const sasParts = { hostName: HOST, sharedAccessSignature: TOKEN };
    const sasCs = formatServiceConnectionString(sasParts);
    expect(sasCs).toBe(`HostName=${HOST};SharedAccessSignature=${TOKEN}`);
    expect(parseServiceConnectionString(sasCs, { allowSharedAccessSignature: true })).toEqual(
      sasParts,
    );
  });

  it('refuses an empty policy name', () => {
    expect(
      messageOf(() =>
        formatServiceConnectionString({
          hostName: HOST,
          sharedAccessKeyName: '',
          sharedAccessKey: KEY,
        }),
      ),
    ).toBe('Service connection string SharedAccessKeyName must be a non-empty string');
  });
});

describe('splitHostPort', () => {
  it('splits host and port', () => {
    expect(splitHostPort('localhost:8883')).toEqual({ host: 'localhost', port: 8883 });
    expect(splitHostPort(HOST)).toEqual({ host: HOST });
  });

  it('unwraps bracketed IPv6 literals and leaves bare IPv6 addresses whole', () => {
    expect(splitHostPort('[::1]:5671')).toEqual({ host: '::1', port: 5671 });
    expect(splitHostPort('[::1]')).toEqual({ host: '::1' });
    expect(splitHostPort('fe80::1')).toEqual({ host: 'fe80::1' });
  });

  it.each([
    ['', TypeError, /non-empty/],
    [':80', TypeError, /empty host name/],
    ['[]:80', TypeError, /empty host name/],
    ['[::1', TypeError, /unterminated/],
    ['[::1]x', TypeError, /after the IPv6/],
    ['host:', TypeError, /non-numeric/],
    ['host:12a', TypeError, /non-numeric/],
    ['host:0', RangeError, /outside 1-65535/],
    ['host:65536', RangeError, /outside 1-65535/],
  ])('rejects %j', (host, type, message) => {
    expect(() => splitHostPort(host)).toThrow(type);
    expect(() => splitHostPort(host)).toThrow(message);
  });
});
