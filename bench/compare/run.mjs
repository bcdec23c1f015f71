#!/usr/bin/env node
// `pnpm bench:compare [--quick]`: every side-by-side comparison of issue 16 against one hub in a
// child process, in alternating rounds (each round runs the clients in the reverse order of the
// last, every client in a fresh process), then docs/benchmarks.md with the medians. Run
// `pnpm build` first: the clients are the built packages, as an installed app loads them.
// `--only <text>` runs just the rows whose id contains the text and prints their medians
// instead of writing the report (for working on one figure).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_ROWS, COLD_ROWS, DEVICE_ROWS, MEMORY_ROW, SERVICE_ROWS } from './cases.mjs';
import { startHub } from './hub.mjs';
import { bundleSize, coldImport } from './measure-static.mjs';
import { writeReport } from './report.mjs';
import { median, parseConnectionString, root } from './shared.mjs';

const quick = process.argv.includes('--quick');
const rounds = quick ? 2 : 5;
const scale = quick ? 0.3 : 1;
const SIDES = ['ours', 'official', 'floor'];
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1];
const wanted = (row) => only === undefined || row.id.includes(only);

if (!existsSync(join(root, 'packages/service/dist/node/index.js'))) {
  console.error('Build first: pnpm build');
  process.exit(1);
}

/** Runs one runner in a fresh Node; resolves with its result object, or an error string. */
function runner(file, args, env) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', join(import.meta.dirname, file), ...args],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', () => {
      clearTimeout(timer);
      const line = /BENCH_RESULT (.*)/.exec(out);
      resolve(
        line
          ? JSON.parse(line[1])
          : { error: (err.split('\n').find((l) => /Error/.test(l)) ?? err).slice(0, 200) },
      );
    });
  });
}

const started = Date.now();
console.log(
  `bench:compare: ${quick ? 'quick, ' : ''}${rounds} rounds; starting the hub and seeding 10,000 twins`,
);
const { ready, child: hubProcess, keys } = await startHub();
const parts = parseConnectionString(ready.serviceConnectionString);
const env = {
  NODE_EXTRA_CA_CERTS: ready.caFile,
  BENCH_SERVICE_CS: ready.serviceConnectionString,
  BENCH_HUB: JSON.stringify({
    ...ready,
    keys,
    serviceKey: parts.SharedAccessKey,
    serviceKeyName: parts.SharedAccessKeyName,
  }),
  BENCH_SCALE: String(scale),
};

/** samples[rowId][side] = one figure per round */
const samples = {};
const record = (row, side, value) => {
  samples[row.id] ??= {};
  (samples[row.id][side] ??= []).push(value);
};
const errors = {};

const serviceScenarios = [...new Set(SERVICE_ROWS.filter(wanted).map((row) => row.scenario))];
const deviceJobs = [
  ...new Set(
    [...DEVICE_ROWS, MEMORY_ROW].filter(wanted).map((row) => `${row.transport} ${row.scenario}`),
  ),
].map((key) => key.split(' '));

try {
  for (let round = 0; round < rounds; round += 1) {
    const sides = round % 2 === 0 ? SIDES : [...SIDES].reverse();
    console.log(
      `round ${round + 1}/${rounds} (${sides.join(', ')}) after ${Math.round((Date.now() - started) / 1000)} s`,
    );
    for (const scenario of serviceScenarios) {
      for (const side of sides) {
        const result = await runner('service.mjs', [side, scenario], env);
        for (const row of SERVICE_ROWS.filter((r) => r.scenario === scenario)) {
          if (result.error) errors[`${row.id} ${side}`] = result.error;
          else record(row, side, result[row.pick]);
        }
      }
    }
    for (const [transport, scenario] of deviceJobs) {
      for (const side of sides) {
        const rows = [...DEVICE_ROWS, MEMORY_ROW].filter(
          (r) => r.transport === transport && r.scenario === scenario,
        );
        const result = await runner('device.mjs', [side, transport, scenario], {
          ...env,
          BENCH_DEVICE: String(1 + round),
        });
        for (const row of rows) {
          if (result.error) errors[`${row.id} ${side}`] = result.error;
          else record(row, side, result[row.pick]);
        }
      }
    }
    for (const row of COLD_ROWS.filter(wanted)) {
      for (const side of ['ours', 'official']) {
        // Several imports per round: each is short and noisy.
        for (let i = 0; i < 3; i += 1) record(row, side, coldImport(side, row.way));
      }
    }
  }
} finally {
  hubProcess.kill();
}
for (const row of BUNDLE_ROWS.filter(wanted)) record(row, 'ours', await bundleSize(row.program));

const results = {};
for (const [id, bySide] of Object.entries(samples)) {
  results[id] = Object.fromEntries(
    Object.entries(bySide).map(([side, values]) => [side, { median: median(values), values }]),
  );
}
if (only !== undefined) {
  console.log(JSON.stringify(results, null, 1));
  if (Object.keys(errors).length > 0) console.log('not measured:', errors);
  process.exit(0);
}
const file = writeReport({
  results,
  errors,
  rounds,
  quick,
  seconds: Math.round((Date.now() - started) / 1000),
});
console.log(`wrote ${file} in ${Math.round((Date.now() - started) / 1000)} s`);
if (Object.keys(errors).length > 0) console.log('not measured:', errors);
process.exit(0);
