import { describe, expect, it } from 'vitest';
import { QuerySyntaxError } from '../errors/index.js';
import type { JsonObject } from '../types.js';
import { compileQuery, evaluateQuery } from './compile-query.js';
import { createPagedIterator, clampPageSize } from '../paging.js';
import { INVALID_QUERY_MESSAGE, MAX_QUERY_LENGTH } from './query-error.js';
import {
  computeQueryHash,
  createContinuationToken,
  readContinuationToken,
} from './continuation-token.js';

// Twin set Q of docs/internals/twin-semantics.md#test-vectors, built as full service-view twins (docs/internals/twin-semantics.md#twin-document).

const CREATED = '2024-01-01T00:00:00Z';

interface TwinSpec {
  id: string;
  moduleId?: string;
  status: 'enabled' | 'disabled';
  connectionState: 'Connected' | 'Disconnected';
  lastActivityTime: string;
  iotEdge: boolean;
  tags?: JsonObject;
  desired?: JsonObject;
  reported: JsonObject;
  reportedMetadata?: JsonObject;
}

function metadataFor(section: JsonObject, timestamp: string): JsonObject {
  const metadata: JsonObject = { $lastUpdated: timestamp };
  for (const [key, value] of Object.entries(section)) {
    metadata[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? metadataFor(value, timestamp)
        : { $lastUpdated: timestamp };
  }
  return metadata;
}

function serviceTwin(spec: TwinSpec): JsonObject {
  const desired = spec.desired ?? {};
  const desiredVersion = spec.desired === undefined ? 1 : 2;
  const twin: JsonObject = {
    deviceId: spec.id,
    ...(spec.moduleId === undefined ? {} : { moduleId: spec.moduleId }),
    etag: desiredVersion === 1 ? 'AAAAAAAAAAE=' : 'AAAAAAAAAAI=',
    deviceEtag: 'MTIzNDU2Nzg5',
    status: spec.status,
    statusUpdateTime: '0001-01-01T00:00:00Z',
    connectionState: spec.connectionState,
    lastActivityTime: spec.lastActivityTime,
    cloudToDeviceMessageCount: 0,
    authenticationType: 'sas',
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    modelId: '',
    version: desiredVersion + 2,
    ...(spec.tags === undefined ? {} : { tags: spec.tags }),
    properties: {
      desired: { ...desired, $metadata: metadataFor(desired, CREATED), $version: desiredVersion },
      reported: {
        ...spec.reported,
        $metadata: {
          ...metadataFor(spec.reported, '2024-06-01T08:00:00Z'),
          ...spec.reportedMetadata,
        },
        $version: 2,
      },
    },
  };
  if (spec.moduleId === undefined) twin.capabilities = { iotEdge: spec.iotEdge };
  return twin;
}

const NEVER = '0001-01-01T00:00:00Z';

const Q: JsonObject[] = [
  serviceTwin({
    id: 'd1',
    status: 'enabled',
    connectionState: 'Connected',
    lastActivityTime: '2024-06-01T10:00:00.1234567Z',
    iotEdge: false,
    tags: { location: { region: 'US', plant: 'Redmond43' }, env: 'prod' },
    desired: { telemetryConfig: { sendFrequencyInSecs: 300 } },
    reported: {
      connectivity: { type: 'cellular' },
      telemetryConfig: { sendFrequencyInSecs: 300, status: 'Success' },
      fw: '1.0',
    },
    reportedMetadata: { fw: { $lastUpdated: '2024-06-01T09:00:00Z' } },
  }),
  serviceTwin({
    id: 'd2',
    status: 'enabled',
    connectionState: 'Disconnected',
    lastActivityTime: '2023-12-31T23:59:59Z',
    iotEdge: false,
    tags: { location: { region: 'US', plant: 'Seattle1' }, env: 'dev', name: "O'Brien" },
    reported: {
      connectivity: 'wifi',
      telemetryConfig: { sendFrequencyInSecs: 30, status: 'Pending' },
    },
  }),
  serviceTwin({
    id: 'd3',
    status: 'disabled',
    connectionState: 'Disconnected',
    lastActivityTime: NEVER,
    iotEdge: true,
    tags: { location: { region: 'EU' } },
    reported: { telemetryConfig: { sendFrequencyInSecs: 600, status: 'Success' } },
  }),
  serviceTwin({
    id: 'd4',
    status: 'enabled',
    connectionState: 'Disconnected',
    lastActivityTime: NEVER,
    iotEdge: false,
    reported: {},
  }),
  serviceTwin({
    id: 'd5',
    status: 'enabled',
    connectionState: 'Disconnected',
    lastActivityTime: NEVER,
    iotEdge: false,
    tags: { env: 'prod', group: 'A' },
    reported: { telemetryConfig: { sendFrequencyInSecs: '60', status: 'Error' } },
  }),
];

const moduleTwin = (id: string, moduleId: string, status: string): JsonObject =>
  serviceTwin({
    id,
    moduleId,
    status: 'enabled',
    connectionState: 'Disconnected',
    lastActivityTime: NEVER,
    iotEdge: false,
    reported: { status },
  });

const MODULES: JsonObject[] = [
  moduleTwin('d1', 'm1', 'scanning'),
  moduleTwin('d2', 'm1', 'idle'),
  moduleTwin('d2', 'm2', 'scanning'),
];

const JOBS: JsonObject[] = [
  {
    deviceId: 'd1',
    jobId: 'job1',
    jobType: 'scheduleTwinUpdate',
    status: 'completed',
    startTimeUtc: '2024-06-01T00:00:00Z',
    endTimeUtc: '2024-06-01T00:01:00Z',
    createdDateTimeUtc: '2024-05-31T23:59:00Z',
    lastUpdatedDateTimeUtc: '2024-06-01T00:01:00Z',
    outcome: { deviceMethodResponse: null },
  },
  {
    deviceId: 'd2',
    jobId: 'job1',
    jobType: 'scheduleTwinUpdate',
    status: 'failed',
    startTimeUtc: '2024-06-01T00:00:00Z',
    endTimeUtc: '2024-06-01T00:01:00Z',
    createdDateTimeUtc: '2024-05-31T23:59:00Z',
    lastUpdatedDateTimeUtc: '2024-06-01T00:01:00Z',
    outcome: { deviceMethodResponse: null },
  },
];

const ids = (items: JsonObject[]): string[] =>
  items
    .map((item) => {
      const deviceId = item.deviceId as string;
      return item.moduleId === undefined ? deviceId : `${deviceId}/${item.moduleId as string}`;
    })
    .sort();

const devices = (where: string): string[] =>
  ids(evaluateQuery(`SELECT * FROM devices WHERE ${where}`, Q));

function expectInvalid(query: string): QuerySyntaxError {
  let caught: unknown;
  try {
    compileQuery(query);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(QuerySyntaxError);
  expect((caught as Error).message).toContain(INVALID_QUERY_MESSAGE);
  return caught as QuerySyntaxError;
}

describe('docs/internals/twin-semantics.md#test-vectors query vectors', () => {
  it('TV-46: SELECT * FROM devices returns every full twin with item type Twin', () => {
    const query = compileQuery('SELECT * FROM devices');
    const result = query.execute(Q);
    expect(ids(result)).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    expect(result).toEqual(Q);
    expect(query.itemType).toBe('Twin');
  });

  it('TV-47: filters on a nested tag', () => {
    expect(devices("tags.location.region = 'US'")).toEqual(['d1', 'd2']);
  });

  it('TV-48: combines a tag and a reported number with AND', () => {
    expect(
      devices(
        "tags.location.region = 'US' AND properties.reported.telemetryConfig.sendFrequencyInSecs >= 60",
      ),
    ).toEqual(['d1']);
  });

  it('TV-49: IN does not match an object value', () => {
    expect(devices("properties.reported.connectivity IN ['wired','wifi']")).toEqual(['d2']);
  });

  it('TV-50: is_defined matches objects and primitives alike', () => {
    expect(devices('is_defined(properties.reported.connectivity)')).toEqual(['d1', 'd2']);
  });

  it('TV-51: NOT is_defined finds twins without the tag', () => {
    expect(devices('NOT is_defined(tags.env)')).toEqual(['d3', 'd4']);
  });

  it('TV-52: != excludes twins that lack the property', () => {
    expect(devices("tags.env != 'prod'")).toEqual(['d2']);
  });

  it('TV-53: NOT (=) excludes twins that lack the property', () => {
    expect(devices("NOT (tags.env = 'prod')")).toEqual(['d2']);
  });

  it('TV-54: string values compare case-sensitively', () => {
    expect(devices("tags.env = 'PROD'")).toEqual([]);
  });

  it('TV-55: a string never compares with a number', () => {
    expect(devices('properties.reported.telemetryConfig.sendFrequencyInSecs > 50')).toEqual([
      'd1',
      'd3',
    ]);
  });

  it('TV-56: a string constant matches only the string value', () => {
    expect(devices("properties.reported.telemetryConfig.sendFrequencyInSecs = '60'")).toEqual([
      'd5',
    ]);
  });

  it('TV-57: COUNT() with an alias gives one Raw row', () => {
    const query = compileQuery('SELECT COUNT() AS numberOfDevices FROM devices');
    expect(query.execute(Q)).toEqual([{ numberOfDevices: 5 }]);
    expect(query.itemType).toBe('Raw');
  });

  it('TV-58: GROUP BY gives one row per group value with its count', () => {
    const rows = evaluateQuery(
      'SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices FROM devices ' +
        'WHERE is_defined(properties.reported.telemetryConfig.status) GROUP BY properties.reported.telemetryConfig.status',
      Q,
    );
    expect(rows).toHaveLength(3);
    expect(rows).toEqual(
      expect.arrayContaining([
        { status: 'Success', numberOfDevices: 2 },
        { status: 'Pending', numberOfDevices: 1 },
        { status: 'Error', numberOfDevices: 1 },
      ]),
    );
  });

  it('TV-59: projects root properties under their canonical names', () => {
    const rows = evaluateQuery(
      "SELECT deviceId, lastActivityTime FROM devices WHERE status = 'enabled' AND connectionState = 'Disconnected'",
      Q,
    );
    expect(rows).toHaveLength(3);
    expect(rows).toEqual(
      expect.arrayContaining([
        { deviceId: 'd2', lastActivityTime: '2023-12-31T23:59:59Z' },
        { deviceId: 'd4', lastActivityTime: NEVER },
        { deviceId: 'd5', lastActivityTime: NEVER },
      ]),
    );
  });

  it('TV-60: root names are case-insensitive and output keys canonical', () => {
    expect(evaluateQuery("SELECT DeviceId FROM devices WHERE DeviceId = 'd1'", Q)).toEqual([
      { deviceId: 'd1' },
    ]);
  });

  it('TV-61: module queries filter module twins', () => {
    const query = compileQuery(
      "SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning'",
    );
    expect(ids(query.execute(MODULES))).toEqual(['d1/m1', 'd2/m2']);
    expect(query.itemType).toBe('Twin');
  });

  it('TV-62: module queries filter on the parent device id', () => {
    expect(
      ids(
        evaluateQuery(
          "SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning' AND deviceId IN ['d2']",
          MODULES,
        ),
      ),
    ).toEqual(['d2/m2']);
  });

  it('TV-63: TOP 2 returns exactly two distinct twins', () => {
    const result = ids(evaluateQuery('SELECT TOP 2 * FROM devices', Q));
    expect(result).toHaveLength(2);
    expect(new Set(result).size).toBe(2);
  });

  it('TV-64: compares a boolean system property', () => {
    expect(devices('capabilities.iotEdge = true')).toEqual(['d3']);
  });

  it('TV-65: [[group]] escapes the reserved word; bare group is invalid', () => {
    expect(devices("tags.[[group]] = 'A'")).toEqual(['d5']);
    const error = expectInvalid("SELECT * FROM devices WHERE tags.group = 'A'");
    expect(error.message).toContain('[[group]]');
    expect(error.position).toBe(33);
  });

  it('TV-66: STARTSWITH works; STARTS_WITH is invalid', () => {
    expect(devices("STARTSWITH(deviceId, 'd')")).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    const error = expectInvalid("SELECT * FROM devices WHERE STARTS_WITH(deviceId, 'd')");
    expect(error.message).toContain('STARTSWITH');
    expect(error.position).toBe(28);
  });

  it('TV-67: pages of 2, 2 and 1 with a continuation token on all but the last', async () => {
    const secret = 'test-secret';
    const text = 'SELECT * FROM devices';
    const query = compileQuery(text);
    const queryHash = await computeQueryHash(text);
    const responses: { count: number; token: string | undefined }[] = [];
    // A hub-shaped page source: token → offset, clamp the page size, slice the executed results.
    const getPage = async (settings: { continuationToken?: string; maxPageSize?: number }) => {
      let offset = 0;
      if (settings.continuationToken !== undefined) {
        const state = await readContinuationToken(settings.continuationToken, secret);
        if (state?.queryHash !== queryHash) throw new Error('bad token');
        offset = state.offset;
      }
      const all = query.execute(Q);
      const size = clampPageSize(settings.maxPageSize);
      const items = all.slice(offset, offset + size);
      const next =
        offset + size < all.length
          ? await createContinuationToken({ offset: offset + size, queryHash }, secret)
          : undefined;
      responses.push({ count: items.length, token: next });
      return next === undefined ? { items } : { items, continuationToken: next };
    };
    const pager = createPagedIterator(getPage, { maxPageSize: 2 });
    const pages = [];
    for await (const page of pager.byPage()) pages.push(page);
    expect(responses.map((r) => r.count)).toEqual([2, 2, 1]);
    expect(responses.map((r) => r.token !== undefined)).toEqual([true, true, false]);
    const union = ids(pages.flatMap((page) => page.items));
    expect(union).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    // Re-sending page 2's token is allowed.
    const second = pages[0]?.continuationToken;
    expect(second).toBeDefined();
    const again = [];
    for await (const page of pager.byPage({ continuationToken: second! }))
      again.push(...page.items);
    expect(ids(again)).toEqual(['d3', 'd4', 'd5']);
  });

  it('TV-68: a misspelled keyword is invalid and the error points at it', () => {
    const error = expectInvalid('SELECT * FRM devices');
    expect(error.position).toBe(9);
    expect(error.message).toContain("'FRM'");
  });

  it('TV-69: 8192 characters are accepted and 8193 rejected', () => {
    const base = 'SELECT * FROM devices';
    const exact = base + ' '.repeat(MAX_QUERY_LENGTH - base.length);
    expect(exact).toHaveLength(8192);
    expect(evaluateQuery(exact, Q)).toHaveLength(5);
    const error = expectInvalid(`${exact} `);
    expect(error.message).toContain('8193');
    expect(error.position).toBe(8192);
  });

  it('TV-70: metadata timestamps are addressable', () => {
    expect(devices("properties.reported.$metadata.fw.$lastUpdated > '2024-01-01'")).toEqual(['d1']);
  });

  it('TV-71: compares two paths', () => {
    expect(
      devices(
        'properties.desired.telemetryConfig.sendFrequencyInSecs = properties.reported.telemetryConfig.sendFrequencyInSecs',
      ),
    ).toEqual(['d1']);
  });

  it('TV-72: object comparison matches nothing and does not throw', () => {
    expect(
      devices('properties.desired.telemetryConfig = properties.reported.telemetryConfig'),
    ).toEqual([]);
  });

  it('TV-73: arithmetic inside a comparison', () => {
    expect(devices('properties.reported.telemetryConfig.sendFrequencyInSecs * 2 > 1000')).toEqual([
      'd3',
    ]);
  });

  it('TV-74: date-times compare as strings', () => {
    expect(devices("lastActivityTime > '2024-01-01T00:00:00Z'")).toEqual(['d1']);
  });

  it('TV-75: lower-case keywords', () => {
    expect(
      ids(
        evaluateQuery(
          "select * from devices where tags.env = 'prod' and tags.location.region = 'US'",
          Q,
        ),
      ),
    ).toEqual(['d1']);
  });

  it('TV-76: double-quoted strings', () => {
    expect(devices('tags.env = "prod"')).toEqual(['d1', 'd5']);
  });

  it('TV-77: escaped and embedded single quotes', () => {
    expect(devices("tags.name = 'O\\'Brien'")).toEqual(['d2']);
    expect(devices('tags.name = "O\'Brien"')).toEqual(['d2']);
  });

  it('TV-78: NIN excludes listed values and missing properties', () => {
    expect(devices("tags.env NIN ['prod']")).toEqual(['d2']);
  });

  it('TV-79: hex number constants', () => {
    expect(devices('properties.reported.telemetryConfig.sendFrequencyInSecs = 0x12C')).toEqual([
      'd1',
    ]);
  });

  it('TV-80: COUNT() with a WHERE clause', () => {
    expect(evaluateQuery("SELECT COUNT() AS n FROM devices WHERE status = 'disabled'", Q)).toEqual([
      { n: 1 },
    ]);
  });

  it('TV-81: IN on deviceId', () => {
    expect(devices("deviceId IN ['d1','d3']")).toEqual(['d1', 'd3']);
  });

  it('TV-82: OR', () => {
    expect(devices("tags.location.region = 'US' OR tags.env = 'prod'")).toEqual(['d1', 'd2', 'd5']);
  });

  it('TV-83: AND NOT (…)', () => {
    expect(
      devices(
        "properties.reported.telemetryConfig.status = 'Success' AND NOT (capabilities.iotEdge = true)",
      ),
    ).toEqual(['d1']);
  });

  it('TV-84: job queries return job records of DeviceJob type and reject projections', () => {
    const query = compileQuery("SELECT * FROM devices.jobs WHERE devices.jobs.deviceId = 'd1'");
    expect(query.itemType).toBe('DeviceJob');
    expect(query.execute(JOBS)).toEqual([JOBS[0]]);
    expect(
      compileQuery("SELECT * FROM devices.jobs WHERE devices.jobs.deviceId = 'd9'").execute(JOBS),
    ).toEqual([]);
    const error = expectInvalid('SELECT devices.jobs.jobId FROM devices.jobs');
    expect(error.position).toBe(7);
  });

  it('TV-85: AVG ignores non-numeric values', () => {
    expect(
      evaluateQuery(
        'SELECT AVG(properties.reported.telemetryConfig.sendFrequencyInSecs) AS avgFreq FROM devices',
        Q,
      ),
    ).toEqual([{ avgFreq: 310 }]);
  });
});
