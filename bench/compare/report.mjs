// Writes docs/benchmarks.md and its SVG bar charts (drawn here as SVG text) from the medians.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_ROWS, COLD_ROWS, DEVICE_ROWS, MEMORY_ROW, SERVICE_ROWS } from './cases.mjs';
import { root } from './shared.mjs';

/** Issue 16's targets: ours ÷ official (or ÷ floor) must stay on the right side of these. */
const TARGETS = {
  'svc-get-p50': { official: 0.8, floor: 1.1 },
  'svc-get-p99': { official: 1.0 },
  'svc-update': { official: 1.0, floor: 0.9 },
  'svc-query': { official: 0.9 },
  'cold-esm': { official: 0.3 },
  'cold-cjs': { official: 0.3 },
  'mqtt-inflight': { official: 5 },
  'mqtt-writes': { official: 1.0 },
  // "Our overhead over the raw client: at most 10 % at p50."
  'mqtt-get-p50': { floor: 1.1 },
  'mqtt-update-p50': { floor: 1.1 },
  'mqtt-ws-get-p50': { floor: 1.1 },
  'mqtt-ws-update-p50': { floor: 1.1 },
  'amqp-get-p50': { floor: 1.1 },
  'amqp-update-p50': { floor: 1.1 },
  'mqtt-desired': { official: 1.0 },
  'amqp-get-p99': { official: 1.2 },
  'amqp-update-p99': { official: 1.2 },
  memory: { official: 1.0 },
  'bundle-service': { absolute: 12 },
  'bundle-device': { absolute: 60 },
};

const COLORS = { ours: '#2563eb', official: '#9ca3af', floor: '#16a34a' };
const fmt = (value) =>
  value === undefined || !Number.isFinite(value)
    ? '—'
    : value >= 100
      ? value.toFixed(0)
      : value >= 10
        ? value.toFixed(1)
        : value.toFixed(2);
const esc = (text) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');

function verdict(row, results) {
  const target = TARGETS[row.id];
  const ours = results[row.id]?.ours?.median;
  if (target === undefined || ours === undefined) return '';
  const checks = [];
  if (target.absolute !== undefined)
    checks.push(`${ours < target.absolute ? '✅' : '❌'} < ${target.absolute}`);
  for (const side of ['official', 'floor']) {
    const other = results[row.id]?.[side]?.median;
    if (target[side] === undefined || other === undefined) continue;
    const ratio = ours / other;
    const ok = row.lower ? ratio <= target[side] : ratio >= target[side];
    checks.push(`${ok ? '✅' : '❌'} ${row.lower ? '≤' : '≥'} ${target[side]}× ${side}`);
  }
  return checks.join(', ');
}

function table(rows, results) {
  const lines = [
    '| | ours | official | floor | ours ÷ official | ours ÷ floor | target |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const get = (side) => results[row.id]?.[side]?.median;
    const ratio = (side) =>
      get('ours') !== undefined && get(side) !== undefined
        ? `${(get('ours') / get(side)).toFixed(2)}`
        : '—';
    lines.push(
      `| ${row.title} (${row.unit}, ${row.lower ? 'lower' : 'higher'} is better) | ${fmt(get('ours'))} | ${fmt(get('official'))} | ${fmt(get('floor'))} | ${ratio('official')} | ${ratio('floor')} | ${verdict(row, results)} |`,
    );
  }
  return lines.join('\n');
}

/** A horizontal bar chart: one group of bars (ours, official, floor) per row, scaled per row. */
function chart(rows, results) {
  const shown = rows.filter((row) => results[row.id]?.ours !== undefined);
  const barHeight = 12;
  const groupHeight = 3 * barHeight + 26;
  const width = 760;
  const labelWidth = 300;
  const barSpace = width - labelWidth - 90;
  const parts = [];
  shown.forEach((row, index) => {
    const y = 30 + index * groupHeight;
    const values = ['ours', 'official', 'floor'].map((side) => [
      side,
      results[row.id]?.[side]?.median,
    ]);
    const max = Math.max(...values.map(([, v]) => v ?? 0)) || 1;
    parts.push(`<text x="0" y="${y + 14}" font-size="12">${esc(row.title)}</text>`);
    parts.push(
      `<text x="0" y="${y + 30}" font-size="10" fill="#6b7280">${row.unit}, ${row.lower ? 'lower' : 'higher'} is better</text>`,
    );
    values.forEach(([side, value], k) => {
      const by = y + k * (barHeight + 2);
      if (value === undefined) {
        parts.push(
          `<text x="${labelWidth}" y="${by + 10}" font-size="10" fill="#6b7280">${side}: not measured</text>`,
        );
        return;
      }
      const w = Math.max(1, (value / max) * barSpace);
      parts.push(
        `<rect x="${labelWidth}" y="${by}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLORS[side]}"/>`,
      );
      parts.push(
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${by + 10}" font-size="10">${fmt(value)}</text>`,
      );
    });
  });
  const height = 40 + shown.length * groupHeight;
  const legend = ['ours', 'official', 'floor']
    .map(
      (side, k) =>
        `<rect x="${labelWidth + k * 110}" y="4" width="10" height="10" fill="${COLORS[side]}"/><text x="${labelWidth + k * 110 + 14}" y="13" font-size="11">${side}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${legend}\n${parts.join('\n')}\n</svg>\n`;
}

/** Writes the report and its charts; returns the report's path. */
export function writeReport({ results, errors, rounds, quick, seconds }) {
  const docs = join(root, 'docs');
  const chartDir = join(docs, 'benchmarks');
  mkdirSync(chartDir, { recursive: true });
  const groups = [
    [
      'service',
      'Service REST (`@twinkit/service` vs `azure-iothub` vs undici `request` with a hand-made SAS)',
      SERVICE_ROWS,
    ],
    [
      'device',
      'Device twins (`@twinkit/device` vs `azure-iot-device` vs mqtt.js publishing the twin topics by hand)',
      [...DEVICE_ROWS, MEMORY_ROW],
    ],
    ['startup', 'Cold import and bundle sizes', [...COLD_ROWS, ...BUNDLE_ROWS]],
  ];
  for (const [name, , rows] of groups)
    writeFileSync(join(chartDir, `${name}.svg`), chart(rows, results));
  const missing = Object.entries(errors).map(([key, error]) => `- ${key}: ${error}`);
  const text = `# Benchmarks

Generated by \`pnpm bench:compare${quick ? ' --quick' : ''}\` (bench/compare/run.mjs) on ${new Date().toISOString().slice(0, 10)}:
${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}.
${rounds} alternating rounds (each client in a fresh process, the order reversed every round), ${seconds} s in all;
every figure is the median of the rounds, each taken after a warm-up (5,000 calls, 1,000 bursts of 16 or 1.5 s of the same load): every client gets faster over its first few thousand calls while V8 compiles its hot paths (ours more than the others: it has more code on the path), so these are the steady-state figures of a long-running process. The hub (\`twinkit-hub start --in-memory\`, 10,000 seeded twins) runs in
its own process on loopback, so the figures include its time and the machine's noise: compare the columns of one
run, not runs of different machines. **Regenerate this file on a quiet machine** (\`pnpm build && pnpm bench:compare\`);
\`--quick\` runs fewer, shorter rounds.

- **ours**: the built \`@twinkit/service\` (Node: undici's dispatcher) and \`@twinkit/device\`.
- **official**: \`azure-iothub\` 1.16 (its keep-alive \`https\` agent pointed at the hub's port), \`azure-iot-device\` 1.18
  with \`azure-iot-device-mqtt\` / \`-amqp\` (\`GatewayHostName\` for the port). Its MQTT over WebSocket dials port 443
  only, so the hub takes 443 for HTTPS when it may bind it (otherwise that column stays empty).
- **floor**: the least a client can do: undici \`Agent.request\` with a hand-made SAS header, mqtt.js publishing the
  twin topics by hand, rhea attaching the twin links and sending the twin messages by hand (\`bench/compare/amqp-floor.mjs\`).
- Ratios are ours ÷ the other side: below 1 is faster for times, above 1 is better for rates.

## Service REST

![service](benchmarks/service.svg)

${table(SERVICE_ROWS, results)}

## Device twins

![device](benchmarks/device.svg)

${table([...DEVICE_ROWS, MEMORY_ROW], results)}

"Calls acknowledged, 16 in flight" counts \`updateReportedProperties\` calls answered per second with 16 awaited at a
time (\`Promise.all\` of 16 calls, then the next 16). Ours sends the calls made in one turn as one merged patch, so it
acknowledges 16 calls per hub write; the official SDK sends 16 patches, which the hub applies in one group commit.
"Hub writes" counts the reported \`$version\`s the hub gave out meanwhile.

## Cold import and bundle sizes

![startup](benchmarks/startup.svg)

${table([...COLD_ROWS, ...BUNDLE_ROWS], results)}

Cold import is the time a fresh Node spends in \`import()\` / \`require()\` of what a device program loads (ours:
\`@twinkit/device\`, which loads mqtt.js only when a client opens; official: \`azure-iot-device\` + \`azure-iot-device-mqtt\`).
Bundles are esbuild, browser platform, minified, gzip level 9; the official SDKs do not bundle for browsers.
The 12 KB service target applies to the program on \`@twinkit/service/twins\`, whose functions tree-shake and
leave the twin rules to the hub; the \`Registry\` row is the same program on the class, whose methods (identities,
bulk, rollouts, client-side twin rules) all come along.
${missing.length > 0 ? `\n## Not measured in this run\n\n${missing.join('\n')}\n` : ''}
## Raw samples

<details><summary>one figure per round</summary>

\`\`\`json
${JSON.stringify(Object.fromEntries(Object.entries(results).map(([id, sides]) => [id, Object.fromEntries(Object.entries(sides).map(([s, v]) => [s, v.values.map((x) => Number(x.toFixed(3)))]))])), null, 1)}
\`\`\`

</details>
`;
  const file = join(docs, 'benchmarks.md');
  writeFileSync(file, text);
  return file;
}
