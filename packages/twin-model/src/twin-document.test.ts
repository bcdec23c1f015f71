import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  PreconditionFailedError,
  TwinValidationError,
  isBadRequestError,
  isPreconditionFailedError,
  type HubError,
} from './errors/index.js';
import { diff } from './patch/diff.js';
import { isJsonObject } from './patch/json.js';
import type { JsonObject, JsonValue, TwinMetadata } from './types.js';
import { checkDesiredVersion, formatEtag } from './version.js';
import {
  createStoredTwin,
  replaceTwin,
  updateReported,
  updateTwin,
  type StoredTwin,
  type TwinWriteOptions,
} from './twin-document.js';
import { toDeviceTwin, toServiceTwin } from './twin-views.js';

const t0 = new Date('2024-01-01T00:00:00Z');
const t1 = new Date('2024-06-01T10:00:00.1234567Z');
const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-06-01T10:00:00.123Z';
const at: TwinWriteOptions = { now: t1, ifMatch: '*' };
/** The hub's own text of an error the twin engine raised (what the hub writes on the wire). */
function wireMessageOf(error: unknown): string | undefined {
  return (error as HubError).wireMessage;
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$/;

/** Base state S1 of docs/internals/twin-semantics.md#test-vectors, reached through real operations at t0. */
function makeS1(): StoredTwin {
  let twin = createStoredTwin({ deviceId: 'dev1' }, t0);
  const now = { now: t0 };
  twin = updateTwin(twin, { tags: { location: { region: 'US', plant: 'Redmond43' } } }, now).twin;
  twin = updateTwin(
    twin,
    {
      properties: {
        desired: {
          telemetryConfig: { sendFrequency: '5m', mode: 'eco' },
          fw: { version: '1.0', url: 'http://a' },
          list: [1, 2, 3],
        },
      },
    },
    now,
  ).twin;
  for (let index = 0; index < 3; index++)
    twin = updateTwin(twin, { properties: { desired: {} } }, now).twin;
  twin = updateReported(
    twin,
    { battery: 55, telemetryConfig: { sendFrequency: '5m', status: 'success' } },
    now,
  ).twin;
  for (let index = 0; index < 5; index++) twin = updateReported(twin, {}, now).twin;
  return twin;
}

const counters = (twin: StoredTwin) => ({
  e: twin.etagCounter,
  v: twin.version,
  dv: twin.desiredVersion,
  rv: twin.reportedVersion,
});

function catchError(action: () => unknown): HubError {
  try {
    action();
  } catch (error) {
    return error as HubError;
  }
  throw new Error('expected the action to throw');
}

/** Every non-`$` key of a metadata node, recursively, must mirror the section content. */
function mirrors(content: JsonValue, metadata: TwinMetadata): boolean {
  const children = Object.keys(metadata).filter((key) => !key.startsWith('$'));
  if (!isJsonObject(content)) return children.length === 0;
  const keys = Object.keys(content);
  if (keys.length !== children.length || !keys.every((key) => children.includes(key))) return false;
  return keys.every((key) => mirrors(content[key] as JsonValue, metadata[key] as TwinMetadata));
}

describe('base state S1', () => {
  it('has the counters of docs/internals/twin-semantics.md#test-vectors', () => {
    const s1 = makeS1();
    expect(counters(s1)).toEqual({ e: 6, v: 13, dv: 5, rv: 7 });
    expect(toServiceTwin(s1).etag).toBe('AAAAAAAAAAY=');
  });
});

describe('createStoredTwin', () => {
  it('TV-01: a fresh twin is S0 exactly as in docs/internals/twin-semantics.md#twin-document', () => {
    const twin = createStoredTwin({ deviceId: 'dev1' }, t0);
    const view = toServiceTwin(twin, {
      deviceEtag: 'MTIzNDU2Nzg5',
      status: 'enabled',
      statusUpdateTime: '0001-01-01T00:00:00Z',
      connectionState: 'Disconnected',
      lastActivityTime: '0001-01-01T00:00:00Z',
      cloudToDeviceMessageCount: 0,
      authenticationType: 'sas',
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
      modelId: '',
      capabilities: { iotEdge: false },
    });
    const expected = {
      deviceId: 'dev1',
      etag: 'AAAAAAAAAAE=',
      deviceEtag: 'MTIzNDU2Nzg5',
      status: 'enabled',
      statusUpdateTime: '0001-01-01T00:00:00Z',
      connectionState: 'Disconnected',
      lastActivityTime: '0001-01-01T00:00:00Z',
      cloudToDeviceMessageCount: 0,
      authenticationType: 'sas',
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
      modelId: '',
      version: 2,
      properties: {
        desired: { $metadata: { $lastUpdated: T0 }, $version: 1 },
        reported: { $metadata: { $lastUpdated: T0 }, $version: 1 },
      },
      capabilities: { iotEdge: false },
    };
    // Same JSON text: same members in the same order as the real hub's document.
    expect(JSON.stringify(view)).toBe(JSON.stringify(expected));
  });

  it('creates module twins with moduleId after deviceId', () => {
    const view = toServiceTwin(createStoredTwin({ deviceId: 'dev1', moduleId: 'm1' }, t0));
    expect(Object.keys(view).slice(0, 3)).toEqual(['deviceId', 'moduleId', 'etag']);
    expect(view.moduleId).toBe('m1');
  });

  it('rejects empty ids', () => {
    expect(() => createStoredTwin({ deviceId: '' }, t0)).toThrow(TypeError);
    expect(() => createStoredTwin({ deviceId: 'd', moduleId: '' }, t0)).toThrow(/moduleId/);
  });
});

describe('updateTwin', () => {
  const tv02 = {
    properties: {
      desired: {
        newProperty: { nestedProperty: 'newValue' },
        telemetryConfig: { sendFrequency: '10m' },
        fw: null,
      },
    },
  };

  it('TV-02: adds, overwrites and deletes desired properties (doc example)', () => {
    const s1 = makeS1();
    const { twin } = updateTwin(s1, tv02, at);
    expect(twin.desired).toEqual({
      telemetryConfig: { sendFrequency: '10m', mode: 'eco' },
      list: [1, 2, 3],
      newProperty: { nestedProperty: 'newValue' },
    });
    expect(counters(twin)).toEqual({ e: 7, v: 14, dv: 6, rv: 7 });
    expect(toServiceTwin(twin).etag).toBe('AAAAAAAAAAc=');
    expect(twin.tags).toEqual(s1.tags);
  });

  it('TV-03: the device notification is the desired patch as sent plus $version', () => {
    const { desiredNotification } = updateTwin(makeS1(), tv02, at);
    expect(JSON.stringify(desiredNotification)).toBe(
      '{"newProperty":{"nestedProperty":"newValue"},"telemetryConfig":{"sendFrequency":"10m"},"fw":null,"$version":6}',
    );
  });

  it('TV-04: null for a missing key changes nothing but still bumps the versions', () => {
    const s1 = makeS1();
    const { twin, desiredNotification } = updateTwin(
      s1,
      { properties: { desired: { ghost: null } } },
      at,
    );
    expect(twin.desired).toEqual(s1.desired);
    expect(counters(twin)).toEqual({ e: 7, v: 14, dv: 6, rv: 7 });
    expect(desiredNotification).toEqual({ ghost: null, $version: 6 });
  });

  it('TV-08: arrays replace wholesale', () => {
    expect(
      updateTwin(makeS1(), { properties: { desired: { list: [9] } } }, at).twin.desired.list,
    ).toEqual([9]);
  });

  it('TV-09: a mixed array including objects is stored and returned exactly', () => {
    const list = [1, 'someString', false, { Id: 123, Name: 'someName' }];
    const { twin } = updateTwin(makeS1(), { properties: { desired: { list } } }, at);
    expect(toServiceTwin(twin).properties.desired.list).toEqual(list);
    expect(toDeviceTwin(twin).desired.list).toEqual(list);
  });

  it('TV-10: an empty object onto an existing object changes nothing but bumps $version', () => {
    const { twin } = updateTwin(makeS1(), { properties: { desired: { telemetryConfig: {} } } }, at);
    expect(twin.desired.telemetryConfig).toEqual({ sendFrequency: '5m', mode: 'eco' });
    expect(twin.desiredVersion).toBe(6);
  });

  it('TV-12 and TV-45: a tags-only PATCH bumps the etag and version but not desired, and notifies nobody', () => {
    const s1 = makeS1();
    const result = updateTwin(s1, { tags: { location: { floor: '1' } } }, at);
    expect(result.twin.tags).toEqual({
      location: { region: 'US', plant: 'Redmond43', floor: '1' },
    });
    expect(counters(result.twin)).toEqual({ e: 7, v: 14, dv: 5, rv: 7 });
    expect(result.twin.desired).toEqual(s1.desired);
    expect(result.twin.desiredMetadata).toEqual(s1.desiredMetadata);
    expect(result.desiredNotification).toBeUndefined();
    expect('desiredNotification' in result).toBe(false);
  });

  it('TV-13: a combined tags and desired PATCH counts once', () => {
    const { twin } = updateTwin(
      makeS1(),
      { tags: { env: 'prod' }, properties: { desired: { x: 1 } } },
      at,
    );
    expect(counters(twin)).toEqual({ e: 7, v: 14, dv: 6, rv: 7 });
    expect(twin.tags.env).toBe('prod');
    expect(twin.desired.x).toBe(1);
  });

  it('TV-19: a stale If-Match fails with PreconditionFailedError and applies nothing', () => {
    const s1 = makeS1();
    const error = catchError(() =>
      updateTwin(s1, { properties: { desired: { x: 1 } } }, { now: t1, ifMatch: '"AAAAAAAAAAU="' }),
    );
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(isPreconditionFailedError(error)).toBe(true);
    expect(error.statusCode).toBe(412);
    expect(error.code).toBe('PreconditionFailed');
    expect(error.deviceId).toBe('dev1');
    expect(wireMessageOf(error)).toContain('does not match');
    expect(counters(s1)).toEqual({ e: 6, v: 13, dv: 5, rv: 7 });
  });

  it('TV-20: the current etag passes, quoted or unquoted', () => {
    for (const ifMatch of ['"AAAAAAAAAAY="', 'AAAAAAAAAAY=']) {
      const { twin } = updateTwin(
        makeS1(),
        { properties: { desired: { x: 1 } } },
        { now: t1, ifMatch },
      );
      expect(twin.etagCounter).toBe(7);
    }
  });

  it('honours the ignore-unquoted If-Match mode', () => {
    const options = { now: t1, ifMatch: 'AAAAAAAAAAU=', ifMatchMode: 'ignore-unquoted' } as const;
    expect(updateTwin(makeS1(), { tags: { a: '1' } }, options).twin.etagCounter).toBe(7);
    expect(() =>
      updateTwin(makeS1(), { tags: { a: '1' } }, { ...options, ifMatchMode: 'strict' }),
    ).toThrow(PreconditionFailedError);
  });

  it('TV-21: reported writes do not invalidate the service etag', () => {
    const afterReport = updateReported(makeS1(), { battery: 54 }, { now: t1 }).twin;
    const { twin } = updateTwin(
      afterReport,
      { properties: { desired: { x: 1 } } },
      { now: t1, ifMatch: '"AAAAAAAAAAY="' },
    );
    expect(counters(twin)).toEqual({ e: 7, v: 15, dv: 6, rv: 8 });
  });

  it('TV-24: an SDK-style PATCH with read-only members only changes desired', () => {
    const s1 = makeS1();
    const { twin, desiredNotification } = updateTwin(
      s1,
      {
        deviceId: 'other',
        etag: 'AAAAAAAAAAY=',
        version: 13,
        status: 'disabled',
        properties: { desired: { x: 1, $version: 5, $metadata: {} }, reported: { hacked: true } },
      },
      at,
    );
    expect(twin.desired).toEqual({ ...s1.desired, x: 1 });
    expect(twin.reported).toEqual(s1.reported);
    expect(twin.deviceId).toBe('dev1');
    expect(twin.desiredVersion).toBe(6);
    expect(desiredNotification).toEqual({ x: 1, $version: 6 });
  });

  it('TV-26: desired $metadata after TV-02 stamps what changed and keeps the rest', () => {
    const s1 = makeS1();
    const metadata = updateTwin(s1, tv02, at).twin.desiredMetadata;
    const stamp = { $lastUpdated: T1, $lastUpdatedVersion: 6 };
    expect(metadata).toMatchObject(stamp);
    expect(metadata.newProperty).toEqual({ ...stamp, nestedProperty: stamp });
    expect(metadata.telemetryConfig).toMatchObject({ ...stamp, sendFrequency: stamp });
    expect((metadata.telemetryConfig as TwinMetadata).mode).toEqual({
      $lastUpdated: T0,
      $lastUpdatedVersion: 2,
    });
    expect(metadata.fw).toBeUndefined();
    expect(metadata.list).toEqual(s1.desiredMetadata.list);
  });

  it('TV-29: a key with "." is rejected with the hub message and nothing is applied', () => {
    const s1 = makeS1();
    const error = catchError(() => updateTwin(s1, { properties: { desired: { 'a.b': 1 } } }, at));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(isBadRequestError(error)).toBe(true);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('ArgumentInvalid');
    const text =
      "Property or Tag name has invalid characters. Error in Property/Tag a.b. Must not contain Control Characters, '.', '$', '#', or ' '.";
    expect(error.message).toContain(text);
    expect(wireMessageOf(error)).toBe(text);
    expect(counters(s1)).toEqual({ e: 6, v: 13, dv: 5, rv: 7 });
  });

  it('TV-30: keys with #, space, $ or U+0001 are rejected in tags, desired and reported', () => {
    for (const key of ['a#b', 'a b', '$x', 'a\u0001b']) {
      expect(() => updateTwin(makeS1(), { tags: { [key]: 1 } }, at), key).toThrow(BadRequestError);
      expect(
        () => updateTwin(makeS1(), { properties: { desired: { [key]: 1 } } }, at),
        key,
      ).toThrow(BadRequestError);
      expect(() => updateReported(makeS1(), { [key]: 1 }, { now: t1 }), key).toThrow(
        BadRequestError,
      );
    }
  });

  it('TV-31 to TV-35: key length, string length, integer range, depth and nulls in arrays are enforced by the engine', () => {
    const deep = (levels: number): JsonObject => {
      let value: JsonValue = { property: 'value' };
      for (let level = levels; level >= 1; level--) value = { [`l${String(level)}`]: value };
      return value;
    };
    const accepted: JsonObject[] = [
      { ['k'.repeat(1024)]: 1 },
      { ['é'.repeat(512)]: 1 },
      { s: 'a'.repeat(4096) },
      { max: 4503599627370495, min: -4503599627370496, pi: 3.14 },
      deep(10),
      { arr: [] },
    ];
    const rejected: JsonObject[] = [
      { ['k'.repeat(1025)]: 1 },
      { ['é'.repeat(513)]: 1 },
      { s: 'a'.repeat(4097) },
      { s: 'é'.repeat(2049) },
      { over: 4503599627370496 },
      { under: -4503599627370497 },
      deep(11),
      { arr: ['a', null] },
      { arr: [{ f: null }] },
    ];
    for (const patch of accepted) {
      expect(() => updateTwin(makeS1(), { tags: patch }, at)).not.toThrow();
      expect(() => updateTwin(makeS1(), { properties: { desired: patch } }, at)).not.toThrow();
      expect(() => updateReported(makeS1(), patch, { now: t1 })).not.toThrow();
    }
    for (const patch of rejected) {
      expect(() => updateTwin(makeS1(), { tags: patch }, at)).toThrow(BadRequestError);
      expect(() => updateTwin(makeS1(), { properties: { desired: patch } }, at)).toThrow(
        BadRequestError,
      );
      expect(() => updateReported(makeS1(), patch, { now: t1 })).toThrow(BadRequestError);
    }
  });

  it('TV-36: tags may reach 8192 exactly; growing beyond is rejected and tags are unchanged', () => {
    const s0 = createStoredTwin({ deviceId: 'dev1' }, t0);
    const full = updateTwin(s0, { tags: { k1: 'a'.repeat(4094), k2: 'a'.repeat(4094) } }, at).twin;
    expect(Object.keys(full.tags)).toEqual(['k1', 'k2']);
    const error = catchError(() => updateTwin(full, { tags: { k3: 'a' } }, at));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(wireMessageOf(error)).toBe('Twin tags size 8195 exceeds maximum 8192');
    expect((error.cause as TwinValidationError).issues[0]?.path).toBe('tags');
    expect(full.tags).toEqual({ k1: 'a'.repeat(4094), k2: 'a'.repeat(4094) });
  });

  it('rejects only writes that grow a section beyond its limit', () => {
    // A section already over the limit (e.g. stored under an older rule) may still shrink.
    const big = Object.fromEntries(
      Array.from({ length: 9 }, (_, index) => [`d${String(index)}`, 'x'.repeat(4000)]),
    );
    const over: StoredTwin = { ...createStoredTwin({ deviceId: 'dev1' }, t0), desired: big };
    expect(updateTwin(over, { properties: { desired: { d0: 'x' } } }, at).twin.desired.d0).toBe(
      'x',
    );
    expect(() => updateTwin(over, { properties: { desired: { extra: 1 } } }, at)).toThrow(
      /Twin properties size/,
    );
    expect(
      replaceTwin(over, { properties: { desired: { ...big, d8: 'x' } } }, at).twin.desired.d8,
    ).toBe('x');
    expect(() => replaceTwin(over, { properties: { desired: { ...big, more: 'x' } } }, at)).toThrow(
      BadRequestError,
    );
  });

  it('TV-39: arrays are rejected before api-version 2019-10-01 and accepted from it', () => {
    const body = { properties: { desired: { a: [1] } } };
    const error = catchError(() => updateTwin(makeS1(), body, { ...at, apiVersion: '2018-06-30' }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toContain('arrays are not supported');
    expect(() =>
      updateTwin(makeS1(), { tags: { a: [1] } }, { ...at, apiVersion: '2018-06-30' }),
    ).toThrow(/arrays are not supported/);
    for (const apiVersion of ['2021-04-12', '2019-10-01', '2020-05-31-preview', undefined]) {
      expect(updateTwin(makeS1(), body, { ...at, apiVersion }).twin.desired.a).toEqual([1]);
    }
  });

  it('rejects tags: null and desired: null (section null mode) with ArgumentInvalid', () => {
    for (const body of [{ tags: null }, { properties: { desired: null } }]) {
      const error = catchError(() => updateTwin(makeS1(), body, at));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.code).toBe('ArgumentInvalid');
      expect(wireMessageOf(error)).toMatch(
        /cannot be null\. To remove all of them, replace the twin \(PUT\)/,
      );
    }
  });

  it('rejects bodies and sections that are not objects', () => {
    for (const body of [
      null,
      'x',
      [1],
      { tags: [1] },
      { tags: 'x' },
      { properties: 'x' },
      { properties: null },
      { properties: { desired: 5 } },
    ]) {
      const error = catchError(() => updateTwin(makeS1(), body, at));
      expect(error, JSON.stringify(body)).toBeInstanceOf(BadRequestError);
    }
    expect(wireMessageOf(catchError(() => updateTwin(makeS1(), 'x', at)))).toBe(
      'The twin patch must be a JSON object.',
    );
  });

  it('reports every issue of both sections, with paths from the twin root', () => {
    const error = catchError(() =>
      updateTwin(
        makeS1(),
        { tags: { 'a b': 1, $version: 2 }, properties: { desired: { ok: { 'x.y': 1 } } } },
        at,
      ),
    );
    const cause = error.cause as TwinValidationError;
    expect(cause).toBeInstanceOf(TwinValidationError);
    expect(cause.issues.map((issue) => issue.path)).toEqual([
      'tags.a b',
      'tags.$version',
      'properties.desired.ok.x.y',
    ]);
  });

  it('changes nothing for a body without tags or desired, but still checks If-Match', () => {
    const s1 = makeS1();
    const result = updateTwin(s1, { deviceId: 'dev1', properties: { reported: { a: 1 } } }, at);
    expect(result.twin).toBe(s1);
    expect(result.desiredNotification).toBeUndefined();
    expect(() => updateTwin(s1, {}, { now: t1, ifMatch: '"AAAAAAAAAAA="' })).toThrow(
      PreconditionFailedError,
    );
  });

  it('treats an undefined desired member like an absent one', () => {
    const s1 = makeS1();
    expect(updateTwin(s1, { properties: { desired: undefined } }, at).twin).toBe(s1);
  });

  it('checks the body before If-Match', () => {
    expect(() =>
      updateTwin(makeS1(), { tags: null }, { now: t1, ifMatch: '"AAAAAAAAAAA="' }),
    ).toThrow(BadRequestError);
  });

  it('does not modify the stored twin or the body', () => {
    const s1 = makeS1();
    const snapshot = structuredClone(s1);
    const body = structuredClone(tv02) as JsonObject;
    const bodySnapshot = structuredClone(body);
    const { twin, desiredNotification } = updateTwin(s1, body, at);
    expect(s1).toEqual(snapshot);
    expect(body).toEqual(bodySnapshot);
    expect(desiredNotification).toBeDefined();
    if (desiredNotification) desiredNotification.newProperty = 'mutated';
    expect(twin.desired.newProperty).toEqual({ nestedProperty: 'newValue' });
  });

  it('names the module in errors of module twins', () => {
    const twin = createStoredTwin({ deviceId: 'dev1', moduleId: 'm1' }, t0);
    const error = catchError(() => updateTwin(twin, { tags: null }, at));
    expect(error.moduleId).toBe('m1');
    expect(error.message).toContain("module 'dev1/m1'");
  });
});

describe('replaceTwin', () => {
  it('TV-17: replaces tags and desired wholesale, leaves reported, and notifies the whole desired', () => {
    const s1 = makeS1();
    const { twin, desiredNotification } = replaceTwin(
      s1,
      { tags: { a: '1' }, properties: { desired: { x: 1 } } },
      at,
    );
    expect(twin.tags).toEqual({ a: '1' });
    expect(twin.desired).toEqual({ x: 1 });
    expect(twin.reported).toEqual(s1.reported);
    expect(counters(twin)).toEqual({ e: 7, v: 14, dv: 6, rv: 7 });
    expect(JSON.stringify(desiredNotification)).toBe('{"x":1,"$version":6}');
    expect(twin.desiredMetadata).toEqual({
      $lastUpdated: T1,
      $lastUpdatedVersion: 6,
      x: { $lastUpdated: T1, $lastUpdatedVersion: 6 },
    });
  });

  it('TV-18: rejects null with the hub message and leaves the twin unchanged', () => {
    const s1 = makeS1();
    const snapshot = structuredClone(s1);
    const error = catchError(() => replaceTwin(s1, { tags: { 'my-tag': null } }, at));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.code).toBe('ArgumentInvalid');
    expect(error.message).toContain(
      'Value of Property or Tag cannot be null. Error in Property/Tag my-tag',
    );
    expect(wireMessageOf(error)).toBe(
      'Value of Property or Tag cannot be null. Error in Property/Tag my-tag',
    );
    expect(s1).toEqual(snapshot);
    expect(() => replaceTwin(s1, { properties: { desired: { a: { b: null } } } }, at)).toThrow(
      /Error in Property\/Tag b/,
    );
    expect(() => replaceTwin(s1, { tags: null }, at)).toThrow(/Error in Property\/Tag tags/);
  });

  it('clears tags and desired when the body omits them', () => {
    const { twin, desiredNotification } = replaceTwin(makeS1(), {}, at);
    expect(twin.tags).toEqual({});
    expect(twin.desired).toEqual({});
    expect(desiredNotification).toEqual({ $version: 6 });
    expect(toServiceTwin(twin).tags).toBeUndefined();
    expect(replaceTwin(makeS1(), { tags: { a: '1' } }, at).twin.desired).toEqual({});
  });

  it('ignores read-only members and checks If-Match and api-version', () => {
    const s1 = makeS1();
    const { twin } = replaceTwin(
      s1,
      { etag: 'x', properties: { desired: { x: 1, $version: 2, $metadata: {} }, reported: {} } },
      at,
    );
    expect(twin.desired).toEqual({ x: 1 });
    expect(() => replaceTwin(s1, {}, { now: t1, ifMatch: '"AAAAAAAAAAU="' })).toThrow(
      PreconditionFailedError,
    );
    expect(() =>
      replaceTwin(s1, { tags: { a: [1] } }, { now: t1, apiVersion: '2019-03-30' }),
    ).toThrow(/arrays are not supported/);
    expect(wireMessageOf(catchError(() => replaceTwin(s1, [], at)))).toBe(
      'The twin document must be a JSON object.',
    );
  });

  it('shares no objects with the body', () => {
    const body = { tags: { t: { a: 1 } }, properties: { desired: { d: { b: 2 } } } };
    const { twin, desiredNotification } = replaceTwin(makeS1(), body, at);
    expect(twin.tags.t).not.toBe(body.tags.t);
    expect(twin.desired.d).not.toBe(body.properties.desired.d);
    expect(desiredNotification?.d).not.toBe(twin.desired.d);
  });
});

describe('updateReported', () => {
  it('TV-05: null inside a new object creates {} each time, bumping reported $version', () => {
    const first = updateReported(makeS1(), { p1: { p2: null } }, { now: t1 });
    expect(first.twin.reported.p1).toEqual({});
    expect(first.version).toBe(8);
    const second = updateReported(first.twin, { p1: { p2: null } }, { now: t1 });
    expect(second.twin.reported.p1).toEqual({});
    expect(second.version).toBe(9);
  });

  it('TV-06: an object replaces a primitive without touching the etag', () => {
    const { twin } = updateReported(makeS1(), { battery: { level: 55, unit: '%' } }, { now: t1 });
    expect(twin.reported.battery).toEqual({ level: 55, unit: '%' });
    expect(counters(twin)).toEqual({ e: 6, v: 14, dv: 5, rv: 8 });
  });

  it('TV-07: a primitive replaces an object and its metadata becomes one leaf', () => {
    const { twin } = updateReported(makeS1(), { telemetryConfig: 'off' }, { now: t1 });
    expect(twin.reported).toEqual({ battery: 55, telemetryConfig: 'off' });
    expect(twin.reportedMetadata.telemetryConfig).toEqual({ $lastUpdated: T1 });
  });

  it('TV-11: an empty object as a new value is stored as {}', () => {
    const { twin, version } = updateReported(
      createStoredTwin({ deviceId: 'dev1' }, t0),
      { caps: {} },
      { now: t1 },
    );
    expect(twin.reported).toEqual({ caps: {} });
    expect(version).toBe(2);
    expect(counters(twin)).toEqual({ e: 1, v: 3, dv: 1, rv: 2 });
  });

  it('TV-14: a reported PATCH answers the new reported version and keeps the etag', () => {
    const { twin, version } = updateReported(makeS1(), { battery: 54 }, { now: t1 });
    expect(version).toBe(8);
    expect(twin.reported.battery).toBe(54);
    expect(counters(twin)).toEqual({ e: 6, v: 14, dv: 5, rv: 8 });
    expect(toServiceTwin(twin).etag).toBe('AAAAAAAAAAY=');
  });

  it('TV-15: null deletes a nested reported key', () => {
    const { twin } = updateReported(makeS1(), { telemetryConfig: { status: null } }, { now: t1 });
    expect(twin.reported.telemetryConfig).toEqual({ sendFrequency: '5m' });
  });

  it('TV-16: a reported key named tags is an ordinary reported key', () => {
    const s1 = makeS1();
    const { twin } = updateReported(s1, { tags: { x: 1 } }, { now: t1 });
    expect(twin.reported.tags).toEqual({ x: 1 });
    expect(twin.tags).toEqual(s1.tags);
  });

  it('TV-22: a base version other than the current one fails with 412 and applies nothing', () => {
    const s1 = makeS1();
    const error = catchError(() => updateReported(s1, { battery: 1 }, { now: t1, baseVersion: 6 }));
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.code).toBe('PreconditionFailed');
    expect(wireMessageOf(error)).toBe(
      'The reported properties version 6 does not match the current version 7.',
    );
    expect(s1.reported.battery).toBe(55);
    expect(updateReported(s1, { battery: 1 }, { now: t1, baseVersion: 7 }).version).toBe(8);
  });

  it('TV-23: a $-prefixed key rejects the whole patch', () => {
    const s1 = makeS1();
    const error = catchError(() => updateReported(s1, { $abc: 123, ok: 'abcd' }, { now: t1 }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.code).toBe('ArgumentInvalid');
    expect(s1.reported).not.toHaveProperty('ok');
    expect(s1.reportedVersion).toBe(7);
    expect(() => updateReported(s1, { $version: 3 }, { now: t1 })).toThrow(BadRequestError);
  });

  it('TV-27: reported metadata carries timestamps but no versions', () => {
    const { twin } = updateReported(makeS1(), { battery: 54 }, { now: t1 });
    expect(twin.reportedMetadata.battery).toEqual({ $lastUpdated: T1 });
    expect(twin.reportedMetadata.$lastUpdated).toBe(T1);
    expect(JSON.stringify(twin.reportedMetadata)).not.toContain('$lastUpdatedVersion');
  });

  it('TV-37: reported may reach 32768 exactly; one more key is rejected', () => {
    const patch = Object.fromEntries(
      Array.from({ length: 8 }, (_, index) => [`r${String(index + 1)}`, 'a'.repeat(4094)]),
    );
    const full = updateReported(createStoredTwin({ deviceId: 'dev1' }, t0), patch, {
      now: t1,
    }).twin;
    expect(Object.keys(full.reported)).toHaveLength(8);
    const error = catchError(() => updateReported(full, { r9: 'a' }, { now: t1 }));
    expect(wireMessageOf(error)).toBe('Twin properties size 32771 exceeds maximum 32768');
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, [1], 'x', 5])
      expect(() => updateReported(makeS1(), body, { now: t1 })).toThrow(BadRequestError);
  });
});

describe('toServiceTwin', () => {
  it('includes tags only when there are any, and every identity field in hub order', () => {
    const s1 = makeS1();
    const identity = {
      status: 'enabled',
      statusReason: 'provisioned',
      connectionState: 'Connected',
      capabilities: { iotEdge: true },
      deviceScope: 'ms-azure-iot-edge://edge-1',
      parentScopes: ['ms-azure-iot-edge://edge-1'],
      configurations: { c1: { status: 'Applied' } },
    } as const;
    const view = toServiceTwin(s1, { ...identity, parentScopes: [...identity.parentScopes] });
    expect(Object.keys(view)).toEqual([
      'deviceId',
      'etag',
      'status',
      'statusReason',
      'connectionState',
      'version',
      'tags',
      'properties',
      'capabilities',
      'deviceScope',
      'parentScopes',
      'configurations',
    ]);
    expect(view.tags).toEqual(s1.tags);
    expect(view.properties.reported).toEqual({
      ...s1.reported,
      $metadata: s1.reportedMetadata,
      $version: 7,
    });
    expect(view.version).toBe(13);
  });

  it('shares nothing with the stored twin or the identity', () => {
    const s1 = makeS1();
    const identity = { capabilities: { iotEdge: false } };
    const view = toServiceTwin(s1, identity);
    expect(view.tags).not.toBe(s1.tags);
    expect(view.properties.desired.$metadata).not.toBe(s1.desiredMetadata);
    expect(view.capabilities).not.toBe(identity.capabilities);
  });
});

describe('toDeviceTwin', () => {
  it('TV-41: gives desired and reported with $version only, no tags and no $metadata', () => {
    expect(JSON.stringify(toDeviceTwin(makeS1()))).toBe(
      '{"desired":{"telemetryConfig":{"sendFrequency":"5m","mode":"eco"},"fw":{"version":"1.0","url":"http://a"},"list":[1,2,3],"$version":5},"reported":{"battery":55,"telemetryConfig":{"sendFrequency":"5m","status":"success"},"$version":7}}',
    );
  });

  it('TV-42: nothing is queued for a device; a GET after TV-02 returns the dv 6 content', () => {
    const { twin } = updateTwin(
      makeS1(),
      { properties: { desired: { newProperty: { nestedProperty: 'newValue' }, fw: null } } },
      at,
    );
    const view = toDeviceTwin(twin);
    expect(view.desired.$version).toBe(6);
    expect(view.desired.newProperty).toEqual({ nestedProperty: 'newValue' });
    expect(view.desired).not.toHaveProperty('fw');
  });
});

describe('device catch-up (TV-43, TV-44)', () => {
  it('TV-43: a notification with the version already read is ignored', () => {
    const { twin, desiredNotification } = updateTwin(
      makeS1(),
      { properties: { desired: { x: 1 } } },
      at,
    );
    expect(
      checkDesiredVersion(
        toDeviceTwin(twin).desired.$version,
        desiredNotification?.$version as number,
      ),
    ).toBe('duplicate');
  });

  it('TV-44: after a gap the effective change is the diff, with removed keys as null', () => {
    const s1 = makeS1();
    const local = toDeviceTwin(s1).desired;
    const first = updateTwin(s1, { properties: { desired: { fw: null } } }, at);
    const second = updateTwin(first.twin, { properties: { desired: { list: [4] } } }, at);
    expect(
      checkDesiredVersion(local.$version, second.desiredNotification?.$version as number),
    ).toBe('gap');
    const { $version: _old, ...before } = local;
    const { $version: _new, ...after } = toDeviceTwin(second.twin).desired;
    expect(diff(before, after)).toEqual({ fw: null, list: [4] });
  });
});

describe('version arithmetic', () => {
  it('TV-25: desired ×3, reported ×10, tags ×2 and combined ×1 give dv 5, rv 11, e 7, v 18', () => {
    let twin = createStoredTwin({ deviceId: 'dev1' }, t0);
    for (let index = 0; index < 3; index++)
      twin = updateTwin(twin, { properties: { desired: { d: index } } }, at).twin;
    for (let index = 0; index < 10; index++)
      twin = updateReported(twin, { r: index }, { now: t1 }).twin;
    for (let index = 0; index < 2; index++)
      twin = updateTwin(twin, { tags: { t: index } }, at).twin;
    twin = updateTwin(twin, { tags: { t: 9 }, properties: { desired: { d: 9 } } }, at).twin;
    expect(counters(twin)).toEqual({ e: 7, v: 18, dv: 5, rv: 11 });
    expect(toServiceTwin(twin).etag).toBe('AAAAAAAAAAc=');
  });

  it('keeps version = etag + reported $version, metadata mirroring content, and valid timestamps over any operation sequence', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const value: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer({ min: 0, max: 3 }),
        fc.constant(null),
        fc.constant('$bad'),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
        fc.dictionary(key, tie('v'), { maxKeys: 3 }) as fc.Arbitrary<JsonValue>,
      ),
    })).v;
    const patch = fc.dictionary(fc.oneof(key, fc.constant('$x')), value, {
      maxKeys: 3,
    }) as fc.Arbitrary<JsonObject>;
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('tags' as const), patch }),
      fc.record({ kind: fc.constant('desired' as const), patch }),
      fc.record({ kind: fc.constant('reported' as const), patch }),
      fc.record({ kind: fc.constant('replace' as const), patch }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 12 }), (operations) => {
        let twin = createStoredTwin({ deviceId: 'dev1' }, t0);
        for (const { kind, patch: body } of operations) {
          const before = twin;
          try {
            if (kind === 'tags') twin = updateTwin(twin, { tags: body }, at).twin;
            else if (kind === 'desired')
              twin = updateTwin(twin, { properties: { desired: body } }, at).twin;
            else if (kind === 'replace')
              twin = replaceTwin(twin, { tags: body, properties: { desired: body } }, at).twin;
            else twin = updateReported(twin, body, { now: t1 }).twin;
          } catch (error) {
            expect(isBadRequestError(error)).toBe(true);
            expect(twin).toBe(before);
          }
          expect(twin.version).toBe(twin.etagCounter + twin.reportedVersion);
          expect(mirrors(twin.desired, twin.desiredMetadata)).toBe(true);
          expect(mirrors(twin.reported, twin.reportedMetadata)).toBe(true);
          expect(JSON.stringify(twin)).not.toContain('null');
        }
        const view = JSON.stringify(toServiceTwin(twin));
        for (const match of view.matchAll(/"\$lastUpdated":"([^"]+)"/g))
          expect(match[1]).toMatch(TIMESTAMP);
        expect(toServiceTwin(twin).etag).toBe(formatEtag(twin.etagCounter));
      }),
      { numRuns: 300 },
    );
  });
});
