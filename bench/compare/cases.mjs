// What `pnpm bench:compare` measures: one row per comparison, each with the runs of ours, the
// official SDK and the raw floor. `lower` says whether a smaller figure is better.
export const SERVICE_ROWS = [
  {
    id: 'svc-get-p50',
    title: 'service getTwin, sequential, p50',
    unit: 'ms',
    lower: true,
    scenario: 'get',
    pick: 'p50',
  },
  {
    id: 'svc-get-p99',
    title: 'service getTwin, sequential, p99',
    unit: 'ms',
    lower: true,
    scenario: 'get',
    pick: 'p99',
  },
  {
    id: 'svc-update',
    title: 'service updateTwin, 16 in flight',
    unit: 'ops/s',
    lower: false,
    scenario: 'update',
    pick: 'opsPerSecond',
  },
  {
    id: 'svc-query',
    title: 'service query 10,000 twins, page 100',
    unit: 'ms',
    lower: true,
    scenario: 'query',
    pick: 'ms',
  },
];

export const DEVICE_ROWS = ['mqtt', 'mqtt-ws', 'amqp'].flatMap((transport) => [
  {
    id: `${transport}-get-p50`,
    title: `device ${transport} getTwin p50`,
    unit: 'ms',
    lower: true,
    transport,
    scenario: 'get',
    pick: 'p50',
  },
  {
    id: `${transport}-get-p99`,
    title: `device ${transport} getTwin p99`,
    unit: 'ms',
    lower: true,
    transport,
    scenario: 'get',
    pick: 'p99',
  },
  {
    id: `${transport}-update-p50`,
    title: `device ${transport} reported update p50`,
    unit: 'ms',
    lower: true,
    transport,
    scenario: 'update',
    pick: 'p50',
  },
  {
    id: `${transport}-update-p99`,
    title: `device ${transport} reported update p99`,
    unit: 'ms',
    lower: true,
    transport,
    scenario: 'update',
    pick: 'p99',
  },
  {
    id: `${transport}-inflight`,
    title: `device ${transport} calls acknowledged/s, 16 in flight`,
    unit: 'calls/s',
    lower: false,
    transport,
    scenario: 'inflight',
    pick: 'opsPerSecond',
  },
  {
    id: `${transport}-writes`,
    title: `device ${transport} hub writes/s, 16 calls in flight`,
    unit: 'writes/s',
    lower: false,
    transport,
    scenario: 'inflight',
    pick: 'writesPerSecond',
  },
  {
    id: `${transport}-desired`,
    title: `device ${transport} desired propagation p50`,
    unit: 'ms',
    lower: true,
    transport,
    scenario: 'desired',
    pick: 'p50',
  },
]);

export const MEMORY_ROW = {
  id: 'memory',
  title: 'device memory per connected MQTT client (RSS)',
  unit: 'KB',
  lower: true,
  transport: 'mqtt',
  scenario: 'memory',
  pick: 'kbPerClient',
};

export const COLD_ROWS = [
  {
    id: 'cold-esm',
    title: 'cold import (ESM `import()`), over an empty node',
    unit: 'ms',
    lower: true,
    way: 'esm',
  },
  {
    id: 'cold-cjs',
    title: 'cold import (CJS `require()`), over an empty node',
    unit: 'ms',
    lower: true,
    way: 'cjs',
  },
];

export const BUNDLE_ROWS = [
  {
    id: 'bundle-service',
    title: 'service bundle: get + update + query with `@twinkit/service/twins`, minified + gzip',
    unit: 'KB',
    lower: true,
    program: 'service-twins',
  },
  {
    id: 'bundle-service-registry',
    title: 'service bundle: the same program with the `Registry` class (informational)',
    unit: 'KB',
    lower: true,
    program: 'service-registry',
  },
  {
    id: 'bundle-device',
    title: 'device web bundle: open, getTwin, report, onDesired over WebSocket, minified + gzip',
    unit: 'KB',
    lower: true,
    program: 'device',
  },
];
