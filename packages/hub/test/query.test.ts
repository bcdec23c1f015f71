import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { createHub, type Hub } from '../src/index.js';
import { hubInternals } from '../src/hub.js';
import { call } from './helpers.js';

/** Twin set Q of docs/internals/twin-semantics.md#test-vectors. */
async function createQ(hub: Hub): Promise<void> {
  const core = hubInternals(hub).core;
  const put = async (id: string, body: unknown) =>
    expect((await call(hub, 'PUT', `/devices/${id}`, { body })).status).toBe(200);
  const patch = async (id: string, body: unknown) =>
    expect((await call(hub, 'PATCH', `/twins/${id}`, { body })).status).toBe(200);
  await put('d1', {});
  await put('d2', {});
  await put('d3', { status: 'disabled', capabilities: { iotEdge: true } });
  await put('d4', {});
  await put('d5', {});
  await patch('d1', { tags: { location: { region: 'US', plant: 'Redmond43' }, env: 'prod' } });
  await patch('d1', { properties: { desired: { telemetryConfig: { sendFrequencyInSecs: 300 } } } });
  await patch('d2', {
    tags: { location: { region: 'US', plant: 'Seattle1' }, env: 'dev', name: "O'Brien" },
  });
  await patch('d3', { tags: { location: { region: 'EU' } } });
  await patch('d5', { tags: { env: 'prod', group: 'A' } });
  vi.setSystemTime(new Date('2024-06-01T09:00:00Z'));
  await core.updateReported('d1', undefined, {
    connectivity: { type: 'cellular' },
    telemetryConfig: { sendFrequencyInSecs: 300, status: 'Success' },
    fw: '1.0',
  });
  core.setConnectionState('d1', undefined, 'Connected');
  vi.setSystemTime(new Date('2024-06-01T10:00:00.123Z'));
  core.touchActivity('d1');
  vi.setSystemTime(new Date('2023-12-31T23:59:59Z'));
  await core.updateReported('d2', undefined, {
    connectivity: 'wifi',
    telemetryConfig: { sendFrequencyInSecs: 30, status: 'Pending' },
  });
  core.touchActivity('d2');
  vi.useRealTimers();
  await core.updateReported('d3', undefined, {
    telemetryConfig: { sendFrequencyInSecs: 600, status: 'Success' },
  });
  await core.updateReported('d5', undefined, {
    telemetryConfig: { sendFrequencyInSecs: '60', status: 'Error' },
  });
  for (const [device, module, status] of [
    ['d1', 'm1', 'scanning'],
    ['d2', 'm1', 'idle'],
    ['d2', 'm2', 'scanning'],
  ] as const) {
    await hub.createModule(device, module);
    await core.updateReported(device, module, { status });
  }
}

let hub: Hub;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  hub = await createHub();
  await createQ(hub);
});

afterAll(async () => {
  await hub.close();
});

afterEach(() => {
  vi.useRealTimers();
});

async function query(text: string, headers: Record<string, string> = {}) {
  return call(hub, 'POST', '/devices/query', { body: { query: text }, headers });
}

async function ids(text: string): Promise<string[]> {
  const response = await query(text);
  expect(response.status, text).toBe(200);
  expect(response.headers.get('x-ms-item-type')).toBe('Twin');
  expect(response.headers.get('x-ms-continuation')).toBeNull();
  return (response.body as { deviceId: string; moduleId?: string }[])
    .map((twin) =>
      twin.moduleId === undefined ? twin.deviceId : `${twin.deviceId}/${twin.moduleId}`,
    )
    .sort();
}

const WHERE = 'SELECT * FROM devices WHERE';

describe('POST /devices/query', () => {
  it('returns every twin as a full document with x-ms-item-type Twin (TV-46)', async () => {
    const response = await query('SELECT * FROM devices');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.body.map((twin: { deviceId: string }) => twin.deviceId).sort()).toEqual([
      'd1',
      'd2',
      'd3',
      'd4',
      'd5',
    ]);
    const d1 = response.body.find((twin: { deviceId: string }) => twin.deviceId === 'd1');
    const direct = await call(hub, 'GET', '/twins/d1');
    expect(d1).toEqual(direct.body);
  });

  it.each([
    ['TV-47', `${WHERE} tags.location.region = 'US'`, ['d1', 'd2']],
    [
      'TV-48',
      `${WHERE} tags.location.region = 'US' AND properties.reported.telemetryConfig.sendFrequencyInSecs >= 60`,
      ['d1'],
    ],
    ['TV-49', `${WHERE} properties.reported.connectivity IN ['wired','wifi']`, ['d2']],
    ['TV-50', `${WHERE} is_defined(properties.reported.connectivity)`, ['d1', 'd2']],
    ['TV-51', `${WHERE} NOT is_defined(tags.env)`, ['d3', 'd4']],
    ['TV-52', `${WHERE} tags.env != 'prod'`, ['d2']],
    ['TV-53', `${WHERE} NOT (tags.env = 'prod')`, ['d2']],
    ['TV-54', `${WHERE} tags.env = 'PROD'`, []],
    [
      'TV-55',
      `${WHERE} properties.reported.telemetryConfig.sendFrequencyInSecs > 50`,
      ['d1', 'd3'],
    ],
    ['TV-56', `${WHERE} properties.reported.telemetryConfig.sendFrequencyInSecs = '60'`, ['d5']],
    [
      'TV-61',
      "SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning'",
      ['d1/m1', 'd2/m2'],
    ],
    [
      'TV-62',
      "SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning' AND deviceId IN ['d2']",
      ['d2/m2'],
    ],
    ['TV-64', `${WHERE} capabilities.iotEdge = true`, ['d3']],
    ['TV-65', `${WHERE} tags.[[group]] = 'A'`, ['d5']],
    ['TV-66', `${WHERE} STARTSWITH(deviceId, 'd')`, ['d1', 'd2', 'd3', 'd4', 'd5']],
    ['TV-70', `${WHERE} properties.reported.$metadata.fw.$lastUpdated > '2024-01-01'`, ['d1']],
    [
      'TV-71',
      `${WHERE} properties.desired.telemetryConfig.sendFrequencyInSecs = properties.reported.telemetryConfig.sendFrequencyInSecs`,
      ['d1'],
    ],
    [
      'TV-72',
      `${WHERE} properties.desired.telemetryConfig = properties.reported.telemetryConfig`,
      [],
    ],
    [
      'TV-73',
      `${WHERE} properties.reported.telemetryConfig.sendFrequencyInSecs * 2 > 1000`,
      ['d3'],
    ],
    ['TV-74', `${WHERE} lastActivityTime > '2024-01-01T00:00:00Z'`, ['d1']],
    [
      'TV-75',
      "select * from devices where tags.env = 'prod' and tags.location.region = 'US'",
      ['d1'],
    ],
    ['TV-76', `${WHERE} tags.env = "prod"`, ['d1', 'd5']],
    ['TV-77a', `${WHERE} tags.name = 'O\\'Brien'`, ['d2']],
    ['TV-77b', `${WHERE} tags.name = "O'Brien"`, ['d2']],
    ['TV-78', `${WHERE} tags.env NIN ['prod']`, ['d2']],
    ['TV-79', `${WHERE} properties.reported.telemetryConfig.sendFrequencyInSecs = 0x12C`, ['d1']],
    ['TV-81', `${WHERE} deviceId IN ['d1','d3']`, ['d1', 'd3']],
    ['TV-82', `${WHERE} tags.location.region = 'US' OR tags.env = 'prod'`, ['d1', 'd2', 'd5']],
    [
      'TV-83',
      `${WHERE} properties.reported.telemetryConfig.status = 'Success' AND NOT (capabilities.iotEdge = true)`,
      ['d1'],
    ],
  ])('matches the expected twins (%s)', async (_id, text, expected) => {
    expect(await ids(text)).toEqual(expected);
  });

  it.each<[string, string, Record<string, unknown>[]]>([
    ['TV-57', 'SELECT COUNT() AS numberOfDevices FROM devices', [{ numberOfDevices: 5 }]],
    [
      'TV-58',
      'SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices FROM devices WHERE is_defined(properties.reported.telemetryConfig.status) GROUP BY properties.reported.telemetryConfig.status',
      [
        { status: 'Success', numberOfDevices: 2 },
        { status: 'Pending', numberOfDevices: 1 },
        { status: 'Error', numberOfDevices: 1 },
      ],
    ],
    [
      'TV-59',
      "SELECT deviceId, lastActivityTime FROM devices WHERE status = 'enabled' AND connectionState = 'Disconnected'",
      [
        { deviceId: 'd2', lastActivityTime: '2023-12-31T23:59:59Z' },
        { deviceId: 'd4', lastActivityTime: '0001-01-01T00:00:00Z' },
        { deviceId: 'd5', lastActivityTime: '0001-01-01T00:00:00Z' },
      ],
    ],
    ['TV-60', "SELECT DeviceId FROM devices WHERE DeviceId = 'd1'", [{ deviceId: 'd1' }]],
    ['TV-80', "SELECT COUNT() AS n FROM devices WHERE status = 'disabled'", [{ n: 1 }]],
    [
      'TV-85',
      'SELECT AVG(properties.reported.telemetryConfig.sendFrequencyInSecs) AS avgFreq FROM devices',
      [{ avgFreq: 310 }],
    ],
  ])('returns raw rows with x-ms-item-type Raw (%s)', async (_id, text, expected) => {
    const response = await query(text);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ms-item-type')).toBe('Raw');
    expect(response.body).toHaveLength(expected.length);
    expect(response.body).toEqual(expect.arrayContaining(expected));
  });

  it('returns TOP n distinct twins (TV-63)', async () => {
    const found = await ids('SELECT TOP 2 * FROM devices');
    expect(found).toHaveLength(2);
    expect(new Set(found).size).toBe(2);
  });

  it('returns an empty DeviceJob result for jobs and rejects projections on jobs (TV-84)', async () => {
    const response = await query("SELECT * FROM devices.jobs WHERE devices.jobs.deviceId = 'd1'");
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ms-item-type')).toBe('DeviceJob');
    expect(response.body).toEqual([]);
    expect((await query('SELECT devices.jobs.jobId FROM devices.jobs')).status).toBe(400);
  });

  it.each([
    ['TV-65', `${WHERE} tags.group = 'A'`],
    ['TV-66', `${WHERE} STARTS_WITH(deviceId, 'd')`],
    ['TV-68', 'SELECT * FRM devices'],
  ])('answers an invalid query with 400 and the hub message (%s)', async (_id, text) => {
    const response = await query(text);
    expect(response.status).toBe(400);
    expect(response.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
    expect(response.body.Message).toMatch(
      /^ErrorCode:ArgumentInvalid;The query is invalid\. Please check the format of the query and try again\./,
    );
  });

  it('accepts 8192 characters of query text and rejects 8193 (TV-69)', async () => {
    const base = "SELECT * FROM devices WHERE tags.env = '";
    const at = (length: number) => `${base}${'x'.repeat(length - base.length - 1)}'`;
    expect(at(8192)).toHaveLength(8192);
    expect((await query(at(8192))).status).toBe(200);
    expect((await query(at(8193))).status).toBe(400);
  });

  it('pages with x-ms-max-item-count and drops x-ms-continuation on the last page (TV-67)', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    const tokens: (string | null)[] = [];
    let continuation: string | null = null;
    do {
      const headers: Record<string, string> = { 'x-ms-max-item-count': '2' };
      if (continuation !== null) headers['x-ms-continuation'] = continuation;
      const response = await query('SELECT * FROM devices', headers);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ms-item-type')).toBe('Twin');
      continuation = response.headers.get('x-ms-continuation');
      tokens.push(continuation);
      sizes.push(response.body.length);
      seen.push(...response.body.map((twin: { deviceId: string }) => twin.deviceId));
    } while (continuation !== null);
    expect(sizes).toEqual([2, 2, 1]);
    expect(tokens[0]).not.toBe('');
    expect(tokens[2]).toBeNull();
    expect(seen.sort()).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    const replay = await query('SELECT * FROM devices', {
      'x-ms-max-item-count': '2',
      'x-ms-continuation': tokens[0] ?? '',
    });
    expect(replay.body).toHaveLength(2);
  });

  it('refuses a continuation token that was tampered with or belongs to another query', async () => {
    const first = await query('SELECT * FROM devices', { 'x-ms-max-item-count': '1' });
    const token = first.headers.get('x-ms-continuation') ?? '';
    const other = await query("SELECT * FROM devices WHERE tags.env = 'prod'", {
      'x-ms-continuation': token,
    });
    expect(other.status).toBe(400);
    const tampered = await query('SELECT * FROM devices', { 'x-ms-continuation': `${token}x` });
    expect(tampered.status).toBe(400);
  });

  it('clamps the page size to 100 and reports a bad body as ArgumentInvalid', async () => {
    const response = await query('SELECT * FROM devices', { 'x-ms-max-item-count': '100000' });
    expect(response.body).toHaveLength(5);
    const bad = await call(hub, 'POST', '/devices/query', { body: { sql: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('iothub-errorcode')).toBe('ArgumentInvalid');
  });

  it('sees writes made after an earlier identical query', async () => {
    expect(await ids(`${WHERE} tags.fresh = 1`)).toEqual([]);
    await call(hub, 'PATCH', '/twins/d4', { body: { tags: { fresh: 1 } } });
    expect(await ids(`${WHERE} tags.fresh = 1`)).toEqual(['d4']);
    await call(hub, 'PATCH', '/twins/d4', { body: { tags: { fresh: null } } });
  });
});
