import { bench, describe } from 'vitest';
import type { JsonObject } from '../src/types.js';
import { compileQuery, parseQuery } from '../src/query/index.js';

// Target (issue #3): a filter over 100,000 service-view twins in under 100 ms on one core.

const FILTER =
  "SELECT * FROM devices WHERE tags.location.plant = 'Redmond43' AND properties.reported.connectivity.type = 'cellular'";
const GROUP_BY =
  'SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices, ' +
  'AVG(properties.reported.telemetryConfig.sendFrequencyInSecs) AS avgFrequency FROM devices ' +
  'GROUP BY properties.reported.telemetryConfig.status';

const PLANTS = ['Redmond43', 'Seattle1', 'Dublin7', 'Tokyo2'];
const CONNECTIVITY = ['cellular', 'wifi', 'wired'];
const STATUSES = ['Success', 'Pending', 'Error'];
const STAMP = '2024-06-01T10:00:00.1234567Z';

/** A full service-view twin (docs/internals/twin-semantics.md#twin-document) with tags, desired and reported sections and their metadata. */
function makeTwin(i: number): JsonObject {
  const sendFrequencyInSecs = 30 * ((i % 20) + 1);
  const status = STATUSES[i % 3] ?? 'Success';
  const reported: JsonObject = {
    telemetryConfig: { sendFrequencyInSecs, status },
    fw: `1.${String(i % 7)}`,
  };
  // Every tenth twin reports no connectivity, so missing paths are exercised too.
  if (i % 10 !== 0) reported.connectivity = { type: CONNECTIVITY[i % 3] ?? 'wifi' };
  return {
    deviceId: `device-${String(i).padStart(6, '0')}`,
    etag: 'AAAAAAAAAAI=',
    deviceEtag: 'MTIzNDU2Nzg5',
    status: i % 50 === 0 ? 'disabled' : 'enabled',
    statusUpdateTime: '0001-01-01T00:00:00Z',
    connectionState: i % 4 === 0 ? 'Connected' : 'Disconnected',
    lastActivityTime: STAMP,
    cloudToDeviceMessageCount: 0,
    authenticationType: 'sas',
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    modelId: '',
    version: 4,
    capabilities: { iotEdge: i % 100 === 0 },
    tags: {
      location: { region: i % 2 === 0 ? 'US' : 'EU', plant: PLANTS[i % 4] ?? 'Dublin7' },
      env: 'prod',
    },
    properties: {
      desired: {
        telemetryConfig: { sendFrequencyInSecs },
        $metadata: {
          $lastUpdated: STAMP,
          $lastUpdatedVersion: 2,
          telemetryConfig: {
            $lastUpdated: STAMP,
            $lastUpdatedVersion: 2,
            sendFrequencyInSecs: { $lastUpdated: STAMP, $lastUpdatedVersion: 2 },
          },
        },
        $version: 2,
      },
      reported: {
        ...reported,
        $metadata: { $lastUpdated: STAMP, fw: { $lastUpdated: STAMP } },
        $version: 3,
      },
    },
  };
}

interface BaselineTwin {
  tags?: { location?: { plant?: string } };
  properties?: { reported?: { connectivity?: { type?: string } } };
}

const TWINS: JsonObject[] = Array.from({ length: 100_000 }, (_, i) => makeTwin(i));
const filter = compileQuery(FILTER);
const groupBy = compileQuery(GROUP_BY);

describe('query language', () => {
  bench('parse + compile the filter query', () => {
    compileQuery(parseQuery(FILTER));
  });

  bench('parse + compile the GROUP BY query', () => {
    compileQuery(GROUP_BY);
  });

  bench('filter 100,000 twins (plant AND connectivity type)', () => {
    const result = filter.execute(TWINS);
    // 1 in 4 twins is in Redmond43; of those, 1 in 3 cellular minus missing connectivity.
    if (result.length === 0) throw new Error('the filter matched nothing');
  });

  bench('GROUP BY status with COUNT and AVG over 100,000 twins', () => {
    const rows = groupBy.execute(TWINS);
    if (rows.length !== 3) throw new Error(`expected 3 groups, got ${String(rows.length)}`);
  });

  bench('baseline: the same filter as hand-written property reads', () => {
    let matched = 0;
    for (const twin of TWINS as BaselineTwin[]) {
      if (
        twin.tags?.location?.plant === 'Redmond43' &&
        twin.properties?.reported?.connectivity?.type === 'cellular'
      ) {
        matched += 1;
      }
    }
    if (matched === 0) throw new Error('the baseline matched nothing');
  });

  bench('filter 100,000 twins with mis-cased keys (case-insensitive fallback)', () => {
    caseFallback.execute(TWINS);
  });
});

const caseFallback = compileQuery(
  "SELECT * FROM devices WHERE Tags.Location.Plant = 'Redmond43' AND properties.reported.Connectivity.Type = 'cellular'",
);
